"""The port through which the sweep driver acts on jobs (`sweeps.SweepPort`), made of the
state machine's parts: it lists sweeps, moves them, stores their trials, submits and cancels
trial jobs, and nothing else of the manager is in the driver's reach.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from ..backends.capabilities import SweepSupport
from .installed import InstalledBackends
from .models import Job, JobSpec, JobState, Trial
from .offload import Offload
from .store import JobStore
from .submission import Submission
from .transitions import Transitions

T = TypeVar("T")


class JobsSweepPort:
    """The state machine's port for the sweep driver: list, move and fill sweeps."""

    def __init__(
        self,
        installed: InstalledBackends,
        store: JobStore,
        offload: Offload,
        transitions: Transitions,
        submission: Submission,
        cancel: Callable[[str], Awaitable[Job]],
    ):
        self._installed = installed
        self._store = store
        self._offload = offload
        self._transitions = transitions
        self._submission = submission
        self._cancel = cancel

    def sweeps_as(self, backend: str) -> SweepSupport | None:
        """How the installed backend of that name runs sweeps."""
        found = self._installed.get(backend)
        return None if found is None else found.capabilities.sweeps

    async def run_blocking(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call off the event loop."""
        return await self._offload.run(function, *args)

    async def list_sweeps(self, backend: str) -> list[Job]:
        """The backend's unfinished sweep jobs."""
        return await self._offload.run(self._store.sweeps, backend)

    def trial_states(self, sweep_id: str) -> list[tuple[str, JobState]]:
        """Each trial job of the sweep and its state (blocking)."""
        return self._store.trial_states(sweep_id)

    def trial_jobs(self, sweep_id: str, ids: list[str]) -> list[tuple[Job, str | None]]:
        """Those trial jobs with their folders (blocking)."""
        return self._store.trial_jobs(sweep_id, ids)

    async def move_sweep(
        self, sweep: Job, state: JobState, message: str, *, expected: JobState, **fields: Any
    ) -> bool:
        """Move a sweep job through the state machine."""
        return await self._transitions.move(sweep, state, message, expected=expected, **fields)

    async def set_trials(self, sweep_id: str, trials: list[Trial]) -> None:
        """Store the sweep's trials as they are now."""
        await self._offload.run(partial(self._store.set_fields, sweep_id, trials=trials))

    def submit_trial(self, spec: JobSpec, sweep_id: str, number: int) -> Job:
        """Queue a trial job of the sweep (blocking)."""
        return self._submission.submit(spec, sweep_id, number)

    async def cancel(self, job_id: str) -> Job:
        """Cancel a trial job."""
        return await self._cancel(job_id)
