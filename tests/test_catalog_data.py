"""Integrity of the cloud catalog data files (jupyter_mlp/catalog/data and each cloud backend's
data folder)."""

from __future__ import annotations

import json
import re
from datetime import date
from importlib import resources
from itertools import pairwise
from typing import Any

import pytest
from google.cloud.aiplatform_v1.types import AcceleratorType

from jupyter_mlp.backends.vertex.containers import NoCurrentContainer, choose_container

SHARED = resources.files("jupyter_mlp.catalog").joinpath("data")
DATA = {
    "gpus.json": SHARED,
    "prices.json": SHARED,
    "vertex.json": resources.files("jupyter_mlp.backends.vertex").joinpath("data"),
    "containers.json": resources.files("jupyter_mlp.backends.vertex").joinpath("data"),
    "dataflow.json": resources.files("jupyter_mlp.backends.dataflow").joinpath("data"),
}
FILES = ["gpus.json", "vertex.json", "dataflow.json", "prices.json"]
MACHINE_NAME = re.compile(r"^(cloud-tpu|ct5lp-hightpu-\d+t|[a-z]\d-[a-z]+-\d+g?)$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
REGION = re.compile(r"^[a-z]+(-[a-z]+)+[0-9]+$")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA[name].joinpath(name).read_text("utf-8"))
    return data


def machine_types(backend: str) -> list[dict[str, Any]]:
    return [m for fam in load(f"{backend}.json")["families"].values() for m in fam["machine_types"]]


def source_ids(name: str) -> set[str]:
    return {s["id"] for f in (name, "gpus.json") for s in load(f)["sources"]}


def assert_cited(entry: dict[str, Any], ids: set[str]) -> None:
    """A corrected or checked entry names its source pages and the date they were read."""
    assert entry["source"] and set(entry["source"]) <= ids, entry
    assert DATE.match(entry["read_on"]), entry
    assert isinstance(entry["verified"], bool), entry


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
        assert set(load(f"{backend}.json")["not_offered"]) <= members


def test_every_installed_accelerator_type_is_offered_or_deliberately_left_out() -> None:
    vertex = load("vertex.json")
    accounted = set(vertex["accelerators"]) | set(vertex["not_offered"])
    members = set(AcceleratorType.__members__) - {"ACCELERATOR_TYPE_UNSPECIFIED"}
    assert members - accounted == set(), "add these to vertex.json accelerators or not_offered"


def test_no_accelerator_is_both_offered_and_left_out() -> None:
    for backend in ("vertex", "dataflow"):
        data = load(f"{backend}.json")
        assert set(data["accelerators"]) & set(data["not_offered"]) == set()


@pytest.mark.parametrize("backend", ["vertex", "dataflow"])
def test_left_out_accelerators_say_why_with_a_cited_source(backend: str) -> None:
    for key, entry in load(f"{backend}.json")["not_offered"].items():
        assert len(entry["reason"]) > 20, key
        assert_cited(entry, source_ids(f"{backend}.json"))


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


@pytest.mark.parametrize("backend", ["vertex", "dataflow"])
def test_every_listed_region_is_well_formed_listed_once_and_sourced(backend: str) -> None:
    data = load(f"{backend}.json")
    assert all(REGION.match(region) for region in data["regions"]), data["regions"]
    assert len(data["regions"]) == len(set(data["regions"]))
    (locations,) = [s for s in data["sources"] if s["id"] == f"{backend}-locations"]
    assert locations["url"].startswith("https://cloud.google.com/")
    assert DATE.match(locations["read_on"])


def test_vertex_knows_the_regions_custom_training_runs_in_beyond_its_gpu_data() -> None:
    regions = set(load("vertex.json")["regions"])
    assert {"europe-west3", "australia-southeast1", "me-west1", "us-south1"} <= regions
    assert "global" not in regions  # custom training takes a region


def test_every_prebuilt_image_has_its_dates_and_python_and_the_list_its_source() -> None:
    data = load("containers.json")
    for container in data["containers"]:
        assert DATE.match(container["end_of_support"]), container
        assert DATE.match(container["end_of_availability"]), container
        assert re.match(r"^3\.\d+$", container["python"]), container
    (source,) = data["sources"]
    assert source["url"].startswith("https://cloud.google.com/")
    assert DATE.match(source["read_on"]) and source["read_on"] == data["as_of"]


@pytest.mark.parametrize("hardware", ["cpu", "gpu", "tpu"])
@pytest.mark.parametrize("installed", [{}, {"torch": "2.4.1"}, {"xgboost": "2.1.3"}])
def test_no_image_chosen_by_default_today_is_past_its_end_of_availability(
    hardware: str, installed: dict[str, str]
) -> None:
    today = date.today()  # the day the test runs, as a job's choice uses
    try:
        choice = choose_container([], hardware, installed.get)
    except NoCurrentContainer as exc:
        assert "VertexBackend.default_image" in str(exc)
    else:
        assert choice.container.available_on(today), choice


@pytest.mark.parametrize("backend", ["vertex", "dataflow"])
def test_machine_conditions_are_defined_and_cited(backend: str) -> None:
    data = load(f"{backend}.json")
    named = {m["conditions"] for m in machine_types(backend) if "conditions" in m}
    assert named <= set(data.get("conditions", {}))
    for condition in data.get("conditions", {}).values():
        assert condition["text"]
        assert_cited(condition, source_ids(f"{backend}.json"))


def test_vertex_marks_a3_mega_a3_ultra_and_a4_with_conditions() -> None:
    conditional = {m["name"] for m in machine_types("vertex") if "conditions" in m}
    assert {"a3-megagpu-8g", "a3-ultragpu-8g", "a4-highgpu-8g"} <= conditional


def test_n1_limits_grow_with_the_gpu_count() -> None:
    gpus = load("gpus.json")
    for key, rows in gpus["n1_attachable"]["limits"].items():
        assert key in gpus["accelerators"]
        counts = [r[0] for r in rows]
        assert counts == sorted(counts)
        assert all(b[1] >= a[1] and b[2] >= a[2] for a, b in pairwise(rows))


def test_zonal_n1_limits_are_smaller_and_name_zones_offering_the_gpu() -> None:
    gpus = load("gpus.json")
    n1 = gpus["n1_attachable"]
    for key, zonal_limits in n1["zonal_limits"].items():
        defaults = {row[0]: row for row in n1["limits"][key]}
        zones = set(gpus["accelerators"][key]["zones"])
        for zonal in zonal_limits:
            _, max_vcpus, max_memory_gb = defaults[zonal["count"]]
            assert zonal["max_vcpus"] <= max_vcpus and zonal["max_memory_gb"] <= max_memory_gb
            assert zonal["max_vcpus"] < max_vcpus or zonal["max_memory_gb"] < max_memory_gb
            assert set(zonal["zones"]) <= zones
            assert_cited(zonal, source_ids("gpus.json"))


def test_accelerator_zones_lie_in_its_regions() -> None:
    for key, acc in load("gpus.json")["accelerators"].items():
        for zone in acc.get("zones", []):
            assert zone.rsplit("-", 1)[0] in acc["regions"], (key, zone)


def test_every_n1_limit_says_whether_it_was_checked() -> None:
    n1 = load("gpus.json")["n1_attachable"]
    assert set(n1["checked"]) == set(n1["limits"])
    for entry in n1["checked"].values():
        assert isinstance(entry["verified"], bool) and DATE.match(entry["read_on"])


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
        *prices["dataflow"]["accelerators"].values(),
    ]:
        assert value > 0


def priced_items(backend: str, strategy: str | None = None) -> set[str]:
    """The price file's priced items of ``backend``: on demand (with its disks), or under a
    provisioning strategy (Spot, Flex-start, FlexRS)."""
    prices = load("prices.json")[backend]
    if strategy is not None:
        if backend == "dataflow":
            rates = {f"{strategy}_vcpu_hour", f"{strategy}_memory_gb_hour"}
            return rates if rates <= set(prices) else set()
        return {
            *prices.get(f"{strategy}_machine_types", {}),
            *prices.get(f"{strategy}_accelerators", {}),
        }
    disks = {*prices.get("disks", {})}
    disks |= {key for key in ("default_boot_disk", "default_worker_disk_gb") if key in prices}
    if backend == "dataflow":
        return {"batch_vcpu_hour", "batch_memory_gb_hour", *prices["accelerators"], *disks}
    return {*prices["machine_types"], *prices["accelerators"], *disks}


def unknown_items(backend: str) -> list[str]:
    return [item for group in load("prices.json")[backend]["unknown"] for item in group["items"]]


@pytest.mark.parametrize("backend", ["vertex", "dataflow"])
def test_every_offered_item_is_priced_or_explicitly_unknown(backend: str) -> None:
    data = load(f"{backend}.json")
    unknown = unknown_items(backend)
    assert len(unknown) == len(set(unknown))
    assert set(unknown) & priced_items(backend) == set()
    accounted = priced_items(backend) | set(unknown)
    assert set(data["accelerators"]) <= accounted
    if backend == "vertex":
        assert {m["name"] for m in machine_types(backend)} <= accounted


@pytest.mark.parametrize("backend", ["vertex", "dataflow"])
def test_every_price_has_exactly_one_cited_provenance(backend: str) -> None:
    groups = load("prices.json")[backend]["provenance"]
    for strategy in (None, "spot", "flex_start", "flexrs"):
        listed = [i for g in groups if g.get("strategy") == strategy for i in g["items"]]
        assert sorted(listed) == sorted(priced_items(backend, strategy)), strategy
    for group in groups:
        assert group["kind"] in {"quoted", "derived", "unchecked"} and group["how"]
        assert_cited(group, source_ids("prices.json"))


@pytest.mark.parametrize("backend", ["vertex", "dataflow"])
def test_unknown_prices_say_why_and_when(backend: str) -> None:
    for group in load("prices.json")[backend]["unknown"]:
        assert group["reason"] and DATE.match(group["read_on"])


def test_short_names_are_unique() -> None:
    short = [a["short_name"].upper() for a in load("gpus.json")["accelerators"].values()]
    short += [a["short_name"].upper() for a in load("vertex.json")["not_offered"].values()]
    assert len(short) == len(set(short))
