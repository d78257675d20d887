"""What a Dataflow pipeline's preflight looks at, before it is submitted.

Credentials; the Dataflow API enabled; the temp (and staging) bucket writable by this server
and by the workers' service account (the one named, else Compute Engine's default service
account); `actAs` on a named service account. A temp location that is not in Cloud Storage (a
local stand-in's) has no bucket to look at. The checks themselves are `gcp/preflight.py`'s.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from ...core.models import JobSpec
from ..base import PreflightCheck
from ..gcp import preflight as checks
from ..gcp.preflight import GoogleLookups

if TYPE_CHECKING:
    from .backend import DataflowBackend

SERVICE = "dataflow.googleapis.com"


def dataflow_preflight(backend: DataflowBackend, spec: JobSpec) -> list[PreflightCheck]:
    """The preflight of a Dataflow job of `spec` (kept for the backend's cache time)."""
    project = backend.cloud.project()
    if not project:
        return [
            checks.failed(
                "project",
                "Project",
                "no Google Cloud project is set, and the credentials name none",
                "set c.DataflowBackend.project",
            )
        ]
    account = spec.scheduling.service_account or backend.service_account
    buckets = _buckets(backend.temp_location, backend.staging_location)
    key = (project, account, spec.region or backend.region, buckets)
    lookups = backend.preflight_lookups(backend.cloud, project)

    def compute() -> list[PreflightCheck]:
        return checks.run_checks(_checks(backend, lookups, account, buckets))

    return backend.cached_preflight(key, compute)


def _buckets(*locations: str | None) -> tuple[str, ...]:
    """The Cloud Storage buckets of `locations`, each once, in order."""
    found: list[str] = []
    for location in locations:
        if location and location.startswith("gs://"):
            bucket = location.removeprefix("gs://").split("/", 1)[0]
            if bucket and bucket not in found:
                found.append(bucket)
    return tuple(found)


def _checks(
    backend: DataflowBackend,
    lookups: GoogleLookups,
    account: str | None,
    buckets: tuple[str, ...],
) -> list[tuple[str, str, checks.Check]]:
    project = lookups.project
    found: list[tuple[str, str, checks.Check]] = [
        ("credentials", "Credentials", lambda: checks.credentials_check(backend.cloud, project)),
        ("api", "Dataflow API enabled", lambda: checks.api_check(lookups, SERVICE, "Dataflow")),
    ]
    for bucket in buckets:
        found.append(
            (
                "bucket-server",
                f"gs://{bucket} usable by this server",
                partial(checks.bucket_access_check, lookups, bucket),
            )
        )
        found.append(
            (
                "bucket-identity",
                f"gs://{bucket} writable by the workers",
                partial(_workers_write, lookups, bucket, account),
            )
        )
    if account:
        found.append(
            ("act-as", f"May act as {account}", lambda: checks.act_as_check(lookups, account))
        )
    return found


def _workers_write(lookups: GoogleLookups, bucket: str, account: str | None) -> PreflightCheck:
    if account:
        who = account
    else:
        number = lookups.project_number()
        who = f"{number}-compute@developer.gserviceaccount.com"
    return checks.bucket_identity_check(lookups, bucket, f"serviceAccount:{who}", who)
