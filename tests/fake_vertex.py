"""A stand-in for Vertex AI's JobService on 127.0.0.1, spoken to over its real REST protocol.

`google.cloud.aiplatform_v1.JobServiceClient(transport="rest")` talks to it unchanged: request
bodies are parsed with the real protobuf types, answers are real `CustomJob` and
`HyperparameterTuningJob` messages in the service's JSON (camelCase, names with the project
*number*, as the service gives them), and errors have the service's shape. A test drives the jobs
through their states (and a tuning job's trials through theirs) and makes calls fail on purpose,
then asserts on what the stand-in received.

Failures are modelled as Google gives them: errors in its JSON shape with `google.rpc` details
(`ErrorInfo`, `QuotaFailure`, `Help`; see `quota_exceeded`, `rate_limited`,
`permission_denied`), whole outages (`outage`), and creates that happen but whose answer comes
too late or never (`lose_next`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from google.cloud.aiplatform_v1 import types
from google.protobuf import json_format

JobState = types.JobState
_PARENT = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/"
# Routes of custom jobs are named create, list, get, cancel; those of hyperparameter tuning jobs
# create_tuning, list_tuning, get_tuning, cancel_tuning.
_COLLECTIONS = {"customJobs": "", "hyperparameterTuningJobs": "_tuning"}
_ROUTES = [
    (method, re.compile(_PARENT + collection + tail), route + suffix)
    for collection, suffix in _COLLECTIONS.items()
    for method, tail, route in [
        ("POST", r"$", "create"),
        ("GET", r"$", "list"),
        ("GET", r"/(?P<id>[^/:]+)$", "get"),
        ("POST", r"/(?P<id>[^/:]+):cancel$", "cancel"),
    ]
]
_ENDED = (
    JobState.JOB_STATE_SUCCEEDED,
    JobState.JOB_STATE_FAILED,
    JobState.JOB_STATE_CANCELLED,
)
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_TERM = re.compile(r'^(?P<field>[\w.-]+)\s*(?P<op>!=|=)\s*"(?P<value>[^"]*)"$')


@dataclass
class Call:
    """One request the stand-in received."""

    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    body: dict[str, Any] | None


@dataclass
class Fault:
    route: str
    code: int  # 0: the call takes effect, and its answer is held, then never given
    message: str
    times: int
    details: list[dict[str, Any]] = field(default_factory=list)
    hold_seconds: float = 0.0
    then_down: bool = False  # after a lost answer, an outage until `recover()`


LOST = 0  # `handle`'s code for "no answer": hold the connection for a while, then drop it


def quota_exceeded(
    metric: str = "aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus",
    limit: str = "CustomModelTrainingNvidiaT4GPUsPerProjectPerRegion",
    shape: str = "error_info",
) -> tuple[int, str, list[dict[str, Any]]]:
    """An allocation quota used up, as Vertex AI answers a create: (code, message, details).
    `shape`: "error_info" (ErrorInfo and QuotaFailure), "quota_failure" (QuotaFailure only) or
    "message" (no details)."""
    message = f"The following quota metrics exceed quota limits: {metric}"
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RESOURCE_QUOTA_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {
            "consumer": "projects/123456789012",
            "service": "aiplatform.googleapis.com",
            "quota_metric": metric,
            "quota_limit": limit,
            "quota_location": "us-central1",
        },
    }
    failure = {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{"subject": "projects/123456789012", "description": message}],
    }
    details = {"error_info": [info, failure], "quota_failure": [failure], "message": []}[shape]
    return 429, message, details


def rate_limited() -> tuple[int, str, list[dict[str, Any]]]:
    """Too many requests a minute, as Google's APIs answer: (code, message, details)."""
    message = (
        "Quota exceeded for quota metric 'Resource management requests' and limit 'Resource "
        "management requests per minute per region' of service 'aiplatform.googleapis.com' "
        "for consumer 'project_number:123456789012'."
    )
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {
            "consumer": "projects/123456789012",
            "service": "aiplatform.googleapis.com",
            "quota_metric": "aiplatform.googleapis.com/resource_management_requests",
            "quota_limit": "ResourceManagementRequestsPerMinutePerProjectPerRegion",
            "quota_limit_value": "600",
        },
    }
    help_link = {
        "@type": "type.googleapis.com/google.rpc.Help",
        "links": [
            {
                "description": "Request a higher quota limit.",
                "url": "https://cloud.google.com/docs/quotas/help/request_increase",
            }
        ],
    }
    return 429, message, [info, help_link]


def permission_denied(
    permission: str = "aiplatform.customJobs.create",
    resource: str = "projects/test-project/locations/us-central1",
) -> tuple[int, str, list[dict[str, Any]]]:
    """A missing IAM permission, as Google's APIs answer: (code, message, details)."""
    message = (
        f"Permission '{permission}' denied on resource '//aiplatform.googleapis.com/{resource}' "
        "(or it may not exist)."
    )
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "IAM_PERMISSION_DENIED",
        "domain": "iam.googleapis.com",
        "metadata": {"permission": permission, "resource": resource},
    }
    return 403, message, [info]


# google.rpc.Code RESOURCE_EXHAUSTED: the code of a job Vertex AI ended for want of machines.
RESOURCE_EXHAUSTED = 8


def insufficient(region: str) -> str:
    """Vertex AI's words for a job it found no machines for in `region`."""
    return (
        f"Resources are insufficient in region: {region}. Please try a different region. "
        "If you use K80, please consider using P100 or V100 instead."
    )


def preempted() -> str:
    """How a Spot job ends once Vertex AI has restarted it after preemptions as often as it
    does (six times): a STOCKOUT error."""
    return "STOCKOUT: the job's Spot VMs were preempted and the job was restarted 6 times"


def vertex_env(job: Any) -> dict[str, str]:
    """The variables Vertex AI sets in a CustomJob's containers from its base output
    directory (`AIP_MODEL_DIR` and friends)."""
    prefix = job.job_spec.base_output_directory.output_uri_prefix
    return {
        "AIP_MODEL_DIR": f"{prefix}model/",
        "AIP_CHECKPOINT_DIR": f"{prefix}checkpoints/",
        "AIP_TENSORBOARD_LOG_DIR": f"{prefix}logs/",
    }


@dataclass
class FakeVertex:
    """The JobService's custom jobs and hyperparameter tuning jobs of one project, in memory."""

    project_number: str = "123456789012"
    jobs: dict[str, Any] = field(default_factory=dict)  # name -> types.CustomJob
    tuning_jobs: dict[str, Any] = field(default_factory=dict)  # name -> HyperparameterTuningJob
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    next_id: int = 1000
    created_state: Any = JobState.JOB_STATE_PENDING  # what a new job is in
    ignore_cancel: bool = False  # a job that goes on running when cancelled
    settle_cancels: bool = False  # a cancelling job is cancelled once it was seen cancelling
    down_until: float = 0.0  # every call fails until this time.monotonic()
    down_error: tuple[int, str, list[dict[str, Any]]] = (503, "", [])
    # Regions without machines: a custom job made there fails when next looked at.
    no_capacity: set[str] = field(default_factory=set)
    _seen_cancelling: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ----- driving it from a test -----

    def fail_next(
        self,
        route: str,
        code: int,
        message: str,
        details: list[dict[str, Any]] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `route` (create, list, get, cancel, or those with
        `_tuning` for tuning jobs) with an error, with `google.rpc` `details` if given."""
        with self.lock:
            self.faults.append(Fault(route, code, message, times, details or []))

    def lose_next(
        self, route: str, hold_seconds: float, times: int = 1, then_down: bool = False
    ) -> None:
        """Carry out the next `times` calls of `route` (a create makes its job), then hold each
        connection `hold_seconds` and drop it without an answer: a client's timeout shorter
        than the hold fires first, else the client sees the connection drop. With `then_down`,
        every later call answers 503 until `recover()`."""
        with self.lock:
            fault = Fault(route, LOST, "", times, hold_seconds=hold_seconds, then_down=then_down)
            self.faults.append(fault)

    def outage(
        self,
        seconds: float,
        code: int = 503,
        message: str = "The service is currently unavailable.",
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        """Answer every call with this error for the next `seconds`."""
        with self.lock:
            self.down_until = time.monotonic() + seconds
            self.down_error = (code, message, details or [])

    def recover(self) -> None:
        """End an outage now."""
        with self.lock:
            self.down_until = 0.0

    def set_state(self, name: str, state: Any, error: str | None = None, code: int = 13) -> None:
        """Move a job (custom or tuning) to `state` (a `JobState`), with Vertex's
        `error.message` (and its google.rpc `code`) if given."""
        with self.lock:
            job = self.jobs.get(name) or self.tuning_jobs[name]
            job.state = state
            now = datetime.now(UTC)
            job.update_time = now
            if state == JobState.JOB_STATE_RUNNING and not job.start_time:
                job.start_time = now
            if state in _ENDED:
                job.end_time = now
            if error is not None:
                job.error = {"code": code, "message": error}

    def add_job(self, job: Any, location: str = "us-central1") -> Any:
        """Hold a job (a `CustomJob` or `HyperparameterTuningJob`) as if it had been created
        earlier (by a server that then crashed)."""
        with self.lock:
            return self._store(job, location)

    def add_trial(self, name: str, parameters: dict[str, float | str], state: Any = None) -> str:
        """Start a trial of tuning job `name` with `parameters`, as Vertex's study suggests one
        (ACTIVE unless `state` is given); its id, "1", "2", ..."""
        with self.lock:
            job = self.tuning_jobs[name]
            trial_id = str(len(job.trials) + 1)
            values = [{"parameter_id": key, "value": value} for key, value in parameters.items()]
            job.trials.append(
                types.Trial(
                    id=trial_id,
                    state=state or types.Trial.State.ACTIVE,
                    parameters=values,
                    start_time=datetime.now(UTC),
                    custom_job=f"{name.rsplit('/', 2)[0]}/customJobs/{self.next_id}",
                )
            )
            self.next_id += 1
            return trial_id

    def end_trial(
        self,
        name: str,
        trial_id: str,
        metric: float | None = None,
        infeasible: str | None = None,
    ) -> None:
        """End a trial: SUCCEEDED with its final `metric` (under the study's metric id), or
        INFEASIBLE (its program failed) saying why."""
        with self.lock:
            job = self.tuning_jobs[name]
            trial = next(t for t in job.trials if t.id == trial_id)
            trial.end_time = datetime.now(UTC)
            if infeasible is not None:
                trial.state = types.Trial.State.INFEASIBLE
                trial.infeasible_reason = infeasible
                return
            trial.state = types.Trial.State.SUCCEEDED
            if metric is not None:
                metric_id = job.study_spec.metrics[0].metric_id
                trial.final_measurement = {
                    "step_count": 1,
                    "metrics": [{"metric_id": metric_id, "value": metric}],
                }

    def created(self) -> list[Any]:
        """The CustomJobs received by create calls, in order, as parsed from their bodies."""
        return [
            types.CustomJob.from_json(json.dumps(c.body), ignore_unknown_fields=False)
            for c in self.calls
            if c.route == "create"
        ]

    def created_tuning(self) -> list[Any]:
        """The HyperparameterTuningJobs received by create calls, in order, as parsed."""
        return [
            types.HyperparameterTuningJob.from_json(json.dumps(c.body), ignore_unknown_fields=False)
            for c in self.calls
            if c.route == "create_tuning"
        ]

    def tuning_labelled(self, job_id: str) -> Any:
        """The tuning job labelled with our job id."""
        return next(j for j in self.tuning_jobs.values() if j.labels.get("mlp-job-id") == job_id)

    def count(self, route: str) -> int:
        return sum(1 for c in self.calls if c.route == route)

    def labelled(self, job_id: str) -> Any:
        """The job labelled with our job id."""
        return next(j for j in self.jobs.values() if j.labels.get("mlp-job-id") == job_id)

    def only(self) -> Any:
        """The one job held."""
        (job,) = self.jobs.values()
        return job

    # ----- answering -----

    def handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        url = urlsplit(raw_path)
        found = next(
            (
                (route, match)
                for route_method, pattern, route in _ROUTES
                if route_method == method and (match := pattern.match(url.path))
            ),
            None,
        )
        if found is None:
            return _error(404, f"no route for {method} {url.path}")
        route, match = found
        parsed = json.loads(body) if body else None
        with self.lock:
            self.calls.append(Call(method, url.path, route, parse_qs(url.query), parsed))
            if time.monotonic() < self.down_until:
                return _error(*self.down_error)
            for fault in self.faults:
                if fault.route == route and fault.times > 0:
                    fault.times -= 1
                    if fault.code == LOST:
                        getattr(self, f"_{route}")(match, parse_qs(url.query), body)
                        if fault.then_down:
                            self.down_until = float("inf")
                            self.down_error = (503, "The service is currently unavailable.", [])
                        return LOST, {"hold_seconds": fault.hold_seconds}
                    return _error(fault.code, fault.message, fault.details)
            return getattr(self, f"_{route}")(match, parse_qs(url.query), body)

    def _create(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        job = types.CustomJob()
        json_format.Parse(body, types.CustomJob.pb(job))  # refuses fields the API does not have
        if not job.display_name:
            return _error(400, "display_name is required")
        if not job.job_spec.worker_pool_specs:
            return _error(400, "job_spec.worker_pool_specs is required")
        stored = self._store(job, match["location"])
        return 200, _json(stored)

    def _create_tuning(
        self, match: re.Match[str], query: Any, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        job = types.HyperparameterTuningJob()
        json_format.Parse(body, types.HyperparameterTuningJob.pb(job))
        problems = [
            ("display_name is required", not job.display_name),
            ("study_spec.metrics is required", not job.study_spec.metrics),
            ("study_spec.parameters is required", not job.study_spec.parameters),
            ("max_trial_count must be positive", job.max_trial_count <= 0),
            ("parallel_trial_count must be positive", job.parallel_trial_count <= 0),
            (
                "trial_job_spec.worker_pool_specs is required",
                not job.trial_job_spec.worker_pool_specs,
            ),
        ]
        for message, wrong in problems:
            if wrong:
                return _error(400, message)
        stored = self._store(job, match["location"])
        return 200, _json(stored)

    def _store(self, job: Any, location: str) -> Any:
        tuning = isinstance(job, types.HyperparameterTuningJob)
        collection = "hyperparameterTuningJobs" if tuning else "customJobs"
        job.name = (
            f"projects/{self.project_number}/locations/{location}/{collection}/{self.next_id}"
        )
        self.next_id += 1
        now = datetime.now(UTC)
        job.create_time = now
        job.update_time = now
        if not job.state:
            job.state = self.created_state
        (self.tuning_jobs if tuning else self.jobs)[job.name] = job
        return job

    def _settle(self) -> None:
        """With `settle_cancels`, Vertex finishes a cancel between two looks at the job; a
        custom job in a region of `no_capacity` fails for want of machines."""
        for job in self.jobs.values():
            location = job.name.split("/")[3]
            if location in self.no_capacity and job.state not in _ENDED:
                job.state = JobState.JOB_STATE_FAILED
                job.end_time = datetime.now(UTC)
                job.error = {"code": RESOURCE_EXHAUSTED, "message": insufficient(location)}
        for job in [*self.jobs.values(), *self.tuning_jobs.values()]:
            if not self.settle_cancels or job.state != JobState.JOB_STATE_CANCELLING:
                continue
            if job.name in self._seen_cancelling:
                job.state = JobState.JOB_STATE_CANCELLED
                job.end_time = datetime.now(UTC)
            else:
                self._seen_cancelling.add(job.name)

    def _get(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        self._settle()
        job = self._find(match)
        if job is None:
            return _error(404, f"CustomJob {match['id']} not found")
        return 200, _json(job)

    def _list(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        return self._listed(self.jobs, "customJobs", query)

    def _list_tuning(
        self, match: re.Match[str], query: Any, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        return self._listed(self.tuning_jobs, "hyperparameterTuningJobs", query)

    def _listed(self, held: dict[str, Any], key: str, query: Any) -> tuple[int, dict[str, Any]]:
        self._settle()
        terms = [t.strip() for t in query.get("filter", [""])[0].split(" AND ") if t.strip()]
        selected = [j for j in held.values() if all(_matches(j, t) for t in terms)]
        size = int(query.get("pageSize", ["100"])[0] or 100)
        start = int(query.get("pageToken", ["0"])[0] or 0)
        page = selected[start : start + size]
        answer: dict[str, Any] = {key: [_json(j) for j in page]}
        if start + size < len(selected):
            answer["nextPageToken"] = str(start + size)
        return 200, answer

    def _get_tuning(
        self, match: re.Match[str], query: Any, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        self._settle()
        job = self._find(match, self.tuning_jobs)
        if job is None:
            return _error(404, f"HyperparameterTuningJob {match['id']} not found")
        return 200, _json(job)

    def _cancel(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        return self._cancelled(self._find(match), f"CustomJob {match['id']}")

    def _cancel_tuning(
        self, match: re.Match[str], query: Any, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        job = self._find(match, self.tuning_jobs)
        return self._cancelled(job, f"HyperparameterTuningJob {match['id']}")

    def _cancelled(self, job: Any, what: str) -> tuple[int, dict[str, Any]]:
        if job is None:
            return _error(404, f"{what} not found")
        if job.state in _ENDED:
            return _error(400, f"{what} is already in a terminal state")
        if not self.ignore_cancel:
            job.state = JobState.JOB_STATE_CANCELLING
        return 200, {}

    def _find(self, match: re.Match[str], held: dict[str, Any] | None = None) -> Any:
        jobs = self.jobs if held is None else held
        return next((j for j in jobs.values() if j.name.endswith(f"/{match['id']}")), None)


def _json(job: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(type(job).to_json(job))
    return data


def _error(
    code: int, message: str, details: list[dict[str, Any]] | None = None
) -> tuple[int, dict[str, Any]]:
    error: dict[str, Any] = {"code": code, "message": message, "status": _STATUS.get(code, "")}
    if details:
        error["details"] = details
    return code, {"error": error}


def _matches(job: Any, term: str) -> bool:
    """One `field = "value"` or `field != "value"` term of a ListCustomJobs filter."""
    found = _TERM.match(term)
    if found is None:
        raise ValueError(f"filter term the stand-in does not understand: {term!r}")
    name, value = found["field"], found["value"]
    if name.startswith("labels."):
        actual = job.labels.get(name.removeprefix("labels."))
    elif name == "state":
        actual = JobState(job.state).name
    else:
        raise ValueError(f"filter field the stand-in does not understand: {name!r}")
    return (actual == value) == (found["op"] == "=")


class FakeVertexServer:
    """Serves a `FakeVertex` over HTTP on 127.0.0.1 from a thread."""

    def __init__(self, fake: FakeVertex | None = None) -> None:
        self.fake = fake or FakeVertex()
        fake_ = self.fake

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                code, payload = fake_.handle(self.command, self.path, self.rfile.read(length))
                if code == LOST:
                    time.sleep(payload["hold_seconds"])
                    self.close_connection = True
                    return
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeVertexServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
