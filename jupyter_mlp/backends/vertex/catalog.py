"""Vertex AI's hardware catalog (``data/vertex.json``) and list prices: a machine type is priced
by its name, and a job pays for each of its replicas."""

from __future__ import annotations

from typing import Any, ClassVar

from ...catalog.hardware import MachineType
from ...catalog.pricing import CloudPricing, register
from ...catalog.problems import error, whole_number


class VertexPricing(CloudPricing):
    """Custom training's machines, accelerators and prices."""

    name: ClassVar[str] = "vertex"
    package: ClassVar[str] = __package__ or ""

    def price_key(self, machine: MachineType) -> str:
        return machine.name

    def base_machine_price(self, machine: MachineType) -> float | None:
        price = self.rates["machine_types"].get(machine.name)
        return None if price is None else float(price)

    def nodes(self, resources: dict[str, Any]) -> int:
        return int(resources.get("replica_count", 1))

    def cost_note(self, nodes: int, per_node: float) -> str:
        return f"{nodes} replica(s) x {per_node:.4f} USD/h"

    def boot_disk(self, resources: dict[str, Any]) -> tuple[str, int] | None:
        # Every replica has a boot disk; unset fields are Vertex AI's defaults.
        default = self.rates.get("default_boot_disk")
        if default is None:
            return None
        kind = resources.get("boot_disk_type") or default["type"]
        return str(kind), int(resources.get("boot_disk_size_gb") or default["size_gb"])

    def scale_problems(self, resources: dict[str, Any]) -> list[dict[str, Any]]:
        replicas = whole_number(resources.get("replica_count", 1))
        if replicas is None or replicas < 1:
            return [
                error(
                    "resources.replica_count",
                    f"replica_count must be a whole number >= 1, "
                    f"not {resources.get('replica_count')!r}",
                    ["1"],
                )
            ]
        return []


PRICING = register(VertexPricing())
