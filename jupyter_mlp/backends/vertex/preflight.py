"""What a Vertex AI job's preflight looks at, before its package is staged or its CustomJob made.

Credentials; the Vertex AI API enabled; the staging bucket writable by this server and by the
job's identity (its service account, or Vertex's Custom Code Service Agent when it names none);
`actAs` on a named service account; the region's quota limits for the job's accelerators and
CPUs, by the metrics `data/quotas.json` lists (Spot and Flex-start count against the
preemptible ones). The checks themselves are `gcp/preflight.py`'s.
"""

from __future__ import annotations

import json
from functools import cache, partial
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from ...catalog.cloud import load_catalog
from ...core.models import JobSpec
from ..base import PreflightCheck
from ..gcp import preflight as checks
from ..gcp.preflight import GoogleLookups, QuotaAsk

if TYPE_CHECKING:
    from .backend import VertexBackend

SERVICE = "aiplatform.googleapis.com"


@cache
def quota_metrics() -> dict[str, Any]:
    """The quota metrics of custom training, by accelerator and machine family."""
    return dict(json.loads(files(__package__).joinpath("data/quotas.json").read_text()))


def vertex_preflight(backend: VertexBackend, spec: JobSpec) -> list[PreflightCheck]:
    """The preflight of a Vertex AI job of `spec` (kept for the backend's cache time)."""
    project = backend.cloud.project()
    if not project:
        return [
            checks.failed(
                "project",
                "Project",
                "no Google Cloud project is set, and the credentials name none",
                "set c.VertexBackend.project",
            )
        ]
    account = spec.scheduling.service_account or backend.service_account
    region = spec.region or backend.location
    resources = spec.resources.model_dump_json()
    key = (project, account, region, backend.staging_bucket, spec.scheduling.strategy, resources)
    lookups = backend.preflight_lookups(backend.cloud, project)

    def compute() -> list[PreflightCheck]:
        return checks.run_checks(_checks(backend, spec, lookups, account, region))

    return backend.cached_preflight(key, compute)


def _checks(
    backend: VertexBackend,
    spec: JobSpec,
    lookups: GoogleLookups,
    account: str | None,
    region: str,
) -> list[tuple[str, str, checks.Check]]:
    project = lookups.project
    bucket = backend.staging_bucket.removeprefix("gs://").strip("/").split("/", 1)[0]
    found: list[tuple[str, str, checks.Check]] = [
        ("credentials", "Credentials", lambda: checks.credentials_check(backend.cloud, project)),
        ("api", "Vertex AI API enabled", lambda: checks.api_check(lookups, SERVICE, "Vertex AI")),
    ]
    if bucket:
        found.append(
            (
                "bucket-server",
                f"gs://{bucket} usable by this server",
                lambda: checks.bucket_access_check(lookups, bucket),
            )
        )
        found.append(
            (
                "bucket-identity",
                f"gs://{bucket} writable by the job",
                lambda: _bucket_identity(lookups, bucket, account),
            )
        )
    if account:
        found.append(
            (
                "act-as",
                f"May act as {account}",
                lambda: checks.act_as_check(lookups, account),
            )
        )
    for ask in quota_asks(spec, region):
        found.append((ask.check_id, ask.title, partial(checks.quota_check, lookups, ask)))
    return found


def _bucket_identity(lookups: GoogleLookups, bucket: str, account: str | None) -> PreflightCheck:
    if account:
        member, who = f"serviceAccount:{account}", account
    else:
        number = lookups.project_number()
        agent = f"service-{number}@gcp-sa-aiplatform-cc.iam.gserviceaccount.com"
        member, who = f"serviceAccount:{agent}", f"Vertex AI's Custom Code Service Agent ({agent})"
    return checks.bucket_identity_check(lookups, bucket, member, who)


def quota_asks(spec: JobSpec, region: str) -> list[QuotaAsk]:
    """What the job asks of the region's quotas: its accelerators, and its CPUs."""
    table = quota_metrics()
    resources = spec.resources
    kind = "standard" if spec.scheduling.strategy == "standard" else "preemptible"
    shown = "" if kind == "standard" else f" ({spec.scheduling.strategy})"
    replicas = resources.replica_count
    asks = []
    gpu = resources.accelerator_type
    if gpu and resources.accelerator_count:
        metric = table["accelerators"].get(gpu, {}).get(kind)
        asks.append(
            QuotaAsk(
                "gpu-quota",
                f"{gpu} quota in {region}{shown}",
                table["service"],
                metric,
                region,
                resources.accelerator_count * replicas,
                f"{gpu} GPUs{shown}",
            )
        )
    machine = load_catalog("vertex").machine_types.get(resources.machine_type or "")
    if machine is not None:
        metric = table["cpus"].get(machine.family, {}).get(kind)
        asks.append(
            QuotaAsk(
                "cpu-quota",
                f"CPU quota in {region}{shown}",
                table["service"],
                metric,
                region,
                machine.vcpus * replicas,
                f"vCPUs of {machine.family} machines{shown}",
            )
        )
    return asks
