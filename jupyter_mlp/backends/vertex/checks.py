"""What Vertex AI takes of a job's spec: its image, its notebook, its requirements, its
labels, its sweep, its launch options; each problem as a `FieldError` on the field at fault."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

from ...catalog.hardware import read_json
from ...core.models import FieldError, JobSpec
from ...jobfiles.bundle import SourcePlan
from .containers import (
    NoCurrentContainer,
    accelerator_kind,
    choose_container,
    image_warning,
)
from .jobs import EXAMPLE_IMAGE, looks_like_image
from .references import ATTACHMENT, TENSORBOARD
from .sweeps import grid_errors

KMS_KEY = re.compile(
    r"^projects/[^/]+/locations/(?P<location>[^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+$"
)


def spec_errors(
    spec: JobSpec, plan: SourcePlan | None, default_image: str, location: str
) -> list[FieldError]:
    """Every problem Vertex AI would have with the job (its settings and kind aside)."""
    errors = image_problems(spec, plan, default_image, location)
    if spec.environment and not looks_like_image(spec.environment):
        errors.append(
            FieldError(
                field="environment",
                message="on Vertex AI the environment is a container image, such as "
                f"{EXAMPLE_IMAGE}; '{spec.environment}' is not one",
                suggestions=[EXAMPLE_IMAGE],
            )
        )
    notebook = plan.notebook if plan is not None and plan.mode == "notebook" else None
    if notebook is not None and notebook.language != "python":
        errors.append(
            FieldError(
                field="source.mode",
                message=f"Vertex AI runs Python notebooks; this one is {notebook.language}",
                suggestions=["script"],
            )
        )
    for index, requirement in enumerate(plan.requirements if plan else []):
        if requirement.startswith(("/", "./", "~")):
            errors.append(
                FieldError(
                    field=f"requirements[{index}]",
                    message=f"'{requirement}' is a file on this machine, which a job on "
                    "Vertex AI cannot install; publish it or give 'name @ https://...'",
                )
            )
    if len(spec.labels) > 62:
        errors.append(FieldError(field="labels", message="Vertex AI takes 62 labels at most"))
    return errors + grid_errors(spec.sweep)


def image_problems(
    spec: JobSpec, plan: SourcePlan | None, default_image: str, location: str
) -> list[FieldError]:
    """A warning for a job's image past its end of availability; an error when the job
    names no image and none can be chosen for it (the catalog's defaults say why)."""
    if spec.environment:
        warning = image_warning(spec.environment, spec.region or location)
        if warning is None:
            return []
        return [FieldError(field="environment", message=warning, severity="warning")]
    if default_image:
        return []
    hardware = accelerator_kind(spec.resources.accelerator_type, spec.resources.accelerator_count)
    try:
        choose_container(list(plan.requirements) if plan else [], hardware)
    except NoCurrentContainer as exc:
        return [FieldError(field="environment", message=str(exc))]
    return []


@cache
def option_facts() -> dict[str, Any]:
    """Vertex AI's boot disks and Flex-start limits (``data/vertex.json``), with each machine
    type's boot disk types (its own, else its family's)."""
    data = read_json(resources.files(__package__ or "").joinpath("data", "vertex.json"))
    disk_types = {
        machine["name"]: machine.get("boot_disk_types", family["boot_disk_types"])
        for family in data["families"].values()
        for machine in family["machine_types"]
    }
    return {"boot_disks": data["boot_disks"], "flex_start": data["flex_start"], "disks": disk_types}


def option_errors(spec: JobSpec, service_account: str | None) -> list[FieldError]:
    """What Vertex AI would refuse of the job's launch options (names already completed by
    `references.py`); `service_account` is the backend's."""
    errors = flex_start_errors(spec) + disk_errors(spec) + _regional_errors(spec)
    if spec.network and spec.psc_network_attachment:
        errors.append(
            FieldError(
                field="psc_network_attachment",
                message="a job is peered with a VPC network or reaches it through a PSC "
                "interface, not both: leave network or psc_network_attachment unset",
            )
        )
    if spec.tensorboard and not (spec.scheduling.service_account or service_account):
        errors.append(
            FieldError(
                field="tensorboard",
                message="streaming to a TensorBoard needs the job to run as a service account "
                "that may write to it: set scheduling.service_account (or "
                "VertexBackend.service_account)",
            )
        )
    return errors


def flex_start_errors(spec: JobSpec) -> list[FieldError]:
    """Flex-start's limits: GPUs it schedules, a timeout of at most 7 days. Every pool of a
    job runs the one machine of its resources, as Flex-start requires. (Vertex AI, "Schedule
    training jobs based on resource availability", read 2026-12-06: `flex_start` in
    data/vertex.json.)"""
    if spec.scheduling.strategy != "flex_start":
        return []
    facts, resources = option_facts()["flex_start"], spec.resources
    errors = []
    # Machines with built-in GPUs name them too (`validate_resources` requires it).
    gpu = resources.accelerator_type if resources.accelerator_count else None
    if gpu not in facts["accelerators"]:
        asked = f"asks for {gpu}" if gpu else "asks for no GPU"
        errors.append(
            FieldError(
                field="scheduling.strategy",
                message="Flex-start schedules jobs with L4, A100, H100, H200 or B200 GPUs; this "
                f"job {asked}: choose one of those GPUs, or strategy 'standard' or 'spot'",
                suggestions=["standard", "spot"],
            )
        )
    longest = facts["max_timeout_seconds"]
    if (spec.scheduling.timeout_seconds or 0) > longest:
        errors.append(
            FieldError(
                field="scheduling.timeout_seconds",
                message=f"a Flex-start job runs at most 7 days ({longest} seconds); "
                f"{spec.scheduling.timeout_seconds} is longer",
                suggestions=[str(longest)],
            )
        )
    return errors


def disk_errors(spec: JobSpec) -> list[FieldError]:
    """A boot disk type the machine does not take, or a size outside Vertex AI's range
    (`DiskSpec` REST reference, read 2026-12-06: `boot_disks` in data/vertex.json)."""
    facts, resources = option_facts(), spec.resources
    errors = []
    kind = resources.boot_disk_type
    taken = facts["disks"].get(resources.machine_type or "")
    if kind and taken is not None and kind not in taken:
        errors.append(
            FieldError(
                field="resources.boot_disk_type",
                message=f"{resources.machine_type} boots from {' or '.join(taken)}, not {kind}",
                suggestions=list(taken),
            )
        )
    size, disks = resources.boot_disk_size_gb, facts["boot_disks"]
    if size is not None and not disks["min_size_gb"] <= size <= disks["max_size_gb"]:
        errors.append(
            FieldError(
                field="resources.boot_disk_size_gb",
                message=f"Vertex AI boot disks are {disks['min_size_gb']} to "
                f"{disks['max_size_gb']} GB; {size} is not",
                suggestions=[str(disks["default_size_gb"])],
            )
        )
    return errors


def _regional_errors(spec: JobSpec) -> list[FieldError]:
    """A CMEK key, TensorBoard or PSC attachment not in the job's region, or not a full name."""
    region = spec.region
    checked = [
        (
            "encryption_key",
            spec.encryption_key,
            KMS_KEY,
            "location",
            f"projects/P/locations/{region}/keyRings/K/cryptoKeys/C",
        ),
        (
            "tensorboard",
            spec.tensorboard,
            TENSORBOARD,
            "location",
            f"projects/P/locations/{region}/tensorboards/N",
        ),
        (
            "psc_network_attachment",
            spec.psc_network_attachment,
            ATTACHMENT,
            "region",
            f"projects/P/regions/{region}/networkAttachments/N",
        ),
    ]
    errors = []
    for field, value, pattern, part, form in checked:
        if not value or ("/" not in value and field != "encryption_key"):
            continue  # unset, or a bare name `references.py` could not complete (it says why)
        found = pattern.match(value)
        if found is None:
            errors.append(FieldError(field=field, message=f"'{value}' is not of the form {form}"))
        elif found[part] != region:
            errors.append(
                FieldError(
                    field=field,
                    message=f"{value} is in {found[part]}, but the job runs in {region}: Vertex "
                    f"AI takes one in the job's region ({form})",
                )
            )
    return errors
