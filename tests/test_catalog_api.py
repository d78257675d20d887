"""GET /mlp/catalog and POST /mlp/validate through a real server; the same checks at submit."""

from __future__ import annotations

import pytest
from conftest import server_manager

# An image of the user's own: jobs that name one need no prebuilt container.
OWN_IMAGE = "us-docker.pkg.dev/my-project/training/fit:3"


async def test_vertex_catalog_lists_machines_accelerators_and_dated_prices(api):
    code, catalog = await api.call("GET", "catalog", backend="vertex", region="us-central1")

    assert code == 200
    machines = {m["name"]: m for m in catalog["machine_types"]}
    assert machines["a2-highgpu-2g"]["accelerators"] == [
        {"type": "NVIDIA_TESLA_A100", "counts": [2]}
    ]
    assert machines["n1-standard-8"]["vcpus"] == 8
    assert catalog["prices_are_estimates"] is True and catalog["prices_as_of"]
    assert all(source["url"].startswith("https://") for source in catalog["sources"])


async def test_vertex_catalog_shows_conditions_and_the_accelerators_left_out(api):
    code, catalog = await api.call("GET", "catalog", backend="vertex")

    assert code == 200
    machines = {m["name"]: m for m in catalog["machine_types"]}
    assert "reservation" in machines["a3-ultragpu-8g"]["conditions"]
    assert machines["n1-standard-8"]["conditions"] is None
    assert machines["a3-ultragpu-8g"]["price_note"].startswith("price not known: ")
    left_out = {a["type"]: a["reason"] for a in catalog["not_offered"]}
    assert {"NVIDIA_GB200", "NVIDIA_RTX_PRO_6000", "TPU_V4_POD"} <= set(left_out)


async def test_the_vertex_catalog_knows_every_region_and_which_its_gpu_data_covers(api):
    code, catalog = await api.call("GET", "catalog", backend="vertex")

    assert code == 200
    assert {"europe-west3", "australia-southeast1", "us-south1"} <= set(catalog["regions"])
    assert "us-central1" in catalog["gpu_regions"]
    assert "europe-west3" not in catalog["gpu_regions"]  # T4 there: not known, not refused
    assert any(s["url"].endswith("/vertex-ai/docs/general/locations") for s in catalog["sources"])


async def test_the_vertex_catalogs_default_image_is_never_past_its_end_of_availability(api):
    code, catalog = await api.call("GET", "catalog", backend="vertex", region="europe-west3")

    assert code == 200
    available = {c["uri"]: c["available"] for c in catalog["containers"]}
    assert set(catalog["default_containers"]) == {"cpu", "gpu", "tpu"}
    for chosen in catalog["default_containers"].values():
        if chosen["uri"] is None:  # none left: the reason says how to name one
            assert "VertexBackend.default_image" in chosen["reason"]
        else:
            assert available[chosen["uri"]] is True, chosen


async def test_a_vertex_job_in_europe_west3_gets_warnings_not_errors_on_its_region(api):
    spec = {
        "backend": "vertex",
        "source": {"code": "pass"},
        "environment": OWN_IMAGE,
        "region": "europe-west3",
        "resources": {
            "machine_type": "n1-standard-8",
            "accelerator_type": "T4",
            "accelerator_count": 1,
        },
    }
    code, answer = await api.call("POST", "validate", body=spec)

    assert code == 200
    on_region = [e for e in answer["errors"] if e["field"] == "region"]
    assert on_region and {e["severity"] for e in on_region} == {"warning"}
    assert answer["spec"]["region"] == "europe-west3"


async def test_catalog_for_an_unknown_region_or_backend_is_a_400(api):
    code, answer = await api.call("GET", "catalog", backend="vertex", region="mars-north1")
    assert code == 400 and answer["errors"][0]["field"] == "region"
    code, answer = await api.call("GET", "catalog", backend="azure")
    assert code == 400 and answer["errors"][0]["field"] == "backend"


@pytest.mark.parametrize(
    ("resources", "region", "field", "words"),
    [
        (
            {"machine_type": "a2-highgpu-2g", "accelerator_type": "A100", "accelerator_count": 1},
            None,
            "resources.accelerator_count",
            "a2-highgpu-2g takes exactly 2 A100",
        ),
        (
            {"machine_type": "g2-standard-4", "accelerator_type": "L4", "accelerator_count": 1},
            "europe-west2",
            "region",
            "L4 is not offered in europe-west2; offered in:",
        ),
        (
            {"machine_type": "n1-standard-96", "accelerator_type": "T4", "accelerator_count": 1},
            None,
            "resources.accelerator_count",
            "n1-standard-96 cannot take 1 T4",
        ),
        (
            {"machine_type": "n1-standard-8", "accelerator_type": "X100", "accelerator_count": 1},
            None,
            "resources.accelerator_type",
            "unknown accelerator 'X100'",
        ),
        (
            {"machine_type": "n1-standard-96", "accelerator_type": "P100", "accelerator_count": 4},
            "europe-west1",
            "resources.accelerator_count",
            "at most 64 vCPUs with 4 P100 in europe-west1's P100 zones",
        ),
        (
            {"machine_type": "g2-standard-8", "accelerator_type": "GB200", "accelerator_count": 4},
            None,
            "resources.accelerator_type",
            "GB200 is not offered for vertex: ",
        ),
    ],
)
async def test_validate_names_the_field_and_what_would_be_valid(
    api, resources, region, field, words
):
    spec = {"backend": "vertex", "source": {"code": "pass"}, "resources": resources}
    if region:
        spec["region"] = region
    code, answer = await api.call("POST", "validate", body=spec)

    assert code == 200
    assert answer["valid"] is False
    messages = {e["field"]: e["message"] for e in answer["errors"]}
    assert words in messages[field], messages


async def test_validate_accepts_short_names_and_estimates_the_hourly_cost(api):
    spec = {
        "backend": "vertex",
        "source": {"code": "pass"},
        "environment": OWN_IMAGE,
        "resources": {
            "machine_type": "n1-standard-8",
            "accelerator_type": "T4",
            "accelerator_count": 1,
        },
    }
    code, answer = await api.call("POST", "validate", body=spec)

    assert code == 200
    resource_errors = [e for e in answer["errors"] if e["field"].startswith("resources")]
    assert resource_errors == []
    assert answer["spec"]["resources"]["accelerator_type"] == "NVIDIA_TESLA_T4"
    assert answer["estimate"]["estimate"] is True and answer["estimate"]["as_of"]
    items = [b["item"] for b in answer["estimate"]["breakdown"]]
    # Each replica pays for its boot disk too: Vertex AI's default when the spec names none.
    assert items == ["n1-standard-8", "1 x NVIDIA_TESLA_T4", "100 GB pd-ssd disk"]
    assert answer["estimate"]["usd_per_hour"] == pytest.approx(
        sum(b["usd_per_hour"] for b in answer["estimate"]["breakdown"]), abs=1e-4
    )
    # The test server sets no staging bucket: the only error names the setting to fill in.
    assert [e["field"] for e in answer["errors"]] == ["backend"]
    assert "staging_bucket" in answer["errors"][0]["message"]


async def test_validate_does_not_count_a_machine_types_conditions_as_errors(api):
    spec = {
        "backend": "vertex",
        "source": {"code": "pass"},
        "environment": OWN_IMAGE,
        "resources": {
            "machine_type": "a4-highgpu-8g",
            "accelerator_type": "B200",
            "accelerator_count": 8,
        },
    }
    code, answer = await api.call("POST", "validate", body=spec)

    assert code == 200
    # Only the unconfigured vertex backend is an error; conditions and unknown prices are
    # warnings next to the machine type, which do not make the spec invalid.
    blocking = [e["field"] for e in answer["errors"] if e["severity"] == "error"]
    warnings = [e for e in answer["errors"] if e["severity"] == "warning"]
    assert blocking == ["backend"]
    assert any(e["field"] == "resources.machine_type" for e in warnings)
    assert answer["spec"]["resources"]["accelerator_type"] == "NVIDIA_B200"
    assert answer["estimate"] is None


async def test_local_spec_validates_and_has_no_cloud_estimate(api):
    code, answer = await api.call("POST", "validate", body={"source": {"code": "pass"}})
    assert code == 200
    assert answer == {
        "valid": True,
        "errors": [],
        "spec": answer["spec"],
        "estimate": None,
    }
    assert answer["spec"]["backend"] == "local"


async def test_submit_refuses_invalid_cloud_resources_with_the_validation_errors(api):
    spec = {
        "backend": "vertex",
        "source": {"code": "pass"},
        "resources": {
            "machine_type": "a2-highgpu-2g",
            "accelerator_type": "A100",
            "accelerator_count": 1,
        },
    }
    code, answer = await api.call("POST", "jobs", body=spec)
    assert code == 400
    fields = [e["field"] for e in answer["errors"]]
    assert "resources.accelerator_count" in fields
    assert (await api.call("GET", "jobs"))[1]["jobs"] == []


@pytest.fixture
def gpu_ids() -> None:
    """No override: the server looks for GPUs through NVML, as on a user's machine."""
    return None


async def test_local_catalog_shows_what_nvml_found_and_this_machines_cpus(api):
    code, catalog = await api.call("GET", "catalog", backend="local")

    assert code == 200
    assert catalog["cpu_count"] >= 1 and catalog["memory_mb"] > 0
    if catalog["gpus"]:  # a machine with an NVIDIA driver
        assert all(
            g["source"] == "nvml" and g["name"] and g["memory_total_mb"] for g in catalog["gpus"]
        )
    else:  # nothing invented: no driver, no GPUs, and the reason why
        assert "NVML is not available" in catalog["gpu_detection"]


async def test_the_local_backend_says_why_no_gpu_was_found_only_in_the_catalog(api):
    code, body = await api.call("GET", "backends")
    local = next(b for b in body["backends"] if b["name"] == "local")
    gpus = (await api.call("GET", "catalog", backend="local"))[1]["gpus"]

    assert code == 200
    if gpus:
        assert f"{len(gpus)} GPU(s)" in local["reason"]
    else:  # the form says "No GPU on this machine" once, from the catalog
        assert local["reason"] == "runs jobs on this machine"


async def test_a_cloud_job_shows_its_estimated_cost_so_far(api, jp_serverapp):
    # No cloud backend runs jobs here yet, so the job is written to the store as a cloud
    # backend would leave it: started two hours ago, ended one hour later.
    from datetime import UTC, datetime, timedelta

    from jupyter_mlp.core.models import Job, JobSpec, JobState

    manager = await server_manager(jp_serverapp)
    started = datetime.now(UTC) - timedelta(hours=2)
    resources = {
        "machine_type": "n1-standard-8",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 1,
    }
    spec = JobSpec.model_validate(
        {"backend": "vertex", "source": {"code": "pass"}, "resources": resources}
    )
    manager.store.add(
        Job(
            id="vertexjob001",
            name="on-vertex",
            kind="train",
            backend="vertex",
            state=JobState.SUCCEEDED,
            spec=spec,
            created_at=started,
            started_at=started,
            ended_at=started + timedelta(hours=1),
        )
    )
    _, estimate = await api.call("POST", "validate", body=spec.model_dump(mode="json"))

    code, job = await api.call("GET", "jobs", "vertexjob001")

    assert code == 200
    assert job["cost"]["usd_per_hour"] == estimate["estimate"]["usd_per_hour"]
    assert job["cost"]["usd_so_far"] == pytest.approx(job["cost"]["usd_per_hour"], rel=1e-3)
    assert job["cost"]["estimate"] is True and job["cost"]["prices_as_of"]
    listed = (await api.call("GET", "jobs"))[1]["jobs"]
    assert listed[0]["cost"] == job["cost"]
    local = await api.submit(source={"code": "pass"})
    assert local["cost"] is None
