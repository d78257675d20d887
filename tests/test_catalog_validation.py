"""Validation, alias normalization, catalog view and cost estimates of the cloud catalog."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from jupyter_mlp.backends.vertex.backend import VertexBackend
from jupyter_mlp.backends.vertex.containers import (
    NoCurrentContainer,
    choose_container,
    image_warning,
)
from jupyter_mlp.catalog import cloud
from jupyter_mlp.catalog.cloud import catalog_view, estimate_hourly_cost, normalize_accelerator
from jupyter_mlp.catalog.validation import normalize_cloud_resources, validate_resources
from jupyter_mlp.core.models import JobSpec


def res(machine: str, acc: str | None = None, count: int = 0, **extra: Any) -> dict[str, Any]:
    return {"machine_type": machine, "accelerator_type": acc, "accelerator_count": count, **extra}


def errors(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in problems if p["severity"] == "error"]


def warnings(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in problems if p["severity"] == "warning"]


VALID = [
    ("vertex", res("n1-standard-4"), "us-central1"),
    ("vertex", res("e2-standard-8"), "europe-west2"),
    ("vertex", res("n2-highmem-16"), "asia-east1"),
    ("vertex", res("c2-standard-30"), None),
    ("vertex", res("n1-standard-4", "T4", 1), "europe-west2"),
    ("vertex", res("n1-standard-32", "NVIDIA_TESLA_T4", 2), "us-central1"),
    ("vertex", res("n1-standard-96", "t4", 4), "us-central1"),
    ("vertex", res("n1-standard-8", "V100", 1), "us-central1"),
    ("vertex", res("n1-highmem-64", "V100", 8), "europe-west4"),
    ("vertex", res("n1-standard-16", "P100", 1), "us-east1"),
    ("vertex", res("n1-standard-96", "P100", 4), "us-central1"),
    ("vertex", res("n1-standard-32", "P100", 4), "europe-west1"),
    ("vertex", res("a2-highgpu-2g", "A100", 2), "us-central1"),
    ("vertex", res("a2-megagpu-16g", "A100", 16), "europe-west4"),
    ("vertex", res("a2-ultragpu-8g", "A100-80GB", 8), "us-east4"),
    ("vertex", res("g2-standard-24", "L4", 2), "us-west4"),
    ("vertex", res("a3-highgpu-8g", "H100", 8), "us-central1"),
    ("vertex", res("a3-megagpu-8g", "NVIDIA_H100_MEGA_80GB", 8), "us-central1"),
    ("vertex", res("a3-ultragpu-8g", "H200", 8), "us-central1"),
    ("vertex", res("a4-highgpu-8g", "B200", 8), "us-central1"),
    ("vertex", res("cloud-tpu", "TPU_V3", 8), "us-central1"),
    ("vertex", res("ct5lp-hightpu-4t", "TPU-V5E", 4), "us-west4"),
    ("vertex", res("n1-standard-4", "T4", 1, replica_count=3), "us-central1"),
    ("dataflow", res("n1-standard-1"), "us-central1"),
    ("dataflow", res("n1-standard-4", "nvidia-tesla-t4", 1, max_workers=10), "us-east1"),
    ("dataflow", res("g2-standard-4", "nvidia-l4", 1), "us-central1"),
    ("dataflow", res("a2-highgpu-1g", "nvidia-tesla-a100", 1), "us-central1"),
    ("dataflow", res("a3-megagpu-8g", "nvidia-h100-mega-80gb", 8), "us-central1"),
    ("dataflow", res("ct5lp-hightpu-4t", "TPU-V5E", 4), "us-west4"),
    ("dataflow", res("e2-standard-4", max_workers=None), "asia-southeast1"),
]


@pytest.mark.parametrize(("backend", "resources", "region"), VALID)
def test_valid_combinations_have_no_errors(
    backend: str, resources: dict[str, Any], region: str | None
) -> None:
    assert errors(validate_resources(backend, resources, region)) == []


INVALID = [
    # (backend, resources, region, field, words in message, a suggestion)
    (
        "vertex",
        res("a2-highgpu-2g", "A100", 1),
        "us-central1",
        "resources.accelerator_count",
        ["a2-highgpu-2g takes exactly 2 A100"],
        "2",
    ),
    (
        "vertex",
        res("a2-highgpu-2g"),
        "us-central1",
        "resources.accelerator_type",
        ["a2-highgpu-2g comes with 2 A100"],
        "NVIDIA_TESLA_A100",
    ),
    (
        "vertex",
        res("g2-standard-8"),
        "us-central1",
        "resources.accelerator_type",
        ["g2-standard-8 comes with 1 L4"],
        "NVIDIA_L4",
    ),
    (
        "vertex",
        res("a3-highgpu-8g", "A100", 8),
        "us-central1",
        "resources.accelerator_type",
        ["a3-highgpu-8g takes", "not A100", "a2-highgpu-8g"],
        "NVIDIA_H100_80GB",
    ),
    (
        "vertex",
        res("n1-standard-96", "T4", 1),
        "us-central1",
        "resources.accelerator_count",
        ["n1-standard-96 cannot take 1 T4", "at most 48 vCPUs with 1 T4"],
        "4",
    ),
    (
        "vertex",
        res("n1-standard-16", "V100", 1),
        "us-central1",
        "resources.accelerator_count",
        ["at most 12 vCPUs with 1 V100"],
        "2",
    ),
    (
        "vertex",
        res("n1-standard-64", "P100", 4),
        "europe-west1",
        "resources.accelerator_count",
        [
            "n1-standard-64 cannot take 4 P100 in europe-west1",
            "at most 208 GB memory with 4 P100 in europe-west1's P100 zones "
            "(europe-west1-b, europe-west1-d)",
            "regions where n1-standard-64 takes 4 P100: us-central1, us-east1, us-west1",
        ],
        "n1-standard-32",
    ),
    (
        "vertex",
        res("n1-highcpu-96", "P100", 4),
        "europe-west1",
        "resources.accelerator_count",
        ["at most 64 vCPUs with 4 P100 in europe-west1's P100 zones"],
        "n1-highcpu-64",
    ),
    (
        "vertex",
        res("n1-standard-8", "T4", 3),
        "us-central1",
        "resources.accelerator_count",
        ["counts of 1, 2, 4", "not 3"],
        "1",
    ),
    (
        "vertex",
        res("n1-standard-8", "T4", 0),
        "us-central1",
        "resources.accelerator_count",
        ["not 0"],
        "1",
    ),
    (
        "vertex",
        res("n1-standard-8", None, 2),
        "us-central1",
        "resources.accelerator_type",
        ["accelerator_count is 2 but no accelerator_type"],
        "NVIDIA_TESLA_T4",
    ),
    (
        "vertex",
        res("n1-standard-8", "A100", 1),
        "us-central1",
        "resources.accelerator_type",
        ["does not attach to N1", "a2-highgpu-1g"],
        "a2-highgpu-1g",
    ),
    (
        "vertex",
        res("e2-standard-8", "T4", 1),
        "us-central1",
        "resources.machine_type",
        ["e2-standard-8 cannot take T4", "only to N1", "accelerator-optimized"],
        "n1-standard-8",
    ),
    (
        "vertex",
        res("n2-standard-8", "L4", 1),
        "us-central1",
        "resources.machine_type",
        ["GPUs attach only to N1"],
        "g2-standard-8",
    ),
    (
        "vertex",
        res("c2-standard-8", "V100", 1),
        "us-central1",
        "resources.machine_type",
        ["c2-standard-8 cannot take"],
        "n1-standard-8",
    ),
    (
        "vertex",
        res("n1-standrd-8"),
        "us-central1",
        "resources.machine_type",
        ["unknown machine type 'n1-standrd-8'", "did you mean"],
        "n1-standard-8",
    ),
    ("vertex", res(""), "us-central1", "resources.machine_type", ["no machine_type set"], None),
    (
        "vertex",
        res("n1-standard-4", "X100", 1),
        "us-central1",
        "resources.accelerator_type",
        ["unknown accelerator 'X100'", "known: T4"],
        "T4",
    ),
    (
        "vertex",
        res("n1-standard-4", "V100", 1),
        "europe-west2",
        "region",
        ["V100 is not offered in europe-west2", "offered in: us-central1"],
        "us-central1",
    ),
    (
        "vertex",
        res("a2-ultragpu-1g", "A100-80GB", 1),
        "asia-east1",
        "region",
        ["A100-80GB is not offered in asia-east1"],
        "us-central1",
    ),
    (
        "vertex",
        res("n1-standard-4"),
        "us-centrall",
        "region",
        ["'us-centrall' is not a vertex region"],
        "us-central1",
    ),
    (
        "vertex",
        res("n1-standard-4", replica_count=0),
        "us-central1",
        "resources.replica_count",
        ["replica_count must be a whole number >= 1"],
        "1",
    ),
    (
        "vertex",
        res("n1-standard-4", "T4", "two"),
        "us-central1",
        "resources.accelerator_count",
        ["whole number"],
        None,
    ),
    (
        "dataflow",
        res("n1-standard-4", "L4", 1),
        "us-central1",
        "resources.accelerator_type",
        ["L4 does not attach to N1", "g2-standard-4"],
        "g2-standard-4",
    ),
    (
        "dataflow",
        res("g2-standard-24", "nvidia-l4", 1),
        "us-central1",
        "resources.accelerator_count",
        ["g2-standard-24 takes exactly 2 L4"],
        "2",
    ),
    (
        "dataflow",
        res("n1-standard-4", "B200", 8),
        "us-central1",
        "resources.accelerator_type",
        ["B200 is not offered for dataflow"],
        "NVIDIA_TESLA_T4",
    ),
    (
        "dataflow",
        res("n1-standard-4", max_workers=0),
        "us-central1",
        "resources.max_workers",
        ["max_workers must be a whole number >= 1"],
        "1",
    ),
    (
        "dataflow",
        res("a4-highgpu-8g"),
        "us-central1",
        "resources.machine_type",
        ["unknown machine type 'a4-highgpu-8g' for dataflow"],
        None,
    ),
    (
        "vertex",
        res("n1-standard-8", "NVIDIA_GB200", 4),
        "us-central1",
        "resources.accelerator_type",
        ["GB200 is not offered for vertex: ", "Arm"],
        "T4",
    ),
    (
        "vertex",
        res("cloud-tpu", "tpu-v4-pod", 8),
        "us-central1",
        "resources.accelerator_type",
        ["TPU_V4_POD is not offered for vertex: ", "Pod slices"],
        None,
    ),
]


@pytest.mark.parametrize(
    ("backend", "resources", "region", "field", "words", "suggestion"), INVALID
)
def test_invalid_combinations_name_the_field_value_and_fix(
    backend: str,
    resources: dict[str, Any],
    region: str | None,
    field: str,
    words: list[str],
    suggestion: str | None,
) -> None:
    errors = validate_resources(backend, resources, region)
    matching = [e for e in errors if e["field"] == field]
    assert matching, errors
    message = " ".join(e["message"] for e in matching)
    for word in words:
        assert word in message
    if suggestion is not None:
        assert suggestion in [s for e in matching for s in e["suggestions"]]


def test_errors_are_json_serializable_lists_of_strings() -> None:
    problems = validate_resources("vertex", res("a2-highgpu-2g", "A100", 1), "europe-west2")
    assert {e["field"] for e in problems} == {"resources.accelerator_count", "region"}
    assert {e["severity"] for e in problems} == {"error"}
    json.dumps(problems)
    assert all(isinstance(s, str) for e in problems for s in e["suggestions"])


def test_no_region_means_the_default_region() -> None:
    assert validate_resources("vertex", res("n1-standard-4", "V100", 1), None) == []


def test_a_shape_too_large_for_some_zones_of_the_region_is_a_warning_naming_them() -> None:
    problems = validate_resources("vertex", res("n1-standard-96", "P100", 4), "us-east1")

    assert errors(problems) == []
    [warning] = warnings(problems)
    assert warning["field"] == "resources.accelerator_count"
    expected = "fits only some us-east1 zones: in us-east1-c, 4 P100 allow at most 64 vCPUs"
    assert expected in warning["message"]
    assert "n1-standard-16" in warning["suggestions"]


def test_a_shape_that_fits_every_zone_of_the_region_has_no_warning() -> None:
    assert validate_resources("vertex", res("n1-standard-96", "P100", 4), "us-central1") == []


@pytest.mark.parametrize("machine", ["a3-megagpu-8g", "a3-ultragpu-8g", "a4-highgpu-8g"])
def test_a_machine_type_with_conditions_is_a_warning_saying_them(machine: str) -> None:
    built_in = cloud.load_catalog("vertex").machine_types[machine].built_in
    [(accelerator, [count])] = built_in.items()
    problems = validate_resources("vertex", res(machine, accelerator, count), "us-central1")

    assert errors(problems) == []
    conditions = [w for w in warnings(problems) if w["field"] == "resources.machine_type"]
    assert any("reservation" in w["message"] and machine in w["message"] for w in conditions)


def test_an_unpriced_valid_choice_warns_that_its_price_is_not_known() -> None:
    resources = res("a3-ultragpu-8g", "H200", 8)
    problems = validate_resources("vertex", resources, "us-central1")

    price = [w for w in warnings(problems) if "price not known" in w["message"]]
    assert {w["field"] for w in price} == {"resources.machine_type", "resources.accelerator_type"}
    assert estimate_hourly_cost("vertex", resources, "us-central1") is None


def test_an_invalid_choice_does_not_warn_about_prices() -> None:
    problems = validate_resources("vertex", res("a3-ultragpu-8g", "H200", 4), "us-central1")
    assert not any("price not known" in p["message"] for p in problems)


@pytest.mark.parametrize("backend", ["vertex", "dataflow"])
def test_europe_west3_validates_with_a_warning_instead_of_an_error(backend: str) -> None:
    problems = validate_resources(backend, res("n1-standard-4"), "europe-west3")

    assert errors(problems) == []
    assert any(
        w["field"] == "region" and "europe-west3" in w["message"] for w in warnings(problems)
    )


def test_a_well_formed_region_the_catalog_does_not_know_is_a_warning_and_kept() -> None:
    checked, problems = normalize_cloud_resources(
        spec(machine_type="n1-standard-4").model_copy(update={"region": "us-west9"})
    )

    assert [p for p in problems if p.blocking] == []
    [unknown] = [p for p in problems if "not among" in p.message]
    assert unknown.field == "region" and "sent to Google as given" in unknown.message
    assert checked.region == "us-west9"


def test_a_gpu_in_a_region_without_gpu_data_is_not_known_rather_than_not_offered() -> None:
    problems = validate_resources("vertex", res("n1-standard-8", "T4", 1), "europe-west3")

    assert errors(problems) == []
    [gpu] = [w for w in warnings(problems) if "T4" in w["message"]]
    assert gpu["field"] == "region"
    assert "whether T4 is offered in europe-west3 is not known" in gpu["message"]
    assert "europe-west4" in gpu["suggestions"]


def test_a_gpu_the_data_says_is_not_offered_in_a_region_is_still_refused() -> None:
    problems = validate_resources("vertex", res("n1-standard-8", "V100", 1), "europe-west2")

    [refused] = errors(problems)
    assert (
        refused["field"] == "region" and "V100 is not offered in europe-west2" in refused["message"]
    )


def test_the_catalog_lists_every_accelerator_in_a_region_without_gpu_data() -> None:
    known = {a["type"] for a in cloud.catalog_view("vertex", "us-central1")["accelerators"]}
    unknown = cloud.catalog_view("vertex", "europe-west3")

    assert {a["type"] for a in unknown["accelerators"]} >= known
    assert "europe-west3" not in unknown["gpu_regions"]


def test_an_image_past_its_end_of_availability_warns_naming_its_end_and_an_alternative() -> None:
    image = "europe-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-3.py310:latest"
    warning = image_warning(image, "europe-west4", today=date(2026, 7, 15))

    assert warning is not None
    assert image in warning and "2026-04-24" in warning
    assert "use europe-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest" in warning
    assert image_warning(image, "europe-west4", today=date(2026, 4, 24)) is None


def test_a_job_given_an_image_past_its_end_gets_a_warning_from_validate() -> None:
    image = "us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-12.py310:latest"  # ended 2025-06-30
    job = spec(machine_type="n1-standard-4").model_copy(update={"environment": image})

    problems = VertexBackend(project="p").validate(job, None)

    [warning] = [p for p in problems if p.field == "environment"]
    assert warning.severity == "warning"
    assert image in warning.message and "2025-06-30" in warning.message


def test_a_job_naming_no_image_is_never_given_one_past_its_end_of_availability() -> None:
    chosen = choose_container(["torch==2.3.1"], "gpu", today=date(2026, 7, 15))

    assert chosen.container.version == "2.4"  # 2.3 ended on 2026-04-24
    assert "no prebuilt container still available" in chosen.reason
    with pytest.raises(NoCurrentContainer, match=r"VertexBackend\.default_image"):
        choose_container([], "cpu", {"scikit-learn": "1.6.1"}.get, today=date(2026, 7, 12))


def test_the_default_image_setting_chooses_the_image_of_jobs_naming_none() -> None:
    backend = VertexBackend(project="p", default_image="europe-docker.pkg.dev/p/images/train:7")
    job = spec(machine_type="n1-standard-4")

    assert not [p for p in backend.validate(job, None) if p.field == "environment"]
    defaults = backend.catalog(None, [])["default_containers"]
    assert defaults["gpu"] == {
        "uri": "europe-docker.pkg.dev/p/images/train:7",
        "reason": "VertexBackend.default_image",
    }


def spec(**resources: Any) -> JobSpec:
    return JobSpec.model_validate(
        {"backend": "vertex", "source": {"code": "pass"}, "resources": resources}
    )


def test_warnings_do_not_stop_a_job() -> None:
    checked, problems = normalize_cloud_resources(
        spec(machine_type="a4-highgpu-8g", accelerator_type="B200", accelerator_count=8)
    )
    assert [p for p in problems if p.blocking] == []
    assert problems and {p.severity for p in problems} == {"warning"}
    assert checked.resources.accelerator_type == "NVIDIA_B200"


def test_normalizing_an_unknown_accelerator_keeps_it_and_reports_every_error() -> None:
    checked, problems = normalize_cloud_resources(
        spec(machine_type="n1-standrd-8", accelerator_type="NVIDIA_GB200", accelerator_count=4)
    )
    assert checked.resources.accelerator_type == "NVIDIA_GB200"
    assert {p.field for p in problems} == {"resources.accelerator_type", "resources.machine_type"}
    assert "not offered for vertex" in problems[0].message


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("T4", "NVIDIA_TESLA_T4"),
        ("t4", "NVIDIA_TESLA_T4"),
        (" V100 ", "NVIDIA_TESLA_V100"),
        ("A100", "NVIDIA_TESLA_A100"),
        ("A100-80GB", "NVIDIA_A100_80GB"),
        ("a100-80gb", "NVIDIA_A100_80GB"),
        ("L4", "NVIDIA_L4"),
        ("H100", "NVIDIA_H100_80GB"),
        ("H200", "NVIDIA_H200_141GB"),
        ("B200", "NVIDIA_B200"),
        ("NVIDIA_TESLA_T4", "NVIDIA_TESLA_T4"),
        ("nvidia_l4", "NVIDIA_L4"),
        ("nvidia-tesla-t4", "NVIDIA_TESLA_T4"),
        ("nvidia-l4", "NVIDIA_L4"),
        ("nvidia-tesla-a100", "NVIDIA_TESLA_A100"),
        ("nvidia-a100-80gb", "NVIDIA_A100_80GB"),
        ("nvidia-h100-80gb", "NVIDIA_H100_80GB"),
        ("TPU-V5E", "TPU_V5_LITEPOD"),
    ],
)
def test_normalize_accelerator_accepts_enum_short_and_compute_names(
    name: str, expected: str
) -> None:
    assert normalize_accelerator(name) == expected


def test_normalize_accelerator_rejects_unknown_names_listing_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown accelerator 'X100'; known: T4, V100, .*H100"):
        normalize_accelerator("X100")


def test_aliases_map_short_names_to_enum_names() -> None:
    aliases = cloud.ACCELERATOR_ALIASES
    for short in ("T4", "V100", "A100", "A100-80GB", "L4", "H100", "H200", "B200"):
        assert aliases[short] == normalize_accelerator(short)


def test_catalog_view_lists_machines_accelerators_and_sources() -> None:
    view = catalog_view("vertex")
    json.dumps(view)
    names = {m["name"]: m for m in view["machine_types"]}
    assert {"n1-standard-4", "a2-highgpu-1g", "a3-highgpu-8g", "g2-standard-4"} <= set(names)
    assert {"type": "NVIDIA_TESLA_T4", "counts": [4]} in names["n1-standard-96"]["accelerators"]
    assert names["a2-highgpu-2g"]["accelerators"] == [{"type": "NVIDIA_TESLA_A100", "counts": [2]}]
    assert names["e2-standard-4"]["accelerators"] == []
    assert names["n1-standard-4"]["hourly_usd"] == pytest.approx(0.2185)
    assert view["default_region"] == "us-central1"
    assert view["prices_as_of"]
    assert all(s["url"] and s["read_on"] for s in view["sources"])


def test_catalog_view_shows_each_machine_types_conditions() -> None:
    names = {m["name"]: m for m in catalog_view("vertex")["machine_types"]}
    assert "reservation" in names["a4-highgpu-8g"]["conditions"]
    assert names["n1-standard-4"]["conditions"] is None


def test_catalog_view_lists_the_accelerators_left_out_and_why() -> None:
    left_out = {a["type"]: a["reason"] for a in catalog_view("vertex")["not_offered"]}
    assert {"NVIDIA_GB200", "NVIDIA_RTX_PRO_6000", "TPU_V4_POD"} <= set(left_out)
    assert "G4" in left_out["NVIDIA_RTX_PRO_6000"]
    offered = {a["type"] for a in catalog_view("vertex")["accelerators"]}
    assert offered & set(left_out) == set()


def test_catalog_view_says_when_a_price_is_not_known() -> None:
    view = catalog_view("vertex")
    names = {m["name"]: m for m in view["machine_types"]}
    assert names["a4-highgpu-8g"]["hourly_usd"] is None
    assert names["a4-highgpu-8g"]["price_note"].startswith("price not known: ")
    accelerators = {a["type"]: a for a in view["accelerators"]}
    assert accelerators["TPU_V5_LITEPOD"]["price_note"].startswith("price not known: ")


def test_catalog_view_marks_prices_derived_by_rule() -> None:
    names = {m["name"]: m for m in catalog_view("vertex")["machine_types"]}
    assert names["n1-standard-8"]["price_note"].startswith("derived: Compute Engine")
    assert names["n1-standard-4"]["price_note"] is None  # quoted from Vertex's page


def test_catalog_view_gives_the_n1_counts_that_fit_the_region() -> None:
    def p100_counts(region: str) -> list[int]:
        view = catalog_view("vertex", region)
        machine = next(m for m in view["machine_types"] if m["name"] == "n1-standard-96")
        options = {a["type"]: a["counts"] for a in machine["accelerators"]}
        return options.get("NVIDIA_TESLA_P100", [])

    assert p100_counts("us-central1") == [4]
    assert p100_counts("europe-west1") == []


def test_catalog_view_for_a_region_shows_only_what_it_offers() -> None:
    view = catalog_view("vertex", "europe-west2")
    assert [a["type"] for a in view["accelerators"]] == ["NVIDIA_TESLA_T4"]
    names = {m["name"] for m in view["machine_types"]}
    assert "a2-highgpu-1g" not in names
    assert "n1-standard-4" in names


def test_catalog_view_for_dataflow_gives_worker_gpu_names() -> None:
    view = catalog_view("dataflow")
    assert {"nvidia-tesla-t4", "nvidia-l4"} <= {a["compute_name"] for a in view["accelerators"]}


def test_dataflow_offers_h100_mega_and_tpu_workers() -> None:
    names = {m["name"]: m for m in catalog_view("dataflow")["machine_types"]}
    assert names["a3-megagpu-8g"]["accelerators"] == [
        {"type": "NVIDIA_H100_MEGA_80GB", "counts": [8]}
    ]
    assert names["ct5lp-hightpu-8t"]["accelerators"] == [{"type": "TPU_V5_LITEPOD", "counts": [8]}]
    assert "allowlist" in names["ct5lp-hightpu-8t"]["conditions"]


def test_dataflow_tpu_workers_are_billed_for_the_tpus_only() -> None:
    names = {m["name"]: m for m in catalog_view("dataflow")["machine_types"]}
    assert names["ct5lp-hightpu-4t"]["hourly_usd"] == 0.0
    assert "TPU chip-hours" in names["ct5lp-hightpu-4t"]["price_note"]


def test_dataflow_gpu_prices_are_dataflows_own() -> None:
    view = catalog_view("dataflow", "us-central1")
    prices = {a["type"]: a["hourly_usd"] for a in view["accelerators"]}
    assert prices == {
        "NVIDIA_TESLA_T4": 0.42,
        "NVIDIA_L4": 0.672,
        "NVIDIA_TESLA_P4": 0.72,
        "NVIDIA_TESLA_P100": 1.752,
        "NVIDIA_TESLA_V100": 2.976,
        "NVIDIA_TESLA_A100": 3.72,
        "NVIDIA_A100_80GB": 4.714,
        "NVIDIA_H100_80GB": 11.756,
        "NVIDIA_H100_MEGA_80GB": None,
        "TPU_V5_LITEPOD": None,
    }


@pytest.mark.parametrize(("backend", "region"), [("gke", None), ("vertex", "mars-north1")])
def test_catalog_view_rejects_unknown_backend_or_region(backend: str, region: str | None) -> None:
    with pytest.raises(ValueError, match="unknown"):
        catalog_view(backend, region)


def test_vertex_estimate_multiplies_machine_and_gpus_by_replicas() -> None:
    cost = estimate_hourly_cost("vertex", res("n1-standard-4", "T4", 2, replica_count=3), None)
    assert cost is not None
    assert cost["estimate"] is True
    assert cost["as_of"] == catalog_view("vertex")["prices_as_of"]
    assert cost["breakdown"] == [
        {"item": "n1-standard-4", "usd_per_hour": 0.2185},
        {"item": "2 x NVIDIA_TESLA_T4", "usd_per_hour": 0.805},
        {"item": "100 GB pd-ssd disk", "usd_per_hour": 0.02329},  # Vertex AI's default boot disk
    ]
    assert cost["usd_per_hour"] == pytest.approx((0.2185 + 0.805 + 0.02329) * 3, abs=1e-4)


def test_vertex_prices_h100_from_the_vertex_pricing_page() -> None:
    cost = estimate_hourly_cost("vertex", res("a3-highgpu-1g", "H100", 1), "us-central1")
    assert cost is not None
    assert {"item": "1 x NVIDIA_H100_80GB", "usd_per_hour": 9.79655} in cost["breakdown"]


def test_estimate_names_prices_derived_rather_than_read() -> None:
    cost = estimate_hourly_cost("vertex", res("n1-standard-8", "T4", 1), "us-central1")
    assert cost is not None
    assert [c.split(":")[0] for c in cost["caveats"]] == ["n1-standard-8", "NVIDIA_TESLA_T4"]
    quoted = estimate_hourly_cost("vertex", res("n1-standard-4"), "us-central1")
    assert quoted is not None and quoted["caveats"] == []


def test_estimate_applies_the_region_multiplier() -> None:
    base = estimate_hourly_cost("vertex", res("a2-highgpu-1g", "A100", 1), "us-central1")
    tokyo = estimate_hourly_cost("vertex", res("a2-highgpu-1g", "A100", 1), "asia-northeast1")
    assert base is not None and tokyo is not None
    assert tokyo["usd_per_hour"] == pytest.approx(base["usd_per_hour"] * 1.282, rel=1e-3)


def test_dataflow_estimate_is_an_upper_bound_over_max_workers() -> None:
    cost = estimate_hourly_cost(
        "dataflow", res("n1-standard-4", "nvidia-tesla-t4", 1, max_workers=5), "us-central1"
    )
    assert cost is not None
    # A worker's vCPUs, memory, GPU and its 25 GB standard disk (Dataflow's size on Shuffle).
    per_worker = 4 * 0.056 + 15 * 0.003557 + 0.42 + 25 * 0.04 / 730
    assert cost["usd_per_hour"] == pytest.approx(per_worker * 5, abs=1e-3)
    assert "upper bound" in cost["note"]


@pytest.mark.parametrize(
    "resources",
    [
        res("n1-standrd-4"),
        res("n1-standard-4", "X100", 1),
        res("cloud-tpu", "TPU_V3", 8),
        res("a3-megagpu-8g", "NVIDIA_H100_MEGA_80GB", 8),
        res("a3-ultragpu-8g", "H200", 8),
        res("a4-highgpu-8g", "B200", 8),
        res("ct5lp-hightpu-4t", "TPU-V5E", 4),
    ],
)
def test_estimate_is_none_when_unknown_or_unpriced(resources: dict[str, Any]) -> None:
    assert estimate_hourly_cost("vertex", resources, "us-central1") is None


def test_messages_name_accelerators_by_short_names() -> None:
    problems = validate_resources("vertex", res("a2-highgpu-1g", "NVIDIA_TESLA_T4", 1), None)
    message = " ".join(p["message"] for p in problems)
    assert "a2-highgpu-1g takes 1 A100, not T4" in message
    assert "NVIDIA_" not in message
    # Suggestions stay the values the field takes.
    assert problems[0]["suggestions"] == ["NVIDIA_TESLA_A100"]


def test_long_lists_of_machine_types_are_cut_with_a_count() -> None:
    (problem,) = validate_resources("vertex", res("a2-highgpu-1g", "T4", 1), None)
    taking_t4 = cloud.load_catalog("vertex").machines_taking("NVIDIA_TESLA_T4")
    assert len(taking_t4) > 7
    listed = problem["message"].split("machine types with T4: ")[1]
    assert listed == f"{', '.join(taking_t4[:6])} and {len(taking_t4) - 6} more"
