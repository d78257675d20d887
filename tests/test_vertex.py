"""The Vertex AI backend, with Google's real client libraries speaking their real protocols to
stand-ins on 127.0.0.1: a fake JobService (REST, bodies parsed with the real protobuf types),
gcp-storage-emulator for Cloud Storage, a fake Cloud Logging `entries:list`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import clouds
import nbformat
import pytest
import test_contract as contract
from clouds import BUCKET, DEFAULT_IMAGE, PROJECT, VertexDriver
from fake_vertex import JobState, rate_limited
from google.cloud.aiplatform_v1 import types

from jupyter_mlp.backends.base import Tracked
from jupyter_mlp.backends.vertex.backend import VertexBackend, VertexRuntime
from jupyter_mlp.backends.vertex.containers import (
    choose_container,
    containers_view,
    load_containers,
)
from jupyter_mlp.core.models import Job, JobSpec
from jupyter_mlp.core.models import JobState as Ours
from jupyter_mlp.jobfiles.bundle import JobFolder, build_bundle, plan_source

# The stand-ins' fixtures, shared with the contract suite (and other Vertex tests take them here).
storage_emulator, storage = clouds.storage_emulator, clouds.storage
vertex, logs = clouds.vertex, clouds.logs


@pytest.fixture
def backend(tmp_path, storage, vertex, logs) -> VertexBackend:
    made = VertexBackend(
        project=PROJECT,
        staging_bucket=f"gs://{BUCKET}",
        api_endpoint=vertex[1],
        logging_endpoint=logs[1],
        retry_initial_delay=0.01,
        retry_timeout=5.0,
        log_settle_seconds=0.0,
        default_image=DEFAULT_IMAGE,
        log_read_interval=0.0,
    )
    made.bind(root_dir=tmp_path, wake=lambda: None)
    return made


class Submitter:
    """Jobs as the manager hands them to a backend: a normalised spec, a folder with the bundle."""

    def __init__(self, root: Path, backend: VertexBackend):
        self.root, self.backend = root, backend

    def job(self, **fields: Any) -> tuple[Job, JobFolder]:
        fields.setdefault("source", {"code": "print('training')"})
        fields.setdefault("resources", {"machine_type": "n1-standard-4"})
        spec, errors = self.backend.normalize(JobSpec.model_validate(fields))
        assert not errors, errors
        plan = plan_source(spec, self.root)
        assert not [e for e in self.backend.validate(spec, plan) if e.blocking]
        job_id = uuid.uuid4().hex[:12]
        folder = JobFolder(self.root / "mlp-jobs" / f"job-{job_id}")
        folder.create()
        build_bundle(spec, plan, folder.bundle)
        now = datetime.now(UTC)
        job = Job(
            id=job_id,
            name=spec.name or "train-cell",
            kind=spec.kind,
            backend="vertex",
            state=Ours.STARTING,
            spec=spec,
            created_at=now,
            started_at=now,
        )
        return job, folder

    async def started(self, **fields: Any) -> Tracked[VertexRuntime]:
        job, folder = self.job(**fields)
        launch = await self.backend.start(job, folder, [])
        assert isinstance(launch.runtime, VertexRuntime)
        job = job.model_copy(
            update={"backend_job_id": launch.backend_job_id, "console_url": launch.console_url}
        )
        return Tracked(job=job, folder=folder, runtime=launch.runtime)


@pytest.fixture
def submit(tmp_path, backend) -> Submitter:
    return Submitter(tmp_path, backend)


def env_of(pool: Any) -> dict[str, str]:
    spec = (
        pool.python_package_spec
        if pool.python_package_spec.executor_image_uri
        else (pool.container_spec)
    )
    return {variable.name: variable.value for variable in spec.env}


def ended(tracked: Tracked[VertexRuntime], state: Ours, seconds_ago: float = 0) -> Tracked[Any]:
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    job = tracked.job.model_copy(update={"state": state, "ended_at": at})
    return Tracked(job=job, folder=tracked.folder, runtime=tracked.runtime)


# ----- what Vertex AI is asked for -----


async def test_a_job_becomes_a_custom_job_with_its_machine_gpus_container_and_package(
    submit, vertex, storage
):
    fake, _ = vertex
    tracked = await submit.started(
        name="resnet",
        resources={
            "machine_type": "n1-standard-8",
            "accelerator_type": "T4",
            "accelerator_count": 2,
        },
        requirements=["torch==2.4.1"],
        labels={"Team": "Vision"},
    )

    (created,) = fake.created()
    (pool,) = created.job_spec.worker_pool_specs
    assert pool.machine_spec.machine_type == "n1-standard-8"
    assert pool.machine_spec.accelerator_type == types.AcceleratorType.NVIDIA_TESLA_T4
    assert pool.machine_spec.accelerator_count == 2
    assert pool.replica_count == 1
    package = pool.python_package_spec
    assert package.executor_image_uri == (
        "us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest"
    )
    assert list(package.package_uris) == [tracked.runtime.package_uri]
    assert tracked.runtime.package_uri.startswith(f"gs://{BUCKET}/mlp/packages/")
    assert package.python_module == "mlp_bundle.runner"
    assert list(package.args) == []
    job_id = tracked.job.id
    assert env_of(pool) == {
        "MLP_JOB_ID": job_id,
        "MLP_INSTALL_IN_PLACE": "1",
        "MLP_OUTPUT_DIR": f"/gcs/{BUCKET}/mlp/{job_id}/",
        "MLP_STATUS_FILE": f"/gcs/{BUCKET}/mlp/{job_id}/status.json",
        "PYTHONUNBUFFERED": "1",
    }
    assert created.job_spec.base_output_directory.output_uri_prefix == (
        f"gs://{BUCKET}/mlp/{job_id}/"
    )
    assert dict(created.labels) == {"mlp-job-id": job_id, "mlp-managed": "true", "team": "vision"}
    assert created.display_name == "resnet"
    assert fake.calls[-1].path == f"/v1/projects/{PROJECT}/locations/us-central1/customJobs"
    assert storage.uploads() == 1


async def test_the_launch_reports_the_resource_name_console_link_and_cloud_outputs(submit, vertex):
    fake, _ = vertex
    tracked = await submit.started()

    name = fake.only().name
    assert tracked.job.backend_job_id == name == tracked.runtime.resource_name
    assert name.startswith("projects/123456789012/locations/us-central1/customJobs/")
    assert tracked.job.console_url == (
        "https://console.cloud.google.com/agent-platform/locations/us-central1/training/"
        f"{name.rsplit('/', 1)[1]}?project={PROJECT}"
    )
    assert tracked.runtime.executor_image_reason


async def test_replicas_beyond_one_make_a_chief_pool_and_a_worker_pool(submit, vertex):
    fake, _ = vertex
    await submit.started(resources={"machine_type": "n1-standard-4", "replica_count": 3})

    chief, workers = fake.created()[0].job_spec.worker_pool_specs
    assert (chief.replica_count, workers.replica_count) == (1, 2)
    assert workers.machine_spec.machine_type == "n1-standard-4"
    # One writer of the status file: the chief.
    assert "MLP_STATUS_FILE" in env_of(chief)
    assert "MLP_STATUS_FILE" not in env_of(workers)


async def test_scheduling_options_reach_vertex(submit, vertex):
    fake, _ = vertex
    await submit.started(
        scheduling={
            "timeout_seconds": 3600,
            "restart_on_worker_restart": True,
            "spot": True,
            "service_account": "trainer@test-project.iam.gserviceaccount.com",
        }
    )

    spec = fake.created()[0].job_spec
    assert spec.scheduling.timeout.total_seconds() == 3600
    assert spec.scheduling.restart_job_on_worker_restart is True
    assert spec.scheduling.strategy == types.Scheduling.Strategy.SPOT
    assert spec.service_account == "trainer@test-project.iam.gserviceaccount.com"


async def test_a_job_naming_no_image_runs_in_the_default_image_in_its_region(submit, vertex):
    fake, _ = vertex
    tracked = await submit.started(region="europe-west4", requirements=["tensorflow==2.16.2"])

    pool = fake.created()[0].job_spec.worker_pool_specs[0]
    assert pool.python_package_spec.executor_image_uri == DEFAULT_IMAGE
    assert tracked.runtime.executor_image_reason == "VertexBackend.default_image"
    assert fake.calls[-1].path.startswith(f"/v1/projects/{PROJECT}/locations/europe-west4/")


async def test_any_other_image_installs_the_package_from_the_mounted_bucket(submit, vertex):
    fake, _ = vertex
    tracked = await submit.started(environment="europe-docker.pkg.dev/my-proj/images/train:3")

    pool = fake.created()[0].job_spec.worker_pool_specs[0]
    assert not pool.python_package_spec.executor_image_uri
    assert pool.container_spec.image_uri == "europe-docker.pkg.dev/my-proj/images/train:3"
    mounted = "/gcs/" + tracked.runtime.package_uri.removeprefix("gs://")
    assert pool.container_spec.command[:2] == ["sh", "-c"]
    assert (
        f"pip install --no-input --disable-pip-version-check {mounted}"
        in (pool.container_spec.command[2])
    )
    assert pool.container_spec.command[2].endswith("exec python3 -m mlp_bundle.runner")


async def test_an_identical_bundle_is_staged_once(submit, vertex, storage):
    first = await submit.started(source={"code": "print('same')"})
    second = await submit.started(source={"code": "print('same')"})

    assert first.runtime.package_uri == second.runtime.package_uri
    assert storage.uploads() == 1
    assert len(vertex[0].jobs) == 2


# ----- watching -----


async def test_a_job_goes_pending_running_succeeded_with_one_list_call_per_round(
    submit, backend, vertex
):
    fake, _ = vertex
    tracked = await submit.started()
    name = tracked.runtime.resource_name
    lists = fake.count("list")

    pending = (await backend.poll_many([tracked]))[tracked.job.id]
    fake.set_state(name, JobState.JOB_STATE_RUNNING)
    running = (await backend.poll_many([tracked]))[tracked.job.id]
    fake.set_state(name, JobState.JOB_STATE_SUCCEEDED)
    succeeded = (await backend.poll_many([tracked]))[tracked.job.id]

    assert (pending.state, pending.backend_state) == (None, "JOB_STATE_PENDING")
    assert (running.state, running.backend_state) == (Ours.RUNNING, "JOB_STATE_RUNNING")
    assert (succeeded.state, succeeded.backend_state) == (Ours.SUCCEEDED, "JOB_STATE_SUCCEEDED")
    assert fake.count("list") - lists == 3
    # Only ended jobs are asked for one by one: the list holds the active ones.
    assert fake.count("get") == 1


async def test_many_jobs_are_observed_with_one_list_call(submit, backend, vertex):
    fake, _ = vertex
    jobs = [await submit.started() for _ in range(5)]
    for tracked in jobs:
        fake.set_state(tracked.runtime.resource_name, JobState.JOB_STATE_RUNNING)
    lists, gets = fake.count("list"), fake.count("get")

    seen = await backend.poll_many(jobs)

    assert {o.state for o in seen.values()} == {Ours.RUNNING}
    assert (fake.count("list") - lists, fake.count("get") - gets) == (1, 0)
    (call,) = [c for c in fake.calls if c.route == "list"][-1:]
    assert 'labels.mlp-managed="true"' in call.query["filter"][0]
    assert 'state!="JOB_STATE_SUCCEEDED"' in call.query["filter"][0]


async def test_a_failed_job_says_why_in_vertex_words_and_the_runners(
    submit, backend, vertex, storage
):
    fake, _ = vertex
    tracked = await submit.started()
    from google.cloud import storage as gcs

    gcs.Client(project=PROJECT).bucket(BUCKET).blob(
        f"mlp/{tracked.job.id}/status.json"
    ).upload_from_string(
        json.dumps(
            {"phase": "exited", "exit_code": 1, "message": "cell 2 raised ValueError: bad data"}
        )
    )
    fake.set_state(
        tracked.runtime.resource_name,
        JobState.JOB_STATE_FAILED,
        error="The replica workerpool0-0 exited with a non-zero status of 1.",
    )

    seen = (await backend.poll_many([tracked]))[tracked.job.id]

    assert seen.state is Ours.FAILED
    assert seen.backend_state == "JOB_STATE_FAILED"
    assert seen.message == (
        "cell 2 raised ValueError: bad data (Vertex AI: The replica workerpool0-0 exited with "
        "a non-zero status of 1.)"
    )


async def test_cancel_asks_vertex_and_the_job_shows_cancelling_until_cancelled(
    submit, backend, vertex
):
    fake, _ = vertex
    tracked = await submit.started()
    fake.set_state(tracked.runtime.resource_name, JobState.JOB_STATE_RUNNING)

    await backend.cancel(tracked)
    cancelling = (await backend.poll_many([tracked]))[tracked.job.id]
    fake.set_state(tracked.runtime.resource_name, JobState.JOB_STATE_CANCELLED)
    cancelled = (await backend.poll_many([tracked]))[tracked.job.id]
    await backend.cancel(tracked, force=True)  # too late: nothing to stop, no error

    assert fake.count("cancel") == 2
    assert cancelling.state is Ours.CANCELLING
    assert cancelled.state is Ours.CANCELLED


async def test_a_job_deleted_at_vertex_fails(submit, backend, vertex):
    fake, _ = vertex
    tracked = await submit.started()
    fake.jobs.clear()

    seen = (await backend.poll_many([tracked]))[tracked.job.id]

    assert seen.state is Ours.FAILED
    assert "no longer knows" in seen.message


async def test_an_unreachable_api_is_an_error_for_the_round_not_a_crash(submit, backend, vertex):
    fake, _ = vertex
    tracked = await submit.started()
    fake.fail_next("list", 403, "Permission 'aiplatform.customJobs.list' denied")

    seen = (await backend.poll_many([tracked]))[tracked.job.id]

    assert isinstance(seen, Exception)
    assert "aiplatform.customJobs.list" in str(seen)


# ----- errors at start -----


async def test_transient_errors_are_retried_and_the_job_is_created_once(submit, vertex):
    fake, _ = vertex
    fake.fail_next("list", *rate_limited())
    fake.fail_next("create", *rate_limited())
    fake.fail_next("create", 503, "The service is currently unavailable.")

    tracked = await submit.started()

    assert len(fake.jobs) == 1
    assert fake.count("create") == 3
    assert tracked.runtime.resource_name == fake.only().name


async def test_permission_denied_fails_the_start_with_googles_message(submit, backend, vertex):
    fake, _ = vertex
    fake.fail_next(
        "create",
        403,
        "Permission 'aiplatform.customJobs.create' denied on resource "
        "'//aiplatform.googleapis.com/projects/test-project/locations/us-central1'",
    )
    job, folder = submit.job()

    with pytest.raises(RuntimeError) as raised:
        await backend.start(job, folder, [])

    assert str(raised.value).startswith(
        "Vertex AI did not create the job: PERMISSION_DENIED: Permission "
        "'aiplatform.customJobs.create' denied on resource "
        "'//aiplatform.googleapis.com/projects/test-project/locations/us-central1'; "
    )
    assert fake.count("create") == 1
    assert not fake.jobs


async def test_an_invalid_argument_fails_the_start_at_once(submit, backend, vertex):
    fake, _ = vertex
    fake.fail_next("create", 400, "Machine type n1-standard-4 does not support NVIDIA_H100_80GB.")
    job, folder = submit.job()

    with pytest.raises(RuntimeError, match="INVALID_ARGUMENT: Machine type n1-standard-4"):
        await backend.start(job, folder, [])
    assert fake.count("create") == 1


async def test_a_job_created_before_a_crash_is_found_and_not_created_again(submit, backend, vertex):
    fake, _ = vertex
    job, folder = submit.job()
    image = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-6:latest"
    earlier = fake.add_job(
        types.CustomJob(
            display_name=job.name,
            labels={"mlp-job-id": job.id, "mlp-managed": "true"},
            job_spec={
                "worker_pool_specs": [
                    {
                        "machine_spec": {"machine_type": "n1-standard-4"},
                        "replica_count": 1,
                        "python_package_spec": {
                            "executor_image_uri": image,
                            "package_uris": ["gs://b/mlp/packages/x.tar.gz"],
                            "python_module": "mlp_bundle.runner",
                        },
                    }
                ]
            },
        )
    )

    launch = await backend.start(job, folder, [])

    assert fake.count("create") == 0
    assert launch.backend_job_id == earlier.name
    assert isinstance(launch.runtime, VertexRuntime)
    assert launch.runtime.executor_image == image
    assert launch.runtime.package_uri == "gs://b/mlp/packages/x.tar.gz"


# ----- logs and outputs -----


async def test_logs_come_from_cloud_logging_by_cursor(submit, backend, logs):
    fake_logs, _ = logs
    tracked = await submit.started()
    number = tracked.runtime.resource_name.rsplit("/", 1)[1]
    fake_logs.add(number, "epoch 1", at=1)
    fake_logs.add(number, "epoch 2", at=2)
    fake_logs.add("999", "another job's line", at=2)

    first = await backend.read_log(tracked, None, 1_000_000)
    fake_logs.add(number, "epoch 3", at=2)  # the same instant as the last line read
    fake_logs.add(number, "done", at=3)
    second = await backend.read_log(tracked, first.next_cursor, 1_000_000)
    third = await backend.read_log(tracked, second.next_cursor, 1_000_000)

    assert first.data == "epoch 1\nepoch 2\n"
    assert second.data == "epoch 3\ndone\n"
    assert third.data == ""
    assert not third.complete  # the job has not ended
    sent = fake_logs.requests[0]
    assert sent["resourceNames"] == [f"projects/{PROJECT}"]
    assert sent["filter"] == f'resource.type="ml_job" AND resource.labels.job_id="{number}"'


async def test_a_log_is_read_in_pieces_of_the_asked_size_and_ends_complete(submit, backend, logs):
    fake_logs, _ = logs
    tracked = await submit.started()
    number = tracked.runtime.resource_name.rsplit("/", 1)[1]
    for second in range(120):
        fake_logs.add(number, f"line {second:03d}", at=second)
    done = ended(tracked, Ours.SUCCEEDED)

    pieces, cursor = [], None
    for _ in range(200):
        chunk = await backend.read_log(done, cursor, 100)
        pieces.append(chunk.data)
        cursor = chunk.next_cursor
        if chunk.complete:
            break

    assert "".join(pieces) == "".join(f"line {s:03d}\n" for s in range(120))
    assert max(len(p) for p in pieces) <= 100
    tail = await backend.read_log(done, None, 100, tail=30)
    assert tail.data == "line 117\nline 118\nline 119\n"


async def test_several_replicas_lines_say_which_replica_wrote_them(submit, backend, logs):
    fake_logs, _ = logs
    tracked = await submit.started(resources={"machine_type": "n1-standard-4", "replica_count": 2})
    number = tracked.runtime.resource_name.rsplit("/", 1)[1]
    fake_logs.add(number, "chief up", at=1, task="workerpool0-0")
    fake_logs.add(number, "worker up", at=2, task="workerpool1-0")

    chunk = await backend.read_log(tracked, None, 10_000)

    assert chunk.data == "[workerpool0-0] chief up\n[workerpool1-0] worker up\n"


async def test_unreachable_logging_says_why_and_keeps_the_cursor(submit, backend, logs):
    fake_logs, _ = logs
    tracked = await submit.started()
    fake_logs.failures.append(503)

    chunk = await backend.read_log(tracked, "some-cursor", 1000)

    assert chunk.data == ""
    assert chunk.next_cursor == "some-cursor"
    assert not chunk.complete
    assert chunk.extra["error"] == "Cloud Logging answered 503: logging is unavailable"


async def test_the_executed_notebook_is_copied_into_the_job_folder_when_the_job_ends(
    submit, backend, vertex, tmp_path
):
    fake, _ = vertex
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell("print('hi')")]
    nbformat.write(notebook, tmp_path / "train.ipynb")
    tracked = await submit.started(source={"path": "train.ipynb"})
    from google.cloud import storage as gcs

    executed = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    gcs.Client(project=PROJECT).bucket(BUCKET).blob(
        f"mlp/{tracked.job.id}/train.executed.ipynb"
    ).upload_from_string(executed)
    gcs.Client(project=PROJECT).bucket(BUCKET).blob(
        f"mlp/{tracked.job.id}/model/saved_model.pb"
    ).upload_from_string(b"weights")
    fake.set_state(tracked.runtime.resource_name, JobState.JOB_STATE_SUCCEEDED)

    seen = (await backend.poll_many([tracked]))[tracked.job.id]
    outputs = {o["name"]: o for o in await backend.list_outputs(ended(tracked, Ours.SUCCEEDED))}

    assert seen.state is Ours.SUCCEEDED
    assert isinstance(seen.runtime, VertexRuntime) and seen.runtime.notebook_copied
    assert (tracked.folder.path / "train.executed.ipynb").read_bytes() == executed
    assert outputs["executed_notebook"]["path"] == (
        f"mlp-jobs/job-{tracked.job.id}/train.executed.ipynb"
    )
    assert outputs["executed_notebook"]["exists"] is True
    model = outputs["model_dir"]
    assert model["uri"] == f"gs://{BUCKET}/mlp/{tracked.job.id}/model/"
    assert model["console_url"] == (
        f"https://console.cloud.google.com/storage/browser/{BUCKET}/mlp/{tracked.job.id}/model/"
    )
    assert model["files"] == ["saved_model.pb"]


# ----- configuration and catalog -----


def test_without_a_bucket_the_backend_says_which_setting_is_missing(tmp_path, vertex):
    unconfigured = VertexBackend(project=PROJECT, api_endpoint=vertex[1])
    spec = JobSpec.model_validate({"source": {"code": "print(1)"}, "backend": "vertex"})

    status = unconfigured.status()
    errors = unconfigured.validate(spec, None)

    assert status.available and not status.configured
    assert [m["setting"] for m in status.missing] == ["VertexBackend.staging_bucket"]
    assert status.settings["project"] == PROJECT
    assert errors[0].field == "backend"
    assert errors[0].message.startswith("VertexBackend.staging_bucket: set the Cloud Storage")


def test_a_configured_backend_says_where_it_runs_jobs(backend):
    status = backend.status()

    assert status.configured, status.missing
    assert status.reason == f"runs jobs on Vertex AI in project {PROJECT}, us-central1"
    assert status.settings["staging_bucket"] == f"gs://{BUCKET}"


def test_specs_are_checked_for_what_vertex_cannot_run(backend):
    local_python = JobSpec.model_validate(
        {"source": {"code": "x"}, "backend": "vertex", "environment": "/usr/bin/python3"}
    )

    assert [e.field for e in backend.validate(local_python, None)] == ["environment"]


def test_resources_are_normalised_to_vertex_names_in_the_configured_region(backend):
    spec = JobSpec.model_validate(
        {
            "source": {"code": "x"},
            "resources": {
                "machine_type": "n1-standard-4",
                "accelerator_type": "T4",
                "accelerator_count": 1,
            },
        }
    )

    normalised, errors = backend.normalize(spec)

    assert not errors
    assert normalised.resources.accelerator_type == "NVIDIA_TESLA_T4"
    assert normalised.region == "us-central1"
    assert backend.estimate(normalised)["usd_per_hour"] > 0


def test_the_catalog_lists_machines_and_prebuilt_containers(backend):
    catalog = backend.catalog("europe-west4", [])

    assert any(m["name"] == "n1-standard-4" for m in catalog["machine_types"])
    uris = {c["uri"] for c in catalog["containers"]}
    assert "europe-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest" in uris
    assert catalog["containers_sources"][0]["url"].endswith("/training/pre-built-containers")


def test_every_prebuilt_container_is_dated_and_named_as_google_names_them():
    containers = load_containers()
    view = containers_view("asia-east1")

    assert {c.framework for c in containers} == {"pytorch", "tensorflow", "sklearn", "xgboost"}
    for container in containers:
        assert container.accelerator in {"cpu", "gpu", "tpu"}
        assert container.uri.startswith("us-docker.pkg.dev/vertex-ai/training/")
        assert container.uri.endswith(":latest")  # Google takes no other tag
        assert date.fromisoformat(container.end_of_support) <= date.fromisoformat(
            container.end_of_availability
        )
    for framework in {c.framework for c in containers}:
        assert {c.accelerator for c in containers if c.framework == framework} >= {"cpu", "gpu"}
    assert all(c["uri"].startswith("asia-docker.pkg.dev/") for c in view["containers"])
    assert view["containers_sources"][0]["read_on"] == view["containers_as_of"]


def test_the_catalog_says_which_container_a_job_would_get_and_why(backend):
    defaults = backend.catalog(None, [])["default_containers"]

    assert set(defaults) == {"cpu", "gpu", "tpu"}
    assert defaults["gpu"]["uri"] == DEFAULT_IMAGE
    assert defaults["gpu"]["reason"].startswith("VertexBackend.default_image")


@pytest.mark.parametrize(
    ("requirements", "installed", "hardware", "image", "words"),
    [
        (["torch==2.3.1"], {}, "gpu", "pytorch-gpu.2-3.py310", "torch in the job's requirements"),
        ([], {"xgboost": "2.1.3"}, "cpu", "xgboost-cpu.2-1", "xgboost 2.1.3 installed here"),
        ([], {"torch": "2.9.0+cu128"}, "gpu", "pytorch-gpu.2-4.py310", "newest, pytorch 2.4"),
        ([], {"torch": "2.4.0", "scikit-learn": "1.6.1"}, "cpu", "pytorch-xla.2-4.py310", "torch"),
        ([], {}, "cpu", "sklearn-cpu.1-6", "no ML framework"),
        ([], {"scikit-learn": "1.6.1"}, "tpu", "tf-tpu.2-15.cp310", "has no TPU container"),
    ],
)
def test_the_container_is_the_one_of_the_framework_in_use(
    requirements, installed, hardware, image, words
):
    # A day when every image below was still available.
    choice = choose_container(requirements, hardware, installed.get, today=date(2025, 7, 1))

    assert choice.container.uri == f"us-docker.pkg.dev/vertex-ai/training/{image}:latest"
    assert words in choice.reason


def test_an_unused_backend_imports_no_google_library_and_seeks_no_credentials(tmp_path):
    # Looking for credentials may ask the Compute Engine metadata server over the network.
    env = {**os.environ, "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "none.json")}
    code = (
        "import sys\nbefore = set(sys.modules)\n"
        "from jupyter_mlp.backends.vertex.backend import VertexBackend\n"
        "status = VertexBackend().status()\n"
        "print([m['setting'] for m in status.missing])\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith(('google', 'grpc'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )

    assert done.stdout.split("\n")[:2] == [
        "['VertexBackend.staging_bucket', 'credentials', 'VertexBackend.project']",
        "[]",
    ]


# ----- through a real Jupyter server's REST API -----


@pytest.fixture
def vertex_installed(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """The vertex backend's entry point, for an environment installed before it had one."""
    from jupyter_mlp.backends import backend_classes

    if "vertex" not in backend_classes():
        site = tmp_path_factory.mktemp("site")
        info = site / "jupyter_mlp_vertex-0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jupyter-mlp-vertex\n")
        (info / "entry_points.txt").write_text(
            "[jupyter_mlp.backends]\nvertex = jupyter_mlp.backends.vertex.backend:VertexBackend\n"
        )
        monkeypatch.syspath_prepend(str(site))


@pytest.fixture
def staging_bucket() -> str:
    return f"gs://{BUCKET}"


@pytest.fixture
def jp_server_config(tmp_path, vertex, logs, storage, vertex_installed, staging_bucket):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlp": True}},
        "MLPExtension": {
            "db_url": f"sqlite:///{tmp_path / 'state' / 'mlp.db'}",
            "poll_interval": 0.1,
            "cancel_grace_seconds": 3.0,
        },
        "LocalBackend": {"gpu_ids": [], "max_concurrent_jobs": 8, "warm_runners": 0},
        "VertexBackend": {
            "project": PROJECT,
            "staging_bucket": staging_bucket,
            "api_endpoint": vertex[1],
            "logging_endpoint": logs[1],
            "retry_initial_delay": 0.01,
            "retry_timeout": 2.0,
            "log_settle_seconds": 0.0,
            "default_image": DEFAULT_IMAGE,
            "log_read_interval": 0.0,
        },
    }


async def wait_at_vertex(fake: Any, job_id: str) -> Any:
    """The CustomJob of our job, once the server has created it."""
    for _ in range(200):
        with fake.lock:
            found = [j for j in fake.jobs.values() if j.labels.get("mlp-job-id") == job_id]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached Vertex AI")


async def test_a_job_submitted_over_the_api_runs_on_vertex_with_logs_and_outputs(api, vertex, logs):
    fake, _ = vertex
    job = await api.submit(
        backend="vertex",
        name="fit",
        source={"code": "print('fitting')"},
        resources={
            "machine_type": "n1-standard-8",
            "accelerator_type": "T4",
            "accelerator_count": 1,
        },
    )
    created = await wait_at_vertex(fake, job["id"])
    fake.set_state(created.name, JobState.JOB_STATE_RUNNING)
    running = await api.wait(job["id"], {"RUNNING"})
    logs[0].add(created.name.rsplit("/", 1)[1], "fitting", at=1)
    fake.set_state(created.name, JobState.JOB_STATE_SUCCEEDED)
    done = await api.wait(job["id"])

    assert running["backend_job_id"] == created.name
    assert running["console_url"].startswith("https://console.cloud.google.com/agent-platform/")
    assert running["outputs"]["model_dir"] == f"gs://{BUCKET}/mlp/{job['id']}/model/"
    assert running["cost"]["usd_per_hour"] > 0
    assert done["state"] == "SUCCEEDED"
    assert done["backend_state"] == "JOB_STATE_SUCCEEDED"
    assert [t["state"] for t in done["transitions"]] == [
        "QUEUED",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
    ]
    code, chunk = await api.call("GET", "jobs", job["id"], "logs")
    assert code == 200 and chunk["data"] == "fitting\n" and chunk["source"] == "cloud-logging"
    code, outputs = await api.call("GET", "jobs", job["id"], "outputs")
    assert {o["name"] for o in outputs["outputs"]} == {"model_dir", "output_dir"}


async def test_a_job_cancelled_over_the_api_is_cancelled_at_vertex(api, vertex):
    fake, _ = vertex
    fake.settle_cancels = True
    job = await api.submit(backend="vertex", source={"code": "print('long')"})
    created = await wait_at_vertex(fake, job["id"])
    fake.set_state(created.name, JobState.JOB_STATE_RUNNING)
    await api.wait(job["id"], {"RUNNING"})

    code, cancelling = await api.call("POST", "jobs", job["id"], "cancel")
    cancelled = await api.wait(job["id"])

    assert (code, cancelling["state"]) == (200, "CANCELLING")
    assert cancelled["state"] == "CANCELLED"
    assert fake.count("cancel") >= 1


async def test_a_refused_job_fails_at_start_with_googles_message(api, vertex):
    fake, _ = vertex
    fake.fail_next("create", 403, "Permission 'aiplatform.customJobs.create' denied")

    job = await api.submit(backend="vertex", source={"code": "pass"})
    failed = await api.wait(job["id"])

    assert failed["state"] == "FAILED"
    assert failed["state_message"].startswith(
        "could not start: Vertex AI did not create the job: PERMISSION_DENIED: "
        "Permission 'aiplatform.customJobs.create' denied; "
    )


async def test_the_backends_answer_shows_the_vertex_settings(api):
    code, answer = await api.call("GET", "backends")

    vertex_status = next(b for b in answer["backends"] if b["name"] == "vertex")
    assert code == 200
    assert vertex_status["configured"] is True
    assert vertex_status["settings"]["project"] == PROJECT
    assert vertex_status["missing"] == []


@pytest.mark.parametrize("staging_bucket", [""])
async def test_without_a_bucket_a_submission_is_refused_naming_the_setting(api, vertex):
    code, answer = await api.call(
        "POST", "jobs", body={"backend": "vertex", "source": {"code": "pass"}}
    )
    _, backends = await api.call("GET", "backends")

    assert code == 400
    assert answer["errors"][0]["field"] == "backend"
    assert "VertexBackend.staging_bucket" in answer["errors"][0]["message"]
    status = next(b for b in backends["backends"] if b["name"] == "vertex")
    assert status["configured"] is False
    assert [m["setting"] for m in status["missing"]] == ["VertexBackend.staging_bucket"]
    assert not vertex[0].calls


# ----- a manager's restart at Vertex AI (the rest is the contract suite's) -----


managers = contract.managers  # the contract's fixture, making managers of our driver's backend


@pytest.fixture
def driver(vertex, logs, storage) -> VertexDriver:
    return VertexDriver(vertex[0], vertex[1], logs[1])


async def test_a_job_created_just_before_a_crash_is_found_by_the_next_manager(
    managers, driver, vertex
):
    fake, _ = vertex
    manager = managers()
    job = await manager.submit({"source": {"code": "pass"}})
    # A manager claimed the job and created its CustomJob, then died before recording it.
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    manager.store.transition(
        job.id, Ours.STARTING, long_ago, "starting", Ours.QUEUED, started_at=long_ago
    )
    made = fake.add_job(
        types.CustomJob(
            display_name=job.name,
            labels={"mlp-job-id": job.id, "mlp-managed": "true"},
            job_spec={"worker_pool_specs": [{"machine_spec": {"machine_type": "n1-standard-4"}}]},
        )
    )

    running = await contract.until(managers(), job.id, {Ours.RUNNING})

    assert fake.count("create") == 0
    assert running.backend_job_id == made.name
