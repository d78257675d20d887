"""A stand-in for Cloud Logging's `entries:list` on 127.0.0.1 (REST, JSON as the API has it).

It holds log entries of Vertex AI jobs (`resource.type = "ml_job"`), answers the filters the
Vertex backend sends (`=`, `>=`, `>` terms joined by AND), orders by timestamp either way and
pages with page tokens, as the service does. Calls can be made to fail on purpose.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_TERM = re.compile(r'^(?P<field>[\w.]+)\s*(?P<op>>=|>|=)\s*"(?P<value>[^"]*)"$')
_EPOCH = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def timestamp(seconds: float) -> str:
    """An RFC 3339 timestamp with nanoseconds, as Cloud Logging writes them."""
    moment = _EPOCH + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 1000:09d}Z"


@dataclass
class FakeLogging:
    """Log entries of one project, in memory."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # HTTP codes for the next calls
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, job_id: str, text: str, at: float, task: str = "workerpool0-0") -> None:
        """One line a job's replica `task` wrote, `at` seconds after a fixed moment."""
        with self.lock:
            self.entries.append(
                {
                    "insertId": f"id{len(self.entries):06d}",
                    "timestamp": timestamp(at),
                    "logName": f"projects/p/logs/{task}",
                    "resource": {
                        "type": "ml_job",
                        "labels": {"job_id": job_id, "project_id": "p", "task_name": task},
                    },
                    "severity": "INFO",
                    "textPayload": text,
                }
            )

    def handle(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if path != "/v2/entries:list":
            return 404, {"error": {"code": 404, "message": f"no route {path}"}}
        request = json.loads(body)
        with self.lock:
            self.requests.append(request)
            if self.failures:
                code = self.failures.pop(0)
                return code, {"error": {"code": code, "message": "logging is unavailable"}}
            terms = [t.strip() for t in request.get("filter", "").split(" AND ") if t.strip()]
            selected = [e for e in self.entries if all(_matches(e, t) for t in terms)]
        descending = request.get("orderBy", "timestamp asc").endswith("desc")
        selected.sort(key=lambda e: (e["timestamp"], e["insertId"]), reverse=descending)
        size = int(request.get("pageSize") or 50)
        start = int(request.get("pageToken") or 0)
        answer: dict[str, Any] = {"entries": selected[start : start + size]}
        if start + size < len(selected):
            answer["nextPageToken"] = str(start + size)
        return 200, answer


def _matches(entry: dict[str, Any], term: str) -> bool:
    found = _TERM.match(term)
    if found is None:
        raise ValueError(f"filter term the stand-in does not understand: {term!r}")
    actual: Any = entry
    for part in found["field"].split("."):
        actual = actual.get(part) if isinstance(actual, dict) else None
    value = found["value"]
    if found["op"] == "=":
        return bool(actual == value)
    # Timestamps with the same number of fraction digits compare as strings.
    return bool(actual is not None and (actual >= value if found["op"] == ">=" else actual > value))


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
