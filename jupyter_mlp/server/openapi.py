"""The OpenAPI 3.1 description of the /mlp REST API, built from the same pydantic models."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from .. import __version__
from ..backends.base import BackendStatus, PreflightCheck
from ..core.models import FieldError, Job, JobSpec
from ..core.schedule_models import Schedule, ScheduleFire, SchedulePatch, ScheduleRequest
from ..vocabulary import KINDS, installed_backends
from .handlers import (
    DRAIN_PATTERN,
    LIST_LIMIT_MAX,
    MAX_CURSOR,
    MAX_FILTER_CHARS,
    MAX_READ_BYTES,
    STATES_PATTERN,
)


class ErrorBody(BaseModel):
    message: str
    errors: list[FieldError] = Field(default_factory=list)


class JobList(BaseModel):
    jobs: list[Job] = Field(
        description="Summaries: each spec without its code, parameters, args or requirements, "
        "and no transitions; GET /mlp/jobs/{job_id} has the whole job."
    )
    next: str | None = Field(description="Cursor of the next (older) page; null on the last page.")


class LogChunk(BaseModel):
    data: str
    cursor: str = Field(description="Where this piece starts (opaque; the backend's own).")
    next_cursor: str = Field(description="Pass as `cursor` to read on.")
    complete: bool = Field(description="True once the job has ended and the whole log was read.")
    offset: int | None = Field(None, description="Local logs: byte offset of this piece.")
    next_offset: int | None = Field(None, description="Local logs: byte offset after it.")
    size: int | None = Field(None, description="Local logs: bytes in the log file now.")
    error: str | None = Field(None, description="Why the log cannot be read, when it cannot.")
    note: str | None = Field(
        None,
        description="Cloud logs: what the reader should know (Cloud Logging is limiting reads, "
        "lines no longer kept); what is known is still served.",
    )


class OutputEntry(BaseModel):
    name: str = Field(description="log, model_dir, executed_notebook, folder")
    path: str = Field(description="Relative to the Jupyter root dir when under it, or a URI.")
    exists: bool
    type: str = Field(description="file, directory, or link (a link out of the job's folder)")
    size: int | None = Field(None, description="Bytes (for a directory, of all its files).")
    files: list[str] | None = Field(None, description="A directory's first 200 files.")
    file_count: int | None = None
    truncated: bool | None = Field(None, description="The listing stopped at its cap.")
    note: str | None = None
    console_url: str | None = Field(None, description="Cloud outputs: where to see them.")


class OutputList(BaseModel):
    job_id: str
    outputs: list[OutputEntry]


class StepProgress(BaseModel):
    step: str = Field(description="The step's output, as the pipeline names it.")
    elements: int = Field(description="Elements it put out so far (committed counts).")


class StepsProgress(BaseModel):
    job_id: str
    steps: list[StepProgress] = Field(description="Per step, in the order they first reported.")
    note: str = Field(description="Why there are no steps (yet), or why they could not be read.")


class BackendList(BaseModel):
    backends: list[BackendStatus]


class NotebookParameter(BaseModel):
    name: str
    type: str
    default: str
    help: str


class ConversionPreview(BaseModel):
    mode: str
    kernel_name: str | None
    parameters: list[NotebookParameter]
    detected_requirements: list[str]
    magic_cells: list[int]
    script: str | None
    manifest: dict[str, Any]
    bundle_sha256: str


class ValidationResult(BaseModel):
    valid: bool
    errors: list[FieldError]
    spec: dict[str, Any] | None = Field(description="The spec as it would be submitted.")
    estimate: dict[str, Any] | None = Field(
        description="Estimated hourly cost from list prices (cloud backends), with its date."
    )
    preflight: list[PreflightCheck] | None = Field(
        None,
        description="Only with `?preflight=true`: what the backend looked at before anything "
        "is staged or created (credentials, its API, the bucket's permissions, actAs, the "
        "region's quota limits), each pass / fail / unknown with what to do; none for a "
        "backend on this machine. Neither a fail nor an unknown stops a submit.",
    )


class ScheduleList(BaseModel):
    schedules: list[Schedule] = Field(description="Every schedule, oldest first.")


class FireList(BaseModel):
    fires: list[ScheduleFire] = Field(description="A schedule's latest fires, newest first.")


class ScheduledRun(BaseModel):
    job: Job = Field(description="The run it started now.")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


ERRORS = {
    "400": _json("ErrorBody", "Invalid input; `errors` names each field and what would be valid."),
    "403": _json("ErrorBody", "Not authenticated or not authorized."),
    "404": _json("ErrorBody", "No such job."),
    "413": _json("ErrorBody", "The request body is over the size limit."),
}


def _text(most: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": most}


def _catalog_backends() -> list[str]:
    """Backends that have a catalog: every installed one."""
    return sorted(installed_backends())


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _integer(low: int, high: int) -> dict[str, Any]:
    """An integer query argument; empty is the same as leaving it out."""
    return {"anyOf": [{"type": "integer", "minimum": low, "maximum": high}, {"const": ""}]}


#: Each operation's id, by path and method (links and generated clients name them).
OPERATION_IDS = {
    ("/mlp/jobs", "get"): "listJobs",
    ("/mlp/jobs", "post"): "submitJob",
    ("/mlp/jobs/{job_id}", "get"): "getJob",
    ("/mlp/jobs/{job_id}", "delete"): "deleteJob",
    ("/mlp/jobs/{job_id}/cancel", "post"): "cancelJob",
    ("/mlp/jobs/{job_id}/progress", "get"): "getJobProgress",
    ("/mlp/jobs/{job_id}/rerun", "post"): "rerunJob",
    ("/mlp/jobs/{job_id}/outputs", "get"): "getJobOutputs",
    ("/mlp/jobs/{job_id}/logs", "get"): "getJobLogs",
    ("/mlp/backends", "get"): "listBackends",
    ("/mlp/catalog", "get"): "getCatalog",
    ("/mlp/validate", "post"): "validateSpec",
    ("/mlp/convert", "post"): "previewConversion",
    ("/mlp/openapi.json", "get"): "getOpenAPIDocument",
    ("/mlp/schedules", "get"): "listSchedules",
    ("/mlp/schedules", "post"): "createSchedule",
    ("/mlp/schedules/{schedule_id}", "get"): "getSchedule",
    ("/mlp/schedules/{schedule_id}", "patch"): "updateSchedule",
    ("/mlp/schedules/{schedule_id}", "delete"): "deleteSchedule",
    ("/mlp/schedules/{schedule_id}/run", "post"): "runSchedule",
    ("/mlp/schedules/{schedule_id}/fires", "get"): "listScheduleFires",
}


def _created() -> dict[str, Any]:
    """A 201 with the new job, linked to what can be done with it next."""
    operations = ("getJob", "deleteJob", "cancelJob", "rerunJob", "getJobLogs", "getJobOutputs")
    return {
        **_json("Job", "The new job; `Location` is its URL."),
        "links": {
            operation: {"operationId": operation, "parameters": {"job_id": "$response.body#/id"}}
            for operation in (*operations, "getJobProgress")
        },
    }


JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "description": "The job's id, or a prefix of it (4 characters or more) that no other "
    "job's id starts with; an ambiguous prefix is a 400 naming the jobs it matches.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
}


_JOB = _json("Job", "The job.")


def _cancel() -> dict[str, Any]:
    """Cancel, or drain: the operation on `/mlp/jobs/{job_id}/cancel`."""
    return {
        "summary": "Cancel a job, or drain a running streaming pipeline on Dataflow",
        "description": "With `drain` (a query argument, or in the body), a running "
        "streaming Dataflow job stops reading its input and finishes what it read; "
        "it is CANCELLING until Dataflow says it drained, then CANCELLED. Any other "
        "job answers 409 naming `drain`. The query's `drain` wins over the body's.",
        "parameters": [
            _query(
                "drain",
                "Drain rather than cancel: true or false in any case, 1 or 0",
                {"type": "string", "pattern": DRAIN_PATTERN},
            ),
        ],
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"drain": {"type": "boolean"}},
                    }
                }
            },
        },
        "responses": {
            "200": _JOB,
            "409": _json("ErrorBody", "The job has already ended, or cannot drain (`drain`)."),
            **ERRORS,
        },
    }


def _jobs_paths() -> dict[str, Any]:
    """The jobs: list, submit, read, delete and cancel."""
    return {
        "/mlp/jobs": {
            "get": {
                "summary": "List jobs, newest first",
                "parameters": [
                    _query(
                        "state",
                        "States, separated by commas, in any case",
                        {"type": "string", "pattern": STATES_PATTERN},
                    ),
                    _query("backend", "Backend name", {"type": "string"}),
                    _query(
                        "kind",
                        f"{' or '.join(KINDS)} (empty: {'both' if len(KINDS) == 2 else 'all'})",
                        {"type": "string", "enum": [*KINDS, ""]},
                    ),
                    _query("name", "Name prefix", _text(MAX_FILTER_CHARS)),
                    _query("search", "A part of the name, any case", _text(MAX_FILTER_CHARS)),
                    _query("limit", "Page size (default 50)", _integer(1, LIST_LIMIT_MAX)),
                    _query("cursor", "`next` of the previous page", _integer(1, MAX_CURSOR)),
                    _query(
                        "sweep_id",
                        "List this sweep's trial jobs (without it: top-level jobs only)",
                        {"type": "string"},
                    ),
                    _query("schedule_id", "List only this schedule's runs", {"type": "string"}),
                ],
                "responses": {"200": _json("JobList", "A page of jobs."), **ERRORS},
            },
            "post": {
                "summary": "Submit a job",
                "description": "Parameters are checked against the source's `parameters` "
                "cell: a value that cannot be the declared type is a 400 on "
                "`parameters.<name>`; an undeclared one is kept in the job's `warnings`.",
                "parameters": [
                    _query(
                        "rerun_of",
                        "The id (or a unique prefix of it) of the job this one runs again; "
                        "the new job's `rerun_of` names it (404 if there is none)",
                        {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"},
                    ),
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("JobSpec")}},
                },
                "responses": {"201": _created(), **ERRORS},
            },
        },
        "/mlp/jobs/{job_id}": {
            "parameters": [JOB_ID],
            "get": {"summary": "One job", "responses": {"200": _JOB, **ERRORS}},
            "delete": {
                "summary": "Delete an ended job and its files (a sweep: with its trials)",
                "responses": {
                    "204": {"description": "Deleted."},
                    "409": _json("ErrorBody", "The job has not ended."),
                    **ERRORS,
                },
            },
        },
        "/mlp/jobs/{job_id}/cancel": {"parameters": [JOB_ID], "post": _cancel()},
    }


def _job_paths() -> dict[str, Any]:
    """What a job has: its progress, a rerun, its outputs and its log."""
    return {
        "/mlp/jobs/{job_id}/progress": {
            "parameters": [JOB_ID],
            "get": {
                "summary": "Elements each step of a pipeline put out so far (Dataflow)",
                "responses": {"200": _json("StepsProgress", "Per-step counts."), **ERRORS},
            },
        },
        "/mlp/jobs/{job_id}/rerun": {
            "parameters": [JOB_ID],
            "post": {
                "summary": "Submit a new job with the same spec, a rerun of this one",
                "responses": {"201": _created(), **ERRORS},
            },
        },
        "/mlp/jobs/{job_id}/outputs": {
            "parameters": [JOB_ID],
            "get": {
                "summary": "The job's outputs as they are on disk now",
                "responses": {"200": _json("OutputList", "Outputs."), **ERRORS},
            },
        },
        "/mlp/jobs/{job_id}/logs": {
            "parameters": [
                JOB_ID,
                _query(
                    "cursor",
                    "Where to read from: a next_cursor of an earlier read (default: start)",
                    {"type": "string"},
                ),
                _query(
                    "offset",
                    "Local logs: a byte offset (the same as cursor)",
                    _integer(0, MAX_CURSOR),
                ),
                _query("limit", "Most bytes to read", _integer(1, MAX_READ_BYTES)),
                _query("tail", "Read the last N bytes instead", _integer(1, MAX_READ_BYTES)),
                _query(
                    "debug",
                    "Keep every line: papermill's `Executing Cell N` / `Ending Cell N` marks and "
                    "the kernel's TCP warning, left out by default. True or false in any case, "
                    "1 or 0",
                    {"type": "string", "pattern": DRAIN_PATTERN},
                ),
            ],
            "get": {
                "summary": "A piece of the job's log, from a cursor",
                "responses": {"200": _json("LogChunk", "Log bytes."), **ERRORS},
            },
        },
    }


def _service_paths() -> dict[str, Any]:
    """What is not one job: backends, catalog, checks, previews and this document."""
    return {
        "/mlp/backends": {
            "get": {
                "summary": "Backends and whether they can take jobs",
                "responses": {"200": _json("BackendList", "Backends.")},
            },
        },
        "/mlp/catalog": {
            "get": {
                "summary": "Machine types, accelerators, valid combinations and prices",
                "parameters": [
                    _query(
                        "backend",
                        "A backend (empty: the default one)",
                        {"type": "string", "enum": [*_catalog_backends(), ""]},
                    ),
                    _query(
                        "region",
                        "Cloud region, one the backend's catalog lists (`regions`)",
                        {"type": "string"},
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "The catalog, with its sources and dates.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **ERRORS,
                },
            },
        },
        "/mlp/validate": {
            "post": {
                "summary": "Check a job spec without submitting it",
                "description": "No body is checked as an empty spec: the answer lists "
                "what is missing. With `preflight`, a cloud backend also looks at what a "
                "launch needs (its answers are kept a few minutes).",
                "parameters": [
                    _query(
                        "preflight",
                        "Also run the backend's preflight checks: true or false in any case, "
                        "1 or 0",
                        {"type": "string", "pattern": DRAIN_PATTERN},
                    ),
                ],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "200": _json("ValidationResult", "Every problem, per field."),
                    **ERRORS,
                },
            },
        },
        "/mlp/convert": {
            "post": {
                "summary": "Preview a notebook or script as a job without submitting it",
                "description": "Answers the mode, the kernel, the parameters found in the "
                "`parameters` cell, detected `%pip install` requirements, the script (script "
                "mode) and the bundle manifest with its content hash.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("JobSpec")}},
                },
                "responses": {"200": _json("ConversionPreview", "The preview."), **ERRORS},
            },
        },
        "/mlp/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1 document."}},
            },
        },
    }


SCHEDULE_ID = {
    "name": "schedule_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
}
_SCHEDULE = _json("Schedule", "The schedule, with its next fire time and latest fires.")


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _schedule_paths() -> dict[str, Any]:
    """Schedules: a job spec plus when it runs; runs are jobs listed with `?schedule_id=`."""
    return {
        "/mlp/schedules": {
            "get": {
                "summary": "List schedules",
                "responses": {"200": _json("ScheduleList", "Every schedule."), **ERRORS},
            },
            "post": {
                "summary": "Create a schedule (its spec checked like a submission; its source "
                "snapshotted for its runs)",
                "requestBody": _body("ScheduleRequest"),
                "responses": {"201": _SCHEDULE, **ERRORS},
            },
        },
        "/mlp/schedules/{schedule_id}": {
            "parameters": [SCHEDULE_ID],
            "get": {"summary": "One schedule", "responses": {"200": _SCHEDULE, **ERRORS}},
            "patch": {
                "summary": "Edit, pause or resume a schedule; `refresh_source` takes a new "
                "snapshot of its source (Update from file)",
                "requestBody": _body("SchedulePatch"),
                "responses": {"200": _SCHEDULE, **ERRORS},
            },
            "delete": {
                "summary": "Delete a schedule (its runs stay)",
                "responses": {"204": {"description": "Deleted."}, **ERRORS},
            },
        },
        "/mlp/schedules/{schedule_id}/run": {
            "parameters": [SCHEDULE_ID],
            "post": {
                "summary": "Run a schedule now",
                "responses": {
                    "201": _json("ScheduledRun", "The server started its run."),
                    "202": {
                        "description": "Its cloud was asked to fire it (`runs_in: cloud`); the "
                        "run is listed as the schedule's once found.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **ERRORS,
                },
            },
        },
        "/mlp/schedules/{schedule_id}/fires": {
            "parameters": [SCHEDULE_ID],
            "get": {
                "summary": "A schedule's fires: started, queued, skipped, missed or failed",
                "parameters": [
                    _query("limit", "Most fires (default 50)", _integer(1, LIST_LIMIT_MAX))
                ],
                "responses": {"200": _json("FireList", "Its latest fires."), **ERRORS},
            },
        },
    }


def _schemas() -> dict[str, Any]:
    """The models' JSON schemas, as `components/schemas`; a spec as it is written (validation),
    the rest as the server writes them (serialization)."""
    _, schemas = models_json_schema(
        [
            (m, "validation" if m in (JobSpec, ScheduleRequest, SchedulePatch) else "serialization")
            for m in (
                JobSpec,
                Job,
                ErrorBody,
                JobList,
                LogChunk,
                BackendList,
                ValidationResult,
                ConversionPreview,
                OutputList,
                StepsProgress,
                ScheduleRequest,
                SchedulePatch,
                ScheduleList,
                FireList,
                ScheduledRun,
                Schedule,
            )
        ],
        ref_template="#/components/schemas/{model}",
    )
    definitions: dict[str, Any] = schemas["$defs"]
    return definitions


@cache
def openapi_document() -> dict[str, Any]:
    """The whole document; tests validate real responses against it."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyter-mlp",
            "version": __version__,
            "description": "Launch and watch ML training and ETL jobs. Base path: the Jupyter "
            "server's base URL. Authenticated with the server's token or session.",
        },
        "paths": {**_jobs_paths(), **_job_paths(), **_schedule_paths(), **_service_paths()},
        "components": {"schemas": _schemas()},
    }
    for (path, method), operation_id in OPERATION_IDS.items():
        document["paths"][path][method]["operationId"] = operation_id
    return document
