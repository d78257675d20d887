"""A stand-in for Cloud Logging's `entries:list` on 127.0.0.1 (REST, JSON as the API has it).

It holds log entries of Vertex AI jobs (`resource.type = "ml_job"`) and of Dataflow jobs
(`resource.type = "dataflow_step"`: worker logs, and the job messages Dataflow also writes to the
`job-message` log), and models what the service does that a reader must cope with:

- the read quota: `limit` requests a `window` of seconds per project (60 a minute by default),
  then 429 RESOURCE_EXHAUSTED in Google's shape, with `google.rpc.ErrorInfo` and a
  `google.rpc.RetryInfo` saying when the window frees a request;
- out-of-order ingestion: an entry is visible from the moment it is added, whatever its
  timestamp, so one added late with an earlier timestamp appears after entries with later ones;
- filters of the query language: comparisons (`=`, `!=`, `>=`, `>`, `<=`, `<`, `:`) combined
  with NOT, OR and AND and parentheses, with the language's precedence (NOT, then OR, then AND);
  timestamps compare as times, whatever their precision;
- ordering by timestamp either way, and pages with page tokens.

Calls can also be made to fail on purpose.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|>=|<=|!=|=|>|<|:|[^\s()"=<>!:]+)')
_EPOCH = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
_FRACTION = re.compile(r"\.(\d+)Z$")
DATAFLOW_LOGS = "dataflow.googleapis.com%2F"


def timestamp(seconds: float) -> str:
    """An RFC 3339 timestamp with nanoseconds, as Cloud Logging writes them."""
    moment = _EPOCH + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 1000:09d}Z"


@dataclass
class FakeLogging:
    """Log entries of one project, in memory."""

    project: str = "p"
    limit: int = 60  # requests a window, per project
    window: float = 60.0  # seconds
    entries: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0  # requests answered 429
    failures: list[int] = field(default_factory=list)  # HTTP codes for the next calls
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: Callable[[], float] = time.monotonic
    _recent: deque[float] = field(default_factory=deque)

    def add(self, job_id: str, text: str, at: float, task: str = "workerpool0-0") -> None:
        """One line a Vertex AI job's replica `task` wrote, `at` seconds after a fixed moment."""
        self._append(
            job_id,
            text,
            at,
            log=task,
            resource={"type": "ml_job", "labels": {"job_id": job_id, "task_name": task}},
        )

    def add_worker_line(
        self, job_id: str, text: str, at: float, log: str = "worker", step: str = "Map"
    ) -> None:
        """A line a Dataflow job's worker wrote (its `worker`, `harness`, `worker-startup`...
        log), `at` seconds after a fixed moment."""
        self._append(job_id, text, at, log=DATAFLOW_LOGS + log, resource=_step(job_id, step))

    def add_job_message(self, job_id: str, text: str, at: float, severity: str = "INFO") -> None:
        """A Dataflow job message as Dataflow also writes it to Cloud Logging."""
        self._append(
            job_id,
            text,
            at,
            log=DATAFLOW_LOGS + "job-message",
            resource=_step(job_id, ""),
            severity=severity,
        )

    def _append(
        self,
        job_id: str,
        text: str,
        at: float,
        log: str,
        resource: dict[str, Any],
        severity: str = "INFO",
    ) -> None:
        with self.lock:
            resource["labels"]["project_id"] = self.project
            self.entries.append(
                {
                    "insertId": f"id{len(self.entries):06d}",
                    "timestamp": timestamp(at),
                    "logName": f"projects/{self.project}/logs/{log}",
                    "resource": resource,
                    "severity": severity,
                    "textPayload": text,
                }
            )

    def reads(self) -> int:
        """Requests received so far (answered or refused)."""
        with self.lock:
            return len(self.requests)

    def handle(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if path != "/v2/entries:list":
            return 404, {"error": {"code": 404, "message": f"no route {path}"}}
        request = json.loads(body)
        with self.lock:
            self.requests.append(request)
            now = self.clock()
            while self._recent and now - self._recent[0] >= self.window:
                self._recent.popleft()
            if len(self._recent) >= self.limit:
                self.refused += 1
                return 429, self._quota_error(self.window - (now - self._recent[0]))
            self._recent.append(now)
            if self.failures:
                code = self.failures.pop(0)
                return code, {"error": {"code": code, "message": "logging is unavailable"}}
            try:
                matches = parse(request.get("filter", ""))
            except ValueError as exc:
                return 400, {
                    "error": {"code": 400, "message": str(exc), "status": "INVALID_ARGUMENT"}
                }
            selected = [e for e in self.entries if matches(e)]
        descending = request.get("orderBy", "timestamp asc").endswith("desc")
        selected.sort(key=lambda e: (_order(e["timestamp"]), e["insertId"]), reverse=descending)
        size = int(request.get("pageSize") or 50)
        start = int(request.get("pageToken") or 0)
        answer: dict[str, Any] = {"entries": selected[start : start + size]}
        if start + size < len(selected):
            answer["nextPageToken"] = str(start + size)
        return 200, answer

    def _quota_error(self, wait: float) -> dict[str, Any]:
        return {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "Quota exceeded for quota metric 'Read requests' and limit 'Read "
                "requests per minute' of service 'logging.googleapis.com' for consumer "
                f"'project_number:{self.project}'.",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "RATE_LIMIT_EXCEEDED",
                        "domain": "googleapis.com",
                        "metadata": {
                            "consumer": f"projects/{self.project}",
                            "quota_limit": "ReadRequestsPerMinutePerProject",
                            "quota_metric": "logging.googleapis.com/read_requests",
                            "service": "logging.googleapis.com",
                        },
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": f"{max(1, math.ceil(wait))}s",
                    },
                ],
            }
        }


def _step(job_id: str, step: str) -> dict[str, Any]:
    return {"type": "dataflow_step", "labels": {"job_id": job_id, "step_id": step}}


# ----- the query language (the part readers use) -----

Match = Callable[[dict[str, Any]], bool]


def parse(text: str) -> Match:
    """A filter as a test of one entry. AND is the loosest, then OR, then NOT, as in the
    Logging query language (`a AND b OR c` is `a AND (b OR c)`)."""
    tokens = [t for t in _TOKEN.findall(text)]
    if "".join(tokens).replace(" ", "") != re.sub(r"\s+", "", text):
        raise ValueError(f"filter the stand-in cannot read: {text!r}")
    at = [0]

    def peek() -> str | None:
        return tokens[at[0]] if at[0] < len(tokens) else None

    def take() -> str:
        at[0] += 1
        return tokens[at[0] - 1]

    def conjunction() -> Match:
        parts = [disjunction()]
        while peek() == "AND":
            take()
            parts.append(disjunction())
        return lambda e: all(p(e) for p in parts)

    def disjunction() -> Match:
        parts = [negation()]
        while peek() == "OR":
            take()
            parts.append(negation())
        return lambda e: any(p(e) for p in parts)

    def negation() -> Match:
        if peek() in ("NOT", "-"):
            take()
            inner = negation()
            return lambda e: not inner(e)
        if peek() == "(":
            take()
            inner = conjunction()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in {text!r}")
            return inner
        return comparison()

    def comparison() -> Match:
        name, op, value = take(), take(), take()
        if op not in ("=", "!=", ">=", ">", "<=", "<", ":") or not value.startswith('"'):
            raise ValueError(f"filter term the stand-in does not understand: {name} {op} {value}")
        return _comparison(name, op, json.loads(value))

    found = conjunction()
    if peek() is not None:
        raise ValueError(f"filter term the stand-in does not understand: {peek()!r} in {text!r}")
    return found


def _comparison(name: str, op: str, value: str) -> Match:
    def test(entry: dict[str, Any]) -> bool:
        actual: Any = entry
        for part in name.split("."):
            actual = actual.get(part) if isinstance(actual, dict) else None
        if actual is None:
            return op == "!="
        if op == ":":
            return value in str(actual)
        if op in ("=", "!="):
            return (str(actual) == value) == (op == "=")
        left, right = (
            (_order(actual), _order(value)) if name == "timestamp" else (str(actual), value)
        )
        return {">=": left >= right, ">": left > right, "<=": left <= right, "<": left < right}[op]

    return test


def _order(stamp: str) -> tuple[str, int]:
    found = _FRACTION.search(stamp)
    if found is None:
        return stamp.removesuffix("Z"), 0
    return stamp[: found.start()], int(found.group(1).ljust(9, "0")[:9])


class FakeLoggingServer:
    """Serves a `FakeLogging` over HTTP on 127.0.0.1 from a thread."""

    def __init__(self, fake: FakeLogging | None = None) -> None:
        self.fake = fake or FakeLogging()
        fake_ = self.fake

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                code, payload = fake_.handle(self.path, self.rfile.read(length))
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeLoggingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
