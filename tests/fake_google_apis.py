"""A stand-in on 127.0.0.1 for the Google APIs a preflight asks, in their REST shapes.

- Service Usage v1 `services.get` (state ENABLED / DISABLED);
- Cloud Quotas v1 `quotaInfos.list` (limits per region in `dimensionsInfos[].details.value`,
  pages with page tokens);
- Resource Manager v3 `projects.get` and `projects.getIamPolicy`;
- IAM v1 `projects.serviceAccounts.testIamPermissions` (404 for an unknown account);
- Cloud Storage JSON API: a bucket's `getIamPolicy` and `testIamPermissions` (404 for an unknown
  bucket), which `STORAGE_EMULATOR_HOST` sends the storage library to.

Errors are Google's `{"error": {"code", "message", "status", "details"}}`. Switches: an API in
`forbidden` answers 403 PERMISSION_DENIED (the caller may not look); one in `disabled` answers
403 with `google.rpc.ErrorInfo` reason SERVICE_DISABLED, as Google does when the API a call
goes to is not enabled in the project.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

API_NAMES = {
    "serviceusage": "serviceusage.googleapis.com",
    "quotas": "cloudquotas.googleapis.com",
    "resourcemanager": "cloudresourcemanager.googleapis.com",
    "iam": "iam.googleapis.com",
    "storage": "storage.googleapis.com",
}
ROUTES = [
    ("GET", r"/v1/projects/([^/]+)/services/([^/:]+)", "serviceusage", "service"),
    (
        "GET",
        r"/v1/projects/([^/]+)/locations/global/services/([^/]+)/quotaInfos",
        "quotas",
        "quota_infos",
    ),
    ("GET", r"/v3/projects/([^/:]+)", "resourcemanager", "get_project"),
    ("POST", r"/v3/projects/([^/:]+):getIamPolicy", "resourcemanager", "project_policy"),
    ("POST", r"/v1/projects/-/serviceAccounts/([^/:]+):testIamPermissions", "iam", "act_as"),
    ("GET", r"/storage/v1/b/([^/]+)/iam", "storage", "bucket_policy"),
    ("GET", r"/storage/v1/b/([^/]+)/iam/testPermissions", "storage", "bucket_test"),
]


def error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    """An error in Google's shape."""
    return {"error": {"code": code, "message": message, "status": status, "details": [*details]}}


@dataclass
class FakeGoogleApis:
    """One project as the preflight's APIs see it, and what the caller may do in it."""

    project: str = "test-project"
    number: str = "123456789012"
    enabled: set[str] = field(
        default_factory=lambda: {"aiplatform.googleapis.com", "dataflow.googleapis.com"}
    )
    # (service, metric) -> {region: limit}; region "" is the default of every other region.
    quotas: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    project_bindings: list[dict[str, Any]] = field(default_factory=list)
    # bucket -> its IAM bindings; `bucket_permissions`: what the caller holds on each bucket.
    buckets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    bucket_permissions: dict[str, set[str]] = field(default_factory=dict)
    service_accounts: set[str] = field(default_factory=set)
    may_act_as: set[str] = field(default_factory=set)
    forbidden: set[str] = field(default_factory=set)
    disabled: set[str] = field(default_factory=set)
    page_size: int = 2
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method: str, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        url = urlsplit(target)
        query = parse_qs(url.query)
        with self.lock:
            self.requests.append((method, url.path))
        for verb, pattern, api, name in ROUTES:
            matched = re.fullmatch(pattern, url.path)
            if verb != method or matched is None:
                continue
            refused = self._refused(api)
            if refused is not None:
                return refused
            args = [unquote(group) for group in matched.groups()]
            answer: tuple[int, dict[str, Any]] = getattr(self, name)(*args, query, body)
            return answer
        return 404, error(404, "NOT_FOUND", f"no such method: {method} {url.path}")

    def _refused(self, api: str) -> tuple[int, dict[str, Any]] | None:
        service = API_NAMES[api]
        if api in self.disabled:
            info = {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {"service": service, "consumer": f"projects/{self.number}"},
            }
            said = (
                f"{service} has not been used in project {self.number} before or it is "
                "disabled. Enable it by visiting the console then retry."
            )
            return 403, error(403, "PERMISSION_DENIED", said, info)
        if api in self.forbidden:
            return 403, error(403, "PERMISSION_DENIED", "The caller does not have permission")
        return None

    def _known(self, project: str) -> bool:
        return project in (self.project, self.number)

    # ----- the methods -----

    def service(self, project: str, service: str, *_: Any) -> tuple[int, dict[str, Any]]:
        if not self._known(project):
            return 403, error(403, "PERMISSION_DENIED", f"Permission denied on {project}")
        state = "ENABLED" if service in self.enabled else "DISABLED"
        parent = f"projects/{self.number}"
        return 200, {
            "name": f"{parent}/services/{service}",
            "parent": parent,
            "config": {"name": service},
            "state": state,
        }

    def quota_infos(
        self, project: str, service: str, query: dict[str, list[str]], _: bytes
    ) -> tuple[int, dict[str, Any]]:
        if not self._known(project):
            return 403, error(403, "PERMISSION_DENIED", f"Permission denied on {project}")
        infos = [
            self._quota_info(project, service, metric, limits)
            for (owner, metric), limits in sorted(self.quotas.items())
            if owner == service
        ]
        start = int((query.get("pageToken") or ["0"])[0] or 0)
        size = min(int((query.get("pageSize") or [self.page_size])[0]), self.page_size)
        page: dict[str, Any] = {"quotaInfos": infos[start : start + size]}
        if start + size < len(infos):
            page["nextPageToken"] = str(start + size)
        return 200, page

    def _quota_info(
        self, project: str, service: str, metric: str, limits: dict[str, int]
    ) -> dict[str, Any]:
        quota_id = "".join(part.title() for part in metric.split("_")) + "PerProjectPerRegion"
        dims = [
            {
                "dimensions": {"region": region} if region else {},
                "details": {"value": str(limit)},
                **({"applicableLocations": [region]} if region else {}),
            }
            for region, limit in sorted(limits.items(), key=lambda item: item[0] == "")
        ]
        return {
            "name": f"projects/{project}/locations/global/services/{service}/quotaInfos/"
            + quota_id,
            "quotaId": quota_id,
            "metric": f"{service}/{metric}",
            "service": service,
            "isPrecise": True,
            "containerType": "PROJECT",
            "dimensions": ["region"],
            "dimensionsInfos": dims,
        }

    def get_project(self, project: str, *_: Any) -> tuple[int, dict[str, Any]]:
        if not self._known(project):
            return 403, error(403, "PERMISSION_DENIED", f"Permission denied on {project}")
        return 200, {
            "name": f"projects/{self.number}",
            "projectId": self.project,
            "state": "ACTIVE",
        }

    def project_policy(self, project: str, *_: Any) -> tuple[int, dict[str, Any]]:
        if not self._known(project):
            return 403, error(403, "PERMISSION_DENIED", f"Permission denied on {project}")
        return 200, {"version": 1, "etag": "BwWKmjvelug=", "bindings": self.project_bindings}

    def act_as(
        self, account: str, _: dict[str, list[str]], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        asked = json.loads(body or b"{}").get("permissions")
        if not isinstance(asked, list) or not all(isinstance(p, str) for p in asked):
            return 400, error(400, "INVALID_ARGUMENT", "permissions must be a list of strings")
        if account not in self.service_accounts:
            return 404, error(404, "NOT_FOUND", f"Unknown service account {account}")
        may = account in self.may_act_as
        granted = [p for p in asked if p == "iam.serviceAccounts.actAs" and may]
        return 200, {"permissions": granted} if granted else {}

    def bucket_policy(self, bucket: str, *_: Any) -> tuple[int, dict[str, Any]]:
        if bucket not in self.buckets:
            return 404, error(404, "NOT_FOUND", "The specified bucket does not exist.")
        if "storage.buckets.getIamPolicy" not in self.bucket_permissions.get(bucket, set()):
            said = "caller does not have storage.buckets.getIamPolicy access to the bucket."
            return 403, error(403, "PERMISSION_DENIED", said)
        return 200, {
            "kind": "storage#policy",
            "resourceId": f"projects/_/buckets/{bucket}",
            "version": 1,
            "etag": "CAE=",
            "bindings": self.buckets[bucket],
        }

    def bucket_test(
        self, bucket: str, query: dict[str, list[str]], _: bytes
    ) -> tuple[int, dict[str, Any]]:
        if bucket not in self.buckets:
            return 404, error(404, "NOT_FOUND", "The specified bucket does not exist.")
        mine = self.bucket_permissions.get(bucket, set())
        held = [p for p in query.get("permissions", []) if p in mine]
        answer: dict[str, Any] = {"kind": "storage#testIamPermissionsResponse"}
        if held:
            answer["permissions"] = held
        return 200, answer


class FakeGoogleApisServer:
    """Serves a `FakeGoogleApis` over HTTP on 127.0.0.1 from a thread."""

    def __init__(self, fake: FakeGoogleApis | None = None) -> None:
        self.fake = fake or FakeGoogleApis()
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

    def __enter__(self) -> FakeGoogleApisServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
