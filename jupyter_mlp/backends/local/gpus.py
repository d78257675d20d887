"""The GPUs, CPUs and memory of this machine, as the local backend sees them."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LocalGpu:
    """One local GPU. `id` is what goes into CUDA_VISIBLE_DEVICES."""

    id: str
    name: str = ""
    uuid: str = ""
    memory_total_mb: int | None = None
    memory_used_mb: int | None = None
    utilization_percent: int | None = None
    source: str = "nvml"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def detect_gpus() -> tuple[list[LocalGpu], str]:
    """GPUs found through NVML, and a word on how the look went; no GPUs is an empty list."""
    try:
        import pynvml  # from nvidia-ml-py; imported here so servers without GPUs never pay for it
    except ImportError:
        return [], "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return [], f"NVML is not available ({exc}): no NVIDIA driver on this machine"
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                utilization: int | None = pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
            except pynvml.NVMLError:
                utilization = None
            gpus.append(
                LocalGpu(
                    id=str(index),
                    name=_text(pynvml.nvmlDeviceGetName(handle)),
                    uuid=_text(pynvml.nvmlDeviceGetUUID(handle)),
                    memory_total_mb=int(memory.total) // 2**20,
                    memory_used_mb=int(memory.used) // 2**20,
                    utilization_percent=utilization,
                )
            )
        return gpus, f"{len(gpus)} GPU(s) found through NVML"
    finally:
        pynvml.nvmlShutdown()


def gpu_inventory(override: list[str] | None) -> tuple[list[LocalGpu], str]:
    """The configured device ids when set (no detection), else what NVML finds."""
    if override is not None:
        return [LocalGpu(id=str(i), source="config") for i in override], "from configuration"
    return detect_gpus()


def machine_summary() -> dict[str, Any]:
    """CPU count and memory of this machine."""
    try:
        memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError):
        memory_mb = None
    return {"cpu_count": os.cpu_count(), "memory_mb": memory_mb}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
