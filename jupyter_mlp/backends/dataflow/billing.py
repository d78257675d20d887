"""Dataflow's prices in Google's Cloud Billing Catalog (see ``catalog.billing``).

Dataflow bills its workers' vCPUs and memory at its own rates by kind of job ("vCPU Time Batch
Iowa" per vCPU-hour, "RAM Time Batch Iowa" per GiB-hour; FlexRS and streaming have their own),
their persistent disks ("Local Disk Time PD Standard Iowa", per GiB-hour) and their GPUs.
Shuffle, Streaming Engine, snapshots and Prime's compute units are not in our estimates;
committed-use SKUs are not list prices.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...catalog.billing import UNMAPPED, Reading, Sku, accelerator_named
from ...catalog.hardware import BackendCatalog

_WORKER = re.compile(r"^(?P<part>vCPU|RAM) Time (?P<kind>Batch|Streaming|FlexRS)\b", re.I)
_DISK = re.compile(r"^Local Disk Time (?P<disk>PD Standard|PD SSD)\b", re.IGNORECASE)
_GPU = re.compile(r"\bGPU\b", re.IGNORECASE)
_NOT_ESTIMATED = re.compile(r"Shuffle|Streaming Engine|Snapshot|DCU|Data Compute Unit", re.I)
_DISKS = {"pd standard": "pd-standard", "pd ssd": "pd-ssd"}
_SCALARS = {
    ("batch", "vcpu"): "batch_vcpu_hour",
    ("batch", "ram"): "batch_memory_gb_hour",
    ("flexrs", "vcpu"): "flexrs_vcpu_hour",
    ("flexrs", "ram"): "flexrs_memory_gb_hour",
}


class DataflowSkus:
    """The Billing Catalog's SKUs of Dataflow, onto ``dataflow`` price-file keys."""

    services = ("Dataflow", "Cloud Dataflow")

    def read(self, sku: Sku) -> Reading | None:
        if sku.usage_type.startswith("Commit") or _NOT_ESTIMATED.search(sku.description):
            return None
        worker = _WORKER.match(sku.description)
        if worker:
            unit = "h" if worker["part"].lower() == "vcpu" else "GiBy.h"
            if sku.unit != unit:
                return UNMAPPED
            return ("worker", worker["kind"].lower(), worker["part"].lower()), sku.price
        disk = _DISK.match(sku.description)
        monthly = sku.per_gb_month()
        if disk and monthly is not None:
            return ("disk", _DISKS[disk["disk"].lower()]), monthly
        accelerator = accelerator_named(sku.description) if _GPU.search(sku.description) else None
        if accelerator is not None and sku.unit == "h":
            return ("accelerator", accelerator), sku.price
        return UNMAPPED

    def section(
        self, rates: Mapping[tuple[str, ...], float], catalog: BackendCatalog
    ) -> dict[str, Any]:
        section: dict[str, Any] = {
            name: rates[("worker", *key)]
            for key, name in _SCALARS.items()
            if ("worker", *key) in rates
        }
        section["accelerators"] = {
            key[1]: price
            for key, price in rates.items()
            if key[0] == "accelerator" and key[1] in catalog.accelerators
        }
        section["disks"] = {
            key[1]: round(price, 6) for key, price in rates.items() if key[0] == "disk"
        }
        return section


MAPPING = DataflowSkus()
