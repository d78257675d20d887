"""The schedule vocabulary: a job spec plus when it runs (ScheduleRequest), and what the system
knows of a schedule and of each of its fire times (Schedule, ScheduleFire).

A cron expression is read by `cronsim` (five fields; `@hourly`, `@daily`, `@weekly`, `@monthly`
and `@yearly` are stored as their five fields), in an IANA time zone stored explicitly. Across a
daylight-saving change a time in the skipped hour fires once, right after the jump, and a time in
the repeated hour fires once (as cronsim, like Debian's cron, does).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .models import JobSpec, Text, _field_error

#: Cron's nicknames, as the five fields they are stored as.
CRON_ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
#: A fire missed while no server ran is run once when one comes back if it is younger than this.
DEFAULT_CATCHUP_SECONDS = 3600

Overlap = Literal["skip", "queue", "allow"]
RunsIn = Literal["server", "cloud"]


def cron_fields(expression: str) -> str:
    """The five-field form of a cron expression (aliases expanded), or ValueError saying why
    it is not one."""
    from cronsim import CronSim, CronSimError

    text = " ".join(expression.split())
    text = CRON_ALIASES.get(text.lower(), text)
    if len(text.split(" ")) != 5:
        raise ValueError(
            f"{expression!r} is not a cron expression: give five fields (minute hour "
            "day-of-month month day-of-week, e.g. '0 3 * * *') or one of "
            + ", ".join(sorted(CRON_ALIASES))
        )
    try:
        CronSim(text, datetime(2026, 1, 1))
    except CronSimError as exc:
        raise ValueError(f"{expression!r} is not a cron expression: {exc}") from None
    return text


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone of that name, or ValueError saying it is unknown."""
    try:
        if name in available_timezones() or name == "UTC":
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    raise ValueError(f"{name!r} is not an IANA time zone name (such as 'Europe/Berlin' or 'UTC')")


def server_time_zone() -> str:
    """The IANA name of this server's time zone ('UTC' when it cannot be told)."""
    import os
    from pathlib import Path

    named = os.environ.get("TZ", "").lstrip(":")
    if named in available_timezones():
        return named
    try:
        link = Path("/etc/localtime").resolve()
    except OSError:
        return "UTC"
    parts = link.parts
    for start in range(len(parts)):
        candidate = "/".join(parts[start:])
        if candidate in available_timezones():
            return candidate
    return "UTC"


def fire_times(cron: str, timezone: str, after: datetime) -> Iterator[datetime]:
    """The fire times of `cron` in `timezone` strictly after `after` (aware), in order, aware."""
    from cronsim import CronSim

    yield from CronSim(cron, after.astimezone(time_zone(timezone)))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class _When(_Strict):
    """The fields of when a schedule runs, shared by a new schedule and an edit."""

    @field_validator("cron", check_fields=False)
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else cron_fields(value)

    @field_validator("timezone", check_fields=False)
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None:
            time_zone(value)
        return value

    @model_validator(mode="after")
    def _window(self) -> _When:
        start, end = getattr(self, "start_at", None), getattr(self, "end_at", None)
        for name, value in (("start_at", start), ("end_at", end)):
            if value is not None and value.tzinfo is None:
                raise _field_error(name, "needs a time zone offset (e.g. 2026-12-07T03:00:00Z)")
        if start is not None and end is not None and end <= start:
            raise _field_error("end_at", "is not after start_at: give an end after the start")
        return self


class ScheduleRequest(_When):
    """`POST /mlp/schedules`: a job spec plus when it runs."""

    name: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        None, description="The schedule's name (default: the job's name)."
    )
    cron: Text = Field(
        description="When it fires: five cron fields (minute hour day-of-month month "
        "day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly; stored as five fields."
    )
    timezone: Text | None = Field(
        None, description="The IANA time zone the cron reads in (default: the server's)."
    )
    spec: JobSpec = Field(description="The job each fire runs; checked like a submission.")
    overlap: Overlap = Field(
        "skip",
        description="When a fire comes while the last run still runs: `skip` it (recorded as "
        "skipped), `queue` it (it runs when the last one ends) or `allow` both.",
    )
    runs_in: RunsIn = Field(
        "server",
        description="`server`: this server fires it (and catches up after a restart); `cloud`: "
        "Cloud Scheduler fires it at Vertex AI, with the server closed.",
    )
    start_at: datetime | None = Field(None, description="No fire before this time.")
    end_at: datetime | None = Field(None, description="No fire after this time.")
    paused: bool = False
    catchup_seconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] = Field(
        DEFAULT_CATCHUP_SECONDS,
        description="A fire missed while no server ran runs once when one comes back if it is "
        "younger than this; older, it is recorded as missed.",
    )


class SchedulePatch(_When):
    """`PATCH /mlp/schedules/{id}`: the fields to change (pause and resume: `paused`)."""

    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    cron: Text | None = None
    timezone: Text | None = None
    spec: JobSpec | None = None
    overlap: Overlap | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    paused: bool | None = None
    catchup_seconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = None
    refresh_source: bool = Field(
        False, description='Take a new snapshot of the source file ("Update from file").'
    )


class FireOutcome(enum.StrEnum):
    """What became of one fire time."""

    STARTED = "started"  # a job was submitted: `job_id`
    QUEUED = "queued"  # waits for the last run to end (overlap: queue)
    SKIPPED = "skipped"  # the last run still ran (overlap: skip)
    MISSED = "missed"  # no server ran then, and it is older than the catch-up window
    FAILED = "failed"  # the submission was refused: `message`


class ScheduleFire(BaseModel):
    """One fire time of a schedule and what became of it (unique per schedule and time)."""

    schedule_id: str
    fire_at: datetime
    outcome: FireOutcome
    job_id: str | None = None
    message: str = ""
    recorded_at: datetime


class Schedule(BaseModel):
    """A stored schedule: its request, identity and what the server knows of its fires."""

    id: str
    name: str
    cron: str
    timezone: str
    spec: JobSpec
    overlap: Overlap
    runs_in: RunsIn
    start_at: datetime | None = None
    end_at: datetime | None = None
    paused: bool = False
    catchup_seconds: int = DEFAULT_CATCHUP_SECONDS
    created_at: datetime
    updated_at: datetime
    source_snapshot_at: datetime | None = Field(
        None,
        description="When the source was last copied for the runs (created, edited, "
        "or Update from file).",
    )
    next_fire_at: datetime | None = Field(None, description="The next time it fires, if any.")
    last_fires: list[ScheduleFire] = Field(
        default_factory=list, description="Its latest fires, newest first."
    )
    cloud_job: str | None = Field(
        None, description="runs_in cloud: the Cloud Scheduler job's resource name."
    )


def in_window(schedule: Schedule | ScheduleRequest, fire: datetime) -> bool:
    """Whether a fire time is within the schedule's start and end."""
    if schedule.start_at is not None and fire < schedule.start_at:
        return False
    return schedule.end_at is None or fire <= schedule.end_at


def catchup_window(schedule: Schedule) -> timedelta:
    """How old a missed fire may be and still run when a server comes back."""
    return timedelta(seconds=schedule.catchup_seconds)
