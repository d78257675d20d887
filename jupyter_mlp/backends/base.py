"""The one small interface every backend implements.

A backend runs jobs somewhere and reports what it observes; it never writes a job's state.
The JobManager asks it to admit, start, observe and cancel jobs, and owns every state change.
The contract is shaped so that a backend's jobs may live elsewhere (a cloud service):

- it observes many jobs at once (`poll_many`), on its own interval, with backoff after errors;
- it serves its jobs' logs by an opaque cursor and its outputs (local paths or `gs://` URIs);
- it normalises resources, shows its catalog and estimates cost from the shared catalog data;
- it keeps its bookkeeping in a typed model of its own (`Runtime`), next to the manager's fields;
- `start` is idempotent on our job id: a job created before a crash is found, never made twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict
from traitlets import Float, Int
from traitlets.config import LoggingConfigurable

from ..core.models import Attempt, FieldError, Job, JobSpec, JobState, Progress
from ..jobfiles.bundle import JobFolder, SourcePlan
from .capabilities import Capabilities

if TYPE_CHECKING:
    from ..core.metrics import FileTail
    from .cloud_schedules import CloudScheduler


class BackendStatus(BaseModel):
    name: str
    available: bool
    configured: bool
    reason: str = ""
    default: bool = False
    # The server-side settings of this backend (project, bucket...), shown, never edited, by UIs.
    settings: dict[str, Any] = {}
    # What is missing before the backend can take jobs: [{"setting", "message"}].
    missing: list[dict[str, str]] = []
    # What it can do (the backend class's declaration), so that UIs never test a name.
    capabilities: Capabilities | None = None
    # Where a job's outputs go, as the backend's settings say ("" when it has nothing to add).
    outputs: str = ""

    @classmethod
    def installed(
        cls, name: str, settings: dict[str, Any], missing: list[dict[str, str]], ready: str
    ) -> BackendStatus:
        """An installed backend: configured when nothing is missing (then `ready` says what it
        does), else which settings to fill in."""
        reason = "not configured: " + "; ".join(m["message"] for m in missing) if missing else ready
        return cls(
            name=name,
            available=True,
            configured=not missing,
            reason=reason,
            settings=settings,
            missing=missing,
        )


class PreflightCheck(BaseModel):
    """One thing looked at before a job is staged or created: whether it holds (pass), does
    not (fail) or could not be told (unknown), what was seen, and what to do about it."""

    id: str
    title: str
    status: Literal["pass", "fail", "unknown"]
    detail: str = ""
    fix: str = ""


class Runtime(BaseModel):
    """A backend's own bookkeeping of one job, stored with it. Subclass per backend."""

    model_config = ConfigDict(extra="ignore")


R = TypeVar("R", bound=Runtime)


@dataclass
class Tracked(Generic[R]):
    """A started (or starting) job as a backend sees it: the job, its folder, its bookkeeping."""

    job: Job
    folder: JobFolder
    runtime: R


@dataclass
class Observation:
    """What a backend saw of a job. `state` is None when it has nothing new to say."""

    state: JobState | None = None
    backend_state: str | None = None
    message: str = ""
    runtime: Runtime | None = None  # updated bookkeeping to store, if any
    # The job's name at the backend and its page there, once the backend knows them.
    backend_job_id: str | None = None
    console_url: str | None = None
    # A new message for a job whose state stays as it is (what a starting job waits for).
    state_message: str | None = None
    # A sweep the backend runs itself: its trials as the backend lists them.
    trials: list[dict[str, Any]] | None = None
    # A cloud job's tries, all of them, when they changed (one ended and the next began: the
    # timeline says so). The last is what runs now.
    attempts: list[Attempt] | None = None
    # How far a notebook job got ("cell 4 of 12"), when that changed.
    progress: Progress | None = None

    def updates(self) -> dict[str, Any]:
        """The job's fields this observation changes besides its state: never the state, which
        only the manager's state machine moves."""
        named: dict[str, Any] = {
            "backend_job_id": self.backend_job_id,
            "console_url": self.console_url,
            "state_message": self.state_message,
            "trials": self.trials,
            "attempts": self.attempts,
            "progress": self.progress,
        }
        found = {name: value for name, value in named.items() if value is not None}
        if self.runtime is not None:
            found["runtime"] = self.runtime.model_dump(mode="json")
        if self.backend_state:
            found["backend_state"] = self.backend_state
        return found


@dataclass
class Launch:
    """What a backend reports after starting a job."""

    runtime: Runtime
    backend_job_id: str | None = None
    console_url: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class LogChunk:
    """A piece of a job's log. Cursors are opaque to everyone but the backend."""

    data: str
    cursor: str
    next_cursor: str
    complete: bool
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. byte offsets for local logs

    def to_json(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "cursor": self.cursor,
            "next_cursor": self.next_cursor,
            "complete": self.complete,
            **self.extra,
        }


class CannotDo(NotImplementedError):
    """A backend asked for an optional ability (drain, progress) its capabilities lack."""


class Backend(LoggingConfigurable, Generic[R]):
    """Where jobs run. Subclasses are found through the `jupyter_mlp.backends` entry points."""

    name: ClassVar[str]
    runtime_model: ClassVar[type[Runtime]] = Runtime
    # What it can do; callers read this, never the backend's name.
    capabilities: ClassVar[Capabilities]

    poll_interval = Float(
        0.5, config=True, help="Seconds between two looks at this backend's running jobs."
    )
    max_poll_interval = Float(
        30.0, config=True, help="Longest wait between looks after repeated errors (backoff)."
    )
    poll_concurrency = Int(
        8, config=True, help="Most jobs looked at at once when a backend polls job by job."
    )
    cancel_grace_seconds = Float(
        10.0,
        config=True,
        help="Seconds a cancelled job may take to stop before it is stopped by force.",
    )

    root_dir: Path = Path.cwd()

    def bind(self, *, root_dir: Path, wake: Callable[[], None]) -> None:
        """Called by the manager: its root dir, and `wake`, which makes the manager look at
        this backend's jobs now (for a backend that learns of changes as they happen)."""
        self.root_dir = root_dir
        self._wake = wake

    def wake(self) -> None:
        wake = getattr(self, "_wake", None)
        if wake is not None:
            wake()

    # ----- what the backend is and offers -----

    def status(self) -> BackendStatus:
        """Whether this backend can take jobs now, and if not, which setting to fill in."""
        raise NotImplementedError

    def outputs_location(self) -> str:
        """Where a job's outputs go, in a line a person reads before launching ("" to say
        nothing more than the job's folder)."""
        return ""

    def normalize(self, spec: JobSpec) -> tuple[JobSpec, list[FieldError]]:
        """The spec with its resources in this backend's terms, and what cannot run here."""
        return spec, []

    def validate(self, spec: JobSpec, plan: SourcePlan | None) -> list[FieldError]:
        """Backend-specific checks of a spec, run at submit; empty when it can run.

        `plan` is what the source becomes (None when the source itself is wrong)."""
        return []

    def preflight(self, spec: JobSpec) -> list[PreflightCheck]:
        """What can be checked before a job of `spec` is staged or created (credentials, APIs,
        permissions, quotas), for the review step; none by default. Blocking: run in a thread."""
        return []

    def cloud_scheduler(self) -> CloudScheduler | None:
        """Where schedules with `runs_in: "cloud"` run, for a backend whose capabilities say
        `cloud_schedules`; None by default."""
        return None

    def catalog(self, region: str | None, active: list[Tracked[R]]) -> dict[str, Any]:
        """Machine types, accelerators and prices offered (for `local`, this machine)."""
        raise NotImplementedError

    def estimate(self, spec: JobSpec) -> dict[str, Any] | None:
        """Estimated hourly cost by list prices; None when the backend has none."""
        return None

    # ----- the life of jobs -----

    def admit(self, queued: list[Job], active: list[Tracked[R]]) -> list[Job]:
        """Of the queued jobs (oldest first), those that may start now; all of them by default."""
        return list(queued)

    async def start(self, job: Job, folder: JobFolder, active: list[Tracked[R]]) -> Launch:
        """Start an admitted job; raise to fail it with the exception's message.

        Idempotent on `job.id`: when a job for this id already exists (a crash between creating
        and recording it), return that one instead of creating a second."""
        raise NotImplementedError

    async def poll(self, tracked: Tracked[R]) -> Observation:
        """Look at one started job (also one started by an earlier server process)."""
        raise NotImplementedError

    async def poll_many(self, tracked: list[Tracked[R]]) -> dict[str, Observation | Exception]:
        """Look at many jobs in one round: {job id: what was seen, or the error met}.

        By default, per-job polls run at most `poll_concurrency` at a time; a remote backend
        overrides this to answer a whole round with one list call."""
        gate = asyncio.Semaphore(max(1, self.poll_concurrency))

        async def one(item: Tracked[R]) -> Observation | Exception:
            async with gate:
                try:
                    return await self.poll(item)
                except Exception as exc:
                    return exc

        seen = await asyncio.gather(*(one(item) for item in tracked))
        return {item.job.id: result for item, result in zip(tracked, seen, strict=True)}

    async def cancel(self, tracked: Tracked[R], force: bool = False) -> None:
        """Ask the job to stop; `force` once, after `cancel_grace_seconds`."""
        raise NotImplementedError

    async def drain(self, tracked: Tracked[R]) -> None:
        """Ask a running streaming job to stop reading its input and finish what it read; only
        for a backend whose `capabilities.drain` says so. Raise RuntimeError with the reason
        when this job cannot drain."""
        raise CannotDo(f"the {self.name} backend cannot drain a job: {self._why_not('drain')}")

    async def progress(self, tracked: Tracked[R]) -> list[dict[str, Any]]:
        """Elements each step of the job put out so far: [{step, elements}]; only for a backend
        whose `capabilities.progress` says so."""
        why = self._why_not("progress")
        raise CannotDo(f"the {self.name} backend reports no progress per step: {why}")

    def _why_not(self, feature: str) -> str:
        return self.capabilities.why_not(feature) or "not supported"

    # ----- what jobs leave -----

    async def read_log(
        self, tracked: Tracked[R], cursor: str | None, limit: int, tail: int | None = None
    ) -> LogChunk:
        """Up to `limit` bytes of the job's log from `cursor` (None: the beginning; with
        `tail`: about the last `tail` bytes). `complete` once the job ended and all was read."""
        raise NotImplementedError

    async def list_outputs(self, tracked: Tracked[R]) -> list[dict[str, Any]]:
        """The job's outputs as they are now: [{name, path or uri, type, exists, ...}]."""
        return []

    async def read_metrics(self, tracked: Tracked[R], offset: int, limit: int) -> FileTail | None:
        """Up to `limit` bytes of the job's metrics file (`mlp-metrics.jsonl`, which
        `jupyter_mlp.report` writes in its output folder) from byte `offset`; None when it is
        not there or holds nothing past `offset`. None by default: a backend whose jobs do not
        report this way."""
        return None

    def close(self) -> None:
        """Release what the backend holds while idle (never the jobs: they outlive the server)."""

    def bundle_args(self, spec: JobSpec) -> list[str]:
        """Arguments this backend adds after the job's own in its bundle (none by default)."""
        return []
