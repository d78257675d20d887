"""The other Google Cloud resources a Vertex AI job's options refer to: names completed to the
forms Vertex AI takes, and a reservation matched to the job's machine.

A VPC network is `projects/<project NUMBER>/global/networks/<name>` at Vertex AI
(`CustomJobSpec.network`, REST reference read 2026-12-06), so a bare name or a project id is
completed by looking the number up; a PSC network attachment, a TensorBoard and a reservation
given by a bare name are completed from the project and the job's region (a reservation by
finding its zone). Problems are `FieldError`s; a look-up that cannot be made is a warning.
"""

from __future__ import annotations

import re
from typing import Any

from ...catalog.cloud import load_catalog
from ...catalog.hardware import accelerator_aliases
from ...core.models import FieldError, JobSpec, Resources
from .jobs import ANY_RESERVATION
from .lookups import CannotLook, CloudLookups

BARE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
NETWORK = re.compile(r"^projects/(?P<project>[^/]+)/global/networks/(?P<name>[^/]+)$")
ATTACHMENT = re.compile(
    r"^projects/(?P<project>[^/]+)/regions/(?P<region>[^/]+)/networkAttachments/(?P<name>[^/]+)$"
)
TENSORBOARD = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/tensorboards/(?P<id>[^/]+)$"
)
RESERVATION = re.compile(
    r"^projects/(?P<project>[^/]+)/zones/(?P<zone>[^/]+)/reservations/(?P<name>[^/]+)$"
)
NO_PROJECT = (
    "is a bare name, completed from the job's project, but VertexBackend.project is not set "
    "and the credentials name none: set the project or give the full name {form}"
)


def refers_elsewhere(spec: JobSpec) -> bool:
    """Whether the spec names a network, PSC attachment, TensorBoard or reservation."""
    reservation = spec.scheduling.reservation not in (None, ANY_RESERVATION)
    return bool(spec.network or spec.psc_network_attachment or spec.tensorboard or reservation)


def complete_references(
    spec: JobSpec, project: str | None, lookups: CloudLookups
) -> tuple[JobSpec, list[FieldError]]:
    """The spec with its network, PSC attachment, TensorBoard and reservation in the forms
    Vertex AI takes (each left as given where it cannot be completed), and the problems."""
    assert spec.region is not None
    errors: list[FieldError] = []
    update: dict[str, Any] = {}
    if spec.network:
        update["network"] = _network(spec.network, project, lookups, errors)
    if spec.psc_network_attachment:
        form = f"projects/P/regions/{spec.region}/networkAttachments/N"
        update["psc_network_attachment"] = _regional(
            "psc_network_attachment", spec.psc_network_attachment, project, form, errors
        )
    if spec.tensorboard:
        form = f"projects/P/locations/{spec.region}/tensorboards/N"
        update["tensorboard"] = _regional("tensorboard", spec.tensorboard, project, form, errors)
    reservation = spec.scheduling.reservation
    if reservation and reservation != ANY_RESERVATION:
        completed = _reservation(spec, reservation, project, lookups, errors)
        scheduling = spec.scheduling.model_copy(update={"reservation": completed})
        update["scheduling"] = scheduling
    return spec.model_copy(update=update), errors


def _network(
    network: str, project: str | None, lookups: CloudLookups, errors: list[FieldError]
) -> str:
    """`projects/<number>/global/networks/<name>` for a bare name or a project id's network."""
    form = "projects/<project number>/global/networks/<name>"
    found = NETWORK.match(network)
    if found is None and not BARE_NAME.match(network):
        errors.append(
            FieldError(
                field="network", message=f"'{network}' is neither {form} nor a network's name"
            )
        )
        return network
    owner, name = (found["project"], found["name"]) if found else (project, network)
    if owner is None:
        errors.append(FieldError(field="network", message=NO_PROJECT.format(form=form)))
        return network
    if owner.isdigit():
        return f"projects/{owner}/global/networks/{name}"
    try:
        number = lookups.project_number(owner)
    except CannotLook as exc:
        errors.append(
            FieldError(
                field="network",
                severity="warning",
                message=f"{exc}; Vertex AI wants the project's number ({form}): the job names "
                f"projects/{owner}, which Vertex AI may refuse",
            )
        )
        return f"projects/{owner}/global/networks/{name}"
    return f"projects/{number}/global/networks/{name}"


def _regional(
    field: str, value: str, project: str | None, form: str, errors: list[FieldError]
) -> str:
    """A regional resource's full name `form` (its last part N) for a bare name."""
    if "/" in value:
        return value  # a full name: `checks.py` says whether it is one, in the right region
    if not BARE_NAME.match(value) and not value.isdigit():
        errors.append(FieldError(field=field, message=f"'{value}' is neither {form} nor a name"))
        return value
    if project is None:
        errors.append(FieldError(field=field, message=NO_PROJECT.format(form=form)))
        return value
    return form.replace("/P/", f"/{project}/").rsplit("/", 1)[0] + f"/{value}"


def _reservation(
    spec: JobSpec,
    reservation: str,
    project: str | None,
    lookups: CloudLookups,
    errors: list[FieldError],
) -> str:
    """The reservation's full name, found in the zones of the job's region for a bare name,
    and whether it holds the job's machine."""
    field, region = "scheduling.reservation", spec.region or ""
    form = "projects/P/zones/Z/reservations/N"
    found = RESERVATION.match(reservation)
    if found is None and not BARE_NAME.match(reservation):
        message = f"'{reservation}' is none of 'any', {form} or a reservation's name"
        errors.append(FieldError(field=field, message=message, suggestions=[ANY_RESERVATION]))
        return reservation
    if found is not None and not found["zone"].startswith(f"{region}-"):
        zone = found["zone"]
        message = f"reservation {reservation} is in zone {zone}, not in the job's region {region}"
        errors.append(FieldError(field=field, message=message))
        return reservation
    try:
        if found is not None:
            held = lookups.reservation(reservation)
            if held is None:
                errors.append(
                    FieldError(field=field, message=f"reservation {reservation} does not exist")
                )
                return reservation
            full = reservation
        elif project is None:
            errors.append(FieldError(field=field, message=NO_PROJECT.format(form=form)))
            return reservation
        else:
            full, held = _find_reservation(reservation, project, region, lookups, errors)
            if held is None:
                return reservation
    except CannotLook as exc:
        message = f"{exc}; Vertex AI checks the reservation when the job starts"
        errors.append(FieldError(field=field, severity="warning", message=message))
        return reservation
    mismatch = reservation_mismatch(held, full.rsplit("/", 1)[1], spec.resources)
    if mismatch:
        errors.append(FieldError(field=field, message=mismatch))
    return full


def _find_reservation(
    name: str, project: str, region: str, lookups: CloudLookups, errors: list[FieldError]
) -> tuple[str, dict[str, Any] | None]:
    """The full name and body of the project's reservation `name` in the region's zones."""
    zones = lookups.reservations_in(project, region)
    for zone, held in sorted(zones.items()):
        for reservation in held:
            if reservation.get("name") == name:
                return f"projects/{project}/zones/{zone}/reservations/{name}", reservation
    others = sorted({str(r.get("name")) for held in zones.values() for r in held})
    known = f" (it has: {', '.join(others)})" if others else " (it has none there)"
    errors.append(
        FieldError(
            field="scheduling.reservation",
            message=f"project {project} has no reservation named {name} in the zones of "
            f"{region}{known}",
            suggestions=others,
        )
    )
    return name, None


def reservation_mismatch(reservation: dict[str, Any], name: str, resources: Resources) -> str:
    """What differs between a reservation's machines and the job's ("" when they match):
    Vertex AI consumes a reservation only with exactly its machine type and GPUs."""
    properties = reservation.get("specificReservation", {}).get("instanceProperties", {})
    machine = str(properties.get("machineType", "")).rsplit("/", 1)[-1]
    aliases = accelerator_aliases()
    held: dict[str, int] = {}
    for attached in properties.get("guestAccelerators", []):
        kind = str(attached.get("acceleratorType", "")).rsplit("/", 1)[-1]
        held[aliases.get(kind.upper(), kind)] = int(attached.get("acceleratorCount", 0))
    asked: dict[str, int] = {}
    if resources.accelerator_type and resources.accelerator_count:
        asked = {resources.accelerator_type: resources.accelerator_count}
    known = load_catalog("vertex").machine_types.get(resources.machine_type or "")
    # Accelerator-optimized machines come with their GPUs: a reservation may not list them.
    same_gpus = held == asked or (not held and known is not None and bool(known.built_in))
    if machine == resources.machine_type and same_gpus:
        return ""
    return (
        f"reservation {name} holds {_shape(machine, held)}; the job asks for "
        f"{_shape(resources.machine_type or '', asked)}: ask for the reservation's machine, "
        "or name another reservation"
    )


def _shape(machine: str, accelerators: dict[str, int]) -> str:
    gpus = ", ".join(f"{count} {kind}" for kind, count in accelerators.items())
    return f"{machine} with {gpus}" if gpus else f"{machine} without GPUs"
