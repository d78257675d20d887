"""What a backend that runs schedules in its own cloud offers (`runs_in: "cloud"`).

The server does not fire such a schedule: the cloud's scheduler does, with JupyterLab and the
server closed. The server creates, changes, pauses, resumes, runs now and deletes the cloud's
schedule through this protocol, and, when it runs, finds the runs the cloud made (by the
schedule's label) so they are listed as the schedule's runs like any job of the backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..core.models import FieldError, JobState
from ..core.schedule_models import Schedule


@dataclass
class CloudRun:
    """A run the cloud's scheduler made of a schedule, as the backend found it."""

    backend_job_id: str  # the backend's resource name of the run
    created_at: datetime
    state: JobState
    scheduled_for: datetime | None = None  # the fire time, when the cloud says it
    console_url: str | None = None
    state_message: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    # The backend's bookkeeping (its Runtime, as JSON) so the watch loop follows the run.
    runtime: dict[str, Any] = field(default_factory=dict)


class CloudScheduler(Protocol):
    """A backend's cloud scheduler. Every method blocks: callers run them in threads."""

    def schedule_errors(self, schedule: Schedule) -> list[FieldError]:
        """What the cloud cannot run of the schedule (fields that need a running server,
        overlap other than `allow`...), each naming its field (`spec.scheduling.fallbacks`)."""

    def create(self, schedule: Schedule) -> str:
        """Create the cloud's schedule (staging what the runs need once); its resource name."""

    def update(self, schedule: Schedule) -> None:
        """Make the cloud's schedule match `schedule` (when, what, paused or not)."""

    def run_now(self, schedule: Schedule) -> None:
        """Have the cloud fire the schedule now."""

    def delete(self, schedule: Schedule) -> None:
        """Delete the cloud's schedule (its runs stay)."""

    def runs(self, schedule: Schedule, known: set[str]) -> list[CloudRun]:
        """The runs the cloud made of the schedule whose `backend_job_id` is not in `known`."""
