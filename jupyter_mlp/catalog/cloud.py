"""The cloud catalog's facade: which machine takes which accelerator, where, and for how much.

Each cloud backend's package holds its hardware file and its pricing (a
:class:`~.pricing.CloudPricing` it registers); this module finds it by the backend's name and
answers ``GET /mlp/catalog`` (:func:`catalog_view`), names what has no price (:func:`unpriced`)
and estimates a job's hourly cost (:func:`estimate_hourly_cost`). Checking a job's resources
is ``validation.validate_resources``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .hardware import (
    REGION_NAME,
    Accelerator,
    BackendCatalog,
    MachineType,
    N1Limit,
    accelerator_aliases,
    accelerator_of,
    normalize_accelerator,
    region_or_default,
)
from .pricing import CloudPricing, price_multiplier, prices, registered

__all__ = [
    "REGION_NAME",
    "Accelerator",
    "BackendCatalog",
    "MachineType",
    "N1Limit",
    "accelerator_of",
    "catalog_view",
    "cloud_backends",
    "estimate_hourly_cost",
    "load_catalog",
    "normalize_accelerator",
    "price_multiplier",
    "pricing_of",
    "region_or_default",
    "unpriced",
]

# Filled lazily from data/gpus.json by the module __getattr__ below.
ACCELERATOR_ALIASES: dict[str, str]


def __getattr__(name: str) -> Any:
    if name == "ACCELERATOR_ALIASES":
        return accelerator_aliases()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _import_backends() -> None:
    from ..backends import backend_classes

    backend_classes()


def cloud_backends() -> dict[str, CloudPricing]:
    """Every installed backend that has a cloud catalog, by name.

    A backend's package registers its catalog when imported, so the installed backends are
    imported first (their modules only, not their SDKs).
    """
    _import_backends()
    return registered()


def pricing_of(backend: str) -> CloudPricing:
    """The catalog and prices of ``backend``; ``ValueError`` when it has none."""
    found = registered().get(backend) or cloud_backends().get(backend)
    if found is None:
        known = ", ".join(cloud_backends())
        raise ValueError(f"unknown backend {backend!r}; known: {known}")
    return found


def load_catalog(backend: str) -> BackendCatalog:
    """The parsed catalog of ``backend`` (a cloud backend's name), loaded once."""
    return pricing_of(backend).catalog


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
    pricing = pricing_of(backend)
    catalog = pricing.catalog
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
                "hourly_usd": pricing.machine_price(machine, price_region),
                "price_note": pricing.machine_caveat(machine),
            }
        )
    accelerators = [
        {
            "type": acc.type,
            "short_name": acc.short_name,
            "compute_name": acc.compute_name,
            "memory_gb": acc.memory_gb,
            "regions": list(acc.regions),
            "hourly_usd": pricing.accelerator_price(acc.type, price_region),
            "price_note": pricing.price_caveat(acc.type),
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
        "prices_as_of": prices()["as_of"],
        "prices_are_estimates": True,
        "sources": list(catalog.sources),
    }


def unpriced(backend: str, resources: dict[str, Any]) -> dict[str, str]:
    """What in ``resources`` has no known price, each with why.

    Empty when everything is priced, or when the machine type or accelerator is unknown
    (validation says so).
    """
    pricing = pricing_of(backend)
    catalog = pricing.catalog
    machine = catalog.machine_types.get(str(resources.get("machine_type")))
    try:
        accelerator = accelerator_of(resources)
    except ValueError:
        return {}
    if machine is None:
        return {}
    missing: dict[str, str] = {}
    if not pricing.billed_for_accelerators_only(machine):
        reason = pricing.unknown_reason(pricing.price_key(machine))
        if reason is not None:
            missing[machine.name] = reason
    if accelerator in catalog.accelerators and resources.get("accelerator_count"):
        reason = pricing.unknown_reason(accelerator)
        if reason is not None:
            missing[accelerator] = reason
    return missing


# What a spec's `scheduling.strategy` (or Dataflow's FlexRS) is called in an estimate's words.
STRATEGY_NAMES = {"spot": "Spot", "flex_start": "Flex-start", "flexrs": "FlexRS"}
# Google prices disks per GB-month of 730 hours.
HOURS_PER_MONTH = 730


def estimate_hourly_cost(
    backend: str, resources: dict[str, Any], region: str | None, strategy: str = "standard"
) -> dict[str, Any] | None:
    """An estimated hourly cost of ``resources`` in ``region`` under ``strategy``, or None.

    (machine + accelerators + boot disk) x the machines the backend counts (Vertex AI's
    replicas, at most Dataflow's max_workers). ``strategy`` is ``standard`` (on demand), or a
    discounted one (``spot``, ``flex_start``, Dataflow's ``flexrs``) priced from the price
    file's ``<strategy>_machine_types`` / ``<strategy>_accelerators``; an item without such a
    price is counted at its on-demand price and ``caveats`` says so (never silently).
    ``caveats`` also names the items whose price was derived rather than read from Google's
    page. None when the machine type or accelerator is unknown or has no on-demand price
    (:func:`unpriced` says why); whether the combination is allowed is for
    ``validation.validate_resources`` to say.
    """
    pricing = pricing_of(backend)
    catalog = pricing.catalog
    region = region_or_default(catalog, region)
    machine = catalog.machine_types.get(str(resources.get("machine_type")))
    try:
        accelerator = accelerator_of(resources)
    except ValueError:
        return None
    if machine is None or (accelerator is not None and accelerator not in catalog.accelerators):
        return None
    count = int(resources.get("accelerator_count") or 0)
    machine_price = pricing.machine_price(machine, region)
    if machine_price is None:
        return None
    items: list[tuple[str, float]] = [(machine.name, machine_price)]
    caveats = {machine.name: pricing.machine_caveat(machine)}
    if accelerator and count:
        unit = pricing.accelerator_price(accelerator, region)
        if unit is None:
            return None
        items.append((f"{count} x {accelerator}", round(unit * count, 5)))
        caveats[accelerator] = pricing.price_caveat(accelerator)
    notes = [f"{item}: {caveat}" for item, caveat in caveats.items() if caveat]
    if strategy != "standard":
        items, discount_notes = _at_strategy(pricing, machine, accelerator, count, region, strategy)
        notes += discount_notes
    disk_item, disk_notes = _boot_disk(pricing, resources, region)
    items += disk_item
    per_node = sum(price for _, price in items)
    nodes = pricing.nodes(resources)
    return {
        "usd_per_hour": round(per_node * nodes, 4),
        "as_of": prices()["as_of"],
        "estimate": True,
        "region": region,
        "strategy": strategy,
        "breakdown": [{"item": item, "usd_per_hour": price} for item, price in items],
        "note": pricing.cost_note(nodes, per_node),
        "caveats": notes + disk_notes,
    }


def _at_strategy(
    pricing: CloudPricing,
    machine: MachineType,
    accelerator: str | None,
    count: int,
    region: str,
    strategy: str,
) -> tuple[list[tuple[str, float]], list[str]]:
    """The machine and accelerator items at ``strategy``'s prices, and what to know of them:
    which items were counted on demand for want of a price, which prices were derived."""
    name = STRATEGY_NAMES.get(strategy, strategy)
    multiplier = price_multiplier(region) or 1.0
    wanted: list[tuple[str, str, int, float | None, float | None]] = [
        (
            machine.name,
            pricing.strategy_price_key(machine, strategy),
            1,
            0.0
            if pricing.billed_for_accelerators_only(machine)
            else pricing.strategy_machine_price(machine, strategy),
            pricing.machine_price(machine, region),
        )
    ]
    if accelerator and count:
        wanted.append(
            (
                f"{count} x {accelerator}",
                accelerator,
                count,
                pricing.strategy_accelerator_price(accelerator, strategy),
                pricing.accelerator_price(accelerator, region),
            )
        )
    items: list[tuple[str, float]] = []
    missing: list[str] = []
    derived: list[str] = []
    for label, key, units, discounted, on_demand in wanted:
        if discounted is None:
            missing.append(key)
            items.append((label, round((on_demand or 0.0) * units, 5)))
            continue
        items.append((f"{label} ({name})", round(discounted * multiplier * units, 5)))
        how = _strategy_provenance(pricing, key, strategy)
        if how:
            derived.append(f"{key} ({name}): {how}")
    notes = list(derived)
    if missing:
        why = pricing.rates.get("strategy_unknown", {}).get(strategy, "not in the price file")
        notes.append(
            f"{name} price not known for {', '.join(missing)}: {why}; counted at the "
            "on-demand price, so the estimate is an upper bound"
        )
    return items, notes


def _strategy_provenance(pricing: CloudPricing, item: str, strategy: str) -> str | None:
    """How a strategy's price of ``item`` was made when not read from Google's page."""
    group = next(
        (
            g
            for g in pricing.rates.get("provenance", [])
            if g.get("strategy") == strategy and item in g["items"]
        ),
        None,
    )
    if group is None or group["kind"] in ("quoted", "billing-catalog"):
        return None  # read from Google: no caveat
    return f"{group['kind']}: {group['how']}"


def _boot_disk(
    pricing: CloudPricing, resources: dict[str, Any], region: str
) -> tuple[list[tuple[str, float]], list[str]]:
    """Each machine's boot disk as an item of the estimate, or why it is left out."""
    disk = pricing.boot_disk(resources)
    if disk is None:
        return [], []
    kind, size = disk
    per_gb_month = pricing.rates.get("disks", {}).get(kind)
    if per_gb_month is None:
        why = pricing.rates.get("disks_unknown", {}).get(kind, "not in the price file")
        return [], [f"{kind} disk price not known: {why}; the disk is not counted"]
    hourly = per_gb_month * size / HOURS_PER_MONTH * (price_multiplier(region) or 1.0)
    return [(f"{size} GB {kind} disk", round(hourly, 5))], []
