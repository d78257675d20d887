"""The backends a manager runs jobs on, and what the other known backends can do.

A spec or a stored job may name a backend that is not set up here (a cloud one, on a laptop):
its resources are still checked, its catalog and prices still shown. What such a backend can do
comes from its class's `capabilities`, found through the backends' entry points, never from
its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from ..backends import backend_classes
from ..backends.base import Backend
from ..backends.capabilities import Capabilities
from .models import Job, MLPError


@cache
def _entry_point_classes() -> Mapping[str, type[Backend[Any]]]:
    return backend_classes()


class InstalledBackends:
    """The manager's backends by name, and the capabilities of every backend known."""

    def __init__(
        self,
        backends: Mapping[str, Backend[Any]],
        classes: Mapping[str, type[Backend[Any]]] | None = None,
    ):
        self.backends = backends
        self._classes = classes

    @property
    def classes(self) -> Mapping[str, type[Backend[Any]]]:
        """Every known backend class by name (the installed entry points by default)."""
        if self._classes is None:
            self._classes = _entry_point_classes()
        return self._classes

    def get(self, name: str) -> Backend[Any] | None:
        """The backend of that name, when it is set up here."""
        return self.backends.get(name)

    def capabilities(self, name: str) -> Capabilities | None:
        """What the backend of that name can do, set up here or not; None for an unknown name."""
        backend = self.backends.get(name)
        if backend is not None:
            return backend.capabilities
        known = self.classes.get(name)
        return None if known is None else known.capabilities

    def known(self) -> list[str]:
        """The names of every backend set up here or known, sorted."""
        return sorted({*self.classes, *self.backends})

    def of(self, job: Job) -> Backend[Any]:
        """The backend a job ran on; 409 when it is not set up here."""
        backend = self.backends.get(job.backend)
        if backend is None:
            raise MLPError(409, f"job '{job.id}' ran on '{job.backend}', not installed here")
        return backend
