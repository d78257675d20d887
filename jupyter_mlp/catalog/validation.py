"""Checks a job's machine, accelerator, region and scale against the cloud catalog.

Each problem is reported as ``{"field", "message", "suggestions", "severity"}`` so the resource
picker can point at the field, say what is wrong with the value, and offer what would be valid.
An "error" stops the job; a "warning" (a condition the service attaches to a machine type, a zone
the shape may not fit, a price not known, a region the catalog does not know) does not.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from ..core.models import FieldError, JobSpec
from .cloud import pricing_of, unpriced
from .hardware import (
    REGION_NAME,
    BackendCatalog,
    MachineType,
    normalize_accelerator,
    region_or_default,
)
from .pricing import price_multiplier
from .problems import error, warning, whole_number

#: How many names a message lists before it says "and N more".
LISTED_NAMES = 6


def _listing(names: list[str], empty: str = "none") -> str:
    """``names`` comma-separated, the first few only when there are many."""
    if not names:
        return empty
    if len(names) <= LISTED_NAMES + 1:
        return ", ".join(names)
    return f"{', '.join(names[:LISTED_NAMES])} and {len(names) - LISTED_NAMES} more"


def _short(catalog: BackendCatalog, accelerator: str) -> str:
    """An accelerator as people name it (``A100``, not ``NVIDIA_TESLA_A100``)."""
    known = catalog.accelerators.get(accelerator)
    if known is not None:
        return known.short_name
    return re.sub(r"^NVIDIA_(TESLA_)?", "", accelerator)


def _check_machine(
    catalog: BackendCatalog,
    machine: MachineType,
    accelerator: str | None,
    count: int,
    region: str,
) -> list[dict[str, Any]]:
    """Problems of an accelerator (or none) on a known machine type in ``region``."""
    if machine.built_in:
        return _check_built_in(catalog, machine, accelerator, count)
    if accelerator is None:
        if count > 0:
            return [
                error(
                    "resources.accelerator_type",
                    f"accelerator_count is {count} but no accelerator_type is set",
                    list(catalog.accelerator_options(machine, region)),
                )
            ]
        return []
    return _check_attached(catalog, machine, accelerator, count, region)


def _check_built_in(
    catalog: BackendCatalog, machine: MachineType, accelerator: str | None, count: int
) -> list[dict[str, Any]]:
    """Problems of an accelerator (or none) on a machine type that comes with its own."""
    takes = " or ".join(
        f"{'/'.join(map(str, counts))} {_short(catalog, a)}"
        for a, counts in machine.built_in.items()
    )
    if accelerator is None:
        return [
            error(
                "resources.accelerator_type",
                f"{machine.name} comes with {takes}; set accelerator_type and "
                "accelerator_count to match",
                list(machine.built_in),
            )
        ]
    short = _short(catalog, accelerator)
    if accelerator not in machine.built_in:
        return [
            error(
                "resources.accelerator_type",
                f"{machine.name} takes {takes}, not {short}; machine types with "
                f"{short}: {_listing(catalog.machines_taking(accelerator))}",
                list(machine.built_in),
            )
        ]
    counts = machine.built_in[accelerator]
    if count not in counts:
        exactly = "exactly " if len(counts) == 1 else "one of "
        return [
            error(
                "resources.accelerator_count",
                f"{machine.name} takes {exactly}{'/'.join(map(str, counts))} {short}, not {count}",
                list(counts),
            )
        ]
    return []


def _check_attached(
    catalog: BackendCatalog, machine: MachineType, accelerator: str, count: int, region: str
) -> list[dict[str, Any]]:
    """Problems of GPUs attached to a machine type that has none built in."""
    if not machine.takes_n1_gpus:
        return [
            error(
                "resources.machine_type",
                f"{machine.name} cannot take {_short(catalog, accelerator)}: GPUs attach only to "
                "N1 machine types and come built into the accelerator-optimized types "
                "(a2, a3, a4, g2)",
                catalog.machines_taking(accelerator),
            )
        ]
    if accelerator not in catalog.n1_limits:
        return [
            error(
                "resources.accelerator_type",
                f"{_short(catalog, accelerator)} does not attach to N1 machine types; it comes "
                "built into: "
                + _listing(catalog.machines_taking(accelerator), "none in this catalog"),
                catalog.machines_taking(accelerator),
            )
        ]
    attachable = [lim.count for lim in catalog.n1_limits[accelerator]]
    if count not in attachable:
        return [
            error(
                "resources.accelerator_count",
                f"{_short(catalog, accelerator)} attaches to N1 in counts of "
                f"{', '.join(map(str, attachable))}, not {count}",
                catalog.accelerator_options(machine, region).get(accelerator, []),
            )
        ]
    return _check_n1_shape(catalog, machine, accelerator, count, region)


def _check_n1_shape(
    catalog: BackendCatalog, machine: MachineType, accelerator: str, count: int, region: str
) -> list[dict[str, Any]]:
    """Problems of an N1 machine too large for ``count`` GPUs in all or some zones of ``region``."""
    short = catalog.accelerators[accelerator].short_name
    zones = catalog.accelerators[accelerator].zones_in(region)
    smaller = [
        m.name
        for m in catalog.machine_types.values()
        if m.family == machine.family
        and count in catalog.n1_counts(m, accelerator, region)
        and not _tight_zones(catalog, m, accelerator, count, region)
    ]
    lim = catalog.n1_limit(accelerator, count, region)
    assert lim is not None
    if not lim.fits(machine):
        fits = catalog.accelerator_options(machine, region).get(accelerator, [])
        if machine.vcpus > lim.max_vcpus:
            reason = f"at most {lim.max_vcpus} vCPUs with {count} {short}"
        else:
            reason = f"at most {lim.max_memory_gb:g} GB memory with {count} {short}"
        if lim.zones:
            roomier = [
                r
                for r in catalog.accelerators[accelerator].regions
                if r in catalog.regions
                and (other := catalog.n1_limit(accelerator, count, r)) is not None
                and other.fits(machine)
            ]
            reason += (
                f" in {region}'s {short} zones ({', '.join(zones)}); regions where "
                f"{machine.name} takes {count} {short}: {_listing(roomier)}"
            )
        hint = (
            f"; use {'/'.join(map(str, fits))} {short}"
            if fits
            else f"; with {count} {short} use a smaller machine type"
        )
        return [
            error(
                "resources.accelerator_count",
                f"{machine.name} cannot take {count} {short} in {region}: {reason}{hint}",
                fits or smaller,
            )
        ]
    tight = _tight_zones(catalog, machine, accelerator, count, region)
    if not tight:
        return []
    zonal = next(
        z for z in catalog.zonal_exceptions(accelerator, count, region) if not z.fits(machine)
    )
    return [
        warning(
            "resources.accelerator_count",
            f"{machine.name} with {count} {short} fits only some {region} zones: in "
            f"{', '.join(tight)}, {count} {short} allow at most {zonal.max_vcpus} vCPUs / "
            f"{zonal.max_memory_gb:g} GB memory; the service picks the zone, so the job can "
            "fail there",
            smaller,
        )
    ]


def _tight_zones(
    catalog: BackendCatalog, machine: MachineType, accelerator: str, count: int, region: str
) -> list[str]:
    """Zones of ``region`` where a zonal limit is too small for ``machine``."""
    in_region = set(catalog.accelerators[accelerator].zones_in(region))
    return sorted(
        zone
        for zonal in catalog.zonal_exceptions(accelerator, count, region)
        if not zonal.fits(machine)
        for zone in zonal.zones
        if zone in in_region
    )


def validate_resources(
    backend: str, resources: dict[str, Any], region: str | None
) -> list[dict[str, Any]]:
    """Everything wrong or doubtful with ``resources`` for ``backend`` in ``region``.

    ``resources`` keys: ``machine_type``, ``accelerator_type`` (enum or short name),
    ``accelerator_count`` (default 0), ``replica_count`` (Vertex, default 1) and
    ``max_workers`` (Dataflow, optional). ``region=None`` means the backend's default region.
    Each problem is ``{"field", "message", "suggestions", "severity"}``; the resources are valid
    when no problem has severity "error". Warnings: the machine type's conditions, a shape that
    fits only some zones of the region, "price not known" for items without a price, a region
    the catalog does not know (sent to Google as given; only a name no region can have is an
    error), and an accelerator whose offer in the region the catalog does not know.
    """
    pricing = pricing_of(backend)
    catalog = pricing.catalog
    region = region_or_default(catalog, region)
    problems = _check_region(catalog, region)
    accelerator, rejected = _check_accelerator_type(catalog, resources, problems)
    count = whole_number(resources.get("accelerator_count", 0) or 0)
    if count is None or count < 0:
        problems.append(
            error(
                "resources.accelerator_count",
                f"accelerator_count must be a whole number >= 0, "
                f"not {resources.get('accelerator_count')!r}",
            )
        )
        count = 0
    problems.extend(pricing.scale_problems(resources))
    machine_name = str(resources.get("machine_type") or "")
    machine = catalog.machine_types.get(machine_name)
    if machine is None:
        problems.append(_unknown_machine(catalog, machine_name, accelerator))
    else:
        if not rejected:
            problems.extend(_check_machine(catalog, machine, accelerator, count, region))
        if machine.conditions:
            problems.append(
                warning("resources.machine_type", f"{machine.name}: {machine.conditions}")
            )
    if accelerator:
        problems.extend(_check_offer(catalog, accelerator, region))
    if not any(e["severity"] == "error" for e in problems):
        problems.extend(_price_warnings(backend, resources))
        if price_multiplier(region) is None:
            problems.append(
                warning("region", f"prices not known for {region}; no cost estimate for this job")
            )
    return problems


def _check_region(catalog: BackendCatalog, region: str) -> list[dict[str, Any]]:
    """A region the catalog does not know: a warning, or an error for a name no region has."""
    if region in catalog.regions:
        return []
    backend = catalog.backend
    close = difflib.get_close_matches(region, catalog.regions, n=5, cutoff=0.5)
    if REGION_NAME.match(region):
        return [
            warning(
                "region",
                f"{region!r} is not among the {len(catalog.regions)} {backend} regions in the "
                f"catalog (as of {catalog.as_of}); it is sent to Google as given, which "
                "refuses it if the service does not run there",
                close,
            )
        ]
    return [
        error(
            "region",
            f"{region!r} is not a {backend} region: regions are named like "
            f"{catalog.default_region}; known: {_listing(list(catalog.regions))}",
            close or list(catalog.regions),
        )
    ]


def _check_accelerator_type(
    catalog: BackendCatalog, resources: dict[str, Any], problems: list[dict[str, Any]]
) -> tuple[str | None, bool]:
    """The accelerator's enum name (None when unset or refused), and whether it was refused;
    the reasons it was refused are added to ``problems``."""
    raw_type = resources.get("accelerator_type")
    if raw_type in (None, "", "ACCELERATOR_TYPE_UNSPECIFIED"):
        return None, False
    backend = catalog.backend
    try:
        accelerator = normalize_accelerator(str(raw_type))
    except ValueError as exc:
        left_out = catalog.left_out(str(raw_type))
        message = (
            f"{_short(catalog, left_out[0])} is not offered for {backend}: {left_out[1]}"
            if left_out
            else str(exc)
        )
        problems.append(error("resources.accelerator_type", message, _short_names(catalog)))
        return None, True
    if accelerator not in catalog.accelerators:
        problems.append(
            error(
                "resources.accelerator_type",
                f"{_short(catalog, accelerator)} is not offered for {backend}; offered: "
                f"{_listing(_short_names(catalog))}",
                list(catalog.accelerators),
            )
        )
        return None, True
    return accelerator, False


def _unknown_machine(
    catalog: BackendCatalog, machine_name: str, accelerator: str | None
) -> dict[str, Any]:
    """The error of a machine type the catalog does not have (or none), with close names."""
    close = difflib.get_close_matches(machine_name, catalog.machine_types, n=5, cutoff=0.6)
    what = f"unknown machine type {machine_name!r}" if machine_name else "no machine_type set"
    return error(
        "resources.machine_type",
        f"{what} for {catalog.backend}" + (f"; did you mean {', '.join(close)}?" if close else ""),
        close or (catalog.machines_taking(accelerator) if accelerator else []),
    )


def _check_offer(catalog: BackendCatalog, accelerator: str, region: str) -> list[dict[str, Any]]:
    """An accelerator not offered in ``region`` (error), or not known to be (warning)."""
    offered_in = list(catalog.accelerators[accelerator].regions)
    offers = catalog.offers(accelerator, region)
    if offers is False:
        return [
            error(
                "region",
                f"{_short(catalog, accelerator)} is not offered in {region}; offered in: "
                f"{_listing(offered_in)}",
                offered_in,
            )
        ]
    if offers is None:
        return [
            warning(
                "region",
                f"whether {_short(catalog, accelerator)} is offered in {region} is not known "
                f"(the catalog's accelerator data covers {_listing(list(catalog.gpu_regions))}"
                f"); known to be offered in: {_listing(offered_in)}",
                offered_in,
            )
        ]
    return []


def _price_warnings(backend: str, resources: dict[str, Any]) -> list[dict[str, Any]]:
    """One warning per item of valid resources whose price is not known: no estimate."""
    return [
        warning(
            "resources.machine_type"
            if item == resources.get("machine_type")
            else "resources.accelerator_type",
            f"price not known for {item}: {why}; no cost estimate for this job",
        )
        for item, why in unpriced(backend, resources).items()
    ]


def _short_names(catalog: BackendCatalog) -> list[str]:
    return [a.short_name for a in catalog.accelerators.values()]


def normalize_cloud_resources(spec: JobSpec) -> tuple[JobSpec, list[FieldError]]:
    """The spec with its accelerator named by its enum name, and every resource problem:
    errors, and warnings (severity "warning"), which do not stop a job."""
    assert spec.backend is not None
    resources = spec.resources
    if resources.accelerator_type:
        try:
            canonical = normalize_accelerator(resources.accelerator_type)
        except ValueError:
            canonical = resources.accelerator_type  # validate_resources says what is wrong
        resources = resources.model_copy(update={"accelerator_type": canonical})
    problems = validate_resources(spec.backend, resources.model_dump(), spec.region)
    errors = [
        FieldError(
            field=p["field"],
            message=p["message"],
            suggestions=p["suggestions"],
            severity=p["severity"],
        )
        for p in problems
    ]
    return spec.model_copy(update={"resources": resources}), errors
