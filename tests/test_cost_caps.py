"""What jobs cost: estimates that know Spot, Flex-start, FlexRS and disks, an ended job's total,
and cost caps that cancel a job (a sweep with its trials) when its estimate reaches the cap.

Through a real Jupyter server whose Vertex AI backend speaks to the stand-ins on 127.0.0.1 (the
fake JobService, gcp-storage-emulator, fake Cloud Logging), with the fixtures of test_vertex."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import test_vertex as base
import test_vertex_sweeps as sweeps
from fake_vertex import JobState

from jupyter_mlp.catalog.cloud import estimate_hourly_cost

storage_emulator, storage, vertex, logs = (
    base.storage_emulator,
    base.storage,
    base.vertex,
    base.logs,
)
vertex_installed, staging_bucket = base.vertex_installed, base.staging_bucket
jp_server_config = base.jp_server_config

# Eight H100s: about $89 an hour, so a cap of a hundredth of a cent is reached in milliseconds.
COSTLY = {"machine_type": "a3-highgpu-8g", "accelerator_type": "H100", "accelerator_count": 8}
TINY_CAP = 0.0001
A100 = {"machine_type": "a2-highgpu-1g", "accelerator_type": "A100", "accelerator_count": 1}


def hours(item: dict[str, Any]) -> float:
    ran = datetime.fromisoformat(item["ended_at"]) - datetime.fromisoformat(item["started_at"])
    return ran.total_seconds() / 3600


def breakdown(estimate: dict[str, Any]) -> dict[str, float]:
    return {b["item"]: b["usd_per_hour"] for b in estimate["breakdown"]}


# ----- estimates -----


def test_a_spot_estimate_prices_what_has_spot_prices_and_says_what_has_none() -> None:
    standard = estimate_hourly_cost("vertex", A100, "us-central1")
    spot = estimate_hourly_cost("vertex", A100, "us-central1", "spot")
    assert standard is not None and spot is not None

    assert spot["strategy"] == "spot"
    assert breakdown(spot)["a2-highgpu-1g (Spot)"] < breakdown(standard)["a2-highgpu-1g"]
    # No Spot price for the A100 itself: counted on demand, and the estimate says so.
    assert breakdown(spot)["1 x NVIDIA_TESLA_A100"] == breakdown(standard)["1 x NVIDIA_TESLA_A100"]
    (unknown,) = [c for c in spot["caveats"] if "Spot price not known" in c]
    assert "NVIDIA_TESLA_A100" in unknown and "upper bound" in unknown
    assert standard["usd_per_hour"] > spot["usd_per_hour"]


def test_a_flex_start_estimate_without_flex_start_prices_is_an_on_demand_upper_bound() -> None:
    standard = estimate_hourly_cost("vertex", A100, "us-central1")
    flex = estimate_hourly_cost("vertex", A100, "us-central1", "flex_start")
    assert standard is not None and flex is not None

    assert flex["usd_per_hour"] == standard["usd_per_hour"]
    assert any(
        c.startswith("Flex-start price not known for a2-highgpu-1g, NVIDIA_TESLA_A100")
        for c in flex["caveats"]
    )


def test_the_boot_disk_is_priced_by_its_type_and_size_for_every_replica() -> None:
    small = {"machine_type": "n1-standard-4", "replica_count": 2}
    default = estimate_hourly_cost("vertex", small, None)
    big_standard = estimate_hourly_cost(
        "vertex", {**small, "boot_disk_type": "pd-standard", "boot_disk_size_gb": 500}, None
    )
    hyperdisk = estimate_hourly_cost(
        "vertex", {**small, "boot_disk_type": "hyperdisk-balanced"}, None
    )
    assert default is not None and big_standard is not None and hyperdisk is not None

    assert breakdown(default)["100 GB pd-ssd disk"] == pytest.approx(100 * 0.17 / 730, abs=1e-5)
    assert breakdown(big_standard)["500 GB pd-standard disk"] == pytest.approx(
        500 * 0.04 / 730, abs=1e-5
    )
    per_replica = sum(breakdown(big_standard).values())
    assert big_standard["usd_per_hour"] == pytest.approx(2 * per_replica, abs=1e-4)
    # A disk without a price is left out, and the estimate says so.
    assert list(breakdown(hyperdisk)) == ["n1-standard-4"]
    assert any(
        c.startswith("hyperdisk-balanced disk price not known") for c in hyperdisk["caveats"]
    )


def test_flexrs_prices_dataflow_workers_below_batch() -> None:
    workers = {"machine_type": "n1-standard-4", "max_workers": 3}
    batch = estimate_hourly_cost("dataflow", workers, "us-central1")
    flexrs = estimate_hourly_cost("dataflow", workers, "us-central1", "flexrs")
    assert batch is not None and flexrs is not None

    assert breakdown(flexrs)["n1-standard-4 (FlexRS)"] == pytest.approx(
        0.6 * breakdown(batch)["n1-standard-4"], abs=1e-4
    )
    assert "25 GB pd-standard disk" in breakdown(flexrs)
    assert any(c.startswith("flexrs_vcpu_hour (FlexRS): derived") for c in flexrs["caveats"])


async def test_validate_estimates_a_spot_job_with_its_disk(api):
    spec = {
        "backend": "vertex",
        "source": {"code": "pass"},
        "resources": {**A100, "boot_disk_type": "pd-standard", "boot_disk_size_gb": 200},
        "scheduling": {"spot": True},
    }
    code, answer = await api.call("POST", "validate", body=spec)

    assert code == 200
    estimate = answer["estimate"]
    assert estimate["strategy"] == "spot"
    assert set(breakdown(estimate)) == {
        "a2-highgpu-1g (Spot)",
        "1 x NVIDIA_TESLA_A100",
        "200 GB pd-standard disk",
    }
    assert any("Spot price not known for NVIDIA_TESLA_A100" in c for c in estimate["caveats"])


# ----- what a job cost -----


async def test_an_ended_job_shows_its_total_and_how_long_it_ran(api, vertex):
    fake, _ = vertex
    job = await api.submit(backend="vertex", source={"code": "pass"}, resources=COSTLY)
    created = await base.wait_at_vertex(fake, job["id"])
    fake.set_state(created.name, JobState.JOB_STATE_RUNNING)
    running = await api.wait(job["id"], {"RUNNING"})
    fake.set_state(created.name, JobState.JOB_STATE_SUCCEEDED)
    done = await api.wait(job["id"])

    assert running["cost"]["ended"] is False and running["cost"]["usd_total"] is None
    cost = done["cost"]
    assert cost["ended"] is True
    assert cost["hours"] == pytest.approx(hours(done), abs=1e-5)
    assert cost["usd_total"] == pytest.approx(cost["usd_per_hour"] * hours(done), abs=1e-3)
    code, listed = await api.call("GET", "jobs")
    assert code == 200 and listed["jobs"][0]["cost"]["usd_total"] == cost["usd_total"]


async def test_a_sweep_costs_the_sum_of_its_trials(api, vertex):
    fake, _ = vertex
    job = await api.submit(
        backend="vertex", source={"code": "pass"}, resources=COSTLY, sweep=sweeps.SWEEP
    )
    created = await sweeps.wait_for_tuning_job(fake, job["id"])
    fake.set_state(created.name, JobState.JOB_STATE_RUNNING)
    first = fake.add_trial(created.name, {"lr": 0.01, "layers": 2.0, "optimizer": "adam"})
    second = fake.add_trial(created.name, {"lr": 0.02, "layers": 4.0, "optimizer": "sgd"})
    fake.end_trial(created.name, first, metric=0.7)
    fake.end_trial(created.name, second, metric=0.8)
    fake.set_state(created.name, JobState.JOB_STATE_SUCCEEDED)
    done = await api.wait(job["id"])

    code, validated = await api.call("POST", "validate", body=done["spec"])
    assert code == 200
    per_trial = validated["estimate"]["usd_per_trial_hour"]
    trial_hours = sum(hours(t) for t in done["trials"])
    assert done["cost"]["usd_total"] == pytest.approx(per_trial * trial_hours, abs=1e-3)


# ----- cost caps -----


async def test_a_job_reaching_its_cost_cap_is_cancelled_at_vertex_saying_so(api, vertex):
    fake, _ = vertex
    fake.settle_cancels = True
    job = await api.submit(
        backend="vertex",
        source={"code": "pass"},
        resources=COSTLY,
        scheduling={"max_cost_usd": TINY_CAP},
    )
    created = await base.wait_at_vertex(fake, job["id"])
    fake.set_state(created.name, JobState.JOB_STATE_RUNNING)

    cancelled = await api.wait(job["id"])

    assert cancelled["state"] == "CANCELLED"
    assert "Cancelled by its cost cap: ≈ $" in cancelled["state_message"]
    assert "reached the $0.0001 cap" in cancelled["state_message"]
    assert cancelled["cost"]["usd_total"] >= TINY_CAP
    made = created.name.rsplit("/", 1)[1]
    assert [c.route for c in fake.calls if made in c.path and c.route == "cancel"] == ["cancel"]


async def test_a_sweep_reaching_its_cost_cap_is_cancelled_with_every_running_trial(api, vertex):
    fake, _ = vertex
    fake.settle_cancels = True
    job = await api.submit(
        backend="vertex",
        source={"code": "pass"},
        resources=COSTLY,
        sweep=sweeps.SWEEP,
        scheduling={"max_cost_usd": TINY_CAP},
    )
    created = await sweeps.wait_for_tuning_job(fake, job["id"])
    fake.add_trial(created.name, {"lr": 0.01, "layers": 2.0, "optimizer": "adam"})
    fake.add_trial(created.name, {"lr": 0.02, "layers": 4.0, "optimizer": "sgd"})
    fake.set_state(created.name, JobState.JOB_STATE_RUNNING)

    cancelled = await api.wait(job["id"])

    assert cancelled["state"] == "CANCELLED"
    assert "by its cost cap" in cancelled["state_message"]
    assert fake.count("cancel_tuning") == 1
    assert [t["state"] for t in cancelled["trials"]] == ["CANCELLED", "CANCELLED"]


async def test_a_cost_cap_on_a_backend_without_prices_is_refused_naming_the_field(api):
    code, answer = await api.call(
        "POST",
        "jobs",
        body={"backend": "local", "source": {"code": "pass"}, "scheduling": {"max_cost_usd": 5}},
    )

    assert code == 400
    fields = {e["field"]: e["message"] for e in answer["errors"]}
    assert "vertex" in fields["scheduling.max_cost_usd"]
