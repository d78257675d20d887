"""Preflight of a Google Cloud job: what can be looked at before anything is staged or created.

Each check answers pass, fail or unknown, with what was seen and what to do. "Unknown" means
the server could not tell (it may not look, an API is not enabled, Google did not answer): it
never stops a submit, and neither does a "fail" (the person decides). Checks ask Google's APIs
with the server's credentials, through the client libraries' REST transports where they have
one (Service Usage, Cloud Quotas, Resource Manager, Cloud Storage) and `GoogleCloud.call_json`
where they have none (IAM's `testIamPermissions` on a service account); a plain-http loopback
endpoint is a local stand-in, spoken to without credentials. The backends (`vertex/preflight.py`,
`dataflow/preflight.py`) say which checks a job gets; checks run in parallel threads and a
job's answers are kept for `preflight_cache_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from traitlets import Float, Unicode
from traitlets.config import LoggingConfigurable

from ..base import PreflightCheck
from .errors import google_message
from .service import GoogleCloud, local_http

Check = Callable[[], PreflightCheck]

# Roles that let a member create objects in a bucket (granted on the bucket or its project).
CREATE_ROLES = frozenset(
    {
        "roles/storage.objectAdmin",
        "roles/storage.objectCreator",
        "roles/storage.objectUser",
        "roles/storage.admin",
        "roles/storage.legacyBucketWriter",
        "roles/storage.legacyBucketOwner",
    }
)
# Basic roles and service-agent roles that carry object create when granted on the project.
PROJECT_CREATE_ROLES = CREATE_ROLES | {
    "roles/editor",
    "roles/owner",
    "roles/aiplatform.customCodeServiceAgent",
}
SERVER_BUCKET_PERMISSIONS = (
    "storage.objects.create",
    "storage.objects.get",
    "storage.objects.list",
)
ACT_AS = "iam.serviceAccounts.actAs"
RESOURCE_MANAGER = "https://cloudresourcemanager.googleapis.com"


class PreflightSettings(LoggingConfigurable):
    """Where the APIs a preflight asks are spoken to, and how long its answers are kept."""

    serviceusage_endpoint = Unicode(
        "https://serviceusage.googleapis.com",
        config=True,
        help="Service Usage API endpoint (whether the job's API is enabled).",
    )
    quotas_endpoint = Unicode(
        "https://cloudquotas.googleapis.com",
        config=True,
        help="Cloud Quotas API endpoint (the region's quota limits).",
    )
    iam_endpoint = Unicode(
        "https://iam.googleapis.com",
        config=True,
        help="IAM API endpoint (whether you may act as the job's service account).",
    )
    resource_manager_endpoint = Unicode(
        RESOURCE_MANAGER,
        config=True,
        help="Resource Manager API endpoint (the project's number, for a network and a "
        "preflight, and its IAM policy). A plain http:// loopback address (a local stand-in) is "
        "used without credentials.",
    )
    preflight_cache_seconds = Float(
        300.0,
        config=True,
        help="Seconds the preflight answers of one project, identity, region and resources "
        "are kept before they are looked at again.",
    )

    def preflight_lookups(self, cloud: GoogleCloud, project: str) -> GoogleLookups:
        """Google's APIs as a preflight asks them, with these endpoints."""
        # A subclass may declare one of these itself, unset meaning Google's own endpoint.
        return GoogleLookups(
            cloud,
            project,
            self.serviceusage_endpoint or "https://serviceusage.googleapis.com",
            self.quotas_endpoint or "https://cloudquotas.googleapis.com",
            self.iam_endpoint or "https://iam.googleapis.com",
            self.resource_manager_endpoint or RESOURCE_MANAGER,
        )

    def cached_preflight(
        self, key: Hashable, compute: Callable[[], list[PreflightCheck]]
    ) -> list[PreflightCheck]:
        """The answers kept under `key` for `preflight_cache_seconds`, else `compute()`'s."""
        return self._preflight_cache.answers(key, self.preflight_cache_seconds, compute)

    @cached_property
    def _preflight_cache(self) -> PreflightCache:
        return PreflightCache()


class CouldNotLook(Exception):
    """A look-up the server could not make (no permission, an API not enabled, no answer)."""


@dataclass
class GoogleLookups:
    """The questions a preflight asks Google, each answered or raising `CouldNotLook`."""

    cloud: GoogleCloud
    project: str
    serviceusage: str
    quotas: str
    iam: str
    resource_manager: str
    _quota_infos: dict[str, list[Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _client(self, key: str, endpoint: str, make: Callable[..., Any]) -> Any:
        def build() -> Any:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials

            credentials = (
                AnonymousCredentials()
                if local_http(endpoint)
                else self.cloud.required_credentials()
            )
            options = ClientOptions(api_endpoint=endpoint)
            return make(credentials=credentials, transport="rest", client_options=options)

        return self.cloud.client(f"{key} {endpoint}", build)

    def service_state(self, service: str) -> str:
        """ENABLED or DISABLED: whether `service` is enabled in the project (Service Usage)."""
        from google.cloud import service_usage_v1

        client = self._client(
            "serviceusage", self.serviceusage, service_usage_v1.ServiceUsageClient
        )
        name = f"projects/{self.project}/services/{service}"
        found = _asked("Service Usage", lambda: client.get_service(request={"name": name}))
        return str(service_usage_v1.State(found.state).name)

    def project_number(self) -> str:
        """The project's number (Resource Manager), which service agents are named by."""
        from google.cloud import resourcemanager_v3

        client = self._client("projects", self.resource_manager, resourcemanager_v3.ProjectsClient)
        found = _asked(
            "Resource Manager", lambda: client.get_project(name=f"projects/{self.project}")
        )
        return str(found.name).removeprefix("projects/")

    def project_bindings(self) -> list[tuple[str, list[str]]]:
        """The project's IAM policy as (role, members) pairs (Resource Manager)."""
        from google.cloud import resourcemanager_v3

        client = self._client("projects", self.resource_manager, resourcemanager_v3.ProjectsClient)
        policy = _asked(
            "Resource Manager",
            lambda: client.get_iam_policy(request={"resource": f"projects/{self.project}"}),
        )
        return [(b.role, list(b.members)) for b in policy.bindings]

    def bucket_bindings(self, bucket: str) -> list[tuple[str, list[str]]]:
        """The bucket's IAM policy as (role, members) pairs (Cloud Storage)."""
        found = self.cloud.storage().bucket(bucket)
        policy = _asked("Cloud Storage", lambda: found.get_iam_policy(requested_policy_version=3))
        return [(b["role"], sorted(b["members"])) for b in policy.bindings]

    def bucket_permissions(self, bucket: str, permissions: tuple[str, ...]) -> set[str]:
        """Which of `permissions` the server's own credentials hold on the bucket."""
        found = self.cloud.storage().bucket(bucket)
        return set(_asked("Cloud Storage", lambda: found.test_iam_permissions(list(permissions))))

    def can_act_as(self, service_account: str) -> bool:
        """Whether the server's credentials may run jobs as `service_account` (IAM)."""
        url = f"{self.iam}/v1/projects/-/serviceAccounts/{service_account}:testIamPermissions"
        status, answer = self.cloud.post_json(url, {"permissions": [ACT_AS]})
        if status == 404:
            return False
        if status != 200:
            raise CouldNotLook(f"IAM: {_said(answer, status)}")
        return ACT_AS in answer.get("permissions", [])

    def quota_limit(self, service: str, metric: str, region: str) -> int | None:
        """The region's limit of `service`/`metric` (Cloud Quotas), -1 for none; None when the
        API lists no such quota."""
        full = f"{service}/{metric}"
        found = [
            dims
            for info in self._infos(service)
            if info.metric == full
            for dims in info.dimensions_infos
            if dims.dimensions.get("region", region) == region
        ]
        # The region's own value wins over the default of every region (no dimensions).
        found.sort(key=lambda dims: "region" not in dims.dimensions)
        return int(found[0].details.value) if found else None

    def _infos(self, service: str) -> list[Any]:
        with self._lock:
            known = self._quota_infos.get(service)
        if known is not None:
            return known
        from google.cloud import cloudquotas_v1

        client = self._client("quotas", self.quotas, cloudquotas_v1.CloudQuotasClient)
        parent = f"projects/{self.project}/locations/global/services/{service}"
        infos = _asked("Cloud Quotas", lambda: list(client.list_quota_infos(parent=parent)))
        with self._lock:
            return self._quota_infos.setdefault(service, infos)


def _asked(api: str, call: Callable[[], Any]) -> Any:
    """`call`'s answer; a refusal or an unreachable API becomes `CouldNotLook`."""
    from google.api_core import exceptions

    try:
        return call()
    except exceptions.NotFound:
        raise
    except Exception as exc:
        reason = getattr(exc, "reason", None)
        said = google_message(exc)
        if reason == "SERVICE_DISABLED" or "SERVICE_DISABLED" in said:
            said = f"its API is not enabled in the project ({said})"
        raise CouldNotLook(f"{api}: {said}") from exc


def _said(answer: dict[str, Any], status: int) -> str:
    error = answer.get("error") or {}
    return f"{error.get('status') or status}: {error.get('message') or 'no message'}"


class PreflightCache:
    """A job's answers by what they depend on, for a few minutes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[Hashable, tuple[float, list[PreflightCheck]]] = {}

    def answers(
        self, key: Hashable, seconds: float, compute: Callable[[], list[PreflightCheck]]
    ) -> list[PreflightCheck]:
        """The answers kept under `key` if younger than `seconds`, else new ones."""
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] < seconds:
            return kept[1]
        checks = compute()
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if now - v[0] < seconds}
            self._kept[key] = (now, checks)
        return checks


def run_checks(checks: list[tuple[str, str, Check]]) -> list[PreflightCheck]:
    """Every check at once, each in its own thread, in the order given; one that could not
    look, or met an error, answers unknown."""

    def one(entry: tuple[str, str, Check]) -> PreflightCheck:
        check_id, title, check = entry
        try:
            return check()
        except CouldNotLook as exc:
            return unknown(check_id, title, f"could not look: {exc}")
        except Exception as exc:
            return unknown(check_id, title, f"could not look: {google_message(exc)}")

    if not checks:
        return []
    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="mlp-preflight") as pool:
        return list(pool.map(one, checks))


def passed(check_id: str, title: str, detail: str) -> PreflightCheck:
    return PreflightCheck(id=check_id, title=title, status="pass", detail=detail)


def failed(check_id: str, title: str, detail: str, fix: str) -> PreflightCheck:
    return PreflightCheck(id=check_id, title=title, status="fail", detail=detail, fix=fix)


def unknown(check_id: str, title: str, detail: str, fix: str = "") -> PreflightCheck:
    return PreflightCheck(id=check_id, title=title, status="unknown", detail=detail, fix=fix)


# ----- the checks both backends make -----


def credentials_check(cloud: GoogleCloud, project: str) -> PreflightCheck:
    """Application Default Credentials found; user credentials with a quota project, which
    Service Usage and Cloud Quotas bill their calls to."""
    title = "Credentials"
    found = cloud.credentials()
    if isinstance(found, Exception):
        return failed(
            "credentials",
            title,
            "no Application Default Credentials were found",
            "run `gcloud auth application-default login`, or set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service account key file",
        )
    from google.oauth2 import credentials as user_credentials

    if isinstance(found, user_credentials.Credentials) and not found.quota_project_id:
        return unknown(
            "credentials",
            title,
            "your own (user) credentials name no quota project: the APIs the checks below ask "
            "may refuse them",
            f"run `gcloud auth application-default set-quota-project {project}`",
        )
    who = getattr(found, "service_account_email", None) or getattr(found, "account", "")
    return passed("credentials", title, f"found ({who})" if who else "found")


def api_check(lookups: GoogleLookups, service: str, name: str) -> PreflightCheck:
    """`service` enabled in the project."""
    title = f"{name} API enabled"
    state = lookups.service_state(service)
    if state == "ENABLED":
        return passed("api", title, f"{service} is enabled in {lookups.project}")
    return failed(
        "api",
        title,
        f"{service} is not enabled in {lookups.project} ({state})",
        f"run `gcloud services enable {service} --project {lookups.project}`",
    )


def bucket_access_check(lookups: GoogleLookups, bucket: str) -> PreflightCheck:
    """The server's own credentials may write and read the bucket (it stages there)."""
    title = f"gs://{bucket} usable by this server"
    from google.api_core import exceptions

    try:
        held = lookups.bucket_permissions(bucket, SERVER_BUCKET_PERMISSIONS)
    except exceptions.NotFound:
        return failed(
            "bucket-server",
            title,
            f"gs://{bucket} does not exist",
            f"create it: `gcloud storage buckets create gs://{bucket} --project {lookups.project}`",
        )
    lacking = [p for p in SERVER_BUCKET_PERMISSIONS if p not in held]
    if not lacking:
        return passed("bucket-server", title, "this server may create, read and list objects")
    return failed(
        "bucket-server",
        title,
        f"this server's credentials lack {', '.join(lacking)} on gs://{bucket}",
        f"grant yourself roles/storage.objectAdmin on gs://{bucket}",
    )


def bucket_identity_check(
    lookups: GoogleLookups, bucket: str, member: str, who: str
) -> PreflightCheck:
    """The bucket's policy, or the project's, grants object create to `member` (the job's
    identity): a role that surely does passes, a custom role (which we cannot see into) is
    unknown, none fails."""
    title = f"gs://{bucket} writable by the job"
    on_bucket = _grant(lookups.bucket_bindings(bucket), member, CREATE_ROLES)
    if on_bucket == "granted":
        return passed("bucket-identity", title, f"{who} may create objects in gs://{bucket}")
    try:
        on_project = _grant(lookups.project_bindings(), member, PROJECT_CREATE_ROLES)
    except CouldNotLook as exc:
        return unknown(
            "bucket-identity",
            title,
            f"the bucket grants {who} no role that creates objects, and the project's policy "
            f"could not be read ({exc})",
        )
    if on_project == "granted":
        return passed("bucket-identity", title, f"{who} may create objects (a project role)")
    if "custom" in (on_bucket, on_project):
        return unknown(
            "bucket-identity",
            title,
            f"{who} holds a custom role whose permissions this server cannot see",
        )
    return failed(
        "bucket-identity",
        title,
        f"neither gs://{bucket} nor the project grants {who} a role that creates objects",
        f"run `gcloud storage buckets add-iam-policy-binding gs://{bucket} --member={member} "
        "--role=roles/storage.objectAdmin`",
    )


def _grant(bindings: list[tuple[str, list[str]]], member: str, roles: frozenset[str]) -> str:
    """'granted' when `member` holds one of `roles`, 'custom' when a custom role, else ''."""
    held = [role for role, members in bindings if member in members]
    if any(role in roles for role in held):
        return "granted"
    custom = any(role.startswith(("projects/", "organizations/")) for role in held)
    return "custom" if custom else ""


def act_as_check(lookups: GoogleLookups, service_account: str) -> PreflightCheck:
    """The server's credentials may act as the job's service account."""
    title = f"May act as {service_account}"
    if lookups.can_act_as(service_account):
        return passed("act-as", title, f"you hold {ACT_AS} on {service_account}")
    return failed(
        "act-as",
        title,
        f"you lack {ACT_AS} on {service_account} (or it does not exist)",
        f"ask for roles/iam.serviceAccountUser on it: `gcloud iam service-accounts "
        f"add-iam-policy-binding {service_account} --member=user:YOU "
        "--role=roles/iam.serviceAccountUser`",
    )


@dataclass(frozen=True)
class QuotaAsk:
    """What a job asks of one quota: `count` of `what` under `metric`, in `region`."""

    check_id: str
    title: str
    service: str
    metric: str | None  # None: no metric is known for this hardware and strategy
    region: str
    count: float
    what: str


def quota_check(lookups: GoogleLookups, ask: QuotaAsk) -> PreflightCheck:
    """The region's quota limit against what the job asks (Cloud Quotas gives limits, not
    usage: within the limit may still be taken by other jobs)."""
    if ask.metric is None:
        return unknown(ask.check_id, ask.title, f"no quota metric is known for {ask.what}")
    limit = lookups.quota_limit(ask.service, ask.metric, ask.region)
    asked = f"{ask.count:g} {ask.what}"
    if limit is None:
        return unknown(
            ask.check_id, ask.title, f"Cloud Quotas lists no {ask.metric} in {ask.region}"
        )
    if limit < 0 or ask.count <= limit:
        shown = "no limit" if limit < 0 else f"the limit {limit}"
        detail = f"{asked} is within {shown} of {ask.metric} in {ask.region} (usage unknown)"
        return passed(ask.check_id, ask.title, detail)
    return failed(
        ask.check_id,
        ask.title,
        f"{asked} asks more than the limit ({limit}) of {ask.metric} in {ask.region}",
        f"request more {ask.metric} in {ask.region} (https://console.cloud.google.com/"
        f"iam-admin/quotas?project={lookups.project}), or choose another region or strategy",
    )
