"""Backends: where jobs run. Found through the `jupyter_mlp.backends` entry point group."""

from __future__ import annotations

from importlib.metadata import entry_points

from .base import Backend, BackendStatus, Launch, Observation

ENTRY_POINT_GROUP = "jupyter_mlp.backends"


def backend_classes() -> dict[str, type[Backend]]:
    """Every installed backend class by name; loading one imports only its module, not its SDK."""
    classes: dict[str, type[Backend]] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        classes[point.name] = point.load()
    return classes


__all__ = ["Backend", "BackendStatus", "Launch", "Observation", "backend_classes"]
