"""A backend for the contract suite that can be told what to observe.

Its jobs "live elsewhere": in a `FakeCloud` shared by every backend instance made from it, the
way a cloud service outlives a Jupyter server. A test scripts what the cloud says of each job
and reads back what the backend was asked to do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from jupyter_mlp.backends.base import (
    Backend,
    BackendStatus,
    Launch,
    LogChunk,
    Observation,
    Runtime,
    Tracked,
)
from jupyter_mlp.backends.capabilities import Capabilities
from jupyter_mlp.backends.cloud_schedules import CloudRun
from jupyter_mlp.core.models import FieldError, Job, JobKind, JobState
from jupyter_mlp.core.schedule_models import Schedule
from jupyter_mlp.jobfiles.bundle import JobFolder


@dataclass
class FakeCloud:
    """What the far side knows: its jobs by our id, and every request it received."""

    states: dict[str, JobState] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    creates: list[str] = field(default_factory=list)
    cancels: list[tuple[str, bool]] = field(default_factory=list)
    polls: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    list_calls: int = 0
    # While set, polls wait on it (a slow API); cleared polls answer at once.
    hold: asyncio.Event | None = None
    # After a cancel, the state the cloud reports (None: it ignores cancels).
    on_cancel: JobState | None = JobState.CANCELLED
    logs: dict[str, list[str]] = field(default_factory=dict)

    def finish(self, job_id: str, state: JobState, message: str = "") -> None:
        self.states[job_id] = state
        self.messages[job_id] = message


class FakeRuntime(Runtime):
    remote_id: str | None = None


class FakeBackend(Backend[FakeRuntime]):
    name: ClassVar[str] = "fake"
    runtime_model: ClassVar[type[Runtime]] = FakeRuntime
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
        service="the fake cloud",
        unsupported={
            "sweeps": "the fake cloud runs single jobs",
            "drain": "the fake cloud only cancels",
            "progress": "the fake cloud reports states only",
            "priced": "the fake cloud is free",
            "schedules": "the fake cloud runs jobs now",
        },
    )

    def __init__(self, cloud: FakeCloud, one_list_call: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cloud = cloud
        self.one_list_call = one_list_call

    def status(self) -> BackendStatus:
        return BackendStatus(name=self.name, available=True, configured=True)

    def catalog(self, region: str | None, active: list[Tracked[FakeRuntime]]) -> dict[str, Any]:
        return {"backend": self.name, "running": [t.job.id for t in active]}

    async def start(
        self, job: Job, folder: JobFolder, active: list[Tracked[FakeRuntime]]
    ) -> Launch:
        # Idempotent on our id: a job the cloud already has is found again, not made twice.
        if job.id not in self.cloud.states:
            self.cloud.creates.append(job.id)
            self.cloud.states[job.id] = JobState.RUNNING
        return Launch(runtime=FakeRuntime(remote_id=f"remote-{job.id}"), backend_job_id=job.id)

    async def poll(self, tracked: Tracked[FakeRuntime]) -> Observation:
        self.cloud.polls += 1
        self.cloud.in_flight += 1
        self.cloud.most_in_flight = max(self.cloud.most_in_flight, self.cloud.in_flight)
        try:
            await asyncio.sleep(0.005)  # an API call takes a while
            if self.cloud.hold is not None:
                await self.cloud.hold.wait()
        finally:
            self.cloud.in_flight -= 1
        state = self.cloud.states[tracked.job.id]
        return Observation(
            state, backend_state=state.value, message=self.cloud.messages.get(tracked.job.id, "")
        )

    async def poll_many(
        self, tracked: list[Tracked[FakeRuntime]]
    ) -> dict[str, Observation | Exception]:
        if not self.one_list_call:
            return await super().poll_many(tracked)
        self.cloud.list_calls += 1
        return {
            t.job.id: Observation(self.cloud.states[t.job.id], backend_state="listed")
            for t in tracked
        }

    async def cancel(self, tracked: Tracked[FakeRuntime], force: bool = False) -> None:
        self.cloud.cancels.append((tracked.job.id, force))
        if self.cloud.on_cancel is not None:
            self.cloud.states[tracked.job.id] = self.cloud.on_cancel

    async def read_log(
        self,
        tracked: Tracked[FakeRuntime],
        cursor: str | None,
        limit: int,
        tail: int | None = None,
    ) -> LogChunk:
        # Paged by entry index, the way cloud logs are paged by token.
        lines = self.cloud.logs.get(tracked.job.id, [])
        start = int(cursor or 0)
        page = lines[start : start + 2]
        end = start + len(page)
        return LogChunk(
            data="".join(page),
            cursor=str(start),
            next_cursor=str(end),
            complete=tracked.job.state.terminal and end >= len(lines),
        )


@dataclass
class FakeCloudScheduler:
    """A cloud's scheduler: its schedules by our schedule id, and the runs it made of each."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_nows: list[str] = field(default_factory=list)
    made: dict[str, list[CloudRun]] = field(default_factory=dict)

    def schedule_errors(self, schedule: Schedule) -> list[FieldError]:
        # Like a real cloud scheduler, it cannot see whether the last run still runs.
        if schedule.overlap != "allow":
            return [FieldError(field="overlap", message="a cloud schedule takes 'allow' only")]
        return []

    def create(self, schedule: Schedule) -> str:
        self.update(schedule)
        return f"cloud/{schedule.id}"

    def update(self, schedule: Schedule) -> None:
        self.jobs[schedule.id] = {
            "cron": schedule.cron,
            "timezone": schedule.timezone,
            "paused": schedule.paused,
        }

    def run_now(self, schedule: Schedule) -> None:
        self.run_nows.append(schedule.id)

    def delete(self, schedule: Schedule) -> None:
        del self.jobs[schedule.id]

    def runs(self, schedule: Schedule, known: set[str]) -> list[CloudRun]:
        return [r for r in self.made.get(schedule.id, []) if r.backend_job_id not in known]

    def fire(self, schedule_id: str, remote_id: str, at: datetime) -> None:
        """The cloud fires a schedule: a run of it starts there."""
        self.made.setdefault(schedule_id, []).append(
            CloudRun(
                backend_job_id=remote_id,
                created_at=at,
                state=JobState.RUNNING,
                scheduled_for=at,
                runtime={"remote_id": remote_id},
            )
        )


class SchedulingFakeBackend(FakeBackend):
    """The fake cloud with a scheduler of its own; its runs are looked at by their remote id."""

    capabilities: ClassVar[Capabilities] = FakeBackend.capabilities.model_copy(
        update={
            "schedules": True,
            "cloud_schedules": True,
            "unsupported": {
                k: v for k, v in FakeBackend.capabilities.unsupported.items() if k != "schedules"
            },
        }
    )

    def __init__(self, cloud: FakeCloud, scheduler: FakeCloudScheduler, **kwargs: Any) -> None:
        super().__init__(cloud, **kwargs)
        self.scheduler = scheduler

    def cloud_scheduler(self) -> FakeCloudScheduler:  # type: ignore[override]
        return self.scheduler

    async def poll(self, tracked: Tracked[FakeRuntime]) -> Observation:
        remote = tracked.runtime.remote_id or tracked.job.id
        state = self.cloud.states.get(remote, JobState.RUNNING)
        return Observation(state, backend_state=state.value)
