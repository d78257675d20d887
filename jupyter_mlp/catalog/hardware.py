"""The cloud hardware catalog's shared part: its types, the GPU facts, how a file is read.

Every cloud backend describes what it offers in a JSON file of its own package (machine families,
the accelerators it takes, regions, conditions); the GPU facts shared by all (each accelerator's
names, memory, regions and zones, and how many attach to an N1 machine) live in this package's
``data/gpus.json``. Accelerators are named by the
``google.cloud.aiplatform_v1.types.AcceleratorType`` enum; short names such as ``T4`` and
Compute Engine names such as ``nvidia-tesla-t4`` are accepted everywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

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
    """Everything one cloud backend offers."""

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


def read_json(file: Traversable) -> dict[str, Any]:
    """A data file's JSON object."""
    data: dict[str, Any] = json.loads(file.read_text("utf-8"))
    return data


def shared_file(name: str) -> Traversable:
    """A data file shared by every cloud backend (``gpus.json``, ``prices.json``)."""
    return resources.files("jupyter_mlp.catalog").joinpath("data", name)


@cache
def gpu_facts() -> dict[str, Any]:
    """The shared GPU facts (``data/gpus.json``), loaded once."""
    return read_json(shared_file("gpus.json"))


@cache
def accelerator_aliases() -> dict[str, str]:
    """Every other name of an accelerator (upper case), mapped to its enum name."""
    facts = gpu_facts()
    aliases: dict[str, str] = {}
    for key, acc in facts["accelerators"].items():
        aliases[acc["short_name"].upper()] = key
        if acc["compute_name"].startswith("nvidia-"):
            aliases[acc["compute_name"].upper()] = key
    aliases.update({k.upper(): v for k, v in facts["aliases"].items()})
    return aliases


def _accelerators(keys: list[str]) -> dict[str, Accelerator]:
    known = gpu_facts()["accelerators"]
    return {
        key: Accelerator(
            type=key,
            short_name=known[key]["short_name"],
            compute_name=known[key]["compute_name"],
            memory_gb=known[key]["memory_gb"],
            regions=tuple(known[key]["regions"]),
            zones=tuple(known[key].get("zones", ())),
        )
        for key in keys
    }


def _machine_types(data: dict[str, Any]) -> dict[str, MachineType]:
    conditions = data.get("conditions", {})
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
    return machines


def parse_catalog(
    backend: str, data: dict[str, Any], sources: list[dict[str, Any]]
) -> BackendCatalog:
    """The catalog of ``backend`` from its data file's JSON and the shared GPU facts.

    ``sources`` are cited besides the file's and the GPU facts' own (a price file's, say).
    """
    facts = gpu_facts()
    accelerators = _accelerators(list(data["accelerators"]))
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
    not_offered = data.get("not_offered", {})
    cited = {s["url"]: s for s in [*data["sources"], *facts["sources"], *sources]}
    return BackendCatalog(
        backend=backend,
        machine_types=_machine_types(data),
        accelerators=accelerators,
        n1_limits=n1_limits,
        regions=tuple(data["regions"]),
        gpu_regions=tuple(facts["regions"]),
        default_region=data["default_region"],
        as_of=data["as_of"],
        sources=tuple(cited.values()),
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
    known = gpu_facts()["accelerators"]
    if key in known:
        return key
    if key.replace("-", "_") in known:
        return key.replace("-", "_")
    aliases = accelerator_aliases()
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
    """``region``, or the backend's default region when None."""
    return region or catalog.default_region
