"""The one small interface every backend implements.

A backend runs jobs somewhere and reports what it observes; it never writes a job's state.
The JobManager asks it to admit, start, poll and cancel jobs, and owns every state change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel
from traitlets.config import LoggingConfigurable

from ..bundle import JobFolder, SourcePlan
from ..models import FieldError, Job, JobSpec, JobState


class BackendStatus(BaseModel):
    name: str
    available: bool
    configured: bool
    reason: str = ""
    default: bool = False


@dataclass
class Observation:
    """What a backend saw of a job. `state` is None when it has nothing new to say."""

    state: JobState | None = None
    backend_state: str | None = None
    message: str = ""
    runtime: dict[str, Any] | None = None  # updated bookkeeping to store, if any


@dataclass
class Launch:
    """What a backend reports after starting a job."""

    runtime: dict[str, Any]
    backend_job_id: str | None = None
    console_url: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)


class Backend(LoggingConfigurable):
    """Where jobs run. Subclasses are found through the `jupyter_mlp.backends` entry points."""

    name: ClassVar[str]

    def status(self) -> BackendStatus:
        """Whether this backend can take jobs now, and if not, which setting to fill in."""
        raise NotImplementedError

    def validate(self, spec: JobSpec, plan: SourcePlan | None) -> list[FieldError]:
        """Backend-specific checks of a spec, run at submit; empty when it can run.

        `plan` is what the source becomes (None when the source itself is wrong)."""
        return []

    def admit(self, queued: list[Job], active: list[tuple[Job, dict[str, Any]]]) -> list[Job]:
        """Of the queued jobs (oldest first), those that may start now; all of them by default.

        `active` holds the jobs this backend is running now with their stored runtime.
        """
        return list(queued)

    async def start(
        self, job: Job, folder: JobFolder, active: list[tuple[Job, dict[str, Any]]]
    ) -> Launch:
        """Start an admitted job; raise to fail it with the exception's message."""
        raise NotImplementedError

    async def poll(self, job: Job, runtime: dict[str, Any]) -> Observation:
        """Look at a started job (also one started by an earlier server process)."""
        raise NotImplementedError

    async def cancel(self, job: Job, runtime: dict[str, Any], force: bool = False) -> None:
        """Ask the job to stop; `force` after the grace period has passed."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the backend holds while idle (never the jobs: they outlive the server)."""
