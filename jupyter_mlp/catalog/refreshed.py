"""The refreshed prices: what the Cloud Billing Catalog API last said, stored with its date, and
how it is laid over the shipped price file.

A refresh (``billing.refresh_prices``) writes one JSON file (``MLP_PRICES_FILE``, else
``<Jupyter data dir>/mlp/prices-refreshed.json``) holding, per region and per backend, a
section in the price file's own keys. :func:`layer` puts the base region's refreshed prices
over the shipped table, each refreshed item with a provenance group of kind
``billing-catalog``; :func:`regional` gives a backend's whole section as priced in another
refreshed region. What was not refreshed keeps its shipped price (and its shipped reason when
unknown).
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir

PATH_VARIABLE = "MLP_PRICES_FILE"
PROVENANCE_KIND = "billing-catalog"
SOURCE = {
    "id": PROVENANCE_KIND,
    "url": "https://cloud.google.com/billing/docs/reference/rest/v1/services.skus/list",
    "title": "Cloud Billing Catalog API: the public list prices of Google Cloud's SKUs",
    "verified": True,
}
# The sections' price tables (item -> price) and single prices, by the strategy they price.
PRICE_TABLES = {
    "machine_types": None,
    "accelerators": None,
    "spot_machine_types": "spot",
    "spot_accelerators": "spot",
    "flex_start_machine_types": "flex_start",
    "flex_start_accelerators": "flex_start",
    "disks": None,
}
PRICE_SCALARS = {
    "batch_vcpu_hour": None,
    "batch_memory_gb_hour": None,
    "flexrs_vcpu_hour": "flexrs",
    "flexrs_memory_gb_hour": "flexrs",
}

log = logging.getLogger(__name__)


def refreshed_path() -> Path:
    """Where the refreshed prices are kept."""
    named = os.environ.get(PATH_VARIABLE)
    return Path(named) if named else Path(jupyter_data_dir()) / "mlp" / "prices-refreshed.json"


def signature(path: Path) -> tuple[str, int, int] | None:
    """What changes when a refresh lands (the file's name, time and size); None without one."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path), stat.st_mtime_ns, stat.st_size


def read_refreshed(path: Path) -> dict[str, Any] | None:
    """The refreshed prices in ``path``; None when there are none or they cannot be read (a
    broken file is logged and ignored: the shipped table still prices everything it did)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("jupyter-mlp: ignoring the refreshed prices in %s: %s", path, exc)
        return None
    if not isinstance(document, dict) or not isinstance(document.get("regions"), dict):
        log.warning("jupyter-mlp: ignoring the refreshed prices in %s: no 'regions'", path)
        return None
    return document


def write_refreshed(document: dict[str, Any], path: Path) -> None:
    """Store ``document`` at ``path`` whole or not at all (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(document, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(partial, path)


def layer(shipped: dict[str, Any], refreshed: dict[str, Any] | None) -> dict[str, Any]:
    """The shipped table with the base region's refreshed prices over it.

    ``as_of`` becomes the refresh's date (``shipped_as_of`` keeps the file's), ``refreshed``
    says when and for which regions, and each refreshed item moves from its shipped
    provenance (or ``unknown``) group to one of kind ``billing-catalog``."""
    table = copy.deepcopy(shipped)
    if refreshed is None:
        return table
    as_of = str(refreshed["as_of"])
    fresh_sections = refreshed["regions"].get(shipped["base_region"], {})
    for backend, fresh in fresh_sections.items():
        section = table.get(backend)
        if isinstance(section, dict):
            _mark(section, _overlay(section, fresh), as_of)
    table["shipped_as_of"] = shipped["as_of"]
    table["as_of"] = as_of
    table["refreshed"] = {
        "as_of": as_of,
        "regions": sorted(refreshed["regions"]),
        "source": PROVENANCE_KIND,
    }
    table["sources"] = [*table["sources"], {**SOURCE, "read_on": as_of}]
    return table


def regional(
    section: dict[str, Any],
    refreshed: dict[str, Any] | None,
    backend: str,
    region: str,
    multiplier: float | None,
) -> dict[str, Any] | None:
    """``backend``'s whole section as priced in ``region``: its refreshed prices there, the
    (layered) base-region ``section`` x ``multiplier`` for the rest (nothing more where the
    multiplier is unknown). None when ``region`` was not refreshed for ``backend``."""
    if refreshed is None:
        return None
    fresh = refreshed["regions"].get(region, {}).get(backend)
    if not fresh:
        return None
    scaled = copy.deepcopy(section)
    for name in PRICE_TABLES:
        if isinstance(scaled.get(name), dict):
            scaled[name] = _scaled(scaled[name], multiplier)
    for name in PRICE_SCALARS:
        if name in scaled:
            scaled.update(_scaled({name: scaled.pop(name)}, multiplier))
    _mark(scaled, _overlay(scaled, fresh), str(refreshed["as_of"]))
    return scaled


def _scaled(prices: dict[str, float], multiplier: float | None) -> dict[str, float]:
    """Base-region ``prices`` in a region with ``multiplier``; none where it is unknown."""
    if multiplier is None:
        return {}
    return {item: round(price * multiplier, 6) for item, price in prices.items()}


def _overlay(section: dict[str, Any], fresh: dict[str, Any]) -> dict[str | None, set[str]]:
    """Put ``fresh``'s prices into ``section``; the items put, by the strategy they price."""
    put: dict[str | None, set[str]] = {}
    for name, strategy in PRICE_TABLES.items():
        items = fresh.get(name) or {}
        if items:
            section[name] = {**section.get(name, {}), **items}
            put.setdefault(strategy, set()).update(items)
    for name, strategy in PRICE_SCALARS.items():
        if fresh.get(name) is not None:
            section[name] = fresh[name]
            put.setdefault(strategy, set()).add(name)
    return put


def _mark(section: dict[str, Any], put: dict[str | None, set[str]], as_of: str) -> None:
    """Say where the refreshed items' prices come from, instead of what the file said."""
    refreshed_on_demand = put.get(None, set())
    for group in section.get("unknown", []):
        group["items"] = [item for item in group["items"] if item not in refreshed_on_demand]
    section["unknown"] = [group for group in section.get("unknown", []) if group["items"]]
    groups = []
    for group in section.get("provenance", []):
        stale = put.get(group.get("strategy"), set())
        group["items"] = [item for item in group["items"] if item not in stale]
        if group["items"]:
            groups.append(group)
    fresh_groups = [
        {
            "kind": PROVENANCE_KIND,
            **({"strategy": strategy} if strategy else {}),
            "items": sorted(items),
            "how": f"read from the Cloud Billing Catalog API's public SKU prices on {as_of}",
            "source": [PROVENANCE_KIND],
            "read_on": as_of,
            "verified": True,
        }
        for strategy, items in put.items()
    ]
    section["provenance"] = fresh_groups + groups
