"""Prices that stay current: Google's Cloud Billing Catalog API read onto the price file's keys.

The API lists each service's SKUs (``services.skus.list``, page by page) with a description
("Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Americas"), a category
(``resourceFamily``, ``resourceGroup``, ``usageType``: OnDemand, Preemptible, Commit1Yr...), the
regions it is sold in and its price per usage unit (``h``, ``GiBy.h``, ``GiBy.mo``). The
description and usage type tell what a SKU prices; the resource group does not (an A3's vCPUs and
an N1's are both ``CPU``), and the unit is checked against what the description says. No SKU
names a machine type: a machine is billed per vCPU and per GB of memory of its series, so a
backend's package maps SKUs onto its own keys in a ``billing`` module (a :class:`SkuMapping`
named ``MAPPING``), found from the backend's catalog like its data file. What a mapping takes
for its own but cannot read is kept as *unmapped*, listed, never guessed.

:func:`refresh_prices` reads the services the mappings name (with the server's Application
Default Credentials; without any for a plain-http loopback stand-in) and stores, for each
region asked, each backend's section (``refreshed.write_refreshed``); the shipped table stays
the fallback.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from .hardware import BackendCatalog
from .refreshed import refreshed_path, write_refreshed

DEFAULT_ENDPOINT = "https://cloudbilling.googleapis.com"
HOURS_PER_MONTH = 730
# The API's largest page.
PAGE_SIZE = 5000
# What a mapping reads from a SKU: its own key for what the SKU prices, and the price in the
# unit that key is priced in (per hour, per GB-hour, per GB-month).
Reading = tuple[tuple[str, ...], float]
# A SKU a mapping takes for its own but cannot read: kept and listed, never guessed.
UNMAPPED: Reading = ((), 0.0)

# Accelerators as SKU descriptions name them, the more specific first ("A100 80GB" before "A100").
# TPUs are left out: whether their SKUs count chips, cores or slices is not checked, so their
# SKUs stay unmapped rather than priced by a guess.
_ACCELERATOR_WORDS = (
    (r"H100 (?:80GB )?Mega", "NVIDIA_H100_MEGA_80GB"),
    (r"H100", "NVIDIA_H100_80GB"),
    (r"H200", "NVIDIA_H200_141GB"),
    (r"B200", "NVIDIA_B200"),
    (r"A100 80GB", "NVIDIA_A100_80GB"),
    (r"A100", "NVIDIA_TESLA_A100"),
    (r"L4", "NVIDIA_L4"),
    (r"T4", "NVIDIA_TESLA_T4"),
    (r"V100", "NVIDIA_TESLA_V100"),
    (r"P100", "NVIDIA_TESLA_P100"),
    (r"P4", "NVIDIA_TESLA_P4"),
)
_ACCELERATORS = [
    (re.compile(rf"(?<![\w-]){words}(?![\w-])", re.IGNORECASE), key)
    for words, key in _ACCELERATOR_WORDS
]


def accelerator_named(text: str) -> str | None:
    """The accelerator type (``NVIDIA_TESLA_T4``) a SKU's words name (``Nvidia Tesla T4``)."""
    return next((key for pattern, key in _ACCELERATORS if pattern.search(text)), None)


@dataclass(frozen=True)
class Sku:
    """One SKU as the price file needs it."""

    description: str
    service: str
    usage_type: str
    regions: tuple[str, ...]
    unit: str
    price: float

    def per_gb_month(self) -> float | None:
        """The price per GB-month of a storage SKU (priced per GiB-hour or GiB-month)."""
        if self.unit == "GiBy.mo":
            return self.price
        if self.unit == "GiBy.h":
            return self.price * HOURS_PER_MONTH
        return None


class SkuMapping(Protocol):
    """How one backend reads the Billing Catalog: which services, which SKUs onto which keys,
    and the section of the price file those make."""

    #: The services' display names ("Vertex AI", "Compute Engine"); those not listed are skipped.
    services: tuple[str, ...]

    def read(self, sku: Sku) -> Reading | None:
        """What ``sku`` prices (a key of the mapping's own) and for how much; :data:`UNMAPPED`
        for a SKU the mapping takes for its own but cannot read; None for one it has no use
        for."""

    def section(
        self, rates: Mapping[tuple[str, ...], float], catalog: BackendCatalog
    ) -> dict[str, Any]:
        """The backend's price-file section from the rates read in one region."""


@dataclass
class Counts:
    """What one backend made of one service's SKUs."""

    read: int = 0
    mapped: int = 0
    # The descriptions of the SKUs the mapping took for its own but could not read.
    unmapped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"read": self.read, "mapped": self.mapped, "unmapped": len(self.unmapped)}


@dataclass
class Refresh:
    """What a refresh read and stored."""

    as_of: str
    regions: list[str]
    path: Path
    # backend -> service display name -> counts
    counts: dict[str, dict[str, Counts]]
    # region -> backend -> how many prices
    stored: dict[str, dict[str, int]]

    def text(self) -> str:
        """The refresh in a few lines, as the CLI prints it."""
        lines = [f"prices refreshed from the Cloud Billing Catalog on {self.as_of}"]
        for backend, services in self.counts.items():
            for service, counts in services.items():
                lines.append(
                    f"  {backend}: {service}: {counts.read} SKUs read, {counts.mapped} mapped, "
                    f"{len(counts.unmapped)} not mapped"
                )
        for region, backends in self.stored.items():
            found = ", ".join(f"{backend} {n}" for backend, n in backends.items()) or "none"
            lines.append(f"  {region}: prices stored: {found}")
        lines.append(f"written to {self.path} (with the SKUs not mapped)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "regions": self.regions,
            "path": str(self.path),
            "counts": {
                backend: {service: c.to_json() for service, c in services.items()}
                for backend, services in self.counts.items()
            },
            "stored": self.stored,
        }


class NoCredentials(RuntimeError):
    """The Billing Catalog API needs credentials and none were found."""


def credentials_for(endpoint: str) -> Any:
    """The credentials to read ``endpoint`` with: none needed for a loopback stand-in (an
    anonymous caller), else Application Default Credentials; :class:`NoCredentials` when
    there are none (looked for without the network first, so nothing waits on a timeout)."""
    from google.auth.credentials import AnonymousCredentials

    from ..backends.gcp.service import GoogleCloud, local_http

    if local_http(endpoint):
        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    if not GoogleCloud.credentials_may_exist():
        raise NoCredentials("no Google Cloud credentials (Application Default Credentials)")
    credentials = GoogleCloud().credentials()
    if isinstance(credentials, Exception):
        raise NoCredentials(str(credentials))
    return credentials


def read_skus(endpoint: str, credentials: Any, services: Iterable[str]) -> dict[str, list[Sku]]:
    """Every SKU of the named services (by display name) in US dollars, all pages followed;
    a service the API does not list is left out. Blocking."""
    from google.cloud import billing_v1

    client = billing_v1.CloudCatalogClient(
        transport="rest", credentials=credentials, client_options={"api_endpoint": endpoint}
    )
    wanted = set(services)
    listed = {
        s.display_name: s.name for s in client.list_services(request={"page_size": PAGE_SIZE})
    }
    found: dict[str, list[Sku]] = {}
    for display_name in sorted(wanted & set(listed)):
        pages = client.list_skus(
            request={"parent": listed[display_name], "currency_code": "USD", "page_size": PAGE_SIZE}
        )
        found[display_name] = [sku for message in pages if (sku := _sku(message, display_name))]
    return found


def _sku(message: Any, service: str) -> Sku | None:
    """A SKU message as a :class:`Sku`; None for one without a price."""
    for info in message.pricing_info:
        expression = info.pricing_expression
        rates = [
            rate.unit_price.units + rate.unit_price.nanos / 1e9 for rate in expression.tiered_rates
        ]
        if rates:
            # The first tier that costs anything: a free first tier is not the list price.
            price = next((rate for rate in rates if rate > 0), 0.0)
            return Sku(
                description=message.description,
                service=service,
                usage_type=message.category.usage_type,
                regions=tuple(message.service_regions),
                unit=expression.usage_unit,
                price=price,
            )
    return None


# The cloud backends' settings that name the region of jobs whose spec names none.
REGION_SETTINGS = ("location", "region")


def default_regions() -> set[str]:
    """The default region of each cloud backend's catalog."""
    from .cloud import cloud_backends

    return {pricing.catalog.default_region for pricing in cloud_backends().values()}


def configured_regions(backends: Iterable[object]) -> set[str]:
    """The regions to refresh for these backends: their region settings, and the catalogs'
    default regions."""
    found = {getattr(backend, name, None) for backend in backends for name in REGION_SETTINGS}
    return default_regions() | {region for region in found if isinstance(region, str) and region}


def mappings() -> dict[str, tuple[SkuMapping, BackendCatalog]]:
    """Each installed cloud backend whose package maps SKUs, with its catalog."""
    from .cloud import cloud_backends

    found: dict[str, tuple[SkuMapping, BackendCatalog]] = {}
    for name, pricing in cloud_backends().items():
        try:
            module = importlib.import_module(f"{pricing.package}.billing")
        except ModuleNotFoundError:
            continue
        found[name] = (module.MAPPING, pricing.catalog)
    return found


def refresh_prices(
    endpoint: str, regions: Iterable[str], credentials: Any, path: Path | None = None
) -> Refresh:
    """Read the Billing Catalog's prices for ``regions`` and store them (at ``path``, else
    where :func:`refreshed.refreshed_path` says). Blocking: run it in a thread on a server."""
    from .pricing import forget_prices

    regions = sorted(set(regions))
    readers = mappings()
    services = {service for mapping, _ in readers.values() for service in mapping.services}
    skus = read_skus(endpoint, credentials, services)
    counts: dict[str, dict[str, Counts]] = {}
    table: dict[str, dict[str, Any]] = {region: {} for region in regions}
    for backend, (mapping, catalog) in readers.items():
        rates, counts[backend] = _rates(mapping, skus, regions)
        for region in regions:
            section = mapping.section(rates[region], catalog)
            if any(section.values()):
                table[region][backend] = section
    as_of = datetime.now(UTC).date().isoformat()
    document = {
        "as_of": as_of,
        "endpoint": endpoint,
        "regions": table,
        "unmapped": {
            backend: {service: c.unmapped for service, c in services.items()}
            for backend, services in counts.items()
        },
    }
    path = path or refreshed_path()
    write_refreshed(document, path)
    forget_prices()
    stored = {
        region: {backend: _count(section) for backend, section in backends.items()}
        for region, backends in table.items()
    }
    return Refresh(as_of, regions, path, counts, stored)


def _rates(
    mapping: SkuMapping, skus: dict[str, list[Sku]], regions: list[str]
) -> tuple[dict[str, dict[tuple[str, ...], float]], dict[str, Counts]]:
    """The rates ``mapping`` reads in each region, and what it made of each service's SKUs.

    Where two SKUs give the same key in a region, the one sold in fewer regions (the more
    specific) wins."""
    rates: dict[str, dict[tuple[str, ...], float]] = {region: {} for region in regions}
    spread: dict[str, dict[tuple[str, ...], int]] = {region: {} for region in regions}
    counts: dict[str, Counts] = {}
    for service in mapping.services:
        if service not in skus:
            continue
        counted = counts[service] = Counts(read=len(skus[service]))
        for sku in skus[service]:
            reading = mapping.read(sku)
            if reading is None:
                continue
            key, price = reading
            if reading == UNMAPPED:
                counted.unmapped.append(sku.description)
                continue
            counted.mapped += 1
            for region in set(sku.regions) & set(regions):
                if len(sku.regions) < spread[region].get(key, 1 << 30):
                    rates[region][key] = price
                    spread[region][key] = len(sku.regions)
    return rates, counts


def _count(section: dict[str, Any]) -> int:
    return sum(len(value) if isinstance(value, dict) else 1 for value in section.values())
