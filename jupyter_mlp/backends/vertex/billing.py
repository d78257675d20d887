"""Vertex AI custom training's prices in Google's Cloud Billing Catalog (see
``catalog.billing``).

No public mapping of Vertex training SKUs exists; this one follows how Google bills a job:
- on demand, Vertex AI's own SKUs: "Vertex AI: Training/Pipelines on A3 Instance Core in Iowa"
  (per vCPU-hour), "... on A3 Instance RAM in Iowa" (per GiB-hour), "... on NVIDIA H100 80GB in
  Iowa" (per GPU-hour), "... on SSD backed PD Capacity" (per GiB-month);
- Spot and Flex-start, Compute Engine's SKUs ("Spot Preemptible A2 Instance Core running in
  Americas", "DWS Defined Duration A3 Core running in Americas", "Nvidia H100 80GB GPU attached
  to DWS Defined Duration VMs running in Americas") plus Vertex AI's management fee on the same
  parts ("Vertex AI: Training/Pipelines management fee on A3 Instance Core in Iowa").
A machine's price is its vCPUs and memory at its series' rates; a series with a sub-series in
the SKUs (A3 Mega, A3 Ultra) is read under that name. Committed-use SKUs are not list prices.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...catalog.billing import UNMAPPED, Reading, Sku, accelerator_named
from ...catalog.hardware import BackendCatalog, MachineType

_TRAINING = re.compile(
    r"^Vertex AI: Training/Pipelines (?P<fee>management fee )?on (?P<what>.+?)"
    r"(?: running)? in (?P<where>[^,]+)$",
    re.IGNORECASE,
)
_TRAINING_DISK = re.compile(
    r"^Vertex AI: Training/Pipelines on (?P<disk>.+?) Capacity\b", re.IGNORECASE
)
_PART = re.compile(
    r"^(?P<series>[A-Z]\d[A-Z]?(?: Mega| Ultra)?)(?: Predefined)?(?: Instance)? "
    r"(?P<part>Core|RAM)$",
    re.IGNORECASE,
)
_COMPUTE = re.compile(
    r"^(?P<how>Spot Preemptible|DWS Defined Duration) (?P<what>.+?) running in ",
    re.IGNORECASE,
)
_COMPUTE_GPU = re.compile(
    r"^(?P<gpu>.+?) GPU attached to (?P<how>Spot Preemptible|DWS Defined Duration) VMs "
    r"running in ",
    re.IGNORECASE,
)
_DISKS = {
    "ssd backed pd": "pd-ssd",
    "storage pd": "pd-standard",
    "hyperdisk balanced": "hyperdisk-balanced",
}
_STRATEGIES = {"spot preemptible": "spot", "dws defined duration": "flex_start"}
# The machine types' series words that name a sub-series in the SKUs.
_SUB_SERIES = {"megagpu": "MEGA", "ultragpu": "ULTRA"}


def series_of(machine: MachineType) -> str:
    """The series a machine's vCPUs and memory are billed under, as SKUs name it ("A3 MEGA")."""
    series, _, shape = machine.name.partition("-")
    sub = _SUB_SERIES.get(shape.split("-")[0]) if series == "a3" else None
    return f"{series.upper()} {sub}" if sub else series.upper()


class VertexSkus:
    """The Billing Catalog's SKUs of Vertex AI training, onto ``vertex`` price-file keys."""

    services = ("Vertex AI", "Compute Engine")

    def read(self, sku: Sku) -> Reading | None:
        if sku.usage_type.startswith("Commit"):
            return None
        if sku.service == "Vertex AI":
            return _training(sku)
        return _compute(sku)

    def section(
        self, rates: Mapping[tuple[str, ...], float], catalog: BackendCatalog
    ) -> dict[str, Any]:
        section: dict[str, Any] = {}
        for strategy, prefix in (
            ("on_demand", ""),
            ("spot", "spot_"),
            ("flex_start", "flex_start_"),
        ):
            section[f"{prefix}machine_types"] = {
                machine.name: price
                for machine in catalog.machine_types.values()
                if (price := _machine(rates, strategy, machine)) is not None
            }
            section[f"{prefix}accelerators"] = {
                accelerator: price
                for accelerator in catalog.accelerators
                if (price := _accelerator(rates, strategy, accelerator)) is not None
            }
        section["disks"] = {
            key[1]: round(price, 6) for key, price in rates.items() if key[0] == "disk"
        }
        return section


def _training(sku: Sku) -> Reading | None:
    """A Vertex AI SKU: training's own price or management fee, or no use (prediction...)."""
    if not sku.description.lower().startswith("vertex ai: training/pipelines"):
        return None
    disk = _TRAINING_DISK.match(sku.description)
    if disk and (kind := _DISKS.get(disk["disk"].lower())) and sku.per_gb_month() is not None:
        return ("disk", kind), sku.per_gb_month() or 0.0
    found = _TRAINING.match(sku.description)
    if found is None:
        return UNMAPPED
    strategy = "fee" if found["fee"] else "on_demand"
    return _part_or_accelerator(strategy, found["what"], sku)


def _compute(sku: Sku) -> Reading | None:
    """A Compute Engine SKU of Spot or Flex-start (DWS) VMs; others are of no use here."""
    gpu = _COMPUTE_GPU.match(sku.description)
    if gpu:
        return _part_or_accelerator(_STRATEGIES[gpu["how"].lower()], f"{gpu['gpu']} GPU", sku)
    found = _COMPUTE.match(sku.description)
    if found is None:
        return None
    return _part_or_accelerator(_STRATEGIES[found["how"].lower()], found["what"], sku)


def _part_or_accelerator(strategy: str, what: str, sku: Sku) -> Reading:
    """A series' vCPU or memory rate, or an accelerator's, read from ``what`` the SKU prices."""
    part = _PART.match(what.strip())
    if part:
        unit = "h" if part["part"].lower() == "core" else "GiBy.h"
        if sku.unit != unit:
            return UNMAPPED
        return (strategy, part["part"].lower(), part["series"].upper()), sku.price
    accelerator = accelerator_named(what)
    if accelerator is None or sku.unit != "h":
        return UNMAPPED
    return (strategy, "accelerator", accelerator), sku.price


def _machine(
    rates: Mapping[tuple[str, ...], float], strategy: str, machine: MachineType
) -> float | None:
    """A machine's hourly price (its vCPUs and memory) under ``strategy``; None unless every
    part is known (Spot and Flex-start: Compute Engine's price and Vertex AI's fee)."""
    series = series_of(machine)
    total = 0.0
    for part, amount in (("core", machine.vcpus), ("ram", machine.memory_gb)):
        for kind in (strategy,) if strategy == "on_demand" else (strategy, "fee"):
            rate = rates.get((kind, part, series))
            if rate is None:
                return None
            total += rate * amount
    return round(total, 6)


def _accelerator(
    rates: Mapping[tuple[str, ...], float], strategy: str, accelerator: str
) -> float | None:
    """One accelerator's hourly price under ``strategy``; None unless every part is known."""
    kinds = (strategy,) if strategy == "on_demand" else (strategy, "fee")
    found = [rates.get((kind, "accelerator", accelerator)) for kind in kinds]
    if any(rate is None for rate in found):
        return None
    return round(sum(rate for rate in found if rate is not None), 6)


MAPPING = VertexSkus()
