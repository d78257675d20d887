"""The job vocabulary: what a person asks for (JobSpec) and what the system knows of it (Job)."""

from __future__ import annotations

import enum
import json
import keyword
import math
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, PydanticSerializationError

#: The largest job spec accepted, serialized as JSON: a spec says what to run, and code or data
#: larger than this belongs in a file (it is stored with every job and sent to every client).
MAX_SPEC_BYTES = 256 * 1024

#: Deepest nesting of arrays and objects in a request body or a parameter's value: a spec needs
#: a few levels; a thousand exhaust Python's stack (and SQLite's JSON functions stop there).
MAX_JSON_DEPTH = 64

#: The longest single argument a process can be given on Linux (MAX_ARG_STRLEN, 32 pages,
#: counting the terminating NUL): a longer one fails the job with "Argument list too long".
MAX_ARG_BYTES = 128 * 1024 - 1

#: Validation context for specs read back from storage: a rule added after a job was stored
#: (allowed characters, names, sizes) must never make that job unreadable.
STORED: dict[str, Any] = {"stored": True}


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
        return self in ACTIVE_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
ACTIVE_STATES = frozenset({JobState.STARTING, JobState.RUNNING, JobState.CANCELLING})


def parse_state(text: str) -> JobState:
    """A state as a person writes it ("running", " Failed ") as a JobState; an MLPError on
    the field `state` lists the valid words otherwise."""
    try:
        return JobState(text.strip().upper())
    except ValueError:
        valid = ", ".join(s.value for s in JobState)
        raise MLPError.invalid("state", f"unknown state '{text}'; one of: {valid}") from None


def parse_states(texts: Iterable[str]) -> list[JobState]:
    """States given as repeated and/or comma-separated words (`?state=running,queued`)."""
    return [parse_state(word) for text in texts for word in text.split(",") if word.strip()]


def _checking(info: ValidationInfo) -> bool:
    return not (isinstance(info.context, dict) and info.context.get("stored"))


_NUL = (
    "contains a NUL character, which no process argument, environment variable or file name "
    "can hold; remove it"
)
_NOT_UNICODE = (
    "is not valid Unicode text: it holds a lone surrogate (such as '\\ud800'); surrogates "
    "must come in pairs"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be part of a spec (a NUL, a lone surrogate), or None.

    JSON's escapes can carry both; a NUL cannot reach a process, and a lone surrogate cannot be
    written as UTF-8 (the spec would be stored one way and listed another)."""
    if "\x00" in value:
        return _NUL
    if _SURROGATE.search(value):
        return _NOT_UNICODE
    return None


def _plain_text(value: str, info: ValidationInfo) -> str:
    problem = text_problem(value)
    if problem is not None and _checking(info):
        raise ValueError(problem)
    return value


def _plain_entries(entries: list[str], info: ValidationInfo) -> list[str]:
    for index, entry in enumerate(entries):
        problem = text_problem(entry)
        if problem is not None and _checking(info):
            raise ValueError(f"entry {index + 1} ({_shown(entry)}) {problem}")
    return entries


def _shown(text: str) -> str:
    """`text` quoted for a message, short, with lone surrogates escaped (the answer is JSON)."""
    short = text if len(text) <= 40 else text[:40] + "..."
    return repr(short).encode("utf-8", "backslashreplace").decode()


def json_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> str | None:
    """The path ('a.b[2]') of the first array or object nested deeper than `limit` levels in
    a JSON value, or None. Iterative, so that any depth is safe to look at."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return path
        stack.extend((child, _child_path(path, key), depth + 1) for key, child in _children(item))
    return None


def _children(value: dict[Any, Any] | list[Any]) -> Iterable[tuple[Any, Any]]:
    return value.items() if isinstance(value, dict) else enumerate(value)


def _child_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    shown = str(key).encode("utf-8", "backslashreplace").decode()
    return f"{path}.{shown}" if path else shown


def _json_problem(value: Any) -> tuple[str, str] | None:
    """Where a JSON-like value holds something no job can be given, and what: a NaN or an
    infinity, a NUL or a lone surrogate (in a key or a string), or nesting over the limit."""
    deep = json_too_deep(value)
    if deep is not None:
        return deep, f"nests arrays and objects over {MAX_JSON_DEPTH} levels deep"
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path, (
                f"{item} is not a JSON number; give a finite number, or a string "
                f"('{item}') if that is what the job expects"
            )
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return path, problem
        if isinstance(item, dict | list):
            for key, child in _children(item):
                problem = text_problem(key) if isinstance(key, str) else None
                if problem is not None:
                    return _child_path(path, key), f"(a key) {problem}"
                stack.append((child, _child_path(path, key)))
    return None


#: A parameter's name: an ASCII Python name that is not a keyword. Parameters become Python
#: variables (papermill, inline code) and `--name=value` arguments (scripts, Vertex AI trials).
PARAMETER_NAME_PATTERN = "^(?!(?:" + "|".join(keyword.kwlist) + ")$)[A-Za-z_][A-Za-z0-9_]*$"
#: Text without NUL: how the OpenAPI document says what `text_problem` checks (JSON Schema
#: has no way to say "no lone surrogate"; no JSON encoder writes one by accident).
NO_NUL_PATTERN = "^[^\\x00]*$"
_NO_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
# Python's whitespace (str.strip), spelled out: JSON Schema's \s is JavaScript's, not quite it.
_SPACE = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000"
)
#: Text without NUL that is not blank (a path).
FILLED_PATTERN = f"^[^\\x00]*[^\\x00{_SPACE}][^\\x00]*$"


def _string_schema(pattern: str = NO_NUL_PATTERN, **more: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, **more})


def _python_name(name: str, info: ValidationInfo) -> str:
    if _checking(info) and not re.fullmatch(PARAMETER_NAME_PATTERN, name):
        raise ValueError(
            f"{_shown(name)} is not a Python name (ASCII letters, digits and _, not starting "
            "with a digit, not a keyword)"
        )
    return name


def _parameter_value(value: Any, info: ValidationInfo) -> Any:
    found = _json_problem(value) if _checking(info) else None
    if found is not None:
        path, problem = found
        raise ValueError(f"at {path}: {problem}" if path else problem)
    return value


#: A string of the spec that can reach a file name, a process argument or a database.
Text = Annotated[str, AfterValidator(_plain_text), _string_schema()]
# Entries of lists, checked by their list's validator (which names the list).
_Entry = Annotated[str, _string_schema()]
_FilledEntry = Annotated[str, _string_schema(FILLED_PATTERN)]
ParameterName = Annotated[str, AfterValidator(_python_name), _string_schema(PARAMETER_NAME_PATTERN)]
ParameterValue = Annotated[Any, AfterValidator(_parameter_value)]


def as_argument(name: str, value: Any) -> str:
    """A parameter as a script is given it: `--name=value`, a non-string value as JSON (the
    convention Vertex AI uses for hyperparameters)."""
    return f"--{name}={value if isinstance(value, str) else json.dumps(value)}"


def _argument_problem(argument: str) -> str | None:
    size = len(argument.encode("utf-8", "surrogatepass"))
    if size <= MAX_ARG_BYTES:
        return None
    return (
        f"is {_kib(size)} KiB as one process argument, over the 128 KiB the kernel allows one "
        "argument; put the value in a file and pass its path"
    )


def _field_error(field: str, message: str) -> PydanticCustomError:
    """An error raised by a model-wide check that still names one field."""
    return PydanticCustomError("mlp_field", "{message}", {"field": field, "message": message})


def _kib(size: int) -> int:
    return math.ceil(size / 1024)


def _code_too_large(size: int) -> str:
    return (
        f"inline code is {_kib(size)} KiB, over the {_kib(MAX_SPEC_BYTES)} KiB limit; "
        "put it in a file and submit the file"
    )


class _Model(BaseModel):
    """Models build their validators when first used, not at import (the server starts sooner)."""

    model_config = ConfigDict(defer_build=True)


class _Strict(_Model):
    # Unknown fields are refused so that a typo ("acelerator_count") is a 400, not silently ignored.
    model_config = ConfigDict(extra="forbid")  # merged with _Model's


class CodeOrigin(_Strict):
    """Where a magic's inline code came from: a cell of a notebook the server serves."""

    notebook: Text = Field(description="The notebook's path, relative to the Jupyter root dir.")
    cell_id: Text | None = Field(None, description="The cell's id (nbformat 4.5).")
    cell_index: Annotated[int, Field(ge=0)] | None = Field(
        None, description="The cell's 0-based position when it ran (when its id is unknown)."
    )


class Source(_Strict):
    """What to run: a file under the server's root dir, or inline code (from a magic)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["path"], "properties": {"path": {"type": "string"}}},
                {"required": ["code"], "properties": {"code": {"type": "string"}}},
            ]
        }
    )

    path: Annotated[str, AfterValidator(_plain_text), _string_schema(FILLED_PATTERN)] | None = (
        Field(None, description="Path relative to the Jupyter root dir.")
    )
    code: Text | None = Field(None, description="Inline Python code.")
    mode: Literal["notebook", "script"] | None = Field(
        None, description="For notebooks: execute as a notebook (default) or convert to a script."
    )
    include: list[
        Annotated[str, _string_schema(r"^(?!\.(?:/+\.?)*$)" + FILLED_PATTERN.removeprefix("^"))]
    ] = Field(
        default_factory=list,
        description="Globs of files next to the source to ship with the job (helper modules, "
        "small data), relative to the source's folder.",
    )
    origin: CodeOrigin | None = Field(
        None,
        description="Inline code from a notebook cell (`%%mlp_train`): the notebook and cell it "
        "came from, so a failed job links back to them.",
    )

    @field_validator("code")
    @classmethod
    def _code_fits(cls, code: str | None, info: ValidationInfo) -> str | None:
        if code is not None and _checking(info):
            size = len(code.encode(errors="surrogatepass"))
            if size > MAX_SPEC_BYTES:
                raise ValueError(_code_too_large(size))
        return code

    @field_validator("include")
    @classmethod
    def _patterns(cls, patterns: list[str], info: ValidationInfo) -> list[str]:
        _plain_entries(patterns, info)
        for pattern in patterns:
            if _checking(info) and (
                not pattern.strip() or PurePosixPath(pattern) == PurePosixPath(".")
            ):
                raise ValueError(
                    f"{pattern!r} names the source's folder itself, not files in it; "
                    "give a glob such as '*.py' or 'data/*.csv'"
                )
        return patterns

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        if (self.path is None) == (self.code is None):
            raise ValueError("give exactly one of 'path' (a file under the root dir) or 'code'")
        if self.path is not None and not self.path.strip():
            raise ValueError("'path' is empty")
        return self


#: Vertex AI's `Scheduling.Strategy`, in the spec's words.
Strategy = Literal["standard", "spot", "flex_start"]
BootDiskType = Literal["pd-ssd", "pd-standard", "hyperdisk-balanced"]


class Resources(_Strict):
    """Where the job runs: machine type, accelerators and replicas (workers for ETL)."""

    machine_type: Text | None = None
    accelerator_type: Text | None = None
    accelerator_count: Annotated[int, Field(ge=0, le=64)] = 0
    replica_count: Annotated[int, Field(ge=1, le=1000)] = 1
    max_workers: Annotated[int, Field(ge=1, le=4000)] | None = None
    boot_disk_type: BootDiskType | None = Field(
        None,
        description="Boot disk of each machine (Vertex AI: `disk_spec`); the backend's default "
        "if unset. `hyperdisk-balanced` only on machines that take it.",
    )
    boot_disk_size_gb: int | None = Field(
        None,
        ge=10,
        le=65536,
        description="Boot disk size of each machine (Vertex AI: `disk_spec`; Dataflow: each "
        "worker's `disk_size_gb`), in GB; the backend's default if unset.",
    )


#: Longest a Flex-start job may run (Vertex AI: 7 days) and its default wait for capacity.
FLEX_START_MAX_SECONDS = 7 * 24 * 3600
FLEX_START_DEFAULT_WAIT = 24 * 3600
MAX_FALLBACKS = 10


class Fallback(_Strict):
    """What to try next when Vertex AI ends an attempt for lack of capacity or quota: a partial
    override of the job's region, machine and strategy (unset: the job's own)."""

    region: Text | None = None
    machine_type: Text | None = None
    accelerator_type: Text | None = None
    accelerator_count: Annotated[int, Field(ge=0, le=64)] | None = None
    strategy: Strategy | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Fallback:
        if not self.model_dump(exclude_none=True):
            raise ValueError(
                "an alternative changes at least one of region, machine_type, "
                "accelerator_type, accelerator_count or strategy"
            )
        return self


class Scheduling(_Strict):
    """How a cloud backend schedules the job (Vertex AI honours all of these)."""

    timeout_seconds: Annotated[int, Field(ge=60, le=30 * 24 * 3600)] | None = Field(
        None, description="Stop the job after this long."
    )
    restart_on_worker_restart: bool = Field(
        False, description="Restart the whole job when one of its workers restarts."
    )
    strategy: Strategy = Field(
        "standard",
        description="How Vertex AI finds capacity: `standard` (on demand), `spot` (cheaper, can "
        "be preempted) or `flex_start` (waits up to `max_wait_seconds` for scarce GPUs).",
    )
    spot: bool = Field(
        False,
        description="Same as `strategy: spot` (kept for older clients); true with another "
        "strategy is an error.",
    )
    max_wait_seconds: Annotated[int, Field(ge=60, le=FLEX_START_MAX_SECONDS)] | None = Field(
        None,
        description="Flex-start only: how long to wait for capacity (Vertex AI's "
        "`max_wait_duration`); 24 hours if unset.",
    )
    reservation: Text | None = Field(
        None,
        description="Run on reserved capacity: `any` (any matching reservation), a reservation's "
        "name (completed from the project and the region's zones) or its full name "
        "`projects/P/zones/Z/reservations/N`.",
    )
    service_account: Text | None = Field(
        None, description="Service account the job runs as (default: the backend's setting)."
    )
    fallbacks: list[Fallback] = Field(
        default_factory=list,
        max_length=MAX_FALLBACKS,
        description="Alternatives tried in order when an attempt ends for lack of capacity or "
        "quota; the job goes on as a new attempt with the next one.",
    )
    max_preemptions: Annotated[int, Field(ge=0, le=20)] = Field(
        3,
        description="Spot: how many more times to start a job that Vertex AI ended for "
        "preemption (after its own restarts), resuming from the same output folder.",
    )
    max_cost_usd: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        None,
        description="Cancel the job (every running trial of a sweep) when its estimated cost "
        "by list prices reaches this many US dollars. It acts on the estimate: billing lags, "
        "and a cancel takes a little while to stop the machines.",
    )

    @model_validator(mode="after")
    def _one_strategy(self) -> Scheduling:
        if self.spot:
            if "strategy" in self.model_fields_set and self.strategy != "spot":
                raise _field_error(
                    "spot",
                    f"spot: true means strategy 'spot', but strategy is {self.strategy!r}; "
                    "give one of them",
                )
            self.strategy = "spot"
        self.spot = self.strategy == "spot"
        if self.max_wait_seconds is not None and self.strategy != "flex_start":
            raise _field_error(
                "max_wait_seconds",
                "is the wait for Flex-start capacity; give strategy 'flex_start' or leave it unset",
            )
        return self


class DataflowOptions(_Strict):
    """Dataflow's own options, in Dataflow's forms (its workers' counts, disk, image, service
    account and KMS key are the spec's resources, environment, scheduling and encryption_key)."""

    network: Text | None = Field(
        None, description="The workers' VPC network (`--network`): a name in the project."
    )
    subnetwork: Text | None = Field(
        None,
        description="The workers' subnetwork (`--subnetwork`): `regions/R/subnetworks/S`, a "
        "full URL, or a name in the job's region.",
    )
    no_public_ips: bool = Field(False, description="Workers get private addresses only.")
    flexrs: bool = Field(
        False, description="FlexRS: a batch job runs later on cheaper, preemptible workers."
    )
    prime: bool = Field(False, description="Dataflow Prime (`enable_prime`).")


#: Characters of a sweep metric's name (the tag a trial reports it under).
_METRIC_NAME = re.compile(r"[A-Za-z0-9_./-]+")
MAX_SWEEP_PARAMETERS = 20
MAX_SWEEP_TRIALS = 1000


class SweepMetric(_Strict):
    """The metric a sweep optimises: what trials report through cloudml-hypertune."""

    name: Annotated[str, _string_schema(f"^{_METRIC_NAME.pattern}$")] = Field(
        description="The metric's tag, as the trials report it."
    )
    goal: Literal["maximize", "minimize"] = "maximize"

    @field_validator("name")
    @classmethod
    def _tag(cls, name: str, info: ValidationInfo) -> str:
        if _checking(info) and not _METRIC_NAME.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a metric name: give letters, digits and _ . / - "
                "(such as 'accuracy' or 'val/loss')"
            )
        return name


def _sweep_parameter_kinds() -> dict[str, Any]:
    """The document's version of `SweepParameter._consistent` (all but min < max)."""
    unset = {"type": "null"}

    def ranged(kind: str, number: str) -> dict[str, Any]:
        return {
            "properties": {
                "type": {"const": kind},
                "min": {"type": number},
                "max": {"type": number},
                "values": unset,
            },
            "required": ["min", "max"],
        }

    def listed(kind: str, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "properties": {
                "type": {"const": kind},
                "min": unset,
                "max": unset,
                "scale": {"const": "linear"},
                "values": {"type": "array", "minItems": 1, "items": item},
            },
            "required": ["values"],
        }

    return {
        "oneOf": [
            ranged("double", "number"),
            ranged("integer", "integer"),
            listed("discrete", {"type": "number"}),
            listed("categorical", {"type": "string", "pattern": NO_NUL_PATTERN}),
        ],
        "if": {"properties": {"scale": {"const": "log"}}, "required": ["scale"]},
        "then": {"properties": {"min": {"exclusiveMinimum": 0}}},
    }


class SweepParameter(_Strict):
    """One searched parameter: a range (double, integer) or a list of values."""

    model_config = ConfigDict(json_schema_extra=_sweep_parameter_kinds())

    name: ParameterName
    type: Literal["double", "integer", "discrete", "categorical"]
    min: float | None = Field(None, description="double/integer: the smallest value.")
    max: float | None = Field(None, description="double/integer: the largest value.")
    scale: Literal["linear", "log"] = Field(
        "linear", description="double/integer: search evenly, or evenly in log space."
    )
    values: list[float | int | _Entry] | None = Field(
        None, description="discrete: numbers; categorical: strings."
    )

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> SweepParameter:
        if not _checking(info):
            return self
        if self.type in ("double", "integer"):
            self._check_range()
        else:
            self._check_values()
        return self

    def _check_range(self) -> None:
        if self.values is not None:
            raise _field_error(
                "values", f"a {self.type} parameter is a range: give min and max, not values"
            )
        for end in ("min", "max"):
            value = getattr(self, end)
            if value is None:
                raise _field_error(end, f"a {self.type} parameter needs {end} (a number)")
            if not math.isfinite(value):
                raise _field_error(end, f"{value} is not a finite number")
            if self.type == "integer" and value != int(value):
                raise _field_error(end, f"{value} is not a whole number (integer parameter)")
        assert self.min is not None and self.max is not None
        if self.min >= self.max:
            raise _field_error(
                "max", f"{self.max:g} is not greater than min ({self.min:g}); give min < max"
            )
        if self.scale == "log" and self.min <= 0:
            raise _field_error(
                "min", f"a log scale needs min > 0 (got {self.min:g}); use a linear scale"
            )

    def _check_values(self) -> None:
        for end in ("min", "max"):
            if getattr(self, end) is not None:
                raise _field_error(
                    end, f"a {self.type} parameter lists its values: give values, not {end}"
                )
        if self.scale != "linear":
            raise _field_error("scale", f"a {self.type} parameter has no scale; leave it linear")
        if not self.values:
            raise _field_error("values", f"a {self.type} parameter needs values (a non-empty list)")
        if self.type == "discrete":
            for index, value in enumerate(self.values):
                if isinstance(value, str) or not math.isfinite(value):
                    raise _field_error(
                        f"values[{index}]",
                        f"{value!r} is not a finite number; a discrete parameter takes numbers "
                        "(use categorical for strings)",
                    )
            self.values = sorted(set(self.values), key=float)
        else:
            for index, value in enumerate(self.values):
                if not isinstance(value, str):
                    raise _field_error(
                        f"values[{index}]",
                        f"{value!r} is not a string; a categorical parameter takes strings "
                        "(use discrete for numbers)",
                    )
                problem = text_problem(value) or _argument_problem(as_argument(self.name, value))
                if problem is not None:
                    raise _field_error(f"values[{index}]", problem)
            self.values = list(dict.fromkeys(self.values))


class SweepSpec(_Strict):
    """A hyperparameter sweep: trials of one training job with searched parameters."""

    metric: SweepMetric
    parameters: list[SweepParameter] = Field(
        min_length=1,
        max_length=MAX_SWEEP_PARAMETERS,
        description="The searched parameters; the job's fixed parameters apply to every trial.",
    )
    algorithm: Literal["grid", "random", "bayes"] = "bayes"
    max_trials: Annotated[int, Field(ge=1, le=MAX_SWEEP_TRIALS)] = 10
    parallel_trials: Annotated[int, Field(ge=1, le=MAX_SWEEP_TRIALS)] = 1
    max_failed_trials: Annotated[int, Field(ge=0, le=MAX_SWEEP_TRIALS)] | None = Field(
        None,
        description="Failed trials that end the sweep; default: local max_trials, Vertex the "
        "service's default.",
    )

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> SweepSpec:
        if not _checking(info):
            return self
        seen: set[str] = set()
        for index, parameter in enumerate(self.parameters):
            if parameter.name in seen:
                raise _field_error(
                    f"parameters[{index}].name",
                    f"{parameter.name!r} is searched twice; give each parameter once",
                )
            seen.add(parameter.name)
        if self.parallel_trials > self.max_trials:
            raise _field_error(
                "parallel_trials",
                f"{self.parallel_trials} is more than max_trials ({self.max_trials}); "
                f"give 1 to {self.max_trials}",
            )
        return self


class JobSpec(_Strict):
    """Everything needed to run a job; backend-neutral."""

    kind: JobKind = JobKind.TRAIN
    backend: Text | None = Field(None, description="Backend name; the configured default if unset.")
    name: (
        Annotated[
            str,
            Field(min_length=1, max_length=128),
            _string_schema(f"^[^{_NO_CONTROL}]*$", minLength=1, maxLength=128),
        ]
        | None
    ) = None
    source: Source
    args: list[_Entry] = Field(default_factory=list)
    parameters: dict[ParameterName, ParameterValue] = Field(
        default_factory=dict,
        description="Values by Python name; JSON values (no NaN or Infinity).",
        json_schema_extra={"propertyNames": {"pattern": PARAMETER_NAME_PATTERN}},
    )
    resources: Resources = Field(default_factory=lambda: Resources.model_validate({}))
    region: Text | None = None
    requirements: list[_Entry] | _FilledEntry = Field(
        default_factory=list,
        description="Packages to install for the job, or the path of a requirements file.",
    )
    environment: (
        Annotated[
            str,
            _string_schema(
                f"^[^{_NO_CONTROL}{_SPACE}](?:[^{_NO_CONTROL}]*[^{_NO_CONTROL}{_SPACE}])?$"
            ),
        ]
        | None
    ) = Field(None, description="Container image on the cloud; Python interpreter path locally.")
    # Keys are checked by `_fits`, which can name a key that is not valid text.
    labels: dict[str, Text] = Field(
        default_factory=dict, json_schema_extra={"propertyNames": {"pattern": NO_NUL_PATTERN}}
    )
    scheduling: Scheduling = Field(default_factory=lambda: Scheduling.model_validate({}))
    network: Text | None = Field(
        None,
        description="Vertex AI: the VPC network the job is peered with, "
        "`projects/<project number>/global/networks/<name>` or a name in the job's project.",
    )
    psc_network_attachment: Text | None = Field(
        None,
        description="Vertex AI: a Private Service Connect interface's network attachment "
        "(`projects/P/regions/R/networkAttachments/N`, or a name in the job's region).",
    )
    encryption_key: Text | None = Field(
        None,
        description="Customer-managed encryption key (CMEK) in the job's region: "
        "`projects/P/locations/R/keyRings/K/cryptoKeys/C` (Vertex AI: `encryption_spec`; "
        "Dataflow: `--dataflow_kms_key`).",
    )
    tensorboard: Text | None = Field(
        None,
        description="Vertex AI: a TensorBoard instance in the job's region to stream to "
        "(`projects/P/locations/R/tensorboards/N` or its id); needs a service account.",
    )
    dataflow: DataflowOptions = Field(
        default_factory=lambda: DataflowOptions.model_validate({}),
        description="Dataflow's own options.",
    )
    sweep: SweepSpec | None = Field(
        None, description="Train kind only: run trials of this job with searched parameters."
    )

    @field_validator("name")
    @classmethod
    def _one_line(cls, name: str | None, info: ValidationInfo) -> str | None:
        # A name is shown in lists and written into commands: one line of printable text.
        if name is not None and _checking(info):
            _plain_text(name, info)
            if any(unicodedata.category(c) == "Cc" for c in name):
                raise ValueError("must be one line of text, without control characters")
        return name

    @field_validator("args")
    @classmethod
    def _args(cls, args: list[str], info: ValidationInfo) -> list[str]:
        _plain_entries(args, info)
        for index, arg in enumerate(args):
            problem = _argument_problem(arg)
            if problem is not None and _checking(info):
                raise ValueError(f"entry {index + 1} {problem}")
        return args

    @field_validator("requirements")
    @classmethod
    def _requirements(cls, value: list[str] | str, info: ValidationInfo) -> list[str] | str:
        if isinstance(value, list):
            return _plain_entries(value, info)
        if _checking(info) and not value.strip():
            raise ValueError("the requirements file path is empty; give a path or a list")
        return _plain_text(value, info)

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not _checking(info):
            return value
        _plain_text(value, info)
        if not value.strip():
            raise ValueError(
                "is empty; give a Python interpreter path (local) or a container image "
                "(cloud), or leave it unset for the default"
            )
        if any(unicodedata.category(c) == "Cc" for c in value) or value != value.strip():
            raise ValueError(
                f"{value!r} is not a path or an image name: it has control characters or "
                "surrounding spaces"
            )
        return value

    @model_validator(mode="after")
    def _sweep_fits(self, info: ValidationInfo) -> JobSpec:
        if self.sweep is None or not _checking(info):
            return self
        if self.kind is not JobKind.TRAIN:
            raise _field_error("sweep", f"only train jobs can be swept, not {self.kind.value}")
        for index, parameter in enumerate(self.sweep.parameters):
            if parameter.name in self.parameters:
                raise _field_error(
                    f"sweep.parameters[{index}].name",
                    f"{parameter.name!r} is also a fixed parameter; a parameter is either fixed "
                    "(parameters) or searched (sweep), not both",
                )
        return self

    @model_validator(mode="after")
    def _parameters_fit_arguments(self, info: ValidationInfo) -> JobSpec:
        # A script gets each parameter as one argument; a notebook's could be longer, but the
        # same spec may run as a script (mode, rerun), and values this large belong in files.
        for name, value in self.parameters.items() if _checking(info) else ():
            problem = _argument_problem(as_argument(name, value))
            if problem is not None:
                raise _field_error(f"parameters.{name}", problem)
        return self

    @model_validator(mode="after")
    def _fits(self, info: ValidationInfo) -> JobSpec:
        if not _checking(info):
            return self
        # The last net: any string a field's own check did not look at (a label's key...).
        found = _json_problem(self.model_dump(exclude={"parameters"}))
        if found is not None:
            raise _field_error(*found)
        try:
            size = len(self.model_dump_json().encode())
        except PydanticSerializationError:
            raise _field_error("body", _NOT_UNICODE) from None
        if size <= MAX_SPEC_BYTES:
            return self
        parts = {
            name: len(self.model_dump_json(include={name}).encode())
            for name in type(self).model_fields
        }
        largest = max(parts, key=lambda name: parts[name])
        spec = f"the job spec is {_kib(size)} KiB, over the {_kib(MAX_SPEC_BYTES)} KiB limit"
        if largest == "source" and self.source.code is not None:
            raise _field_error(
                "source.code",
                f"{spec}; most of it is inline code ({_kib(parts[largest])} KiB): "
                "put it in a file and submit the file",
            )
        raise _field_error(largest, f"{spec}; most of it is {largest} ({_kib(parts[largest])} KiB)")


#: The spec's launch options a backend may or may not honour (dotted paths). A backend lists
#: those it honours in its capabilities' `options`; one set to other than its default for a
#: backend that does not list it is refused, naming the backends that take it.
OPTION_FIELDS = (
    "scheduling.timeout_seconds",
    "scheduling.restart_on_worker_restart",
    "scheduling.strategy",
    "scheduling.max_wait_seconds",
    "scheduling.reservation",
    "scheduling.service_account",
    "scheduling.fallbacks",
    "scheduling.max_preemptions",
    "scheduling.max_cost_usd",
    "resources.boot_disk_type",
    "resources.boot_disk_size_gb",
    "network",
    "psc_network_attachment",
    "encryption_key",
    "tensorboard",
    "dataflow.network",
    "dataflow.subnetwork",
    "dataflow.no_public_ips",
    "dataflow.flexrs",
    "dataflow.prime",
)


def options_set(spec: JobSpec) -> list[str]:
    """The launch options (`OPTION_FIELDS`) a spec sets to other than their defaults."""
    default = JobSpec.model_validate({"source": {"code": "pass"}}, context=STORED)
    found = []
    for path in OPTION_FIELDS:
        mine: Any = spec
        theirs: Any = default
        for part in path.split("."):
            mine, theirs = getattr(mine, part), getattr(theirs, part)
        if mine != theirs:
            found.append(path)
    return found


class Transition(_Model):
    state: JobState
    at: datetime
    message: str = ""


class Cost(_Model):
    """What a cloud job costs by list prices: an estimate, dated, never a bill."""

    usd_per_hour: float
    usd_so_far: float = Field(description="Hourly estimate times the time the job has run.")
    prices_as_of: str
    estimate: bool = True
    # Added for issue 23: an ended job shows its total and how long it ran.
    hours: float = Field(0.0, description="How long the job has run (ran, once ended), in hours.")
    ended: bool = Field(False, description="The job has ended: `usd_total` is what it cost.")
    usd_total: float | None = Field(
        None, description="An ended job's estimated total (its `usd_so_far` when it ended)."
    )


class Trial(_Model):
    """One trial of a sweep: its parameters, life and final metric."""

    id: str = Field(description="Vertex: the trial's id; local: its number ('1', '2', ...).")
    job_id: str | None = Field(None, description="Local: the id of the trial's own job.")
    state: JobState
    parameters: dict[str, float | int | str] = Field(default_factory=dict)
    metric: float | None = Field(None, description="The final reported value of the metric.")
    started_at: datetime | None = None
    ended_at: datetime | None = None
    message: str = ""


def best_trial(trials: Iterable[Trial], goal: str) -> Trial | None:
    """The succeeded trial with the best final metric (the first of equals)."""
    scored = [t for t in trials if t.state is JobState.SUCCEEDED and t.metric is not None]
    if not scored:
        return None
    sign = -1.0 if goal == "minimize" else 1.0
    return max(scored, key=lambda t: sign * (t.metric or 0.0))


class Attempt(_Model):
    """One try at running a cloud job: where and on what it ran, and how it ended. A job whose
    try ends for lack of capacity or quota (or a Spot preemption) goes on as a new attempt, with
    the next of its `scheduling.fallbacks`; the last attempt is what finally ran."""

    number: int = Field(description="1 for the first try, then 2, 3, ...")
    region: str | None = None
    machine_type: str | None = None
    accelerator_type: str | None = None
    accelerator_count: int = 0
    strategy: Strategy = "standard"
    backend_job_id: str | None = Field(None, description="The attempt's job at the backend.")
    started_at: datetime | None = None
    ended_at: datetime | None = None
    message: str = Field("", description="How the attempt ended; empty while it goes on.")

    def describe(self) -> str:
        """The attempt as the timeline names it: `attempt 1 in us-central1 (a2-highgpu-1g, 1
        NVIDIA_TESLA_A100, spot)`."""
        return f"attempt {self.number} in {self.region} ({self.hardware()})"

    def hardware(self) -> str:
        """What it ran on, and how: "a2-highgpu-1g, 1 NVIDIA_TESLA_A100, spot"."""
        parts = [self.machine_type or "default machine"]
        if self.accelerator_type and self.accelerator_count:
            parts.append(f"{self.accelerator_count} {self.accelerator_type}")
        return ", ".join([*parts, self.strategy.replace("_", "-")])


class MetricPoint(_Model):
    """One reported value of a metric (`jupyter_mlp.report(accuracy=0.93, step=3)`)."""

    value: float
    step: int | None = Field(None, description="The training step it was reported at, if given.")
    at: datetime | None = Field(None, description="When it was reported.")


#: The most points kept per metric; older ones are thinned (every other one dropped) past it.
MAX_METRIC_POINTS = 5000


class Progress(_Model):
    """How far a notebook job has run: "cell 4 of 12" and the running cell's first line."""

    cells_done: int = Field(0, ge=0, description="Code cells finished.")
    cells_total: int = Field(0, ge=0, description="Code cells the job runs.")
    cell: int | None = Field(None, description="The running code cell's number (1-based).")
    cell_source: str = Field("", description="The running cell's first line.")
    updated_at: datetime | None = None


class JobRef(_Model):
    """Another job, named as a person knows it: "baseline (7582d1)"."""

    id: str
    name: str


class Job(_Model):
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
    trials: list[Trial] = Field(default_factory=list, description="A sweep's trials.")
    best_trial: str | None = Field(
        default=None, description="A sweep's trial (its id) with the best final metric."
    )
    sweep_id: str | None = Field(default=None, description="The sweep this job is a trial of.")
    schedule_id: str | None = Field(default=None, description="The schedule this job is a run of.")
    scheduled_for: datetime | None = Field(
        default=None, description="A scheduled run: the fire time it was planned for."
    )
    attempts: list[Attempt] = Field(
        default_factory=list,
        description="Cloud jobs: each try at running the job, the last one what finally ran "
        "(a try that ends for lack of capacity goes on with the next of its fallbacks).",
    )
    metrics: dict[str, list[MetricPoint]] = Field(
        default_factory=dict,
        description="What the job reported (`jupyter_mlp.report`, cloudml-hypertune), by metric "
        "name, in report order. A job list sends only each metric's last point.",
    )
    progress: Progress | None = Field(
        default=None, description="Notebook jobs: the cell running and how many are done."
    )
    rerun_of: JobRef | None = Field(default=None, description="The job this one is a rerun of.")
    parameter_defaults: dict[str, Any] = Field(
        default_factory=dict,
        description="The declared parameters the spec leaves at their defaults, with those "
        "defaults (a notebook's `parameters` cell): with `spec.parameters`, every value the job "
        "ran with. A default that is not a literal is its source text.",
    )
    warnings: list[FieldError] = Field(
        default_factory=list,
        description="What the checks found at submit that did not stop the job (an undeclared "
        "parameter, a price not known).",
    )


class ResourcesSummary(_Model):
    """The resources a job list shows."""

    machine_type: str | None = None
    accelerator_type: str | None = None
    accelerator_count: int = 0
    replica_count: int = 1


class JobSummary(_Model):
    """A job as a list shows it: its life and what runs where, never its code or its
    history (those come with the whole job), so a page of jobs is small however large
    their sources."""

    id: str
    name: str
    kind: JobKind
    backend: str
    state: JobState
    state_message: str = ""
    backend_state: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    cost: Cost | None = None
    source_path: str | None = Field(
        default=None, description="The file it runs; None for inline code."
    )
    resources: ResourcesSummary = Field(default_factory=ResourcesSummary)
    region: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    sweep_id: str | None = Field(default=None, description="The sweep this job is a trial of.")
    schedule_id: str | None = Field(default=None, description="The schedule this job is a run of.")
    scheduled_for: datetime | None = Field(
        default=None, description="A scheduled run: the fire time it was planned for."
    )
    metrics: dict[str, float] = Field(
        default_factory=dict, description="Each reported metric's last value."
    )
    progress: Progress | None = None
    rerun_of: JobRef | None = None

    @classmethod
    def from_job(cls, job: Job) -> JobSummary:
        spec = job.spec
        resources = spec.resources
        return cls(
            id=job.id,
            name=job.name,
            kind=job.kind,
            backend=job.backend,
            state=job.state,
            state_message=job.state_message,
            backend_state=job.backend_state,
            created_at=job.created_at,
            started_at=job.started_at,
            ended_at=job.ended_at,
            cost=job.cost,
            source_path=spec.source.path,
            resources=ResourcesSummary(
                machine_type=resources.machine_type,
                accelerator_type=resources.accelerator_type,
                accelerator_count=resources.accelerator_count,
                replica_count=resources.replica_count,
            ),
            region=spec.region,
            labels=dict(spec.labels),
            sweep_id=job.sweep_id,
            schedule_id=job.schedule_id,
            scheduled_for=job.scheduled_for,
            metrics={name: points[-1].value for name, points in job.metrics.items() if points},
            progress=job.progress,
            rerun_of=job.rerun_of,
        )


def default_job_name(spec: JobSpec) -> str:
    """The name of a job whose spec gives none: its file's stem, or `<kind>-cell` for code."""
    if spec.source.path:
        return Path(spec.source.path).stem
    return f"{spec.kind.value}-cell"


class FieldError(_Model):
    field: str
    message: str
    suggestions: list[str] = Field(default_factory=list)
    # A warning (a machine type's conditions, an unknown price) does not stop a job.
    severity: Literal["error", "warning"] = "error"

    @property
    def blocking(self) -> bool:
        return self.severity == "error"


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
    def conflict(cls, field: str, message: str) -> MLPError:
        """A well-formed request that this job cannot take now or ever (409), naming why."""
        error = cls.invalid(field, message)
        error.status = 409
        return error

    @classmethod
    def from_validation(cls, exc: ValidationError, prefix: str = "") -> MLPError:
        errors = []
        for item in exc.errors():
            loc = [
                f"[{p}]" if isinstance(p, int) else str(p)
                for p in item["loc"]
                if not str(p).startswith("function-") and p != "[key]"
            ]
            if item["type"] == "mlp_field":  # a model-wide check naming its field
                loc += str(item["ctx"]["field"]).split(".")
            field = ".".join(([prefix] if prefix else []) + loc).replace(".[", "[")
            # A key with a lone surrogate is escaped: the answer must be valid JSON.
            field = field.encode("utf-8", "backslashreplace").decode() or prefix or "body"
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown field"
            elif item["type"] == "enum" and "expected" in item.get("ctx", {}):
                message = f"must be one of {item['ctx']['expected']}"
            errors.append(FieldError(field=field, message=message))
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return cls(400, f"invalid job spec: {summary}", errors)
