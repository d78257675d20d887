"""A stand-in for the two Google APIs a Vertex AI job's options are looked up in, on 127.0.0.1:
Resource Manager v3 `projects.get` (a project's number) and Compute Engine v1 reservations
(`zones.reservations.get` and `reservations.aggregatedList`), in their REST shapes.

Like the services, it answers 403 for a project that does not exist as for one the caller may
not see (Resource Manager), 404 for a reservation that does not exist (Compute Engine), pages an
aggregated list by `maxResults`/`pageToken`, and refuses every call with 403 once a test says
the caller may not look (`deny`).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_PROJECT = re.compile(r"^/v3/projects/(?P<project>[^/]+)$")
_RESERVATION = re.compile(
    r"^/compute/v1/projects/(?P<project>[^/]+)/zones/(?P<zone>[^/]+)/reservations/(?P<name>[^/]+)$"
)
_AGGREGATED = re.compile(r"^/compute/v1/projects/(?P<project>[^/]+)/aggregated/reservations$")
_STATUS = {403: "PERMISSION_DENIED", 404: "NOT_FOUND", 400: "INVALID_ARGUMENT"}
_REASON = {403: "forbidden", 404: "notFound", 400: "invalid"}
# Zones of the regions tests use, as Compute Engine lists them in an aggregated list.
ZONES = ["us-central1-a", "us-central1-b", "us-central1-c", "us-east1-b", "europe-west4-a"]


@dataclass
class FakeCompute:
    """Projects and their reservations, in memory."""

    numbers: dict[str, str] = field(default_factory=dict)  # project id -> number
    reservations: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # "GET /path"
    denied: bool = False  # every call answered 403, as for a caller without permission
    page_size: int = 500  # most zones in one page of an aggregated list
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_project(self, project: str, number: str) -> None:
        self.numbers[project] = number

    def add_reservation(
        self,
        project: str,
        zone: str,
        name: str,
        machine_type: str,
        accelerators: dict[str, int] | None = None,
        count: int = 1,
    ) -> None:
        """A specific reservation of `count` machines, GPUs by their Compute Engine names
        (`nvidia-h100-80gb`)."""
        base = f"https://www.googleapis.com/compute/v1/projects/{project}/zones/{zone}"
        properties: dict[str, Any] = {"machineType": machine_type}
        if accelerators:
            properties["guestAccelerators"] = [
                {"acceleratorType": kind, "acceleratorCount": n} for kind, n in accelerators.items()
            ]
        self.reservations.setdefault((project, zone), []).append(
            {
                "kind": "compute#reservation",
                "id": str(1000 + sum(len(r) for r in self.reservations.values())),
                "name": name,
                "zone": base,
                "selfLink": f"{base}/reservations/{name}",
                "specificReservation": {
                    "instanceProperties": properties,
                    "count": str(count),
                    "inUseCount": "0",
                },
                "specificReservationRequired": True,
                "status": "READY",
            }
        )

    def deny(self) -> None:
        """The caller may look no more: every call is refused with 403."""
        self.denied = True

    def handle(self, method: str, raw_path: str) -> tuple[int, dict[str, Any]]:
        url = urlsplit(raw_path)
        query = parse_qs(url.query)
        with self.lock:
            self.calls.append(f"{method} {url.path}")
            if method != "GET":
                return _error(404, f"no route for {method} {url.path}")
            if found := _PROJECT.match(url.path):
                return self._project(found["project"])
            if self.denied:
                return _error(403, "Required 'compute.reservations.list' permission")
            if found := _RESERVATION.match(url.path):
                return self._reservation(found["project"], found["zone"], found["name"])
            if found := _AGGREGATED.match(url.path):
                return self._aggregated(found["project"], query)
            return _error(404, f"no route for {method} {url.path}")

    def _project(self, project: str) -> tuple[int, dict[str, Any]]:
        number = self.numbers.get(project)
        if number is None or self.denied:
            return _error(
                403,
                "Permission 'resourcemanager.projects.get' denied on resource "
                f"'//cloudresourcemanager.googleapis.com/projects/{project}' "
                "(or it may not exist).",
            )
        return 200, {
            "name": f"projects/{number}",
            "projectId": project,
            "state": "ACTIVE",
            "displayName": project,
        }

    def _reservation(self, project: str, zone: str, name: str) -> tuple[int, dict[str, Any]]:
        for reservation in self.reservations.get((project, zone), []):
            if reservation["name"] == name:
                return 200, reservation
        return _error(
            404, f"The resource 'projects/{project}/zones/{zone}/reservations/{name}' was not found"
        )

    def _aggregated(self, project: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if project not in self.numbers:
            return _error(404, f"The resource 'projects/{project}' was not found")
        size = min(int(query.get("maxResults", ["500"])[0]), self.page_size)
        start = int(query.get("pageToken", ["0"])[0])
        scopes = ZONES[start : start + size]
        items: dict[str, Any] = {}
        for zone in scopes:
            held = self.reservations.get((project, zone), [])
            items[f"zones/{zone}"] = (
                {"reservations": held}
                if held
                else {"warning": {"code": "NO_RESULTS_ON_PAGE", "message": "none"}}
            )
        answer: dict[str, Any] = {
            "kind": "compute#reservationAggregatedList",
            "id": f"projects/{project}/aggregated/reservations",
            "items": items,
        }
        if start + size < len(ZONES):
            answer["nextPageToken"] = str(start + size)
        return 200, answer


def _error(code: int, message: str) -> tuple[int, dict[str, Any]]:
    return code, {
        "error": {
            "code": code,
            "message": message,
            "status": _STATUS.get(code, ""),
            "errors": [{"message": message, "domain": "global", "reason": _REASON.get(code, "")}],
        }
    }


class FakeComputeServer:
    """Serves a `FakeCompute` over HTTP on 127.0.0.1 from a thread."""

    def __init__(self, fake: FakeCompute | None = None) -> None:
        self.fake = fake or FakeCompute()
        fake_ = self.fake

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                code, payload = fake_.handle(self.command, self.path)
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

    def __enter__(self) -> FakeComputeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
