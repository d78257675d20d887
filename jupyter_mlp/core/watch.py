"""Watching backends: each one's rounds observe its started jobs and start its queued ones.

Each backend is watched by a task of its own, on the backend's own interval, and no lock is
held across backend calls: the guarded UPDATEs of the store make every state change safe, so a
cancel never waits for a round. What a backend saw reaches a job only through `Transitions`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from ..backends.base import Backend, Launch, Observation, Tracked
from ..jobfiles.bundle import JobFolder
from .caps import CostCaps
from .metrics import MetricsFollower
from .models import Job, JobState
from .offload import Offload
from .queries import tracked_job
from .store import ActiveJob, JobStore
from .sweeps import SweepDriver
from .transitions import Transitions, utcnow

# Queued jobs a round considers for admission; the rest wait for later rounds.
ADMIT_BATCH = 64
# A claimed job whose launch was never recorded (its starter died) is started again after this:
# starting is idempotent on the job id, so this never makes a second job.
LAUNCH_GRACE_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0


class Watcher:
    """Runs the watch rounds of every backend, one task per backend."""

    def __init__(
        self,
        backends: Mapping[str, Backend[Any]],
        store: JobStore,
        offload: Offload,
        transitions: Transitions,
        sweeps: SweepDriver,
        log: logging.Logger,
        caps: CostCaps | None = None,
    ):
        """`caps`: cancels the jobs whose estimated cost reached their cap, each round."""
        self.backends = backends
        self.store = store
        self.offload = offload
        self.transitions = transitions
        self.sweeps = sweeps
        self.log = log
        self.caps = caps
        self.metrics = MetricsFollower(store, offload, log)
        self._wakes = {name: asyncio.Event() for name in backends}
        self._round_locks = {name: asyncio.Lock() for name in backends}
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Watch every backend from now on; needs a running loop."""
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self.offload.loop = loop
        for name, backend in self.backends.items():
            self._tasks.append(loop.create_task(self._watch(name, backend)))

    async def stop(self) -> None:
        """Stop watching (a round stuck in a backend call is left behind after a while)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # A round stuck in a backend call must not hold up the server's shutdown.
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_SECONDS)
            if stuck:
                self.log.warning("jupyter-mlp: %d watcher(s) did not stop in time", len(stuck))
        self._tasks = []

    def wake(self, backend: str) -> None:
        """Make a backend's watcher run a round now (callable from any thread)."""
        event = self._wakes.get(backend)
        if event is not None:
            self.offload.soon_threadsafe(event.set)

    async def _watch(self, name: str, backend: Backend[Any]) -> None:
        wake = self._wakes[name]
        errors = 0
        while True:
            try:
                ok = await self.round(name, backend)
            except Exception:  # a broken round must not stop the watching of every other job
                self.log.exception("jupyter-mlp: watching %s jobs failed; retrying", name)
                ok = False
            errors = 0 if ok else errors + 1
            # Back off after errors (a cloud API that is down is not asked twice a second).
            interval = min(backend.poll_interval * 2**errors, backend.max_poll_interval)
            try:
                await asyncio.wait_for(wake.wait(), max(interval, backend.poll_interval))
            except TimeoutError:
                pass
            wake.clear()

    async def tick(self) -> None:
        """One round for every backend at once; jobs of a backend not set up here fail."""
        await asyncio.gather(*(self.round(n, b) for n, b in self.backends.items()))
        for job in await self.offload.run(self.store.unfinished_elsewhere, list(self.backends)):
            await self.transitions.move(
                job,
                JobState.FAILED,
                f"backend '{job.backend}' is not installed",
                expected=job.state,
            )

    async def round(self, name: str, backend: Backend[Any]) -> bool:
        """Observe a backend's started jobs, then start those of its queued jobs that fit.
        False when the backend could not be asked (so the watcher backs off)."""
        async with self._round_locks[name]:
            held = await self.offload.run(self.store.active, name)
            # A sweep driven as trial jobs runs no process: the sweep driver moves it.
            active = [a for a in held if not self.sweeps.drives(a.job)]
            ok, ended = await self._observe(backend, [a for a in active if a.launched])
            if self.caps is not None:
                await self.caps.check(a.job for a in held if a.job.id not in ended)
            others = [tracked_job(backend, a) for a in active if a.launched]
            for stored in active:
                if not stored.launched:
                    await self._restart_unrecorded(backend, stored, others)
            await self.sweeps.round(name)
            queued = [
                job
                for job in await self.offload.run(self.store.queued, name, ADMIT_BATCH)
                if not self.sweeps.drives(job)
            ]
            if queued:
                running = [tracked_job(backend, a) for a in active if a.job.id not in ended]
                for job in backend.admit(queued, running):
                    started = await self._start(backend, job, running)
                    if started is not None:
                        running.append(started)
            return ok

    async def _observe(
        self, backend: Backend[Any], launched: list[ActiveJob]
    ) -> tuple[bool, set[str]]:
        """Look at the started jobs and apply what was seen: whether the backend answered,
        and the jobs that ended."""
        ok = True
        ended: set[str] = set()
        if not launched:
            return ok, ended
        tracked = [tracked_job(backend, a) for a in launched]
        seen = await backend.poll_many(tracked)
        # Metrics before states: a job's last reports are stored before its end is.
        await self.metrics.follow(backend, tracked, seen)
        for item, stored in zip(tracked, launched, strict=True):
            result = seen.get(item.job.id)
            if isinstance(result, Exception):
                ok = False
                self.log.warning("jupyter-mlp: could not look at job %s: %s", item.job.id, result)
            elif result is not None and await self._apply(backend, item, stored, result):
                ended.add(item.job.id)
        return ok, ended

    async def _start(
        self, backend: Backend[Any], job: Job, running: list[Tracked[Any]]
    ) -> Tracked[Any] | None:
        # Claim the job first: of several managers sharing the database, only one starts it.
        if not await self.transitions.move(
            job, JobState.STARTING, "starting", expected=JobState.QUEUED, started_at=utcnow()
        ):
            return None
        claimed = job.model_copy(update={"state": JobState.STARTING})
        folder = await self.offload.run(self.store.folder, job.id)
        return await self._launch(backend, claimed, JobFolder(Path(folder or "")), running)

    async def _launch(
        self, backend: Backend[Any], job: Job, folder: JobFolder, running: list[Tracked[Any]]
    ) -> Tracked[Any] | None:
        """Start a claimed job; `running`: the backend's other active jobs (for its GPUs)."""
        running = [t for t in running if t.job.id != job.id]
        try:
            launch = await backend.start(job, folder, running)
        except Exception as exc:
            self.log.warning("jupyter-mlp: job %s could not start: %s", job.id, exc)
            # Decided like an observation: a job cancelled meanwhile ends CANCELLED.
            seen = Observation(JobState.FAILED, message=f"could not start: {exc}")
            for stored in await self.offload.run(self.store.active, job.backend, job.id):
                await self.transitions.settle(stored, seen)
            return None
        await self._record_launch(job, launch)
        tracked = Tracked(job=job, folder=folder, runtime=launch.runtime)
        current = await self.offload.run(self.store.get, job.id)
        if current is not None and current.state is JobState.CANCELLING:
            # Cancelled while it was being started: the backend hears of it now.
            await backend.cancel(tracked)
        return tracked

    async def _record_launch(self, job: Job, launch: Launch) -> None:
        await self.offload.run(
            partial(
                self.store.record_launch,
                job.id,
                launch.runtime.model_dump(mode="json"),
                utcnow(),
                backend_job_id=launch.backend_job_id,
                console_url=launch.console_url,
                outputs={**job.outputs, **launch.outputs},
            )
        )

    async def _restart_unrecorded(
        self, backend: Backend[Any], stored: ActiveJob, running: list[Tracked[Any]]
    ) -> None:
        """A job claimed by a manager that died before recording its launch: start it again
        (idempotent on the job id, so a job that did start is found, not doubled)."""
        claimed_at = stored.job.started_at
        if claimed_at is None or (utcnow() - claimed_at).total_seconds() < LAUNCH_GRACE_SECONDS:
            return
        self.log.info("jupyter-mlp: job %s was claimed, never recorded; starting it", stored.job.id)
        await self._launch(backend, stored.job, JobFolder(Path(stored.folder)), running)

    async def _apply(
        self, backend: Backend[Any], tracked: Tracked[Any], stored: ActiveJob, seen: Observation
    ) -> bool:
        """Apply what the backend saw through the state machine; True when the job ended.
        A cancel the job did not heed in `cancel_grace_seconds` is made again, by force."""
        current = await self.transitions.observe(stored, seen)
        if current is None:
            return True
        requested = current.cancel_requested_at
        if (
            current.job.state is JobState.CANCELLING
            and requested is not None
            and current.force_cancel_at is None
            and (utcnow() - requested).total_seconds() > backend.cancel_grace_seconds
            and await self.offload.run(self.store.claim_force_cancel, current.job.id, utcnow())
        ):
            await backend.cancel(tracked, force=True)
        return False
