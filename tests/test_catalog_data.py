"""Integrity of the cloud catalog data files (jupyter_mlp/catalog/data)."""

from __future__ import annotations

import json
import re
from importlib import resources
from itertools import pairwise
from typing import Any

import pytest
from google.cloud.aiplatform_v1.types import AcceleratorType

DATA = resources.files("jupyter_mlp.catalog").joinpath("data")
FILES = ["gpus.json", "vertex.json", "dataflow.json", "prices.json"]
MACHINE_NAME = re.compile(r"^(cloud-tpu|ct5lp-hightpu-\d+t|[a-z]\d-[a-z]+-\d+g?)$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.joinpath(name).read_text("utf-8"))
    return data


def machine_types(backend: str) -> list[dict[str, Any]]:
    return [m for fam in load(f"{backend}.json")["families"].values() for m in fam["machine_types"]]


@pytest.mark.parametrize("name", FILES)
def test_every_file_cites_sources_with_url_and_date(name: str) -> None:
    data = load(name)
    assert DATE.match(data["as_of"])
    assert data["sources"]
    for source in data["sources"]:
        assert source["url"].startswith("https://")
        assert DATE.match(source["read_on"])
        assert source["title"]


@pytest.mark.parametrize("name", ["gpus.json", "vertex.json", "dataflow.json"])
def test_per_entry_source_references_name_a_listed_source(name: str) -> None:
    data = load(name)
    ids = {s["id"] for s in load("gpus.json")["sources"]} | {s["id"] for s in data["sources"]}
    entries = list(data.get("accelerators", {}).values()) if name == "gpus.json" else []
    entries += list(data.get("families", {}).values())
    for entry in entries:
        assert set(entry["source"]) <= ids


def test_accelerator_keys_are_aiplatform_enum_members() -> None:
    members = set(AcceleratorType.__members__)
    assert set(load("gpus.json")["accelerators"]) <= members
    for backend in ("vertex", "dataflow"):
        assert set(load(f"{backend}.json")["accelerators"]) <= members


@pytest.mark.parametrize("backend", ["vertex", "dataflow"])
def test_machine_types_are_well_formed(backend: str) -> None:
    names = [m["name"] for m in machine_types(backend)]
    assert len(names) == len(set(names))
    for machine in machine_types(backend):
        assert MACHINE_NAME.match(machine["name"]), machine["name"]
        assert machine["vcpus"] > 0
        assert machine["memory_gb"] > 0


@pytest.mark.parametrize("backend", ["vertex", "dataflow"])
def test_built_in_accelerators_are_offered_by_the_backend(backend: str) -> None:
    offered = set(load(f"{backend}.json")["accelerators"])
    for machine in machine_types(backend):
        for acc in machine.get("accelerators", []):
            assert acc["type"] in offered
            assert acc["counts"] and all(c > 0 for c in acc["counts"])


def test_accelerator_regions_are_catalog_regions() -> None:
    gpus = load("gpus.json")
    for key, acc in gpus["accelerators"].items():
        assert acc["regions"], key
        assert set(acc["regions"]) <= set(gpus["regions"]), key


@pytest.mark.parametrize("backend", ["vertex", "dataflow"])
def test_backend_regions_cover_the_required_regions(backend: str) -> None:
    data = load(f"{backend}.json")
    required = {
        "us-central1",
        "us-east1",
        "us-east4",
        "us-west1",
        "us-west4",
        "europe-west1",
        "europe-west2",
        "europe-west4",
        "asia-east1",
        "asia-northeast1",
        "asia-southeast1",
    }
    assert required <= set(data["regions"])
    assert data["default_region"] in data["regions"]
    assert set(data["regions"]) <= set(load("gpus.json")["regions"])


def test_n1_limits_grow_with_the_gpu_count() -> None:
    gpus = load("gpus.json")
    for key, rows in gpus["n1_attachable"]["limits"].items():
        assert key in gpus["accelerators"]
        counts = [r[0] for r in rows]
        assert counts == sorted(counts)
        assert all(b[1] >= a[1] and b[2] >= a[2] for a, b in pairwise(rows))


def test_every_price_refers_to_a_known_machine_or_accelerator() -> None:
    prices = load("prices.json")
    gpus = load("gpus.json")
    vertex_machines = {m["name"] for m in machine_types("vertex")}
    assert set(prices["vertex"]["machine_types"]) <= vertex_machines
    assert set(prices["vertex"]["accelerators"]) <= set(gpus["accelerators"])
    assert set(prices["dataflow"]["accelerators"]) <= set(gpus["accelerators"])
    assert set(prices["region_multipliers"]) == set(gpus["regions"])
    assert prices["base_region"] in prices["region_multipliers"]
    for value in [
        *prices["vertex"]["machine_types"].values(),
        *prices["vertex"]["accelerators"].values(),
    ]:
        assert value > 0


def test_short_names_are_unique() -> None:
    short = [a["short_name"].upper() for a in load("gpus.json")["accelerators"].values()]
    assert len(short) == len(set(short))
