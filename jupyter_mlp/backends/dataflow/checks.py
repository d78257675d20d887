"""What Dataflow takes of a job's spec: a pipeline run as a script (its kind is checked by the
capabilities), an SDK container image as its environment, its labels and its own options in
Dataflow's forms; each problem as a `FieldError`."""

from __future__ import annotations

import re

from ...core.models import FieldError, JobSpec
from ...jobfiles.bundle import SourcePlan
from ...jobfiles.etl import is_streaming

# Dataflow's forms (docs: dataflow/docs/guides/specifying-networks, .../cmek).
_KMS_KEY = re.compile(r"projects/[^/]+/locations/([^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+")
_SUBNETWORK = re.compile(
    r"(?:https://www\.googleapis\.com/compute/v1/)?(?:projects/[^/]+/)?"
    r"regions/([^/]+)/subnetworks/[^/]+"
)
_NAME = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
_NETWORK = re.compile(
    r"(?:https://www\.googleapis\.com/compute/v1/)?projects/[^/]+/global/networks/[^/]+"
)


def spec_errors(spec: JobSpec, plan: SourcePlan | None) -> list[FieldError]:
    """Every problem Dataflow would have with the job (its settings aside)."""
    errors = []
    if plan is not None and plan.mode == "notebook":
        errors.append(
            FieldError(
                field="source.mode",
                message="a notebook's pipeline is submitted as a script, which takes its "
                "options from the command line; use mode 'script'",
                suggestions=["script"],
            )
        )
    if spec.environment and (
        "/" not in spec.environment or spec.environment.startswith(("/", ".", "~"))
    ):
        errors.append(
            FieldError(
                field="environment",
                message="on Dataflow the environment is the workers' SDK container image, "
                f"such as apache/beam_python3.11_sdk:2.77.0; '{spec.environment}' is not one",
            )
        )
    if len(spec.labels) > 62:
        errors.append(FieldError(field="labels", message="Dataflow takes 62 labels at most"))
    return errors + option_errors(spec)


def option_errors(spec: JobSpec) -> list[FieldError]:
    """Dataflow's own options that Dataflow would refuse: a KMS key or subnetwork outside
    the job's region or not in its form, a network that is not one, FlexRS on a stream."""
    errors = []
    region = spec.region
    if spec.encryption_key:
        key = _KMS_KEY.fullmatch(spec.encryption_key)
        if key is None:
            errors.append(
                FieldError(
                    field="encryption_key",
                    message=f"{spec.encryption_key!r} is not a Cloud KMS key: give "
                    f"projects/P/locations/{region}/keyRings/K/cryptoKeys/C",
                )
            )
        elif region and not _key_covers(key.group(1), region):
            errors.append(
                FieldError(
                    field="encryption_key",
                    message=f"the key is in {key.group(1)} but the job runs in {region}: "
                    f"Dataflow takes a key in the job's region ({region})",
                )
            )
    errors += _network_errors(spec)
    if spec.dataflow.flexrs and is_streaming(spec):
        errors.append(
            FieldError(
                field="dataflow.flexrs",
                message="FlexRS schedules batch pipelines; this one is streaming (--streaming "
                "in its args): leave FlexRS off",
            )
        )
    return errors


def _key_covers(location: str, region: str) -> bool:
    """Whether a key in `location` may protect a job in `region`: one of the region itself,
    global, or a multi-region holding it (`us`, `europe`); only another region is refused."""
    return location in (region, "global") or region.startswith(f"{location}-")


def _network_errors(spec: JobSpec) -> list[FieldError]:
    own = spec.dataflow
    errors = []
    if own.network and not (_NAME.fullmatch(own.network) or _NETWORK.fullmatch(own.network)):
        errors.append(
            FieldError(
                field="dataflow.network",
                message=f"{own.network!r} is not a VPC network: give its name (such as "
                "'default') or projects/P/global/networks/N",
            )
        )
    subnetwork = own.subnetwork
    if not subnetwork or _NAME.fullmatch(subnetwork):
        return errors  # a bare name is the job region's
    found = _SUBNETWORK.fullmatch(subnetwork)
    if found is None:
        errors.append(
            FieldError(
                field="dataflow.subnetwork",
                message=f"{subnetwork!r} is not a subnetwork: give regions/R/subnetworks/S, "
                "https://www.googleapis.com/compute/v1/projects/P/regions/R/subnetworks/S "
                "or a name in the job's region",
            )
        )
    elif spec.region and found.group(1) != spec.region:
        errors.append(
            FieldError(
                field="dataflow.subnetwork",
                message=f"the subnetwork is in {found.group(1)} but the job runs in "
                f"{spec.region}: Dataflow's workers take a subnetwork of the job's region",
            )
        )
    return errors
