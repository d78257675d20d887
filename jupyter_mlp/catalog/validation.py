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
from .cloud import (
    REGION_NAME,
    BackendCatalog,
    MachineType,
    load_catalog,
    normalize_accelerator,
    price_multiplier,
    region_or_default,
    unpriced,
)


def _problem(
    severity: str, field: str, message: str, suggestions: list[Any] | None
) -> dict[str, Any]:
    return {
        "field": field,
        "message": message,
        "suggestions": [str(s) for s in suggestions or []],
        "severity": severity,
    }


def _error(field: str, message: str, suggestions: list[Any] | None = None) -> dict[str, Any]:
    return _problem("error", field, message, suggestions)


def _warning(field: str, message: str, suggestions: list[Any] | None = None) -> dict[str, Any]:
    return _problem("warning", field, message, suggestions)


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


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _check_machine(
    catalog: BackendCatalog,
    machine: MachineType,
    accelerator: str | None,
    count: int,
    region: str,
) -> list[dict[str, Any]]:
    """Problems of an accelerator (or none) on a known machine type in ``region``."""
    options = catalog.accelerator_options(machine, region)
    if machine.built_in:
        takes = " or ".join(
            f"{'/'.join(map(str, counts))} {_short(catalog, a)}"
            for a, counts in machine.built_in.items()
        )
        short = _short(catalog, accelerator) if accelerator else ""
        if accelerator is None:
            return [
                _error(
                    "resources.accelerator_type",
                    f"{machine.name} comes with {takes}; set accelerator_type and "
                    "accelerator_count to match",
                    list(machine.built_in),
                )
            ]
        if accelerator not in machine.built_in:
            return [
                _error(
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
                _error(
                    "resources.accelerator_count",
                    f"{machine.name} takes {exactly}{'/'.join(map(str, counts))} {short}, "
                    f"not {count}",
                    list(counts),
                )
            ]
        return []
    if accelerator is None:
        if count > 0:
            return [
                _error(
                    "resources.accelerator_type",
                    f"accelerator_count is {count} but no accelerator_type is set",
                    list(options),
                )
            ]
        return []
    if not machine.takes_n1_gpus:
        return [
            _error(
                "resources.machine_type",
                f"{machine.name} cannot take {_short(catalog, accelerator)}: GPUs attach only to "
                "N1 machine types and come built into the accelerator-optimized types "
                "(a2, a3, a4, g2)",
                catalog.machines_taking(accelerator),
            )
        ]
    if accelerator not in catalog.n1_limits:
        return [
            _error(
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
            _error(
                "resources.accelerator_count",
                f"{_short(catalog, accelerator)} attaches to N1 in counts of "
                f"{', '.join(map(str, attachable))}, not {count}",
                options.get(accelerator, []),
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
            _error(
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
        _warning(
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
    catalog = load_catalog(backend)
    problems: list[dict[str, Any]] = []
    region = region_or_default(catalog, region)
    if region not in catalog.regions:
        close = difflib.get_close_matches(region, catalog.regions, n=5, cutoff=0.5)
        if REGION_NAME.match(region):
            problems.append(
                _warning(
                    "region",
                    f"{region!r} is not among the {len(catalog.regions)} {backend} regions in the "
                    f"catalog (as of {catalog.as_of}); it is sent to Google as given, which "
                    "refuses it if the service does not run there",
                    close,
                )
            )
        else:
            problems.append(
                _error(
                    "region",
                    f"{region!r} is not a {backend} region: regions are named like "
                    f"{catalog.default_region}; known: {_listing(list(catalog.regions))}",
                    close or list(catalog.regions),
                )
            )

    accelerator: str | None = None
    accelerator_rejected = False
    raw_type = resources.get("accelerator_type")
    if raw_type not in (None, "", "ACCELERATOR_TYPE_UNSPECIFIED"):
        try:
            accelerator = normalize_accelerator(str(raw_type))
        except ValueError as exc:
            left_out = catalog.left_out(str(raw_type))
            message = (
                f"{_short(catalog, left_out[0])} is not offered for {backend}: {left_out[1]}"
                if left_out
                else str(exc)
            )
            problems.append(_error("resources.accelerator_type", message, _short_names(catalog)))
            accelerator_rejected = True
        else:
            if accelerator not in catalog.accelerators:
                problems.append(
                    _error(
                        "resources.accelerator_type",
                        f"{_short(catalog, accelerator)} is not offered for {backend}; offered: "
                        f"{_listing(_short_names(catalog))}",
                        list(catalog.accelerators),
                    )
                )
                accelerator = None
                accelerator_rejected = True
    count = _whole_number(resources.get("accelerator_count", 0) or 0)
    if count is None or count < 0:
        problems.append(
            _error(
                "resources.accelerator_count",
                f"accelerator_count must be a whole number >= 0, "
                f"not {resources.get('accelerator_count')!r}",
            )
        )
        count = 0
    problems.extend(_check_scale(backend, resources))

    machine_name = str(resources.get("machine_type") or "")
    machine = catalog.machine_types.get(machine_name)
    if machine is None:
        close = difflib.get_close_matches(machine_name, catalog.machine_types, n=5, cutoff=0.6)
        what = f"unknown machine type {machine_name!r}" if machine_name else "no machine_type set"
        problems.append(
            _error(
                "resources.machine_type",
                f"{what} for {backend}" + (f"; did you mean {', '.join(close)}?" if close else ""),
                close or (catalog.machines_taking(accelerator) if accelerator else []),
            )
        )
    else:
        if not accelerator_rejected:
            problems.extend(_check_machine(catalog, machine, accelerator, count, region))
        if machine.conditions:
            problems.append(
                _warning("resources.machine_type", f"{machine.name}: {machine.conditions}")
            )

    if accelerator:
        offered_in = list(catalog.accelerators[accelerator].regions)
        offers = catalog.offers(accelerator, region)
        if offers is False:
            problems.append(
                _error(
                    "region",
                    f"{_short(catalog, accelerator)} is not offered in {region}; offered in: "
                    f"{_listing(offered_in)}",
                    offered_in,
                )
            )
        elif offers is None:
            problems.append(
                _warning(
                    "region",
                    f"whether {_short(catalog, accelerator)} is offered in {region} is not known "
                    f"(the catalog's accelerator data covers {_listing(list(catalog.gpu_regions))}"
                    f"); known to be offered in: {_listing(offered_in)}",
                    offered_in,
                )
            )
    if not any(e["severity"] == "error" for e in problems):
        problems.extend(_price_warnings(backend, resources))
        if price_multiplier(region) is None:
            problems.append(
                _warning("region", f"prices not known for {region}; no cost estimate for this job")
            )
    return problems


def _price_warnings(backend: str, resources: dict[str, Any]) -> list[dict[str, Any]]:
    """One warning per item of valid resources whose price is not known: no estimate."""
    return [
        _warning(
            "resources.machine_type"
            if item == resources.get("machine_type")
            else "resources.accelerator_type",
            f"price not known for {item}: {why}; no cost estimate for this job",
        )
        for item, why in unpriced(backend, resources).items()
    ]


def _short_names(catalog: BackendCatalog) -> list[str]:
    return [a.short_name for a in catalog.accelerators.values()]


def _check_scale(backend: str, resources: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors for replica_count (Vertex) or max_workers (Dataflow)."""
    if backend == "vertex":
        replicas = _whole_number(resources.get("replica_count", 1))
        if replicas is None or replicas < 1:
            return [
                _error(
                    "resources.replica_count",
                    f"replica_count must be a whole number >= 1, "
                    f"not {resources.get('replica_count')!r}",
                    ["1"],
                )
            ]
        return []
    raw = resources.get("max_workers")
    workers = _whole_number(raw)
    if raw is not None and (workers is None or workers < 1):
        return [
            _error(
                "resources.max_workers",
                f"max_workers must be a whole number >= 1 or unset, not {raw!r}",
                ["1"],
            )
        ]
    return []


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
