"""What people do to jobs once they exist: cancel, drain, ask progress, delete.

Each action moves a job only through `Transitions` and from the state it saw, so a watch round
that moved the job meanwhile is never overwritten.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .installed import InstalledBackends
from .models import Job, JobState, MLPError
from .offload import Offload
from .queries import JobQueries
from .store import JobStore
from .transitions import BY_YOU, Transitions, cancelled_by, clock, utcnow


@dataclass
class JobActions:
    """Cancels, drains and deletes jobs; reads a pipeline's progress."""

    store: JobStore
    installed: InstalledBackends
    offload: Offload
    transitions: Transitions
    queries: JobQueries
    # Makes the watcher of a backend (by name) run a round now.
    wake: Callable[[str], None]
    jobs_dir: Path

    async def cancel(self, job_id: str, by: str = BY_YOU) -> Job:
        """Ask a job to stop (see `JobManager.cancel`)."""
        job = await self.queries.get(job_id)
        if job.state.terminal:
            raise MLPError(409, f"job '{job_id}' already ended ({job.state.value})")
        now = utcnow()
        asked = {"cancel_requested_at": now, "cancelled_by": by}
        # Every move is guarded by the state it starts from; a round may move the job in
        # between (QUEUED -> STARTING -> RUNNING), so look again and retry from where it is.
        while not job.state.terminal and job.state is not JobState.CANCELLING:
            if job.state is JobState.QUEUED:
                if await self.transitions.move(
                    job,
                    JobState.CANCELLED,
                    f"{cancelled_by(by, now)}, before it started",
                    expected=job.state,
                    **asked,
                ):
                    return await self.queries.get(job_id)
            elif await self.transitions.move(
                job,
                JobState.CANCELLING,
                f"cancel requested by {by} at {clock(now)}",
                expected=job.state,
                **asked,
            ):
                backend = self.installed.get(job.backend)
                tracked = await self.queries.tracked_by_id(backend, job) if backend else None
                if backend is not None and tracked is not None:
                    await backend.cancel(tracked)
                break
            job = await self.queries.get(job_id)
        self.wake(job.backend)
        return await self.queries.get(job_id)

    async def drain(self, job_id: str) -> Job:
        """Ask a running streaming pipeline to drain (see `JobManager.drain`)."""
        job = await self.queries.get(job_id)
        backend = self.installed.get(job.backend)
        draining = [name for name in self.installed.known() if self._can(name, "drain")]
        what = f"only a running streaming pipeline on {' or '.join(draining) or 'none'} drains"
        if backend is None or not backend.capabilities.drain:
            raise MLPError.conflict("drain", f"{what}; this job runs on '{job.backend}': cancel it")
        if job.state is not JobState.RUNNING:
            raise MLPError.conflict("drain", f"{what}; this job is {job.state.value}")
        tracked = await self.queries.tracked_by_id(backend, job)
        if tracked is None:
            raise MLPError.conflict("drain", f"{what}; this job has not started")
        try:
            await backend.drain(tracked)
        except RuntimeError as exc:  # the backend's reason this job cannot drain
            raise MLPError.conflict("drain", f"{what}: {exc}") from None
        except Exception as exc:  # the cloud could not be asked now: not the caller's mistake
            raise MLPError(502, f"{job.backend} could not be asked to drain: {exc}") from None
        # No cancel_requested_at: a drain takes as long as the job needs, and is never turned
        # into a cancel after cancel_grace_seconds.
        await self.transitions.move(
            job, JobState.CANCELLING, "drain requested", expected=JobState.RUNNING
        )
        self.wake(job.backend)
        return await self.queries.get(job_id)

    def _can(self, backend_name: str, feature: str) -> bool:
        capabilities = self.installed.capabilities(backend_name)
        return capabilities is not None and bool(getattr(capabilities, feature))

    async def progress(self, job_id: str) -> dict[str, Any]:
        """Elements each step of a pipeline put out so far (see `JobManager.progress`)."""
        job = await self.queries.get(job_id)
        backend = self.installed.of(job)
        if not backend.capabilities.progress:
            note = f"the {job.backend} backend reports no progress per step"
            return {"job_id": job.id, "steps": [], "note": note}
        tracked = await self.queries.tracked_by_id(backend, job)
        steps: list[dict[str, Any]] = []
        note = ""
        try:
            if tracked is not None:
                steps = await backend.progress(tracked)
        except Exception as exc:  # a cloud that cannot answer now is not the caller's error
            note = f"progress could not be read now: {exc}"
        if not steps and not note:
            note = "no step has reported a count yet"
        return {"job_id": job.id, "steps": steps, "note": note}

    async def delete(self, job_id: str) -> None:
        """Forget an ended job (a sweep with its trials) and remove its folder."""
        job = await self.queries.get(job_id)
        if not job.state.terminal:
            raise MLPError(409, f"job '{job_id}' is {job.state.value}; cancel it before deleting")
        if job.sweep_id is not None:
            sweep = await self.offload.run(self.store.get, job.sweep_id)
            if sweep is not None and not sweep.state.terminal:
                raise MLPError(
                    409, f"job '{job_id}' is a trial of sweep '{sweep.id}', which is running"
                )
        for trial_folder in await self.offload.run(self.store.trial_folders, job_id):
            await self.offload.run(self._remove_folder, trial_folder)
        await self.offload.run(self.store.delete_trials, job_id)
        folder = await self.offload.run(self.store.folder, job_id)
        await self.offload.run(self.store.delete, job_id)
        if folder:
            await self.offload.run(self._remove_folder, folder)

    def _remove_folder(self, folder: str) -> None:
        """Remove a job's folder (blocking), never one outside the jobs folder."""
        if Path(folder).resolve().is_relative_to(self.jobs_dir):
            shutil.rmtree(folder, ignore_errors=True)
