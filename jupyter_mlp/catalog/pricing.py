"""What a cloud backend's package supplies the catalog: its hardware file, its list prices and
its scale, behind one interface the facade (``catalog.cloud``) reads.

Each cloud backend subclasses :class:`CloudPricing` in its own ``catalog`` module and registers
the instance with :func:`register` when its package is imported; nothing here names a backend.
The list prices live in this package's ``data/prices.json``, one section per backend, with the
region multipliers all backends share; prices refreshed from Google's Cloud Billing Catalog API
(``refreshed``) are laid over them, per region.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from functools import cache, cached_property, lru_cache
from importlib import resources
from typing import Any, ClassVar

from .hardware import BackendCatalog, MachineType, parse_catalog, read_json, shared_file
from .refreshed import PROVENANCE_KIND, layer, read_refreshed, refreshed_path, regional, signature

# Kinds of provenance whose figures were read from Google, not derived: no caveat is shown.
READ_KINDS = ("quoted", PROVENANCE_KIND)


def prices() -> dict[str, Any]:
    """The list prices: ``data/prices.json`` with the refreshed prices of the base region over
    it (see ``refreshed.layer``). Loaded again only when a refresh lands."""
    return _layered(signature(refreshed_path()))[0]


def regional_rates(backend: str, region: str) -> dict[str, Any] | None:
    """``backend``'s section of the price file as priced in ``region``, when a refresh read
    prices there (other than the base region's, which :func:`prices` already holds)."""
    return _regional(signature(refreshed_path()), backend, region)


@lru_cache(maxsize=64)
def _regional(
    file: tuple[str, int, int] | None, backend: str, region: str
) -> dict[str, Any] | None:
    table, refreshed = _layered(file)
    if refreshed is None or region == table["base_region"] or backend not in table:
        return None
    return regional(table[backend], refreshed, backend, region, price_multiplier(region))


@lru_cache(maxsize=2)
def _layered(file: tuple[str, int, int] | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    refreshed = read_refreshed(refreshed_path()) if file is not None else None
    return layer(_shipped(), refreshed), refreshed


@cache
def _shipped() -> dict[str, Any]:
    return read_json(shared_file("prices.json"))


def forget_prices() -> None:
    """Read the price files again at the next look (a refresh landed)."""
    _layered.cache_clear()
    _regional.cache_clear()


def price_multiplier(region: str) -> float | None:
    """How a region's list prices compare to the base region's; None where not known."""
    multiplier = prices()["region_multipliers"].get(region)
    return float(multiplier) if multiplier is not None else None


class CloudPricing(ABC):
    """One cloud backend's catalog and prices: what differs between backends, and the rest."""

    #: The backend's name, as its entry point and jobs' ``backend`` say it.
    name: ClassVar[str]
    #: The package holding ``data/<name>.json``, the backend's hardware file.
    package: ClassVar[str]

    @cached_property
    def catalog(self) -> BackendCatalog:
        """The backend's parsed catalog, loaded once."""
        file = resources.files(self.package).joinpath("data", f"{self.name}.json")
        return parse_catalog(self.name, read_json(file), prices()["sources"])

    #: The section this pricing reads instead of the base region's (see :meth:`in_region`).
    _regional_rates: dict[str, Any] | None = None

    @property
    def rates(self) -> dict[str, Any]:
        """This backend's section of the price file (the base region's, unless this is the
        pricing of one region, :meth:`in_region`)."""
        if self._regional_rates is not None:
            return self._regional_rates
        section: dict[str, Any] = prices()[self.name]
        return section

    def in_region(self, region: str) -> tuple[CloudPricing, float | None]:
        """The pricing whose ``rates`` are ``region``'s, and the multiplier still to apply to
        them: where a refresh read ``region``'s prices, a copy reading them (multiplier 1);
        elsewhere this pricing and the region's multiplier (None where unknown)."""
        section = regional_rates(self.name, region)
        if section is None:
            return self, price_multiplier(region)
        priced = copy.copy(self)
        priced._regional_rates = section
        return priced, 1.0

    @abstractmethod
    def price_key(self, machine: MachineType) -> str:
        """The key of a machine's price in the price file."""

    @abstractmethod
    def base_machine_price(self, machine: MachineType) -> float | None:
        """A machine's hourly price in the base region without accelerators; None if unknown."""

    @abstractmethod
    def nodes(self, resources: dict[str, Any]) -> int:
        """How many machines ``resources`` pay for at most."""

    @abstractmethod
    def cost_note(self, nodes: int, per_node: float) -> str:
        """How an estimate of ``nodes`` machines at ``per_node`` USD/h is made up."""

    @abstractmethod
    def scale_problems(self, resources: dict[str, Any]) -> list[dict[str, Any]]:
        """Errors of the scale fields ``resources`` hold (replicas, workers)."""

    def billed_for_accelerators_only(self, machine: MachineType) -> str | None:
        """Why this machine's own vCPUs and memory are not billed, or None."""
        rule = self.rates.get("billed_for_accelerators_only", {}).get(machine.family)
        return None if rule is None else str(rule["why"])

    def unknown_reason(self, item: str) -> str | None:
        """Why the price file has no price for ``item``, when it says so."""
        groups = self.rates.get("unknown", [])
        return next((str(g["reason"]) for g in groups if item in g["items"]), None)

    def price_caveat(self, item: str) -> str | None:
        """What the user should know of a price: not known, or not read from Google's page."""
        reason = self.unknown_reason(item)
        if reason is not None:
            return f"price not known: {reason}"
        group = next(
            (g for g in self.rates["provenance"] if item in g["items"] and not g.get("strategy")),
            None,
        )
        if group is None or group["kind"] in READ_KINDS:
            return None
        return f"{group['kind']}: {group['how']}"

    def machine_price(self, machine: MachineType, region: str) -> float | None:
        """Hourly price of the machine without accelerators in ``region``, or None."""
        priced, multiplier = self.in_region(region)
        if multiplier is None:
            return None
        if self.billed_for_accelerators_only(machine):
            return 0.0
        base = priced.base_machine_price(machine)
        return None if base is None else round(base * multiplier, 5)

    def machine_caveat(self, machine: MachineType) -> str | None:
        """What the user should know of a machine's price, or None."""
        return self.billed_for_accelerators_only(machine) or self.price_caveat(
            self.price_key(machine)
        )

    def accelerator_price(self, accelerator: str, region: str) -> float | None:
        """Hourly price of one unit of ``accelerator`` in ``region``, or None where unknown."""
        priced, multiplier = self.in_region(region)
        price = priced.rates["accelerators"].get(accelerator)
        if multiplier is None or price is None:
            return None
        return round(price * multiplier, 5)

    def strategy_price_key(self, machine: MachineType, strategy: str) -> str:
        """The key of a machine's price under a provisioning strategy in the price file."""
        return self.price_key(machine)

    def strategy_machine_price(self, machine: MachineType, strategy: str) -> float | None:
        """A machine's base-region price under a provisioning strategy (``spot``,
        ``flex_start``, ...) from ``<strategy>_machine_types``; None where not known."""
        price = self.rates.get(f"{strategy}_machine_types", {}).get(self.price_key(machine))
        return None if price is None else float(price)

    def strategy_accelerator_price(self, accelerator: str, strategy: str) -> float | None:
        """One accelerator's base-region price under a strategy; None where not known."""
        price = self.rates.get(f"{strategy}_accelerators", {}).get(accelerator)
        return None if price is None else float(price)

    def boot_disk(self, resources: dict[str, Any]) -> tuple[str, int] | None:
        """The disk type and size each machine of ``resources`` pays for; None when the
        backend's disks are not priced."""
        return None


_REGISTERED: dict[str, CloudPricing] = {}


def register(pricing: CloudPricing) -> CloudPricing:
    """Make ``pricing`` the catalog of its backend; a backend's package calls this on import."""
    _REGISTERED[pricing.name] = pricing
    return pricing


def registered() -> dict[str, CloudPricing]:
    """The cloud backends' catalogs registered so far, by backend name."""
    return dict(_REGISTERED)
