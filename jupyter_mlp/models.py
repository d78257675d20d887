"""The job vocabulary: what a person asks for (JobSpec) and what the system knows of it (Job)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class JobKind(enum.StrEnum):
    TRAIN = "train"
    ETL = "etl"


class JobState(enum.StrEnum):
    """One state machine for every backend; each backend maps its own words onto it."""

    QUEUED = "QUEUED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def active(self) -> bool:
        """The job holds (or is about to hold) resources on its backend."""
        return self in (JobState.STARTING, JobState.RUNNING, JobState.CANCELLING)


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class _Strict(BaseModel):
    # Unknown fields are refused so that a typo ("acelerator_count") is a 400, not silently ignored.
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    """What to run: a file under the server's root dir, or inline code (from a magic)."""

    path: str | None = Field(None, description="Path relative to the Jupyter root dir.")
    code: str | None = Field(None, description="Inline Python code.")
    mode: Literal["notebook", "script"] | None = Field(
        None, description="For notebooks: execute as a notebook (default) or convert to a script."
    )
    include: list[str] = Field(
        default_factory=list,
        description="Globs of files next to the source to ship with the job (helper modules, "
        "small data), relative to the source's folder.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        if (self.path is None) == (self.code is None):
            raise ValueError("give exactly one of 'path' (a file under the root dir) or 'code'")
        if self.path is not None and not self.path.strip():
            raise ValueError("'path' is empty")
        return self


class Resources(_Strict):
    """Where the job runs: machine type, accelerators and replicas (workers for ETL)."""

    machine_type: str | None = None
    accelerator_type: str | None = None
    accelerator_count: Annotated[int, Field(ge=0, le=64)] = 0
    replica_count: Annotated[int, Field(ge=1, le=1000)] = 1
    max_workers: Annotated[int, Field(ge=1, le=4000)] | None = None


class JobSpec(_Strict):
    """Everything needed to run a job; backend-neutral."""

    kind: JobKind = JobKind.TRAIN
    backend: str | None = Field(None, description="Backend name; the configured default if unset.")
    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    source: Source
    args: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    region: str | None = None
    requirements: list[str] | str = Field(
        default_factory=list,
        description="Packages to install for the job, or the path of a requirements file.",
    )
    environment: str | None = Field(
        None, description="Container image on the cloud; Python interpreter path locally."
    )
    labels: dict[str, str] = Field(default_factory=dict)


class Transition(BaseModel):
    state: JobState
    at: datetime
    message: str = ""


class Cost(BaseModel):
    """What a cloud job costs by list prices: an estimate, dated, never a bill."""

    usd_per_hour: float
    usd_so_far: float = Field(description="Hourly estimate times the time the job has run.")
    prices_as_of: str
    estimate: bool = True


class Job(BaseModel):
    """A JobSpec plus identity and life. Only the JobManager changes one."""

    id: str
    name: str
    kind: JobKind
    backend: str
    state: JobState
    state_message: str = ""
    backend_state: str | None = None
    backend_job_id: str | None = None
    console_url: str | None = None
    spec: JobSpec
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    transitions: list[Transition] = Field(default_factory=list)
    cost: Cost | None = Field(
        default=None, description="Cloud jobs only: estimated cost from list prices."
    )


class FieldError(BaseModel):
    field: str
    message: str
    suggestions: list[str] = Field(default_factory=list)


class MLPError(Exception):
    """A mistake the caller can fix; carries an HTTP status and field-level errors."""

    def __init__(self, status: int, message: str, errors: list[FieldError] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []

    @classmethod
    def invalid(cls, field: str, message: str, suggestions: list[str] | None = None) -> MLPError:
        error = FieldError(field=field, message=message, suggestions=suggestions or [])
        return cls(400, f"{field}: {message}", [error])

    @classmethod
    def from_validation(cls, exc: ValidationError, prefix: str = "") -> MLPError:
        errors = []
        for item in exc.errors():
            loc = [str(p) for p in item["loc"] if not str(p).startswith("function-")]
            field = ".".join(([prefix] if prefix else []) + loc) or prefix or "body"
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown field"
            elif item["type"] == "enum" and "expected" in item.get("ctx", {}):
                message = f"must be one of {item['ctx']['expected']}"
            errors.append(FieldError(field=field, message=message))
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return cls(400, f"invalid job spec: {summary}", errors)
