"""A fault-injecting HTTP proxy on 127.0.0.1 in front of a cloud stand-in.

It forwards every request to the stand-in unchanged, except that, following a fixed cycle of
faults, some requests are answered `503 UNAVAILABLE` or `429 RESOURCE_EXHAUSTED` in Google's
error shape, some are held (a stall) and then dropped without any answer, as a connection
whose reply never comes, and some reach the stand-in but lose their answer on the way back (the
client cannot know whether, say, a create happened). The cycle is deterministic, so a test
fails the same way every time.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# What the proxy does with one request: pass it on, answer with an error, or stall and drop it.
# LOST: the request reaches the stand-in, but its answer never reaches the client.
PASS, UNAVAILABLE, TOO_MANY, STALL, LOST = "pass", "503", "429", "stall", "lost"
_ERRORS = {
    UNAVAILABLE: (503, "UNAVAILABLE", "The service is currently unavailable."),
    TOO_MANY: (429, "RESOURCE_EXHAUSTED", "Quota exceeded: too many requests a minute."),
}
# A 429 says which rate quota it hit, as Google's APIs do (a used-up allocation quota is a
# different error, not retried: see fake_vertex.quota_exceeded).
_RATE_LIMIT = {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    "reason": "RATE_LIMIT_EXCEEDED",
    "domain": "googleapis.com",
    "metadata": {"quota_limit": "RequestsPerMinutePerProject"},
}


class FlakyProxy:
    """Forwards to `upstream`; `faults` is the repeating cycle of what to do per request."""

    def __init__(
        self,
        upstream: str,
        faults: Iterable[str] = (PASS,),
        *,
        stall_seconds: float = 2.0,
        host: str = "127.0.0.1",
    ) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.host = host
        self.stall_seconds = stall_seconds
        self.counts: Counter[str] = Counter()
        self._cycle = itertools.cycle(list(faults) or [PASS])
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                action = proxy._next()
                if action == STALL:
                    time.sleep(proxy.stall_seconds)
                    self.close_connection = True
                    return  # no answer at all: the client sees the connection drop
                if action in _ERRORS:
                    code, status, message = _ERRORS[action]
                    error = {"code": code, "message": message, "status": status}
                    if action == TOO_MANY:
                        error["details"] = [_RATE_LIMIT]
                    payload = {"error": error}
                    self._send(code, json.dumps(payload).encode(), "application/json")
                    return
                code, data, kind = proxy._forward(self.command, self.path, body, self.headers)
                if action == LOST:
                    self.close_connection = True
                    return
                self._send(code, data, kind)

            def _send(self, code: int, data: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        """The proxy's address; `host="localhost"` for Dataflow (Beam speaks REST only to it)."""
        return f"http://{self.host}:{self.httpd.server_address[1]}"

    def _next(self) -> str:
        with self._lock:
            action = next(self._cycle)
            self.counts[action] += 1
            return action

    def _forward(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, bytes, str]:
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            forwarded = {
                k: v for k, v in headers.items() if k.lower() not in ("host", "connection")
            }
            connection.request(method, path, body=body or None, headers=forwarded)
            response = connection.getresponse()
            data = response.read()
            return response.status, data, response.getheader("Content-Type", "application/json")
        finally:
            connection.close()

    def __enter__(self) -> FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
