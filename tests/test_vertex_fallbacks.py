"""Capacity-aware launch on Vertex AI: a job whose attempt ends for lack of capacity or quota
goes on as a new attempt with the next of its `scheduling.fallbacks`, and a preempted Spot job
is started again, resuming from the same output folder. Through a real Jupyter server's REST
API, with Google's real client libraries speaking to the stand-ins of test_vertex."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import test_vertex as base
from fake_vertex import RESOURCE_EXHAUSTED, JobState, preempted, quota_exceeded, vertex_env
from google.cloud.aiplatform_v1 import types
from test_vertex import BUCKET, env_of

storage_emulator, storage, vertex, logs = (
    base.storage_emulator,
    base.storage,
    base.vertex,
    base.logs,
)
vertex_installed, staging_bucket = base.vertex_installed, base.staging_bucket
jp_server_config = base.jp_server_config

T4 = {"machine_type": "n1-standard-8", "accelerator_type": "T4", "accelerator_count": 1}
KEY = "projects/test-project/locations/us-central1/keyRings/ring/cryptoKeys/key"


async def attempts_at_vertex(fake: Any, job_id: str, count: int) -> list[Any]:
    """The CustomJobs of our job, oldest first, once there are `count` of them."""
    for _ in range(400):
        with fake.lock:
            found = [j for j in fake.jobs.values() if j.labels.get("mlp-job-id") == job_id]
        if len(found) >= count:
            return sorted(found, key=lambda j: int(j.name.rsplit("/", 1)[1]))
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never had {count} CustomJobs at Vertex AI")


def region_of(custom_job: Any) -> str:
    return custom_job.name.split("/")[3]


def notes(job: dict[str, Any]) -> list[str]:
    return [t["message"] for t in job["transitions"] if t["message"].startswith("attempt ")]


async def test_a_job_without_capacity_in_its_region_runs_in_the_next_region_of_its_fallbacks(
    api, vertex
):
    fake, _ = vertex
    fake.no_capacity = {"us-central1"}
    job = await api.submit(
        backend="vertex",
        source={"code": "print('fit')"},
        region="us-central1",
        resources=T4,
        scheduling={"fallbacks": [{"region": "us-east1"}]},
    )
    first, second = await attempts_at_vertex(fake, job["id"], 2)
    fake.set_state(second.name, JobState.JOB_STATE_RUNNING)
    await api.wait(job["id"], {"RUNNING"})
    fake.set_state(second.name, JobState.JOB_STATE_SUCCEEDED)
    done = await api.wait(job["id"])
    _, page = await api.call("GET", "jobs")

    assert done["state"] == "SUCCEEDED"
    assert (region_of(first), region_of(second)) == ("us-central1", "us-east1")
    assert len(fake.created()) == 2
    assert [j["id"] for j in page["jobs"]] == [job["id"]]
    assert dict(second.labels)["mlp-attempt"] == "2"
    assert [(a["number"], a["region"]) for a in done["attempts"]] == [
        (1, "us-central1"),
        (2, "us-east1"),
    ]
    assert "Resources are insufficient in region: us-central1" in done["attempts"][0]["message"]
    assert done["attempts"][1]["backend_job_id"] == second.name == done["backend_job_id"]
    assert notes(done) == [
        "attempt 1 in us-central1 (n1-standard-8, 1 NVIDIA_TESLA_T4, standard) ended: "
        "Resources are insufficient in region: us-central1. Please try a different region. "
        "If you use K80, please consider using P100 or V100 instead.; trying us-east1 "
        "(n1-standard-8, 1 NVIDIA_TESLA_T4, standard)"
    ]
    # What finally ran is in the job's summary; the spec stays as it was submitted.
    assert page["jobs"][0]["spec"]["region"] == "us-east1"
    assert done["spec"]["region"] == "us-central1"


async def test_the_job_fails_naming_every_attempt_when_no_alternative_has_capacity(api, vertex):
    fake, _ = vertex
    fake.no_capacity = {"us-central1", "us-east1"}
    job = await api.submit(
        backend="vertex",
        source={"code": "pass"},
        region="us-central1",
        resources=T4,
        scheduling={"fallbacks": [{"region": "us-east1"}]},
    )
    failed = await api.wait(job["id"])

    assert failed["state"] == "FAILED"
    assert len(fake.created()) == 2
    message = failed["state_message"]
    assert message.startswith("Resources are insufficient in region: us-east1")
    assert "attempt 1 in us-central1 (n1-standard-8, 1 NVIDIA_TESLA_T4, standard) ended" in message
    assert "attempt 2 in us-east1 (n1-standard-8, 1 NVIDIA_TESLA_T4, standard) ended" in message


async def test_a_job_without_fallbacks_fails_at_once_when_its_region_has_no_capacity(api, vertex):
    fake, _ = vertex
    fake.no_capacity = {"us-central1"}
    job = await api.submit(
        backend="vertex", source={"code": "pass"}, region="us-central1", resources=T4
    )
    failed = await api.wait(job["id"])

    assert failed["state"] == "FAILED"
    assert failed["state_message"].startswith("Resources are insufficient in region: us-central1")
    assert len(fake.created()) == 1
    assert [a["number"] for a in failed["attempts"]] == [1]


async def test_a_create_refused_for_quota_moves_on_to_the_next_alternative(api, vertex):
    fake, _ = vertex
    fake.fail_next("create", *quota_exceeded())
    job = await api.submit(
        backend="vertex",
        source={"code": "pass"},
        resources=T4,
        scheduling={"fallbacks": [{"strategy": "spot"}]},
    )
    (made,) = await attempts_at_vertex(fake, job["id"], 1)
    fake.set_state(made.name, JobState.JOB_STATE_SUCCEEDED)
    done = await api.wait(job["id"])

    refused, accepted = fake.created()
    assert done["state"] == "SUCCEEDED"
    assert refused.job_spec.scheduling.strategy != types.Scheduling.Strategy.SPOT
    assert accepted.job_spec.scheduling.strategy == types.Scheduling.Strategy.SPOT
    assert [(a["number"], a["strategy"]) for a in done["attempts"]] == [
        (1, "standard"),
        (2, "spot"),
    ]
    assert "custom_model_training_nvidia_t4_gpus" in done["attempts"][0]["message"]
    assert done["attempts"][0]["backend_job_id"] is None
    (note,) = notes(done)
    assert note.startswith("attempt 1 in us-central1 (n1-standard-8, 1 NVIDIA_TESLA_T4, standard)")
    assert note.endswith("; trying us-central1 (n1-standard-8, 1 NVIDIA_TESLA_T4, spot)")


async def test_a_create_refused_for_quota_without_fallbacks_fails_at_once(api, vertex):
    fake, _ = vertex
    fake.fail_next("create", *quota_exceeded())
    job = await api.submit(backend="vertex", source={"code": "pass"}, resources=T4)
    failed = await api.wait(job["id"])

    assert failed["state"] == "FAILED"
    assert "custom_model_training_nvidia_t4_gpus" in failed["state_message"]
    assert fake.count("create") == 1


async def test_a_preempted_spot_job_starts_again_from_the_same_checkpoints_until_its_limit(
    api, vertex
):
    fake, _ = vertex
    job = await api.submit(
        backend="vertex",
        source={"code": "pass"},
        resources=T4,
        scheduling={"strategy": "spot", "max_preemptions": 1},
    )
    (first,) = await attempts_at_vertex(fake, job["id"], 1)
    fake.set_state(first.name, JobState.JOB_STATE_RUNNING)
    await api.wait(job["id"], {"RUNNING"})
    fake.set_state(first.name, JobState.JOB_STATE_FAILED, preempted(), code=RESOURCE_EXHAUSTED)
    _, second = await attempts_at_vertex(fake, job["id"], 2)
    restarted = await api.wait(job["id"], {"STARTING"})
    fake.set_state(second.name, JobState.JOB_STATE_RUNNING)
    await api.wait(job["id"], {"RUNNING"})
    fake.set_state(second.name, JobState.JOB_STATE_FAILED, preempted(), code=RESOURCE_EXHAUSTED)
    failed = await api.wait(job["id"])

    assert vertex_env(first)["AIP_CHECKPOINT_DIR"] == vertex_env(second)["AIP_CHECKPOINT_DIR"]
    assert vertex_env(second)["AIP_CHECKPOINT_DIR"] == f"gs://{BUCKET}/mlp/{job['id']}/checkpoints/"
    assert env_of(first.job_spec.worker_pool_specs[0]) == env_of(
        second.job_spec.worker_pool_specs[0]
    )
    assert second.job_spec.scheduling.strategy == types.Scheduling.Strategy.SPOT
    assert [a["number"] for a in restarted["attempts"]] == [1, 2]
    assert failed["state"] == "FAILED"
    assert len(fake.created()) == 2  # one preemption retried, the second one ends the job
    assert "STOCKOUT" in failed["state_message"] and "after 2 attempts" in failed["state_message"]
    assert [t["state"] for t in failed["transitions"]] == [
        "QUEUED",
        "STARTING",
        "RUNNING",
        "STARTING",
        "RUNNING",
        "FAILED",
    ]


async def test_a_spot_job_preempted_past_its_limit_moves_on_to_its_fallback(api, vertex):
    fake, _ = vertex
    job = await api.submit(
        backend="vertex",
        source={"code": "pass"},
        resources=T4,
        scheduling={
            "strategy": "spot",
            "max_preemptions": 0,
            "fallbacks": [{"strategy": "standard"}],
        },
    )
    (first,) = await attempts_at_vertex(fake, job["id"], 1)
    fake.set_state(first.name, JobState.JOB_STATE_RUNNING)
    await api.wait(job["id"], {"RUNNING"})
    fake.set_state(first.name, JobState.JOB_STATE_FAILED, preempted(), code=RESOURCE_EXHAUSTED)
    _, second = await attempts_at_vertex(fake, job["id"], 2)
    fake.set_state(second.name, JobState.JOB_STATE_SUCCEEDED)
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED"
    assert second.job_spec.scheduling.strategy != types.Scheduling.Strategy.SPOT
    assert [a["strategy"] for a in done["attempts"]] == ["spot", "standard"]


async def test_a_later_attempt_whose_create_went_unanswered_is_found_by_its_number(api, vertex):
    fake, _ = vertex
    job = await api.submit(
        backend="vertex",
        source={"code": "pass"},
        resources=T4,
        scheduling={"strategy": "spot", "max_preemptions": 1},
    )
    (first,) = await attempts_at_vertex(fake, job["id"], 1)
    fake.set_state(first.name, JobState.JOB_STATE_RUNNING)
    await api.wait(job["id"], {"RUNNING"})
    fake.lose_next("create", hold_seconds=0.0)  # made, its answer dropped
    fake.set_state(first.name, JobState.JOB_STATE_FAILED, preempted(), code=RESOURCE_EXHAUSTED)
    _, second = await attempts_at_vertex(fake, job["id"], 2)
    fake.set_state(second.name, JobState.JOB_STATE_SUCCEEDED)
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED"
    assert done["backend_job_id"] == second.name
    assert len(fake.jobs) == 2  # the first attempt, labelled alike, was not taken for the second


async def test_a_failure_of_the_job_itself_is_not_tried_again(api, vertex):
    fake, _ = vertex
    job = await api.submit(
        backend="vertex",
        source={"code": "pass"},
        resources=T4,
        scheduling={"strategy": "spot", "fallbacks": [{"region": "us-east1"}]},
    )
    (made,) = await attempts_at_vertex(fake, job["id"], 1)
    fake.set_state(made.name, JobState.JOB_STATE_RUNNING)
    await api.wait(job["id"], {"RUNNING"})
    fake.set_state(made.name, JobState.JOB_STATE_FAILED, "The replica workerpool0-0 exited 1")
    failed = await api.wait(job["id"])

    assert failed["state"] == "FAILED" and "exited 1" in failed["state_message"]
    assert len(fake.created()) == 1


# ----- refused at submit -----


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("encryption_key", KEY),
        ("scheduling.reservation", "my-reservation"),
        ("tensorboard", "projects/test-project/locations/us-central1/tensorboards/123"),
        ("psc_network_attachment", "projects/p/regions/us-central1/networkAttachments/a"),
    ],
)
async def test_a_fallback_leaving_the_region_of_a_region_bound_setting_is_refused(
    api, vertex, setting, value
):
    spec: dict[str, Any] = {
        "backend": "vertex",
        "source": {"code": "pass"},
        "region": "us-central1",
        "resources": T4,
        "scheduling": {"fallbacks": [{"strategy": "spot"}, {"region": "us-east1"}]},
    }
    if setting.startswith("scheduling."):
        spec["scheduling"][setting.removeprefix("scheduling.")] = value
    else:
        spec[setting] = value
    code, answer = await api.call("POST", "jobs", body=spec)

    assert code == 400
    errors = [e for e in answer["errors"] if e["field"] == "scheduling.fallbacks[1].region"]
    assert errors and setting in errors[0]["message"]
    assert not [e for e in answer["errors"] if e["field"].startswith("scheduling.fallbacks[0]")]
    assert fake_created(vertex) == 0


async def test_a_fallback_whose_machine_the_catalog_refuses_is_refused_naming_it(api, vertex):
    code, answer = await api.call(
        "POST",
        "jobs",
        body={
            "backend": "vertex",
            "source": {"code": "pass"},
            "resources": T4,
            "scheduling": {"fallbacks": [{"accelerator_type": "A100"}]},
        },
    )

    assert code == 400
    (error,) = answer["errors"]
    assert error["field"] == "scheduling.fallbacks[0].accelerator_type"
    assert "a2-highgpu-1g" in error["suggestions"]


async def test_fallbacks_of_a_sweep_are_refused(api, vertex):
    sweep = {
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": [{"name": "lr", "type": "double", "min": 0.001, "max": 0.1}],
        "max_trials": 2,
    }
    code, answer = await api.call(
        "POST",
        "jobs",
        body={
            "backend": "vertex",
            "source": {"code": "pass"},
            "sweep": sweep,
            "scheduling": {"fallbacks": [{"region": "us-east1"}]},
        },
    )

    assert code == 400
    assert [e["field"] for e in answer["errors"]] == ["scheduling.fallbacks"]


def fake_created(vertex: tuple[Any, str]) -> int:
    return vertex[0].count("create")


# ----- what each alternative runs -----


@pytest.mark.parametrize(
    ("scheduling", "fallback", "runs"),
    [
        (
            {"strategy": "flex_start", "max_wait_seconds": 3600},
            {"strategy": "standard"},
            {"strategy": "standard", "spot": False, "max_wait_seconds": None},
        ),
        ({}, {"strategy": "spot"}, {"strategy": "spot", "spot": True}),
        ({"spot": True}, {"region": "us-east1"}, {"strategy": "spot", "spot": True}),
    ],
)
def test_an_alternative_is_a_spec_the_job_could_have_been_submitted_with(
    scheduling, fallback, runs
):
    from jupyter_mlp.backends.vertex.fallbacks import alternative_spec
    from jupyter_mlp.core.models import JobSpec

    spec = JobSpec.model_validate(
        {
            "source": {"code": "pass"},
            "backend": "vertex",
            "region": "us-central1",
            "resources": {**T4, "accelerator_type": "NVIDIA_TESLA_T4"},
            "scheduling": {**scheduling, "fallbacks": [fallback]},
        }
    )
    alternative = alternative_spec(spec, 1)
    again = JobSpec.model_validate(alternative.model_dump(exclude_none=True))

    assert again == alternative
    assert {k: getattr(alternative.scheduling, k) for k in runs} == runs
    assert alternative.region == fallback.get("region", "us-central1")
    assert alternative.resources == spec.resources


def test_an_alternative_without_accelerators_drops_the_jobs_gpu():
    from jupyter_mlp.backends.vertex.fallbacks import alternative_spec
    from jupyter_mlp.core.models import JobSpec

    spec = JobSpec.model_validate(
        {
            "source": {"code": "pass"},
            "resources": T4,
            "scheduling": {"fallbacks": [{"machine_type": "n1-highmem-8", "accelerator_count": 0}]},
        }
    )
    resources = alternative_spec(spec, 1).resources

    assert (resources.machine_type, resources.accelerator_type) == ("n1-highmem-8", None)
    assert resources.accelerator_count == 0
