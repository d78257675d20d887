"""A stand-in for the Dataflow v1b3 REST API on 127.0.0.1, spoken to over its real protocol.

Beam's own `DataflowRunner` (which speaks REST when its `--dataflow_endpoint` names localhost)
and `google.cloud.dataflow_v1beta3`'s clients with the REST transport talk to it unchanged:
request bodies are parsed with the real protobuf types (a field the API does not have is a
400), answers are real `Job`, `JobMessage` and `JobMetrics` messages in the service's JSON, and
errors have the service's shape (with `google.rpc` details: ErrorInfo, RetryInfo, QuotaFailure).
Lists answer with job summaries, as the service does, and a job's labels come only with
`view=JOB_VIEW_DESCRIPTION` or `JOB_VIEW_ALL`. A test drives jobs through their states, adds
their messages and metrics, makes calls fail, and asserts on what the stand-in received.

Harsher on request than a quiet day at the service: a create can make its job and then drop
the connection unanswered (`drop_next`), a new job can be missing from lists for a while
(`list_delay`: lists are not read-your-writes), and pages can hold fewer messages than asked
(`message_page_max`: the service may always return fewer).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from google.cloud import dataflow_v1beta3 as dataflow
from google.protobuf import json_format

JobState = dataflow.JobState
Importance = dataflow.JobMessageImportance
_JOBS = r"/v1b3/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/jobs"
_ROUTES = [
    ("POST", re.compile(_JOBS + r"$"), "create"),
    ("GET", re.compile(_JOBS + r"$"), "list"),
    ("GET", re.compile(_JOBS + r"/(?P<id>[^/:]+)$"), "get"),
    ("PUT", re.compile(_JOBS + r"/(?P<id>[^/:]+)$"), "update"),
    ("GET", re.compile(_JOBS + r"/(?P<id>[^/:]+)/messages$"), "messages"),
    ("GET", re.compile(_JOBS + r"/(?P<id>[^/:]+)/metrics$"), "metrics"),
]
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
# Dataflow's rule for job names.
_JOB_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,1022}[a-z0-9])?$")
TERMINAL = {
    JobState.JOB_STATE_DONE,
    JobState.JOB_STATE_FAILED,
    JobState.JOB_STATE_CANCELLED,
    JobState.JOB_STATE_UPDATED,
    JobState.JOB_STATE_DRAINED,
}
_SUMMARY = (
    "id",
    "project_id",
    "name",
    "type_",
    "current_state",
    "current_state_time",
    "create_time",
    "start_time",
    "location",
)
# Message importances from the least to the most important (their numbers are not in order).
_RANK = [
    Importance.JOB_MESSAGE_DEBUG,
    Importance.JOB_MESSAGE_DETAILED,
    Importance.JOB_MESSAGE_BASIC,
    Importance.JOB_MESSAGE_WARNING,
    Importance.JOB_MESSAGE_ERROR,
]


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
    code: int  # DROP: the call is carried out, then the connection closed unanswered
    message: str
    times: int
    details: list[dict[str, Any]] = field(default_factory=list)


DROP = 0


@dataclass
class FakeDataflow:
    """The Dataflow jobs of one project, in memory, by their Dataflow ids."""

    jobs: dict[str, Any] = field(default_factory=dict)  # id -> dataflow.Job
    messages: dict[str, list[Any]] = field(default_factory=dict)  # id -> [JobMessage]
    metrics: dict[str, list[Any]] = field(default_factory=dict)  # id -> [MetricUpdate]
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    next_id: int = 1000
    created_state: Any = JobState.JOB_STATE_PENDING  # what a new job is in
    ignore_cancel: bool = False  # a job that goes on running when cancelled
    settle_cancels: bool = True  # cancelling/draining ends between two looks at the job
    list_delay: float = 0.0  # seconds a new job is missing from ListJobs
    message_page_max: int | None = None  # the most messages a page holds, whatever is asked
    _seen_stopping: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ----- driving it from a test -----

    def fail_next(
        self,
        route: str,
        code: int,
        message: str,
        times: int = 1,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        """Answer the next `times` calls of `route` with an error, with `google.rpc` details
        (`{"@type": "type.googleapis.com/google.rpc.ErrorInfo", ...}`) if given."""
        with self.lock:
            self.faults.append(Fault(route, code, message, times, details or []))

    def drop_next(self, route: str, times: int = 1) -> None:
        """Carry out the next `times` calls of `route` (a create makes its job), then close
        the connection without an answer, as a timeout or a network failure leaves it."""
        with self.lock:
            self.faults.append(Fault(route, DROP, "", times))

    def set_state(self, job_id: str, state: Any) -> None:
        """Move a job to `state` (a `JobState`)."""
        with self.lock:
            job = self.jobs[job_id]
            job.current_state = state
            job.current_state_time = datetime.now(UTC)
            if state == JobState.JOB_STATE_RUNNING and not job.start_time:
                job.start_time = datetime.now(UTC)

    def add_message(
        self,
        job_id: str,
        text: str,
        importance: Any = Importance.JOB_MESSAGE_BASIC,
        at: datetime | None = None,
    ) -> None:
        """A job message, as the service records them (workers started, a step failed...)."""
        with self.lock:
            listed = self.messages.setdefault(job_id, [])
            when = at or datetime.now(UTC)
            listed.append(
                dataflow.JobMessage(
                    id=f"m{len(listed)}",
                    time=when,
                    message_text=text,
                    message_importance=importance,
                )
            )
            listed.sort(key=lambda m: m.time)

    def add_metric(self, job_id: str, name: str, step: str, value: int) -> None:
        """A scalar metric of a step's output (as ElementCount is), as workers report them."""
        with self.lock:
            self.metrics.setdefault(job_id, []).append(
                dataflow.MetricUpdate(
                    name=dataflow.MetricStructuredName(
                        origin="dataflow/v1b3",
                        name=name,
                        context={"output_user_name": step, "original_name": f"s{step}"},
                    ),
                    kind="Sum",
                    scalar=value,
                    update_time=datetime.now(UTC),
                )
            )

    def add_job(self, job: Any, location: str = "us-central1") -> Any:
        """Hold a job as if it had been created earlier (by a server that then crashed)."""
        with self.lock:
            return self._store(job, "test-project", location)

    def created(self) -> list[Any]:
        """The Jobs received by create calls, in order, as parsed from their bodies."""
        return [
            dataflow.Job.from_json(json.dumps(c.body), ignore_unknown_fields=False)
            for c in self.calls
            if c.route == "create"
        ]

    def count(self, route: str) -> int:
        with self.lock:
            return sum(1 for c in self.calls if c.route == route)

    def labelled(self, job_id: str) -> Any | None:
        """The Dataflow job labelled with our job id, if any."""
        with self.lock:
            return next(
                (j for j in self.jobs.values() if j.labels.get("mlp-job-id") == job_id), None
            )

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
        query = parse_qs(url.query)
        with self.lock:
            self.calls.append(
                Call(method, url.path, route, query, json.loads(body) if body else None)
            )
            dropped = False
            for fault in self.faults:
                if fault.route == route and fault.times > 0:
                    fault.times -= 1
                    if fault.code != DROP:
                        return _error(fault.code, fault.message, fault.details)
                    dropped = True
                    break
            handler = getattr(self, f"_{route}")
            answer: tuple[int, dict[str, Any]] = handler(match, query, body)
            return (DROP, {}) if dropped else answer

    def _create(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        job = dataflow.Job()
        json_format.Parse(body, dataflow.Job.pb(job))  # refuses fields the API does not have
        if not _JOB_NAME.match(job.name):
            return _error(400, f"(job name) '{job.name}' is not a valid Dataflow job name")
        if not job.environment.worker_pools and not job.environment.sdk_pipeline_options:
            return _error(400, "the job has no environment")
        for other in self.jobs.values():
            # As the service does: a second active job of a name is refused by answering with
            # the first one (whose clientRequestId differs from the request's).
            if other.name == job.name and other.current_state not in TERMINAL:
                return 200, _json(other)
        stored = self._store(job, match["project"], match["location"])
        return 200, _json(stored)

    def _store(self, job: Any, project: str, location: str) -> Any:
        job.id = f"{datetime.now(UTC):%Y-%m-%d_%H_%M_%S}-{self.next_id}"
        self.next_id += 1
        job.project_id = project
        job.location = location
        now = datetime.now(UTC)
        job.create_time = now
        job.current_state_time = now
        if not job.current_state:
            job.current_state = self.created_state
        self.jobs[job.id] = job
        return job

    def _settle(self) -> None:
        """With `settle_cancels`, a cancel or drain finishes between two looks at the job."""
        ends = {
            JobState.JOB_STATE_CANCELLING: JobState.JOB_STATE_CANCELLED,
            JobState.JOB_STATE_DRAINING: JobState.JOB_STATE_DRAINED,
        }
        for job in self.jobs.values():
            if not self.settle_cancels or job.current_state not in ends:
                continue
            if job.id in self._seen_stopping:
                job.current_state = ends[job.current_state]
                job.current_state_time = datetime.now(UTC)
            else:
                self._seen_stopping.add(job.id)

    def _list(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        self._settle()
        which = dataflow.ListJobsRequest.Filter(int(query.get("filter", ["0"])[0]))
        now = datetime.now(UTC)
        name = query.get("name", [None])[0]
        selected = [
            job
            for job in sorted(self.jobs.values(), key=lambda j: j.create_time, reverse=True)
            if job.location == match["location"]
            and (name is None or job.name == name)
            and (now - job.create_time).total_seconds() >= self.list_delay
            and (
                which
                in (dataflow.ListJobsRequest.Filter.ALL, dataflow.ListJobsRequest.Filter.UNKNOWN)
                or (which == dataflow.ListJobsRequest.Filter.ACTIVE)
                == (job.current_state not in TERMINAL)
            )
        ]
        size = int(query.get("pageSize", ["50"])[0] or 50)
        start = int(query.get("pageToken", ["0"])[0] or 0)
        answer: dict[str, Any] = {
            "jobs": [_json(_summary(j)) for j in selected[start : start + size]]
        }
        if start + size < len(selected):
            answer["nextPageToken"] = str(start + size)
        return 200, answer

    def _get(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        self._settle()
        job = self.jobs.get(match["id"])
        if job is None:
            return _error(404, f"(job) Job {match['id']} not found")
        view = dataflow.JobView(int(query.get("view", ["0"])[0]))
        full = view in (dataflow.JobView.JOB_VIEW_ALL, dataflow.JobView.JOB_VIEW_DESCRIPTION)
        return 200, _json(job if full else _summary(job))

    def _update(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        job = self.jobs.get(match["id"])
        if job is None:
            return _error(404, f"(job) Job {match['id']} not found")
        asked = dataflow.Job()
        json_format.Parse(body, dataflow.Job.pb(asked))
        if job.current_state in TERMINAL:
            return _error(
                400,
                f"Workflow modification failed. Causes: (job) Job {job.id} has terminated "
                f"in state {JobState(job.current_state).name}: cannot set requested state.",
            )
        requested = asked.requested_state
        if requested == JobState.JOB_STATE_DRAINING and (
            job.type_ != dataflow.JobType.JOB_TYPE_STREAMING
        ):
            return _error(400, f"(job) Job {job.id} is a batch job; only streaming jobs drain.")
        if requested not in (JobState.JOB_STATE_CANCELLED, JobState.JOB_STATE_DRAINING):
            return _error(400, f"(job) cannot request {JobState(requested).name}")
        job.requested_state = requested
        if not self.ignore_cancel:
            job.current_state = (
                JobState.JOB_STATE_CANCELLING
                if requested == JobState.JOB_STATE_CANCELLED
                else JobState.JOB_STATE_DRAINING
            )
            job.current_state_time = datetime.now(UTC)
        return 200, _json(job)

    def _messages(
        self, match: re.Match[str], query: Any, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        if match["id"] not in self.jobs:
            return _error(404, f"(job) Job {match['id']} not found")
        least = Importance(int(query.get("minimumImportance", ["0"])[0]))
        since = _time(query.get("startTime", [None])[0])
        until = _time(query.get("endTime", [None])[0])
        selected = [
            m
            for m in self.messages.get(match["id"], [])
            if (least == Importance.JOB_MESSAGE_IMPORTANCE_UNKNOWN or _rank(m) >= _rank_of(least))
            and (since is None or m.time >= since)
            and (until is None or m.time < until)
        ]
        size = int(query.get("pageSize", ["50"])[0] or 50)
        size = min(size, self.message_page_max or size)
        start = int(query.get("pageToken", ["0"])[0] or 0)
        answer: dict[str, Any] = {
            "jobMessages": [
                json.loads(dataflow.JobMessage.to_json(m)) for m in selected[start : start + size]
            ]
        }
        if start + size < len(selected):
            answer["nextPageToken"] = str(start + size)
        return 200, answer

    def _metrics(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        if match["id"] not in self.jobs:
            return _error(404, f"(job) Job {match['id']} not found")
        answer = dataflow.JobMetrics(
            metric_time=datetime.now(UTC), metrics=self.metrics.get(match["id"], [])
        )
        return 200, json.loads(dataflow.JobMetrics.to_json(answer))


def _summary(job: Any) -> Any:
    return dataflow.Job({name: getattr(job, name) for name in _SUMMARY})


def _json(job: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(dataflow.Job.to_json(job))
    return data


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rank(message: Any) -> int:
    return _rank_of(message.message_importance)


def _rank_of(importance: Any) -> int:
    return _RANK.index(importance) if importance in _RANK else -1


def _error(
    code: int, message: str, details: list[dict[str, Any]] | None = None
) -> tuple[int, dict[str, Any]]:
    error: dict[str, Any] = {"code": code, "message": message, "status": _STATUS.get(code, "")}
    if details:
        error["details"] = details
    return code, {"error": error}


def error_info(reason: str, **metadata: str) -> dict[str, Any]:
    """A `google.rpc.ErrorInfo` detail of the Dataflow service, as REST carries it."""
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": "dataflow.googleapis.com", **metadata},
    }


def retry_info(seconds: float) -> dict[str, Any]:
    """A `google.rpc.RetryInfo` detail: how long to wait before trying again."""
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{seconds}s"}


def past(seconds: float) -> datetime:
    """A time `seconds` ago, for messages written earlier."""
    return datetime.now(UTC) - timedelta(seconds=seconds)


class FakeDataflowServer:
    """Serves a `FakeDataflow` over HTTP on 127.0.0.1 from a thread.

    Its endpoint names the host `localhost`: Beam speaks REST (rather than gRPC over TLS) only
    to an endpoint of that name."""

    def __init__(self, fake: FakeDataflow | None = None) -> None:
        self.fake = fake or FakeDataflow()
        fake_ = self.fake

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                code, payload = fake_.handle(self.command, self.path, self.rfile.read(length))
                if code == DROP:
                    self.close_connection = True
                    return
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        return f"http://localhost:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeDataflowServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
