"""The Dataflow backend, with the real libraries speaking their real protocol to a stand-in on
127.0.0.1: Beam's own DataflowRunner submits pipelines (staging into local folders) and
`google-cloud-dataflow-client` watches them, both through a fake Dataflow v1b3 REST server that
parses every request with the real protobuf types."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import clouds
import pytest
import test_contract as contract
from clouds import PIPELINE, PROJECT, dataflow_backend
from fake_dataflow import (
    FakeDataflow,
    FakeDataflowServer,
    Importance,
    JobState,
    error_info,
    past,
    retry_info,
)
from google.cloud import dataflow_v1beta3 as dataflow
from jupyter_processes import TOKEN, JupyterServer, isolated_env
from openapi_schema_validator import OAS31Validator

from jupyter_mlp.backends.dataflow import options as dataflow_options
from jupyter_mlp.backends.dataflow.backend import DataflowBackend
from jupyter_mlp.backends.dataflow.jobs import STATES
from jupyter_mlp.backends.local.processes import process_start_ticks
from jupyter_mlp.core.manager import JobManager
from jupyter_mlp.core.models import JobSpec
from jupyter_mlp.core.models import JobState as Ours
from jupyter_mlp.core.store import JobStore
from jupyter_mlp.server.openapi import openapi_document

BEAM = find_spec("apache_beam")
assert BEAM is not None and BEAM.submodule_search_locations
WORDCOUNT = Path(BEAM.submodule_search_locations[0]) / "examples" / "wordcount.py"


dataflow_server = clouds.dataflow_server  # the stand-in's fixture, shared with the contract suite


@pytest.fixture
def fake(dataflow_server: FakeDataflowServer) -> FakeDataflowServer:
    return dataflow_server


@pytest.fixture
def managers(tmp_path: Path, fake: FakeDataflowServer):
    """Makes managers of one database and one Dataflow (a server, a restarted server...)."""
    made: list[JobManager] = []

    def make(**backend_kwargs: Any) -> JobManager:
        manager = JobManager(
            JobStore(f"sqlite:///{tmp_path / 'mlp.db'}"),
            {"dataflow": dataflow_backend(fake.endpoint, tmp_path, **backend_kwargs)},
            root_dir=tmp_path,
            jobs_dir=tmp_path / "jobs",
            default_backend="dataflow",
            poll_interval=0.05,
            cancel_grace_seconds=contract.GRACE,
        )
        made.append(manager)
        return manager

    yield make
    for manager in made:
        for backend in manager.backends.values():
            backend.close()
        manager.store.close()


async def at_dataflow(fake: FakeDataflow, manager: JobManager, job_id: str) -> Any:
    """The Dataflow job of our job, once its submission made it (rounds run meanwhile)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = fake.labelled(job_id)
        if found is not None:
            return found
        await manager.tick()
        await asyncio.sleep(0.1)
    job = await manager.get(job_id)
    raise AssertionError(f"job never reached Dataflow: {job.state.value} {job.state_message}")


def adopt(fake: FakeDataflow, job_id: str, name: str) -> Any:
    """A running Dataflow job of ours made earlier (by a submission before a crash), found by
    its name and label rather than submitted again: watching it needs no Beam submission."""
    return fake.add_job(
        dataflow.Job(
            name=dataflow_options.dataflow_job_name(name, job_id),
            type_=dataflow.JobType.JOB_TYPE_BATCH,
            labels={"mlp-job-id": job_id, "mlp-managed": "true"},
            environment={"worker_pools": [{"machine_type": "n1-standard-1"}]},
            current_state=JobState.JOB_STATE_RUNNING,
        )
    )


# ----- what a pipeline's options are on Dataflow -----


def target(**kwargs: Any) -> dataflow_options.DataflowTarget:
    return dataflow_options.DataflowTarget(
        project=PROJECT, region="europe-west4", temp_location="gs://b/t", **kwargs
    )


def dataflow_args(**spec: Any) -> list[str]:
    return dataflow_options.pipeline_args(
        JobSpec.model_validate({"kind": "etl", **spec}),
        job_id="0a1b2c3d4e5f",
        job_name=spec.get("name", "etl"),
        target=target(),
    )


def test_job_names_follow_dataflows_rules_and_end_with_our_id():
    assert (
        dataflow_options.dataflow_job_name("Word Count!", "0a1b2c3d4e5f")
        == "word-count-0a1b2c3d4e5f"
    )
    assert dataflow_options.dataflow_job_name("2024_report", "abc") == "mlp-2024-report-abc"
    assert dataflow_options.dataflow_job_name("Étude ☃", "abc") == "etude-abc"
    assert len(dataflow_options.dataflow_job_name("x" * 300, "abc")) == 44


def test_worker_gpus_and_tpus_become_the_worker_accelerator_service_option():
    gpu = dataflow_args(
        source={"code": "pass"},
        resources={"accelerator_type": "NVIDIA_L4", "accelerator_count": 2},
    )
    tpu = dataflow_args(
        source={"code": "pass"},
        resources={"accelerator_type": "TPU_V5_LITEPOD", "accelerator_count": 4},
    )

    assert (
        "--dataflow_service_options=worker_accelerator=type:nvidia-l4;count:2;install-nvidia-driver"
        in gpu
    )
    assert (
        "--dataflow_service_options=worker_accelerator=type:tpu-v5-lite-podslice;topology:2x2"
        in tpu
    )


def test_cells_and_notebooks_save_their_main_session_and_scripts_do_not():
    assert "--save_main_session" in dataflow_args(source={"code": "pass"})
    assert "--save_main_session" in dataflow_args(source={"path": "p.ipynb", "mode": "script"})
    assert "--save_main_session" not in dataflow_args(source={"path": "p.py"})


def test_labels_carry_our_id_and_the_specs_own_labels_made_valid():
    args = dataflow_args(source={"code": "pass"}, labels={"Team": "Data Eng", "2x": "y"})

    assert [a for a in args if a.startswith("--labels=")] == [
        "--labels=team=data-eng",
        "--labels=l-2x=y",
        "--labels=mlp-job-id=0a1b2c3d4e5f",
        "--labels=mlp-managed=true",
    ]


def test_every_dataflow_state_has_a_meaning_here():
    assert set(STATES) == {state.name for state in dataflow.JobState}
    assert {raw: ours for raw, ours in STATES.items() if ours is not None} == {
        "JOB_STATE_RUNNING": Ours.RUNNING,
        "JOB_STATE_CANCELLING": Ours.CANCELLING,
        "JOB_STATE_DRAINING": Ours.CANCELLING,
        "JOB_STATE_DONE": Ours.SUCCEEDED,
        "JOB_STATE_FAILED": Ours.FAILED,
        "JOB_STATE_CANCELLED": Ours.CANCELLED,
        "JOB_STATE_DRAINED": Ours.CANCELLED,
        "JOB_STATE_UPDATED": Ours.CANCELLED,
    }  # the others (pending, queued, stopped, paused...) leave the job as it is


# ----- through Beam's own DataflowRunner -----


@pytest.fixture(scope="module")
def submitted_wordcount(tmp_path_factory: pytest.TempPathFactory):
    """Beam's own wordcount, submitted once through the real DataflowRunner by the backend."""
    root = tmp_path_factory.mktemp("wordcount")
    shutil.copyfile(WORDCOUNT, root / "wordcount.py")
    (root / "words.txt").write_text("the cat the hat\n")

    async def submit(server: FakeDataflowServer) -> tuple[Any, Any]:
        manager = JobManager(
            JobStore(f"sqlite:///{root / 'mlp.db'}"),
            {"dataflow": dataflow_backend(server.endpoint, root)},
            root_dir=root,
            jobs_dir=root / "jobs",
            default_backend="dataflow",
        )
        job = await manager.submit(
            {
                "kind": "etl",
                "name": "Word Count",
                "source": {"path": "wordcount.py"},
                "args": [
                    *("--input", str(root / "words.txt"), "--output", "counts"),
                    *("--machine_type", "n1-standard-8"),
                ],
                "resources": {
                    "replica_count": 3,
                    "max_workers": 7,
                    "accelerator_type": "T4",
                    "accelerator_count": 1,
                },
                "requirements": ["nltk==3.9.1"],
                "labels": {"team": "search"},
            }
        )
        created = await at_dataflow(server.fake, manager, job.id)
        for _ in range(20):  # until the submission's report is read
            await manager.tick()
            if (await manager.get(job.id)).backend_job_id:
                break
            await asyncio.sleep(0.1)
        seen = await manager.get(job.id)
        folder = Path(manager.store.folder(job.id) or "")
        await manager.stop()
        manager.store.close()
        return seen, (created, folder)

    with FakeDataflowServer() as server:
        job, (created, folder) = asyncio.run(submit(server))
        yield job, created, server.fake, folder


def test_the_job_dataflow_receives_names_our_job_its_workers_and_gpus(submitted_wordcount):
    job, created, fake, _ = submitted_wordcount
    (received,) = fake.created()
    pool = received.environment.worker_pools[0]

    assert received.name == f"word-count-{job.id}"
    assert dict(received.labels) == {"team": "search", "mlp-job-id": job.id, "mlp-managed": "true"}
    assert received.type_ == dataflow.JobType.JOB_TYPE_BATCH
    assert pool.machine_type == "n1-standard-8"
    assert pool.autoscaling_settings.max_num_workers == 7
    assert list(received.environment.service_options) == [
        "worker_accelerator=type:nvidia-tesla-t4;count:1;install-nvidia-driver"
    ]
    assert (created.project_id, created.location) == (PROJECT, "us-central1")


def test_a_machine_type_in_the_pipelines_args_is_not_overridden_by_the_default(
    submitted_wordcount,
):
    job, _, fake, _ = submitted_wordcount
    (received,) = fake.created()

    assert received.environment.worker_pools[0].machine_type == "n1-standard-8"
    assert job.spec.resources.machine_type == "n1-standard-8"  # what its cost is priced on


def test_the_replica_count_reaches_dataflow_as_the_number_of_workers(submitted_wordcount):
    _, _, fake, _ = submitted_wordcount
    (received,) = fake.created()

    assert received.environment.worker_pools[0].num_workers == 3


def test_the_requirements_and_the_jobs_package_are_staged_for_the_workers(submitted_wordcount):
    _, _, fake, _ = submitted_wordcount
    (received,) = fake.created()
    staged = {p.name: p.location for p in received.environment.worker_pools[0].packages}

    assert {"requirements.txt", "mlp_bundle-1.0.tar.gz", "extra_packages.txt"} <= set(staged)
    assert Path(staged["requirements.txt"]).read_text().split() == ["nltk==3.9.1"]
    options = json.loads(dataflow.Job.to_json(received))["environment"]["sdkPipelineOptions"]
    assert options["options"]["requirements_cache"] == "skip"
    assert options["options"]["runner"] == "DataflowRunner"


def test_the_submission_reports_the_job_id_and_ends_without_waiting(submitted_wordcount):
    job, created, _, folder = submitted_wordcount
    report = json.loads((folder / ".mlp" / "dataflow" / "submitted.json").read_text())

    assert report["job_id"] == created.id == job.backend_job_id
    assert job.console_url == (
        f"https://console.cloud.google.com/dataflow/jobs/us-central1/{created.id}?project={PROJECT}"
    )
    deadline = time.monotonic() + 10
    while process_start_ticks(report["pid"]) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process_start_ticks(report["pid"]) is None  # it never waited for the pipeline
    log = (folder / "job.log").read_text()
    assert f"Dataflow job {created.id} submitted" in log


async def test_a_pipeline_that_fails_to_build_fails_with_its_error(managers, fake):
    manager = managers()
    job = await manager.submit({"source": {"code": "raise ValueError('no input named')\n"}})

    failed = await contract.until(manager, job.id, {Ours.FAILED}, timeout=60)

    assert failed.state_message == "the pipeline was not submitted: ValueError: no input named"
    assert failed.backend_state == "NOT_SUBMITTED"
    assert fake.fake.count("create") == 0
    assert "ValueError: no input named" in (await manager.read_log(job.id))["data"]


async def test_a_submission_refused_by_a_rate_limit_is_submitted_again_and_runs(managers, fake):
    fake.fake.fail_next(
        "create",
        429,
        "Quota exceeded for quota metric 'Job create requests' and limit 'Job create requests "
        "per minute per user' of service 'dataflow.googleapis.com'",
        details=[
            error_info(
                "RATE_LIMIT_EXCEEDED",
                quota_metric="dataflow.googleapis.com/job_create_requests",
                quota_limit="JobCreateRequestsPerMinutePerUser",
            ),
            retry_info(0.1),
        ],
    )
    manager = managers()
    job = await manager.submit({"name": "retried", "source": {"code": PIPELINE}})

    deadline = time.monotonic() + 120
    while (await manager.get(job.id)).backend_job_id is None:
        assert time.monotonic() < deadline, (await manager.get(job.id)).state_message
        assert (await manager.get(job.id)).state is not Ours.FAILED
        await manager.tick()
        await asyncio.sleep(0.1)
    made = next(iter(fake.fake.jobs.values()))
    fake.fake.set_state(made.id, JobState.JOB_STATE_RUNNING)
    await contract.until(manager, job.id, {Ours.RUNNING})

    assert len(fake.fake.jobs) == 1  # the refused create made nothing; the second one did
    assert (await manager.get(job.id)).backend_job_id == made.id
    assert "429" in (await manager.read_log(job.id))["data"]  # the refusal stays in the log


def submissions(log: str) -> int:
    """How many times a job's log says its pipeline was submitted."""
    return log.count("[mlp] submitting the pipeline to Dataflow")


async def test_a_failure_whose_message_holds_a_status_number_is_not_submitted_again(managers, fake):
    manager = managers()
    job = await manager.submit({"source": {"code": "raise ValueError('expected 500 rows')\n"}})

    failed = await contract.until(manager, job.id, {Ours.FAILED}, timeout=60)

    assert failed.state_message == "the pipeline was not submitted: ValueError: expected 500 rows"
    assert submissions((await manager.read_log(job.id))["data"]) == 1


async def test_a_quota_refusal_fails_at_once_naming_the_quota_and_where_to_raise_it(managers, fake):
    fake.fake.fail_next(
        "create",
        429,
        "Quota exceeded for quota metric 'Concurrent jobs' and limit 'Concurrent jobs per "
        "project' of service 'dataflow.googleapis.com'",
        details=[
            error_info(
                "RESOURCE_QUOTA_EXCEEDED",
                quota_metric="dataflow.googleapis.com/concurrent_jobs",
                quota_limit="ConcurrentJobsPerProject",
            )
        ],
    )
    manager = managers()
    job = await manager.submit({"source": {"code": PIPELINE}})

    failed = await contract.until(manager, job.id, {Ours.FAILED}, timeout=60)

    assert "dataflow.googleapis.com/concurrent_jobs" in failed.state_message
    assert f"console.cloud.google.com/iam-admin/quotas?project={PROJECT}" in failed.state_message
    assert fake.fake.count("create") == 1


async def test_a_permission_refusal_fails_at_once_naming_the_permission_and_where_to_grant_it(
    managers, fake
):
    fake.fake.fail_next(
        "create",
        403,
        f"Permission 'dataflow.jobs.create' denied on project '{PROJECT}'",
        details=[error_info("IAM_PERMISSION_DENIED", permission="dataflow.jobs.create")],
    )
    manager = managers()
    job = await manager.submit({"source": {"code": PIPELINE}})

    failed = await contract.until(manager, job.id, {Ours.FAILED}, timeout=60)

    assert "permission dataflow.jobs.create" in failed.state_message
    assert f"console.cloud.google.com/iam-admin/iam?project={PROJECT}" in failed.state_message
    assert fake.fake.count("create") == 1


async def test_a_create_left_unanswered_is_looked_up_before_another_and_its_job_followed(
    managers, fake
):
    fake.fake.created_state = JobState.JOB_STATE_RUNNING
    fake.fake.drop_next("create")  # Dataflow makes the job; its answer never arrives
    fake.fake.list_delay = 3600.0  # and does not list it yet
    manager = managers()
    job = await manager.submit({"name": "unanswered", "source": {"code": PIPELINE}})

    running = await contract.until(manager, job.id, {Ours.RUNNING}, timeout=60)

    (made,) = fake.fake.jobs.values()
    assert running.backend_job_id == made.id
    creates = [n for n, c in enumerate(fake.fake.calls) if c.route == "create"]
    looked_up = [n for n, c in enumerate(fake.fake.calls) if c.query.get("name") == [made.name]]
    assert len(creates) == 2  # the second one answered with the job the first one made
    assert any(creates[0] < n < creates[1] for n in looked_up)


async def test_a_given_up_submission_whose_job_shows_up_later_has_it_cancelled(managers, fake):
    fake.fake.drop_next("create")
    fake.fake.list_delay = 3600.0  # the job Dataflow made is not listed yet
    manager = managers(submit_attempts=1)
    job = await manager.submit({"source": {"code": PIPELINE}})
    deadline = time.monotonic() + 60
    while (await manager.get(job.id)).backend_state != "LOOKING_FOR_JOB":  # given up on
        assert time.monotonic() < deadline, await manager.get(job.id)
        await manager.tick()
        await asyncio.sleep(0.05)

    fake.fake.list_delay = 0.0  # now it is
    failed = await contract.until(manager, job.id, {Ours.FAILED})

    (made,) = fake.fake.jobs.values()
    assert made.requested_state == JobState.JOB_STATE_CANCELLED
    assert failed.backend_job_id == made.id
    assert f"the Dataflow job {made.id} it made anyway was cancelled" in failed.state_message


async def test_an_option_given_differently_in_args_and_a_field_is_refused_naming_both(api):
    code, answer = await api.call(
        "POST",
        "jobs",
        body={
            "backend": "dataflow",
            "source": {"code": PIPELINE},
            "args": ["--max_num_workers=5", "--region", "europe-west4"],
            "region": "us-central1",
            "resources": {"max_workers": 7},
        },
    )

    assert code == 400
    errors = {e["field"]: e["message"] for e in answer["errors"]}
    assert "--max_num_workers=5" in errors["resources.max_workers"]
    assert "7" in errors["resources.max_workers"]
    assert "--region=europe-west4" in errors["region"] and "us-central1" in errors["region"]


def test_options_given_in_args_fill_their_fields_and_no_server_default_overrides_them(tmp_path):
    backend = dataflow_backend("http://localhost:1", tmp_path, service_account="server@p.iam")
    args = [
        *("--region", "europe-west4"),
        "--worker_machine_type=n1-highmem-4",
        "--service_account_email=mine@p.iam",
        "--dataflow_service_options=worker_accelerator=type:nvidia-tesla-t4;count:1",
    ]

    spec, errors = backend.normalize(
        JobSpec.model_validate({"source": {"code": "pass"}, "args": args})
    )
    options = dataflow_options.pipeline_args(
        spec, job_id="abc", target=target(service_account="server@p.iam")
    )

    assert errors == []
    assert (spec.region, spec.resources.machine_type) == ("europe-west4", "n1-highmem-4")
    assert (spec.resources.accelerator_type, spec.resources.accelerator_count) == (
        "NVIDIA_TESLA_T4",
        1,
    )
    assert not [o for o in options if o.startswith(("--region", "--machine_type", "--service"))]
    assert not [o for o in options if "worker_accelerator" in o]  # the args' one alone


# ----- watching jobs at Dataflow -----


async def test_a_failed_job_says_why_in_dataflows_last_error(managers, fake):
    manager = managers()
    job = await manager.submit({"name": "breaks", "source": {"code": PIPELINE}})
    made = adopt(fake.fake, job.id, "breaks")
    await contract.until(manager, job.id, {Ours.RUNNING})
    fake.fake.add_message(made.id, "a worker restarted", Importance.JOB_MESSAGE_WARNING)
    fake.fake.add_message(
        made.id, "Workflow failed. Causes: S03:Split failed.", Importance.JOB_MESSAGE_ERROR
    )
    fake.fake.set_state(made.id, JobState.JOB_STATE_FAILED)

    failed = await contract.until(manager, job.id, {Ours.FAILED})

    assert failed.state_message == "Workflow failed. Causes: S03:Split failed."
    assert failed.backend_state == "JOB_STATE_FAILED"


async def test_a_failed_job_says_why_with_the_traceback_not_the_generic_work_item_failure(
    managers, fake
):
    fake.fake.message_page_max = 2  # the cause is on the first page, the generic word later
    manager = managers()
    job = await manager.submit({"name": "raises", "source": {"code": PIPELINE}})
    made = adopt(fake.fake, job.id, "raises")
    await contract.until(manager, job.id, {Ours.RUNNING})
    cause = "Traceback (most recent call last):\n  File \"p.py\", line 3\nKeyError: 'user_id'"
    for n, text in enumerate(
        [
            cause,
            "Error message from worker: process exited",
            "S02:Parse failed.",
            "Workflow failed. Causes: S02:Parse failed., The job failed because a work item "
            "has failed 4 times. Look in previous log entries for the cause of each one.",
        ]
    ):
        fake.fake.add_message(made.id, text, Importance.JOB_MESSAGE_ERROR, at=past(40 - n))
    fake.fake.set_state(made.id, JobState.JOB_STATE_FAILED)

    failed = await contract.until(manager, job.id, {Ours.FAILED})

    assert failed.state_message == cause


async def test_job_messages_are_the_log_read_piece_by_piece_until_the_job_ended(managers, fake):
    manager = managers()
    job = await manager.submit({"name": "talks", "source": {"code": PIPELINE}})
    made = adopt(fake.fake, job.id, "talks")
    await contract.until(manager, job.id, {Ours.RUNNING})
    for n in range(6):
        fake.fake.add_message(made.id, f"step {n} done", at=past(60 - n))
    fake.fake.add_message(made.id, "a detail", Importance.JOB_MESSAGE_DEBUG, at=past(50))
    fake.fake.add_message(made.id, "disk slow", Importance.JOB_MESSAGE_WARNING, at=past(40))

    first = await manager.read_log(job.id, limit=100)
    rest = await manager.read_log(job.id, cursor=first["next_cursor"], limit=10_000)
    nothing_new = await manager.read_log(job.id, cursor=rest["next_cursor"], limit=10_000)
    fake.fake.add_message(made.id, "Worker pool stopped.")
    fake.fake.set_state(made.id, JobState.JOB_STATE_DONE)
    await contract.until(manager, job.id, {Ours.SUCCEEDED})
    last = await manager.read_log(job.id, cursor=nothing_new["next_cursor"], limit=10_000)

    lines = (first["data"] + rest["data"]).splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        *(f"INFO step {n} done" for n in range(6)),
        "WARNING disk slow",
    ]  # the debug message is below the importance shown
    assert len(first["data"]) <= 100 and not first["complete"]
    assert nothing_new["data"] == "" and not nothing_new["complete"]
    assert last["data"].endswith("INFO Worker pool stopped.\n") and last["complete"]


async def test_all_active_jobs_are_watched_with_one_list_call_per_round(managers, fake):
    manager = managers()
    jobs = [await manager.submit({"name": f"j{n}", "source": {"code": PIPELINE}}) for n in range(5)]
    for job in jobs:
        adopt(fake.fake, job.id, job.name)
    for job in jobs:
        await contract.until(manager, job.id, {Ours.RUNNING})
    before = len(fake.fake.calls)

    await manager.tick()

    round_calls = [(c.method, c.route) for c in fake.fake.calls[before:]]
    assert round_calls == [("GET", "list")]


async def test_cancel_asks_dataflow_and_the_job_ends_cancelled(managers, fake):
    manager = managers()
    job = await manager.submit({"name": "stop-me", "source": {"code": PIPELINE}})
    made = adopt(fake.fake, job.id, "stop-me")
    await contract.until(manager, job.id, {Ours.RUNNING})

    assert (await manager.cancel(job.id)).state is Ours.CANCELLING
    cancelled = await contract.until(manager, job.id, {Ours.CANCELLED})

    # Once, or again by force after the grace period if the machine is slow: never a drain.
    updates = [c.body for c in fake.fake.calls if c.route == "update"]
    assert updates and all(
        u == {"requestedState": JobState.JOB_STATE_CANCELLED.value} for u in updates
    ), updates
    assert made.current_state == JobState.JOB_STATE_CANCELLED
    assert cancelled.backend_state == "JOB_STATE_CANCELLED"


async def test_a_streaming_pipeline_is_drained_when_cancelled_if_so_configured(managers, fake):
    # A grace period longer than the test: a drain turned into a cancel is another test's.
    manager = managers(drain_on_cancel=True, cancel_grace_seconds=600)
    job = await manager.submit({"source": {"code": PIPELINE}, "args": ["--streaming"]})
    made = await at_dataflow(fake.fake, manager, job.id)
    fake.fake.set_state(made.id, JobState.JOB_STATE_RUNNING)
    await contract.until(manager, job.id, {Ours.RUNNING})

    await manager.cancel(job.id)
    drained = await contract.until(manager, job.id, {Ours.CANCELLED})

    assert made.type_ == dataflow.JobType.JOB_TYPE_STREAMING
    (update,) = [c for c in fake.fake.calls if c.route == "update"]
    assert update.body == {"requestedState": JobState.JOB_STATE_DRAINING.value}
    assert made.current_state == JobState.JOB_STATE_DRAINED
    assert drained.backend_state == "JOB_STATE_DRAINED"
    assert drained.state_message.startswith("Cancelled by you at ")
    assert "(drained: it stopped reading its input" in drained.state_message


async def test_a_cancel_during_the_submission_stops_it_and_no_job_runs(managers, fake):
    manager = managers()
    job = await manager.submit({"source": {"code": PIPELINE}})
    await manager.tick()  # the submission starts

    await manager.cancel(job.id)
    ended = await contract.until(manager, job.id, {Ours.CANCELLED}, timeout=60)

    assert ended.state is Ours.CANCELLED
    made = fake.fake.labelled(job.id)
    assert made is None or made.current_state == JobState.JOB_STATE_CANCELLED


async def test_a_server_restarted_during_the_submission_takes_the_job_up_and_watches_it(
    managers, fake
):
    before = managers()
    job = await before.submit({"source": {"code": PIPELINE}})
    await before.tick()  # the submission starts; the server goes away
    await before.stop()

    after = managers()
    made = await at_dataflow(fake.fake, after, job.id)
    for _ in range(100):
        await after.tick()
        taken_up = await after.get(job.id)
        if taken_up.backend_job_id:
            break
        await asyncio.sleep(0.05)

    fake.fake.set_state(made.id, JobState.JOB_STATE_DONE)
    done = await contract.until(after, job.id, {Ours.SUCCEEDED})

    assert taken_up.backend_job_id == made.id
    assert done.state is Ours.SUCCEEDED
    assert fake.fake.count("create") == 1


async def test_a_job_made_just_before_a_crash_is_found_by_label_not_submitted_again(managers, fake):
    manager = managers()
    job = await manager.submit({"name": "lost", "source": {"code": PIPELINE}})
    # A manager claimed the job, and its submission made the Dataflow job; the manager died
    # before recording anything.
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    manager.store.transition(
        job.id, Ours.STARTING, long_ago, "starting", Ours.QUEUED, started_at=long_ago
    )
    made = adopt(fake.fake, job.id, "lost")

    running = await contract.until(managers(), job.id, {Ours.RUNNING})

    assert running.backend_job_id == made.id
    assert fake.fake.count("create") == 0
    assert not (Path(manager.store.folder(job.id) or "") / ".mlp" / "dataflow").exists()


async def test_a_job_deleted_at_dataflow_fails(managers, fake):
    manager = managers()
    job = await manager.submit({"name": "gone", "source": {"code": PIPELINE}})
    made = adopt(fake.fake, job.id, "gone")
    await contract.until(manager, job.id, {Ours.RUNNING})
    with fake.fake.lock:
        del fake.fake.jobs[made.id]

    failed = await contract.until(manager, job.id, {Ours.FAILED})

    assert failed.backend_state == "NOT_FOUND"


async def test_an_unreachable_api_is_an_error_for_the_round_not_a_crash(managers, fake):
    manager = managers(retry_timeout=0.2)
    job = await manager.submit({"name": "flaky", "source": {"code": PIPELINE}})
    adopt(fake.fake, job.id, "flaky")
    await contract.until(manager, job.id, {Ours.RUNNING})
    fake.fake.fail_next("list", 503, "backend unavailable", times=100)

    await manager.tick()

    assert (await manager.get(job.id)).state is Ours.RUNNING


async def test_progress_counts_elements_per_step_from_the_metrics(managers, fake):
    manager = managers()
    job = await manager.submit({"name": "counted", "source": {"code": PIPELINE}})
    made = adopt(fake.fake, job.id, "counted")
    await contract.until(manager, job.id, {Ours.RUNNING})
    fake.fake.add_metric(made.id, "ElementCount", "Read.out0", 120)
    fake.fake.add_metric(made.id, "ElementCount", "Split.out0", 960)
    fake.fake.add_metric(made.id, "MeanByteCount", "Split.out0", 12)
    backend = manager.backends["dataflow"]
    tracked = await manager.queries.tracked_by_id(backend, await manager.get(job.id))

    steps = await backend.progress(tracked)  # type: ignore[attr-defined]

    assert steps == [
        {"step": "Read.out0", "elements": 120},
        {"step": "Split.out0", "elements": 960},
    ]


# ----- what the backend is -----


def test_without_beam_the_backend_says_to_install_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "apache_beam", None)  # as if not installed

    status = dataflow_backend("http://localhost:1", tmp_path).status()

    assert status.available is False
    assert status.missing == [
        {"setting": "apache-beam", "message": "install jupyter_mlp[dataflow]"}
    ]


def test_with_nothing_configured_every_missing_setting_is_listed_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "none.json"))
    backend = DataflowBackend(region="")

    status = backend.status()

    assert status.configured is False
    assert [m["setting"] for m in status.missing] == [
        "DataflowBackend.temp_location",
        "DataflowBackend.region",
        "credentials",
        "DataflowBackend.project",
    ]


def test_a_local_stand_in_must_be_named_localhost_for_beam_to_speak_rest_to_it(tmp_path):
    status = dataflow_backend("http://127.0.0.1:8080", tmp_path).status()

    assert [m["setting"] for m in status.missing] == ["DataflowBackend.dataflow_endpoint"]


def test_resources_are_normalised_and_specs_checked_for_what_dataflow_runs(tmp_path):
    backend = dataflow_backend("http://localhost:1", tmp_path)

    spec, errors = backend.normalize(
        JobSpec.model_validate(
            {
                "source": {"code": "pass"},
                "resources": {"accelerator_type": "T4", "accelerator_count": 1},
            }
        )
    )
    _, wrong = backend.normalize(
        JobSpec.model_validate({"source": {"code": "pass"}, "resources": {"machine_type": "e2-x"}})
    )

    assert errors == []
    assert spec.kind.value == "etl" and spec.region == "us-central1"
    assert spec.resources.machine_type == "n1-standard-1"
    assert spec.resources.accelerator_type == "NVIDIA_TESLA_T4"
    assert wrong[0].field == "resources.machine_type"
    assert backend.estimate(spec)["usd_per_hour"] > 0  # type: ignore[index]
    assert backend.catalog("us-central1", [])["backend"] == "dataflow"


def test_an_unused_backend_imports_neither_beam_nor_google_and_seeks_no_credentials(tmp_path):
    # Looking for credentials may ask the Compute Engine metadata server over the network.
    env = {**os.environ, "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "none.json")}
    code = (
        "import sys\nbefore = set(sys.modules)\n"
        "from jupyter_mlp.backends.dataflow.backend import DataflowBackend\n"
        "status = DataflowBackend().status()\n"
        "print([m['setting'] for m in status.missing])\n"
        "print(sorted(m for m in set(sys.modules) - before "
        "if m.startswith(('google', 'grpc', 'apache_beam'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )

    assert done.stdout.split("\n")[:2] == [
        "['DataflowBackend.temp_location', 'credentials', 'DataflowBackend.project']",
        "[]",
    ]


# ----- through a real Jupyter server's REST API -----


@pytest.fixture
def dataflow_installed(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """The dataflow backend's entry point, for an environment installed before it had one."""
    from jupyter_mlp.backends import backend_classes

    if "dataflow" not in backend_classes():
        site = tmp_path_factory.mktemp("site")
        info = site / "jupyter_mlp_dataflow-0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jupyter-mlp-dataflow\n")
        (info / "entry_points.txt").write_text(
            "[jupyter_mlp.backends]\ndataflow = jupyter_mlp.backends.dataflow:DataflowBackend\n"
        )
        monkeypatch.syspath_prepend(str(site))


@pytest.fixture
def jp_server_config(tmp_path, fake, dataflow_installed):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlp": True}},
        "MLPExtension": {
            "db_url": f"sqlite:///{tmp_path / 'state' / 'mlp.db'}",
            "poll_interval": 0.1,
            "cancel_grace_seconds": 3.0,
        },
        "LocalBackend": {"gpu_ids": [], "max_concurrent_jobs": 8, "warm_runners": 0},
        "DataflowBackend": {
            "project": PROJECT,
            "temp_location": str(tmp_path / "dataflow-temp"),
            "dataflow_endpoint": fake.endpoint,
            "retry_initial_delay": 0.01,
            "retry_timeout": 2.0,
            "log_settle_seconds": 0.0,
            "log_read_interval": 0.0,
        },
    }


async def test_wordcount_submitted_over_the_api_runs_on_dataflow(api, fake, jp_root_dir):
    shutil.copyfile(WORDCOUNT, jp_root_dir / "wordcount.py")
    (jp_root_dir / "words.txt").write_text("to be or not to be\n")
    job = await api.submit(
        backend="dataflow",
        kind="etl",
        source={"path": "wordcount.py"},
        args=["--input", str(jp_root_dir / "words.txt"), "--output", "counts"],
        resources={"machine_type": "n1-standard-4", "max_workers": 3},
    )
    deadline = time.monotonic() + 60
    while (made := fake.fake.labelled(job["id"])) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert made is not None, (await api.job(job["id"]))["state_message"]
    fake.fake.set_state(made.id, JobState.JOB_STATE_RUNNING)
    running = await api.wait(job["id"], {"RUNNING"})
    fake.fake.add_message(made.id, "All workers have finished the startup processes.")
    fake.fake.set_state(made.id, JobState.JOB_STATE_DONE)
    done = await api.wait(job["id"])

    assert running["backend_job_id"] == made.id
    assert running["cost"]["usd_per_hour"] > 0
    assert done["state"] == "SUCCEEDED" and done["backend_state"] == "JOB_STATE_DONE"
    assert "All workers have finished the startup processes." in await api.log(job["id"])
    code, outputs = await api.call("GET", "jobs", job["id"], "outputs")
    assert code == 200
    assert {o["name"] for o in outputs["outputs"]} == {"dataflow_job", "output"}


async def test_the_backends_answer_shows_the_dataflow_settings(api, fake):
    code, answer = await api.call("GET", "backends")

    status = next(b for b in answer["backends"] if b["name"] == "dataflow")
    assert code == 200
    assert status["configured"] is True and status["missing"] == []
    assert status["settings"]["project"] == PROJECT
    assert status["settings"]["dataflow_endpoint"] == fake.endpoint


async def test_without_beam_a_submission_is_refused_saying_what_to_install(api, monkeypatch):
    monkeypatch.setitem(sys.modules, "apache_beam", None)  # as if not installed

    code, answer = await api.call(
        "POST", "jobs", body={"backend": "dataflow", "source": {"code": PIPELINE}}
    )

    assert code == 400
    assert any("install jupyter_mlp[dataflow]" in e["message"] for e in answer["errors"])


async def test_a_training_job_is_refused_on_dataflow(api):
    code, answer = await api.call(
        "POST", "jobs", body={"backend": "dataflow", "kind": "train", "source": {"code": "pass"}}
    )

    assert code == 400
    assert [e["field"] for e in answer["errors"]] == ["kind"]


async def running_at_dataflow(api: Any, fake: FakeDataflowServer, **spec: Any) -> tuple[Any, Any]:
    """A pipeline submitted over the API, running at the stand-in: (our job, Dataflow's)."""
    job = await api.submit(backend="dataflow", kind="etl", source={"code": PIPELINE}, **spec)
    deadline = time.monotonic() + 60
    while (made := fake.fake.labelled(job["id"])) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert made is not None, (await api.job(job["id"]))["state_message"]
    fake.fake.set_state(made.id, JobState.JOB_STATE_RUNNING)
    return await api.wait(job["id"], {"RUNNING"}), made


async def test_a_streaming_pipeline_drained_over_the_api_ends_drained(api, fake):
    job, made = await running_at_dataflow(api, fake, args=["--streaming"])

    code, draining = await api.call("POST", "jobs", job["id"], "cancel", drain="true")
    ended = await api.wait(job["id"])

    assert code == 200 and draining["state"] == "CANCELLING"
    (update,) = [c for c in fake.fake.calls if c.route == "update"]
    assert update.body == {"requestedState": JobState.JOB_STATE_DRAINING.value}
    assert made.current_state == JobState.JOB_STATE_DRAINED
    assert ended["state"] == "CANCELLED" and ended["backend_state"] == "JOB_STATE_DRAINED"
    assert ended["state_message"].startswith("drained")


async def test_draining_a_batch_pipeline_is_refused_naming_drain(api, fake):
    job, _ = await running_at_dataflow(api, fake)

    code, answer = await api.call("POST", "jobs", job["id"], "cancel", body={"drain": True})

    assert code == 409
    assert [e["field"] for e in answer["errors"]] == ["drain"]
    assert "streaming" in answer["errors"][0]["message"]
    assert fake.fake.count("update") == 0
    assert (await api.job(job["id"]))["state"] == "RUNNING"


async def test_draining_a_local_job_is_refused_naming_drain(api):
    job = await api.submit(backend="local", source={"code": "import time; time.sleep(30)"})

    queued = await api.call("POST", "jobs", job["id"], "cancel", drain="true")
    await api.wait(job["id"], {"RUNNING"})
    running = await api.call("POST", "jobs", job["id"], "cancel", drain="true")
    await api.call("POST", "jobs", job["id"], "cancel")

    for code, answer in (queued, running):
        assert code == 409, answer
        assert [e["field"] for e in answer["errors"]] == ["drain"]
        assert "dataflow" in answer["errors"][0]["message"]


async def test_progress_over_the_api_shows_each_steps_element_count(api, fake):
    job, made = await running_at_dataflow(api, fake)
    fake.fake.add_metric(made.id, "ElementCount", "Create.out0", 2)
    fake.fake.add_metric(made.id, "ElementCount", "Map(upper).out0", 2)

    code, progress = await api.call("GET", "jobs", job["id"], "progress")

    assert code == 200
    assert progress["steps"] == [
        {"step": "Create.out0", "elements": 2},
        {"step": "Map(upper).out0", "elements": 2},
    ]
    document = openapi_document()
    schema = {"$ref": "#/components/schemas/StepsProgress", "components": document["components"]}
    OAS31Validator(schema).validate(progress)
    assert "/mlp/jobs/{job_id}/progress" in document["paths"]


async def test_progress_of_a_job_on_a_backend_without_steps_is_empty_with_a_note(api):
    job = await api.submit(backend="local", source={"code": "print(1)"})

    code, progress = await api.call("GET", "jobs", job["id"], "progress")
    missing, _ = await api.call("GET", "jobs", "nosuchjob", "progress")

    assert code == 200
    assert progress["steps"] == [] and "local" in progress["note"]
    assert missing == 404


def test_the_command_line_drains_a_streaming_pipeline(tmp_path, fake):
    env = isolated_env(tmp_path)
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "stream.py").write_text(PIPELINE)
    server = JupyterServer(
        tmp_path / "root",
        tmp_path / "mlp.db",
        env,
        tmp_path / "server.log",
        extra_args=[
            f"--DataflowBackend.project={PROJECT}",
            f"--DataflowBackend.temp_location={tmp_path / 'dataflow-temp'}",
            f"--DataflowBackend.dataflow_endpoint={fake.endpoint}",
            "--DataflowBackend.log_settle_seconds=0",
        ],
    )
    fake.fake.created_state = JobState.JOB_STATE_RUNNING
    try:
        job = server.call(
            "POST",
            "mlp/jobs",
            {"backend": "dataflow", "source": {"path": "stream.py"}, "args": ["--streaming"]},
        )
        deadline = time.monotonic() + 60
        while server.call("GET", f"mlp/jobs/{job['id']}")["state"] != "RUNNING":
            assert time.monotonic() < deadline, server.call("GET", f"mlp/jobs/{job['id']}")
            time.sleep(0.2)

        drained = subprocess.run(
            [
                sys.executable,
                "-m",
                "jupyter_mlp.client.cli",
                "cancel",
                job["id"],
                "--drain",
                "--json",
            ],
            cwd=tmp_path / "root",
            env={**env, "MLP_SERVER_URL": server.url, "MLP_TOKEN": TOKEN},
            capture_output=True,
            text=True,
            timeout=90,
        )
        while (ended := server.call("GET", f"mlp/jobs/{job['id']}"))["state"] != "CANCELLED":
            assert time.monotonic() < deadline + 30, ended
            time.sleep(0.2)
    finally:
        server.stop()

    assert drained.returncode == 0, drained.stderr
    assert json.loads(drained.stdout)["state"] == "CANCELLING"
    assert ended["backend_state"] == "JOB_STATE_DRAINED"
