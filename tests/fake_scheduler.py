"""A stand-in for Cloud Scheduler's REST API (v1) on 127.0.0.1, spoken to over its real protocol.

`google.cloud.scheduler_v1.CloudSchedulerClient(transport="rest")` talks to it unchanged: bodies
are parsed with the real `scheduler_v1` types (a `Job` with its `HttpTarget`, `OAuthToken` and
`RetryConfig`), answers are real `Job` messages in the service's JSON, and errors have Google's
shape. It keeps the service's rules that matter here: a job's id, a five-field schedule, an IANA
time zone, an HTTP target's absolute URI, `retry_count` within 0..5, an OAuth token's service
account, an update's mask; a second create of a name is ALREADY_EXISTS, an unknown name NOT_FOUND.

`fire(name)` does what Cloud Scheduler does at a fire time: it sends the job's HTTP request
(method, URI, headers, body) to its target, with an `Authorization` header standing for the
OAuth token minted for the job's service account, and records the answer.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import available_timezones

from google.cloud import scheduler_v1
from google.protobuf import json_format

_NAME = r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
_JOB = _NAME + r"/jobs/(?P<job>[^/:]+)"
_ROUTES = [
    ("POST", re.compile(rf"^/v1/{_NAME}/jobs$"), "create"),
    ("GET", re.compile(rf"^/v1/{_JOB}$"), "get"),
    ("PATCH", re.compile(rf"^/v1/{_JOB}$"), "patch"),
    ("DELETE", re.compile(rf"^/v1/{_JOB}$"), "delete"),
    ("POST", re.compile(rf"^/v1/{_JOB}:pause$"), "pause"),
    ("POST", re.compile(rf"^/v1/{_JOB}:resume$"), "resume"),
    ("POST", re.compile(rf"^/v1/{_JOB}:run$"), "run"),
]
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    500: "INTERNAL",
}
# What an update may change (the fields this stand-in's callers patch, and a few more).
_UPDATABLE = {"description", "schedule", "time_zone", "http_target", "retry_config"}
State = scheduler_v1.Job.State


@dataclass
class Call:
    """One request the stand-in received."""

    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    body: dict[str, Any] | None


@dataclass
class Fire:
    """One request Cloud Scheduler sent to a job's target, and the answer it got."""

    job: str
    method: str
    uri: str
    headers: dict[str, str]
    body: bytes
    status: int
    answer: bytes


@dataclass
class FakeScheduler:
    """Cloud Scheduler's jobs of one project, in memory."""

    jobs: dict[str, Any] = field(default_factory=dict)  # name -> scheduler_v1.Job
    calls: list[Call] = field(default_factory=list)
    fires: list[Fire] = field(default_factory=list)
    faults: dict[str, tuple[int, str]] = field(default_factory=dict)  # route -> its next error
    lock: threading.Lock = field(default_factory=threading.Lock)

    def only(self) -> Any:
        """The one job there is."""
        (job,) = self.jobs.values()
        return job

    def fail_next(self, route: str, code: int, message: str) -> None:
        """The next call of `route` fails with Google's error of `code`."""
        self.faults[route] = (code, message)

    def routes(self) -> list[str]:
        return [call.route for call in self.calls]

    def fire(self, name: str) -> Fire:
        """Send the job's HTTP request to its target, as at a fire time."""
        with self.lock:
            job = self.jobs[name]
        target = job.http_target
        headers = {**target.headers, "User-Agent": "Google-Cloud-Scheduler"}
        if target.oauth_token.service_account_email:
            headers["Authorization"] = f"Bearer token-of-{target.oauth_token.service_account_email}"
        method = scheduler_v1.HttpMethod(target.http_method).name
        request = urllib.request.Request(
            target.uri, data=bytes(target.body) or None, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status, data = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, data = exc.code, exc.read()
        fired = Fire(name, method, target.uri, headers, bytes(target.body), status, data)
        with self.lock:
            self.fires.append(fired)
        return fired

    # ----- the API -----

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
        parsed = json.loads(body) if body else None
        with self.lock:
            self.calls.append(Call(method, url.path, route, query, parsed))
            if route in self.faults:
                return _error(*self.faults.pop(route))
            if route != "create" and self._name(match) not in self.jobs:
                return _error(404, f"Job not found: {self._name(match)}")
            if route == "run":  # sent outside the lock: the target may be slow
                name = self._name(match)
            else:
                return getattr(self, f"_{route}")(match, query, body)
        self.fire(name)
        return 200, _json(self.jobs[name])

    def _name(self, match: re.Match[str]) -> str:
        return f"projects/{match['project']}/locations/{match['location']}/jobs/{match['job']}"

    def _create(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        job = _parse(body)
        parent = f"projects/{match['project']}/locations/{match['location']}"
        if not job.name.startswith(parent + "/jobs/") or not _JOB_ID.match(
            job.name.removeprefix(parent + "/jobs/")
        ):
            return _error(400, f"Job name must be of the form {parent}/jobs/JOB_ID: {job.name!r}")
        if job.name in self.jobs:
            return _error(409, f"Job {job.name} already exists")
        problem = _problem(job)
        if problem:
            return _error(400, problem)
        job.state = State.ENABLED
        self.jobs[job.name] = job
        return 200, _json(job)

    def _get(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        return 200, _json(self.jobs[self._name(match)])

    def _patch(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        changes = _parse(body)
        mask = [p for ps in query.get("updateMask", []) for p in ps.split(",") if p]
        paths = [re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), p) for p in mask]
        unknown = [p for p in paths if p.split(".")[0] not in _UPDATABLE]
        if not paths or unknown:
            return _error(400, f"update_mask must name fields to update, not {mask!r}")
        job = self.jobs[self._name(match)]
        updated = scheduler_v1.Job(job)
        for path in paths:
            top = path.split(".")[0]
            setattr(updated, top, getattr(changes, top))
        problem = _problem(updated)
        if problem:
            return _error(400, problem)
        self.jobs[job.name] = updated
        return 200, _json(updated)

    def _delete(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        del self.jobs[self._name(match)]
        return 200, {}

    def _pause(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        return self._set_state(match, State.PAUSED)

    def _resume(self, match: re.Match[str], query: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        return self._set_state(match, State.ENABLED)

    def _set_state(self, match: re.Match[str], state: Any) -> tuple[int, dict[str, Any]]:
        job = self.jobs[self._name(match)]
        # The service pauses only an enabled job and resumes only a paused one.
        was = State.ENABLED if state == State.PAUSED else State.PAUSED
        if job.state != was:
            return _error(
                400,
                f"Job.state must be {was.name}, not {State(job.state).name}",
                "FAILED_PRECONDITION",
            )
        job.state = state
        return 200, _json(job)


def _parse(body: bytes) -> Any:
    job = scheduler_v1.Job()
    json_format.Parse(body, scheduler_v1.Job.pb(job))  # refuses fields the API does not have
    return job


def _problem(job: Any) -> str:
    """What the service would refuse in a job to be stored ("" if nothing)."""
    if len(job.schedule.split()) != 5:
        return f"Schedule has invalid format: {job.schedule!r} (unix-cron, five fields)"
    if job.time_zone and job.time_zone not in available_timezones() | {"UTC"}:
        return f"Invalid time zone: {job.time_zone!r}"
    target = job.http_target
    if not target.uri.startswith(("http://", "https://")):
        return f"http_target.uri must be an absolute http(s) URL: {target.uri!r}"
    method = scheduler_v1.HttpMethod(target.http_method).name
    if target.body and method not in ("POST", "PUT", "PATCH"):
        return f"http_target.body is allowed only with POST, PUT or PATCH, not {method}"
    if not 0 <= job.retry_config.retry_count <= 5:
        return "retry_config.retry_count must be between 0 and 5"
    token = target.oauth_token
    if "oauth_token" in target and not token.service_account_email:
        return "http_target.oauth_token.service_account_email is required"
    return ""


def _json(job: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(type(job).to_json(job))
    return data


def _error(code: int, message: str, status: str = "") -> tuple[int, dict[str, Any]]:
    status = status or _STATUS.get(code, "")
    return code, {"error": {"code": code, "message": message, "status": status}}


class FakeSchedulerServer:
    """Serves a `FakeScheduler` over HTTP on 127.0.0.1 from a thread."""

    def __init__(self, fake: FakeScheduler | None = None) -> None:
        self.fake = fake or FakeScheduler()
        fake_ = self.fake

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                code, payload = fake_.handle(self.command, self.path, self.rfile.read(length))
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeSchedulerServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
