"""Cloud hardware catalog: which machine takes which accelerator, where, and for how much.

The facts live in ``data/*.json`` (each with its sources and dates); this module loads them
once, answers ``GET /mlp/catalog`` (:func:`catalog_view`), checks a job's resources before it
is submitted (``validation.validate_resources``) and estimates its hourly cost
(:func:`estimate_hourly_cost`). Accelerators are named by the
``google.cloud.aiplatform_v1.types.AcceleratorType`` enum; short names such as ``T4`` and
Compute Engine names such as ``nvidia-tesla-t4`` are accepted everywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..core.models import CLOUD_BACKENDS

BACKENDS = CLOUD_BACKENDS

# Filled lazily from data/gpus.json by the module __getattr__ below.
ACCELERATOR_ALIASES: dict[str, str]

# How Google names a region (`us-central1`, `europe-west12`); anything else is no region.
REGION_NAME = re.compile(r"^[a-z]+(-[a-z]+)+[0-9]+$")


@dataclass(frozen=True)
class Accelerator:
    """One accelerator type, keyed by its AcceleratorType enum name."""

    type: str
    short_name: str
    compute_name: str
    memory_gb: float
    regions: tuple[str, ...]
    zones: tuple[str, ...] = ()

    def zones_in(self, region: str) -> tuple[str, ...]:
        """The zones of ``region`` known to offer this accelerator (empty when not recorded)."""
        return tuple(zone for zone in self.zones if zone.rsplit("-", 1)[0] == region)


@dataclass(frozen=True)
class N1Limit:
    """The largest N1 shape that a given number of one GPU model supports.

    ``zones`` empty: the limit holds in every zone offering the GPU; otherwise only in those
    zones, where it is smaller.
    """

    count: int
    max_vcpus: int
    max_memory_gb: float
    zones: tuple[str, ...] = ()

    def fits(self, machine: MachineType) -> bool:
        return machine.vcpus <= self.max_vcpus and machine.memory_gb <= self.max_memory_gb


@dataclass(frozen=True)
class MachineType:
    """A machine type; ``built_in`` maps each accelerator it comes with to the counts allowed."""

    name: str
    family: str
    vcpus: float
    memory_gb: float
    built_in: dict[str, tuple[int, ...]]
    takes_n1_gpus: bool
    conditions: str | None = None


@dataclass(frozen=True)
class BackendCatalog:
    """Everything one backend (Vertex AI or Dataflow) offers."""

    backend: str
    machine_types: dict[str, MachineType]
    accelerators: dict[str, Accelerator]
    n1_limits: dict[str, tuple[N1Limit, ...]]
    regions: tuple[str, ...]
    # The regions the accelerator facts cover: elsewhere, whether one is offered is not known.
    gpu_regions: tuple[str, ...]
    default_region: str
    as_of: str
    sources: tuple[dict[str, Any], ...]
    zonal_limits: dict[str, tuple[N1Limit, ...]]
    not_offered: dict[str, str]
    not_offered_names: dict[str, str]

    def machines_taking(self, accelerator: str) -> list[str]:
        """Machine types that can run with ``accelerator``, built in or attached."""
        if accelerator in self.n1_limits:
            return [m.name for m in self.machine_types.values() if self.n1_counts(m, accelerator)]
        return [m.name for m in self.machine_types.values() if accelerator in m.built_in]

    def n1_limit(self, accelerator: str, count: int, region: str | None = None) -> N1Limit | None:
        """The largest N1 shape ``count`` x ``accelerator`` allows in some zone of ``region``.

        Without a region, anywhere. A zonal limit applies when it covers every zone of the region
        that offers the GPU; None when the GPU does not attach ``count`` times.
        """
        limits = self.n1_limits.get(accelerator, ())
        limit = next((lim for lim in limits if lim.count == count), None)
        if limit is None or region is None:
            return limit
        zones = set(self.accelerators[accelerator].zones_in(region))
        for zonal in self.zonal_limits.get(accelerator, ()):
            if zonal.count == count and zones and zones <= set(zonal.zones):
                return zonal
        return limit

    def zonal_exceptions(self, accelerator: str, count: int, region: str) -> list[N1Limit]:
        """Smaller limits than :meth:`n1_limit` that hold in only some zones of ``region``."""
        zones = set(self.accelerators[accelerator].zones_in(region))
        return [
            zonal
            for zonal in self.zonal_limits.get(accelerator, ())
            if zonal.count == count and zones & set(zonal.zones) and not zones <= set(zonal.zones)
        ]

    def n1_counts(
        self, machine: MachineType, accelerator: str, region: str | None = None
    ) -> list[int]:
        """Counts of an N1-attachable GPU that fit this machine's vCPUs and memory in ``region``."""
        if not machine.takes_n1_gpus:
            return []
        counts = [lim.count for lim in self.n1_limits.get(accelerator, ())]
        return [
            count
            for count in counts
            if (limit := self.n1_limit(accelerator, count, region)) and limit.fits(machine)
        ]

    def accelerator_options(
        self, machine: MachineType, region: str | None = None
    ) -> dict[str, list[int]]:
        """Every accelerator this machine takes (in ``region``), with the counts allowed."""
        if machine.takes_n1_gpus:
            options = {a: self.n1_counts(machine, a, region) for a in self.n1_limits}
            return {a: counts for a, counts in options.items() if counts}
        return {a: list(counts) for a, counts in machine.built_in.items()}

    def offers(self, accelerator: str, region: str) -> bool | None:
        """Whether ``accelerator`` is offered in ``region``; None where the data does not say."""
        if region not in self.gpu_regions:
            return None
        return region in self.accelerators[accelerator].regions

    def left_out(self, name: str) -> tuple[str, str] | None:
        """The enum name of an accelerator deliberately not offered, and why; else None.

        ``name`` is an enum name or short name in any case, with ``-`` or ``_``.
        """
        key = self.not_offered_names.get(name.strip().upper().replace("-", "_"))
        return None if key is None else (key, self.not_offered[key])


def _read_json(name: str) -> dict[str, Any]:
    text = resources.files("jupyter_mlp.catalog").joinpath("data", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _gpu_facts() -> dict[str, Any]:
    return _read_json("gpus.json")


@cache
def _prices() -> dict[str, Any]:
    return _read_json("prices.json")


@cache
def _aliases() -> dict[str, str]:
    facts = _gpu_facts()
    aliases: dict[str, str] = {}
    for key, acc in facts["accelerators"].items():
        aliases[acc["short_name"].upper()] = key
        if acc["compute_name"].startswith("nvidia-"):
            aliases[acc["compute_name"].upper()] = key
    aliases.update({k.upper(): v for k, v in facts["aliases"].items()})
    return aliases


def __getattr__(name: str) -> Any:
    if name == "ACCELERATOR_ALIASES":
        return _aliases()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def load_catalog(backend: str) -> BackendCatalog:
    """The parsed catalog of ``backend`` ("vertex" or "dataflow"), loaded once."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    data = _read_json(f"{backend}.json")
    facts = _gpu_facts()
    accelerators = {
        key: Accelerator(
            type=key,
            short_name=facts["accelerators"][key]["short_name"],
            compute_name=facts["accelerators"][key]["compute_name"],
            memory_gb=facts["accelerators"][key]["memory_gb"],
            regions=tuple(facts["accelerators"][key]["regions"]),
            zones=tuple(facts["accelerators"][key].get("zones", ())),
        )
        for key in data["accelerators"]
    }
    n1 = facts["n1_attachable"]
    n1_limits = {
        key: tuple(N1Limit(*row) for row in rows)
        for key, rows in n1["limits"].items()
        if key in accelerators
    }
    zonal_limits = {
        key: tuple(
            N1Limit(z["count"], z["max_vcpus"], z["max_memory_gb"], tuple(z["zones"])) for z in rows
        )
        for key, rows in n1.get("zonal_limits", {}).items()
        if key in accelerators
    }
    conditions = data.get("conditions", {})
    not_offered = data.get("not_offered", {})
    machines: dict[str, MachineType] = {}
    for family, spec in data["families"].items():
        for m in spec["machine_types"]:
            machines[m["name"]] = MachineType(
                name=m["name"],
                family=family,
                vcpus=m["vcpus"],
                memory_gb=m["memory_gb"],
                built_in={a["type"]: tuple(a["counts"]) for a in m.get("accelerators", [])},
                takes_n1_gpus=spec.get("gpus") == "attachable",
                conditions=conditions[m["conditions"]]["text"] if "conditions" in m else None,
            )
    sources = {s["url"]: s for f in (data, facts, _prices()) for s in f["sources"]}
    return BackendCatalog(
        backend=backend,
        machine_types=machines,
        accelerators=accelerators,
        n1_limits=n1_limits,
        regions=tuple(data["regions"]),
        gpu_regions=tuple(facts["regions"]),
        default_region=data["default_region"],
        as_of=data["as_of"],
        sources=tuple(sources.values()),
        zonal_limits=zonal_limits,
        not_offered={key: entry["reason"] for key, entry in not_offered.items()},
        not_offered_names={
            name.upper().replace("-", "_"): key
            for key, entry in not_offered.items()
            for name in (key, entry["short_name"])
        },
    )


def normalize_accelerator(name: str) -> str:
    """The AcceleratorType enum name for ``name``.

    Accepts enum names (any case), short names (``T4``, ``A100-80GB``) and Compute Engine /
    Dataflow names (``nvidia-tesla-t4``). Raises ``ValueError`` naming the known short names.
    """
    key = name.strip().upper()
    known = _gpu_facts()["accelerators"]
    if key in known:
        return key
    if key.replace("-", "_") in known:
        return key.replace("-", "_")
    aliases = _aliases()
    if key in aliases:
        return aliases[key]
    short = ", ".join(a["short_name"] for a in known.values())
    raise ValueError(f"unknown accelerator {name!r}; known: {short}")


def accelerator_of(resources: dict[str, Any]) -> str | None:
    """The enum name of ``resources["accelerator_type"]``, None when unset.

    Raises ``ValueError`` for an unknown name (see :func:`normalize_accelerator`).
    """
    raw = resources.get("accelerator_type")
    if raw in (None, "", "ACCELERATOR_TYPE_UNSPECIFIED"):
        return None
    return normalize_accelerator(str(raw))


def region_or_default(catalog: BackendCatalog, region: str | None) -> str:
    return region or catalog.default_region


def price_multiplier(region: str) -> float | None:
    """How a region's list prices compare to the base region's; None where not known."""
    multiplier = _prices()["region_multipliers"].get(region)
    return float(multiplier) if multiplier is not None else None


def _billed_for_accelerators_only(catalog: BackendCatalog, machine: MachineType) -> str | None:
    """Why this machine's own vCPUs and memory are not billed (Dataflow TPU workers), or None."""
    rule = _prices()[catalog.backend].get("billed_for_accelerators_only", {}).get(machine.family)
    return None if rule is None else str(rule["why"])


def _price_key(catalog: BackendCatalog, machine: MachineType) -> str:
    """The key of a machine's price in prices.json: its name, or Dataflow's vCPU rate."""
    return "batch_vcpu_hour" if catalog.backend == "dataflow" else machine.name


def _unknown_reason(backend: str, item: str) -> str | None:
    """Why prices.json has no price for ``item``, when it says so."""
    groups = _prices()[backend].get("unknown", [])
    return next((str(g["reason"]) for g in groups if item in g["items"]), None)


def _price_caveat(backend: str, item: str) -> str | None:
    """What the user should know of a price: not known, or not read from Google's page."""
    reason = _unknown_reason(backend, item)
    if reason is not None:
        return f"price not known: {reason}"
    group = next((g for g in _prices()[backend]["provenance"] if item in g["items"]), None)
    if group is None or group["kind"] == "quoted":
        return None
    return f"{group['kind']}: {group['how']}"


def _machine_price(catalog: BackendCatalog, machine: MachineType, region: str) -> float | None:
    """Hourly price of the machine without accelerators, or None where unknown."""
    multiplier = price_multiplier(region)
    if multiplier is None:
        return None
    if _billed_for_accelerators_only(catalog, machine):
        return 0.0
    if catalog.backend == "dataflow":
        rates = _prices()["dataflow"]
        base = (
            machine.vcpus * rates["batch_vcpu_hour"]
            + machine.memory_gb * rates["batch_memory_gb_hour"]
        )
        return round(base * multiplier, 5)
    price = _prices()["vertex"]["machine_types"].get(machine.name)
    return None if price is None else round(price * multiplier, 5)


def _machine_caveat(catalog: BackendCatalog, machine: MachineType) -> str | None:
    return _billed_for_accelerators_only(catalog, machine) or _price_caveat(
        catalog.backend, _price_key(catalog, machine)
    )


def _accelerator_price(catalog: BackendCatalog, accelerator: str, region: str) -> float | None:
    """Hourly price of one unit of ``accelerator``, or None where unknown."""
    multiplier = price_multiplier(region)
    price = _prices()[catalog.backend]["accelerators"].get(accelerator)
    if multiplier is None or price is None:
        return None
    return round(price * multiplier, 5)


def catalog_view(backend: str, region: str | None = None) -> dict[str, Any]:
    """The JSON answer of ``GET /mlp/catalog?backend=&region=``.

    With ``region``, only the accelerators offered there (and machine types whose built-in
    accelerators are offered there) are listed, with the counts that fit there; prices are for
    ``region`` or the default region. In a region the accelerator facts do not cover
    (``gpu_regions``), every accelerator is listed: whether it is offered there is not known.
    Each machine type carries ``conditions`` (what the service requires before it runs it, or
    None) and each price a ``price_note`` (None when quoted from Google's page; otherwise "price
    not known: ..." or how it was derived). ``not_offered`` lists the accelerators deliberately
    left out, with why. Raises ``ValueError`` for an unknown backend or region.
    """
    catalog = load_catalog(backend)
    if region is not None and region not in catalog.regions:
        raise ValueError(
            f"unknown region {region!r} for {backend}; known: {', '.join(catalog.regions)}"
        )
    price_region = region_or_default(catalog, region)

    def offered(accelerator: str) -> bool:
        return region is None or catalog.offers(accelerator, region) is not False

    machine_types = []
    for machine in catalog.machine_types.values():
        options = catalog.accelerator_options(machine, region)
        if machine.built_in and not any(offered(a) for a in options):
            continue
        machine_types.append(
            {
                "name": machine.name,
                "family": machine.family,
                "vcpus": machine.vcpus,
                "memory_gb": machine.memory_gb,
                "accelerators": [
                    {"type": a, "counts": counts} for a, counts in options.items() if offered(a)
                ],
                "conditions": machine.conditions,
                "hourly_usd": _machine_price(catalog, machine, price_region),
                "price_note": _machine_caveat(catalog, machine),
            }
        )
    accelerators = [
        {
            "type": acc.type,
            "short_name": acc.short_name,
            "compute_name": acc.compute_name,
            "memory_gb": acc.memory_gb,
            "regions": list(acc.regions),
            "hourly_usd": _accelerator_price(catalog, acc.type, price_region),
            "price_note": _price_caveat(backend, acc.type),
        }
        for acc in catalog.accelerators.values()
        if offered(acc.type)
    ]
    return {
        "backend": backend,
        "region": region,
        "machine_types": machine_types,
        "accelerators": accelerators,
        "not_offered": [
            {"type": key, "reason": reason} for key, reason in catalog.not_offered.items()
        ],
        "regions": list(catalog.regions),
        "gpu_regions": list(catalog.gpu_regions),
        "default_region": catalog.default_region,
        "as_of": catalog.as_of,
        "prices_as_of": _prices()["as_of"],
        "prices_are_estimates": True,
        "sources": list(catalog.sources),
    }


def unpriced(backend: str, resources: dict[str, Any]) -> dict[str, str]:
    """What in ``resources`` has no known price, each with why.

    Empty when everything is priced, or when the machine type or accelerator is unknown
    (validation says so).
    """
    catalog = load_catalog(backend)
    machine = catalog.machine_types.get(str(resources.get("machine_type")))
    try:
        accelerator = accelerator_of(resources)
    except ValueError:
        return {}
    if machine is None:
        return {}
    missing: dict[str, str] = {}
    if not _billed_for_accelerators_only(catalog, machine):
        reason = _unknown_reason(backend, _price_key(catalog, machine))
        if reason is not None:
            missing[machine.name] = reason
    if accelerator in catalog.accelerators and resources.get("accelerator_count"):
        reason = _unknown_reason(backend, accelerator)
        if reason is not None:
            missing[accelerator] = reason
    return missing


def estimate_hourly_cost(
    backend: str, resources: dict[str, Any], region: str | None
) -> dict[str, Any] | None:
    """An estimated on-demand hourly cost of ``resources`` in ``region``, or None.

    Vertex AI: (machine + accelerators) x replica_count. Dataflow: (worker vCPU and memory at
    batch rates + accelerators) x max_workers, an upper bound since Dataflow scales between
    1 and max_workers. ``caveats`` names the items whose price was derived rather than read
    from Google's page. None when the machine type or accelerator is unknown or has no price
    (:func:`unpriced` says why); whether the combination is allowed is for
    ``validation.validate_resources`` to say.
    """
    catalog = load_catalog(backend)
    region = region_or_default(catalog, region)
    machine = catalog.machine_types.get(str(resources.get("machine_type")))
    try:
        accelerator = accelerator_of(resources)
    except ValueError:
        return None
    if machine is None or (accelerator is not None and accelerator not in catalog.accelerators):
        return None
    count = int(resources.get("accelerator_count") or 0)
    machine_price = _machine_price(catalog, machine, region)
    if machine_price is None:
        return None
    items: list[tuple[str, float]] = [(machine.name, machine_price)]
    caveats = {machine.name: _machine_caveat(catalog, machine)}
    if accelerator and count:
        unit = _accelerator_price(catalog, accelerator, region)
        if unit is None:
            return None
        items.append((f"{count} x {accelerator}", round(unit * count, 5)))
        caveats[accelerator] = _price_caveat(backend, accelerator)
    per_node = sum(price for _, price in items)
    if backend == "vertex":
        nodes = int(resources.get("replica_count", 1))
        note = f"{nodes} replica(s) x {per_node:.4f} USD/h"
    else:
        nodes = int(resources.get("max_workers") or 1)
        note = (
            f"upper bound: {nodes} worker(s) at max_workers x {per_node:.4f} USD/h; "
            "excludes Shuffle, Streaming Engine and disks"
        )
    return {
        "usd_per_hour": round(per_node * nodes, 4),
        "as_of": _prices()["as_of"],
        "estimate": True,
        "region": region,
        "breakdown": [{"item": item, "usd_per_hour": price} for item, price in items],
        "note": note,
        "caveats": [f"{item}: {caveat}" for item, caveat in caveats.items() if caveat],
    }
