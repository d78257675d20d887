"""A backend whose every call takes 50 ms, like a cloud API, for benchmarks/server_busy.py.

Loaded into a real Jupyter server through `MLPExtension.manager_class`, so the server's own
event loop, handlers and store are what is measured.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from jupyter_mlp.backends.base import Backend, BackendStatus, Launch, Observation, Runtime, Tracked
from jupyter_mlp.backends.capabilities import Capabilities
from jupyter_mlp.core.manager import JobManager
from jupyter_mlp.core.models import Job, JobKind, JobState
from jupyter_mlp.jobfiles.bundle import JobFolder

CALL_SECONDS = 0.05
RUNNING_JOBS = 100


class SlowBackend(Backend[Runtime]):
    """Starts up to RUNNING_JOBS jobs, which run until cancelled; every call takes 50 ms."""

    name: ClassVar[str] = "slow"
    capabilities: ClassVar[Capabilities] = Capabilities(
        kinds=(JobKind.TRAIN, JobKind.ETL),
        remote=True,
        resource_fields=(),
        sweeps=None,
        drain=False,
        progress=False,
        priced=False,
        schedules=False,
        job_id_label="Backend id",
        service="the slow stand-in",
        unsupported={
            name: "a benchmark's stand-in only runs jobs"
            for name in ("sweeps", "drain", "progress", "priced", "schedules")
        },
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cancelled: set[str] = set()

    def status(self) -> BackendStatus:
        return BackendStatus(name=self.name, available=True, configured=True)

    def admit(self, queued: list[Job], active: list[Tracked[Runtime]]) -> list[Job]:
        return queued[: max(0, RUNNING_JOBS - len(active))]

    async def start(self, job: Job, folder: JobFolder, active: list[Tracked[Runtime]]) -> Launch:
        await asyncio.sleep(CALL_SECONDS)
        return Launch(runtime=Runtime(), backend_job_id=job.id)

    async def poll(self, tracked: Tracked[Runtime]) -> Observation:
        await asyncio.sleep(CALL_SECONDS)
        if tracked.job.id in self.cancelled:
            return Observation(JobState.CANCELLED, backend_state="cancelled")
        return Observation(JobState.RUNNING, backend_state="running")

    async def cancel(self, tracked: Tracked[Runtime], force: bool = False) -> None:
        await asyncio.sleep(CALL_SECONDS)
        self.cancelled.add(tracked.job.id)


class BusyManager(JobManager):
    """The server's JobManager with the slow backend next to the installed ones."""

    def __init__(self, store: Any, backends: Any, **kwargs: Any) -> None:
        super().__init__(store, {**backends, "slow": SlowBackend()}, **kwargs)
