"""Dataflow's hardware catalog (``data/dataflow.json``) and list prices: a worker is priced by
its vCPUs and memory at batch rates, and a job pays for at most ``max_workers`` of them."""

from __future__ import annotations

from typing import Any, ClassVar

from ...catalog.hardware import MachineType
from ...catalog.pricing import CloudPricing, register
from ...catalog.problems import error, whole_number


class DataflowPricing(CloudPricing):
    """Dataflow workers' machines, accelerators and prices."""

    name: ClassVar[str] = "dataflow"
    package: ClassVar[str] = __package__ or ""

    def price_key(self, machine: MachineType) -> str:
        return "batch_vcpu_hour"

    def base_machine_price(self, machine: MachineType) -> float | None:
        return float(
            machine.vcpus * self.rates["batch_vcpu_hour"]
            + machine.memory_gb * self.rates["batch_memory_gb_hour"]
        )

    def strategy_price_key(self, machine: MachineType, strategy: str) -> str:
        return f"{strategy}_vcpu_hour"

    def strategy_machine_price(self, machine: MachineType, strategy: str) -> float | None:
        # FlexRS (strategy "flexrs") bills worker vCPU and memory at rates of its own.
        vcpu = self.rates.get(f"{strategy}_vcpu_hour")
        memory = self.rates.get(f"{strategy}_memory_gb_hour")
        if vcpu is None or memory is None:
            return None
        return float(machine.vcpus * vcpu + machine.memory_gb * memory)

    def boot_disk(self, resources: dict[str, Any]) -> tuple[str, int] | None:
        # Workers' disks are standard persistent disks; Dataflow picks the size when unset.
        default = self.rates.get("default_worker_disk_gb")
        if default is None:
            return None
        return "pd-standard", int(resources.get("boot_disk_size_gb") or default)

    def nodes(self, resources: dict[str, Any]) -> int:
        return int(resources.get("max_workers") or 1)

    def cost_note(self, nodes: int, per_node: float) -> str:
        return (
            f"upper bound: {nodes} worker(s) at max_workers x {per_node:.4f} USD/h; "
            "excludes Shuffle and Streaming Engine"
        )

    def scale_problems(self, resources: dict[str, Any]) -> list[dict[str, Any]]:
        raw = resources.get("max_workers")
        workers = whole_number(raw)
        if raw is not None and (workers is None or workers < 1):
            return [
                error(
                    "resources.max_workers",
                    f"max_workers must be a whole number >= 1 or unset, not {raw!r}",
                    ["1"],
                )
            ]
        return []


PRICING = register(DataflowPricing())
