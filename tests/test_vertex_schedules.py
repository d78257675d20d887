"""Schedules that run in Google Cloud: a Cloud Scheduler job whose HTTP target creates the
schedule's CustomJob at Vertex AI, asserted at the Cloud Scheduler stand-in; a fire of the
stand-in creates the CustomJob at the Vertex stand-in, and the backend finds it as the schedule's
run; what a cloud schedule cannot take; and a run's own folder, as the staged package runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import clouds
import pytest
from clouds import BUCKET, DEFAULT_IMAGE, PROJECT
from fake_scheduler import FakeScheduler, FakeSchedulerServer
from google.cloud import scheduler_v1
from google.cloud import storage as gcs
from google.cloud.aiplatform_v1 import types
from google.protobuf import json_format

from jupyter_mlp.backends.base import Tracked
from jupyter_mlp.backends.vertex.backend import VertexBackend, VertexRuntime
from jupyter_mlp.core.models import Job, JobSpec, JobState
from jupyter_mlp.core.schedule_models import Schedule
from jupyter_mlp.jobfiles.bundle import JobFolder

storage_emulator, storage = clouds.storage_emulator, clouds.storage
vertex, logs = clouds.vertex, clouds.logs

ACCOUNT = "scheduler@test-project.iam.gserviceaccount.com"
SCHEDULE_ID = "5f3a9c2e71d4"
SWEEP = {
    "metric": {"name": "accuracy", "goal": "maximize"},
    "parameters": [{"name": "lr", "type": "double", "min": 0.0001, "max": 0.1}],
}
TRAIN = "import os, pathlib\nprint('trained')\n"


@pytest.fixture
def scheduler() -> Iterator[tuple[FakeScheduler, str]]:
    with FakeSchedulerServer() as server:
        yield server.fake, server.endpoint


@pytest.fixture
def backend(tmp_path, storage, vertex, scheduler) -> VertexBackend:
    (tmp_path / "train.py").write_text(TRAIN)
    made = VertexBackend(
        project=PROJECT,
        staging_bucket=f"gs://{BUCKET}",
        api_endpoint=vertex[1],
        scheduler_endpoint=scheduler[1],
        scheduler_service_account=ACCOUNT,
        retry_initial_delay=0.01,
        retry_timeout=2.0,
        default_image=DEFAULT_IMAGE,
    )
    made.bind(root_dir=tmp_path, wake=lambda: None)
    return made


def schedule(**changes: Any) -> Schedule:
    """A cloud schedule of a script job in europe-west4, as the server stores one."""
    spec = {
        "backend": "vertex",
        "source": {"path": "train.py"},
        "region": "europe-west4",
        "labels": {"team": "ml"},
        "resources": {"machine_type": "n1-standard-8"},
        **changes.pop("spec", {}),
    }
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    fields: dict[str, Any] = {
        "id": SCHEDULE_ID,
        "name": "nightly retrain",
        "cron": "0 3 * * *",
        "timezone": "Europe/Berlin",
        "spec": JobSpec.model_validate(spec),
        "overlap": "allow",
        "runs_in": "cloud",
        "created_at": now,
        "updated_at": now,
        **changes,
    }
    return Schedule.model_validate(fields)


def body_of(job: Any) -> Any:
    """The HTTP target's body, as Vertex AI reads it: a CustomJob."""
    custom = types.CustomJob()
    json_format.Parse(bytes(job.http_target.body), types.CustomJob.pb(custom))
    return custom


def env_of(custom: Any) -> dict[str, str]:
    pool = custom.job_spec.worker_pool_specs[0]
    return {v.name: v.value for v in pool.python_package_spec.env}


# ----- the Cloud Scheduler job -----


def test_a_cloud_schedule_is_a_cloud_scheduler_job_that_creates_its_custom_job(
    backend, scheduler, vertex
):
    fake, _ = scheduler

    name = backend.cloud_scheduler().create(schedule())

    assert name == f"projects/{PROJECT}/locations/europe-west4/jobs/mlp-{SCHEDULE_ID}"
    job = fake.jobs[name]
    assert (job.schedule, job.time_zone) == ("0 3 * * *", "Europe/Berlin")
    assert job.state == scheduler_v1.Job.State.ENABLED
    target = job.http_target
    assert target.uri == f"{vertex[1]}/v1/projects/{PROJECT}/locations/europe-west4/customJobs"
    assert target.http_method == scheduler_v1.HttpMethod.POST
    assert dict(target.headers) == {"Content-Type": "application/json"}
    assert target.oauth_token.service_account_email == ACCOUNT
    assert target.oauth_token.scope == "https://www.googleapis.com/auth/cloud-platform"
    assert job.retry_config.retry_count == 0
    custom = body_of(job)
    assert custom.display_name == "nightly retrain"
    assert dict(custom.labels) == {
        "team": "ml",
        "mlp-managed": "true",
        "mlp-schedule-id": SCHEDULE_ID,
    }
    folder = f"gs://{BUCKET}/mlp/schedules/{SCHEDULE_ID}/"
    assert custom.job_spec.base_output_directory.output_uri_prefix == folder
    assert env_of(custom)["MLP_PER_RUN_OUTPUT"] == folder
    pool = custom.job_spec.worker_pool_specs[0]
    assert pool.machine_spec.machine_type == "n1-standard-8"
    (package,) = pool.python_package_spec.package_uris
    blob = package.removeprefix(f"gs://{BUCKET}/")
    assert gcs.Client(project=PROJECT).bucket(BUCKET).blob(blob).exists()


def test_launch_options_reach_the_scheduled_custom_job(backend, scheduler):
    fake, _ = scheduler
    options = {
        "scheduling": {"strategy": "spot", "max_preemptions": 0, "timeout_seconds": 3600},
        "resources": {
            "machine_type": "n1-standard-8",
            "boot_disk_type": "pd-ssd",
            "boot_disk_size_gb": 200,
        },
        "network": "projects/123/global/networks/private",
        "encryption_key": "projects/p/locations/europe-west4/keyRings/r/cryptoKeys/k",
    }

    backend.cloud_scheduler().create(schedule(spec=options))

    custom = body_of(fake.only())
    assert custom.job_spec.scheduling.strategy == types.Scheduling.Strategy.SPOT
    assert custom.job_spec.scheduling.timeout.seconds == 3600
    assert custom.job_spec.worker_pool_specs[0].disk_spec.boot_disk_type == "pd-ssd"
    assert custom.job_spec.worker_pool_specs[0].disk_spec.boot_disk_size_gb == 200
    assert custom.job_spec.network == "projects/123/global/networks/private"
    assert custom.encryption_spec.kms_key_name == options["encryption_key"]


def test_a_region_without_cloud_scheduler_places_the_job_in_the_scheduler_location(
    backend, scheduler, vertex
):
    fake, _ = scheduler
    backend.scheduler_location = "us-east1"

    name = backend.cloud_scheduler().create(schedule(spec={"region": "me-central2"}))

    assert name == f"projects/{PROJECT}/locations/us-east1/jobs/mlp-{SCHEDULE_ID}"
    assert fake.jobs[name].http_target.uri.endswith("/locations/me-central2/customJobs")


def test_the_package_is_staged_once_and_again_when_the_snapshot_changes(
    backend, scheduler, storage, tmp_path
):
    fake, _ = scheduler
    clouds_scheduler = backend.cloud_scheduler()
    made = schedule()
    made.cloud_job = clouds_scheduler.create(made)
    first = body_of(fake.only()).job_spec.worker_pool_specs[0].python_package_spec.package_uris

    clouds_scheduler.update(made.model_copy(update={"cron": "30 4 * * 1"}))
    assert storage.uploads() == 1
    (tmp_path / "train.py").write_text(TRAIN + "print('edited')\n")
    clouds_scheduler.update(made)

    assert storage.uploads() == 2
    now = body_of(fake.only()).job_spec.worker_pool_specs[0].python_package_spec.package_uris
    assert list(now) != list(first)


def test_update_pause_resume_run_now_and_delete_reach_cloud_scheduler(backend, scheduler, vertex):
    fake, _ = scheduler
    vertex_fake, _ = vertex
    clouds_scheduler = backend.cloud_scheduler()
    made = schedule()
    made.cloud_job = clouds_scheduler.create(made)

    clouds_scheduler.update(
        made.model_copy(update={"cron": "15 2 * * 1-5", "timezone": "UTC", "paused": True})
    )
    job = fake.jobs[made.cloud_job]
    assert (job.schedule, job.time_zone) == ("15 2 * * 1-5", "UTC")
    assert job.state == scheduler_v1.Job.State.PAUSED

    clouds_scheduler.update(made)
    assert fake.jobs[made.cloud_job].state == scheduler_v1.Job.State.ENABLED
    clouds_scheduler.update(made)  # enabled already: not resumed again
    assert fake.routes().count("resume") == 1

    clouds_scheduler.run_now(made)
    assert [f.job for f in fake.fires] == [made.cloud_job]
    assert len(vertex_fake.jobs) == 1

    clouds_scheduler.delete(made)
    assert made.cloud_job not in fake.jobs
    clouds_scheduler.delete(made)  # gone already: nothing to do
    with pytest.raises(RuntimeError, match="Cloud Scheduler did not run the schedule's job"):
        clouds_scheduler.run_now(made)


def test_a_paused_schedule_is_created_paused_and_a_second_create_updates(backend, scheduler):
    fake, _ = scheduler
    clouds_scheduler = backend.cloud_scheduler()

    name = clouds_scheduler.create(schedule(paused=True))
    assert fake.jobs[name].state == scheduler_v1.Job.State.PAUSED
    again = clouds_scheduler.create(schedule(cron="0 5 * * *"))

    assert again == name and len(fake.jobs) == 1
    assert fake.jobs[name].schedule == "0 5 * * *"
    assert fake.jobs[name].state == scheduler_v1.Job.State.ENABLED


def test_a_refusal_of_cloud_scheduler_says_so_in_googles_words(backend, scheduler):
    fake, _ = scheduler
    fake.fail_next(
        "create", 403, "Permission 'cloudscheduler.jobs.create' denied on 'projects/test-project'"
    )

    with pytest.raises(RuntimeError) as refused:
        backend.cloud_scheduler().create(schedule())

    assert "Cloud Scheduler did not create the schedule's job" in str(refused.value)
    assert "cloudscheduler.jobs.create" in str(refused.value)
    assert fake.jobs == {}


# ----- its runs -----


def test_each_fire_creates_a_custom_job_that_is_the_schedules_run(backend, scheduler, vertex):
    fake, _ = scheduler
    vertex_fake, _ = vertex
    made = schedule()
    made.cloud_job = backend.cloud_scheduler().create(made)

    fired = fake.fire(made.cloud_job)

    assert fired.status == 200, fired.answer
    assert fired.headers["Authorization"] == f"Bearer token-of-{ACCOUNT}"
    (created,) = vertex_fake.jobs.values()
    assert created.labels["mlp-schedule-id"] == SCHEDULE_ID
    assert "mlp-job-id" not in created.labels
    (run,) = backend.cloud_scheduler().runs(made, set())
    number = created.name.rsplit("/", 1)[1]
    folder = f"gs://{BUCKET}/mlp/schedules/{SCHEDULE_ID}/runs/{number}/"
    assert run.backend_job_id == created.name
    assert run.state is JobState.STARTING
    assert run.outputs == {"output_dir": folder, "model_dir": f"{folder}model/"}
    assert run.runtime["resource_name"] == created.name
    assert run.runtime["location"] == "europe-west4"
    assert run.runtime["output_dir"] == folder
    assert run.console_url and number in run.console_url

    fake.fire(made.cloud_job)
    vertex_fake.set_state(created.name, types.JobState.JOB_STATE_SUCCEEDED)
    runs = backend.cloud_scheduler().runs(made, set())
    assert {r.backend_job_id: r.state for r in runs}[created.name] is JobState.SUCCEEDED
    (new,) = backend.cloud_scheduler().runs(made, {created.name})
    assert new.backend_job_id != created.name


async def test_the_watch_loop_follows_a_run_and_reads_its_own_folder(
    backend, scheduler, vertex, tmp_path
):
    """A run as the server registers it (a job of the schedule with the run's runtime): its end
    is seen at Vertex AI, and the runner's account of a failure read from `runs/<id>/`."""
    fake, _ = scheduler
    vertex_fake, _ = vertex
    made = schedule()
    made.cloud_job = backend.cloud_scheduler().create(made)
    fake.fire(made.cloud_job)
    (run,) = backend.cloud_scheduler().runs(made, set())
    job = Job(
        id="a1b2c3d4e5f6",
        name=made.name,
        kind=made.spec.kind,
        backend="vertex",
        state=JobState.RUNNING,
        spec=made.spec,
        created_at=run.created_at,
        backend_job_id=run.backend_job_id,
        schedule_id=made.id,
    )
    tracked = Tracked(job, JobFolder(tmp_path / "run"), VertexRuntime.model_validate(run.runtime))
    status = {"phase": "exited", "exit_code": 1, "message": "train.py raised KeyError: 'lr'"}
    blob = run.outputs["output_dir"].removeprefix(f"gs://{BUCKET}/") + "status.json"
    gcs.Client(project=PROJECT).bucket(BUCKET).blob(blob).upload_from_string(json.dumps(status))
    vertex_fake.set_state(run.backend_job_id, types.JobState.JOB_STATE_FAILED, error="exit 1")

    seen = (await backend.poll_many([tracked]))[job.id]

    assert seen.state is JobState.FAILED
    assert seen.message == "train.py raised KeyError: 'lr' (Vertex AI: exit 1)"


def test_another_schedules_runs_and_plain_jobs_are_not_its_runs(backend, scheduler, vertex):
    fake, _ = scheduler
    other = schedule(id="0other0")
    other.cloud_job = backend.cloud_scheduler().create(other)
    fake.fire(other.cloud_job)

    assert backend.cloud_scheduler().runs(schedule(), set()) == []


# ----- what a cloud schedule cannot take -----


def fields_of(backend: VertexBackend, made: Schedule) -> dict[str, str]:
    return {e.field: e.message for e in backend.cloud_scheduler().schedule_errors(made)}


def test_a_plain_cloud_schedule_has_no_errors(backend):
    assert fields_of(backend, schedule()) == {}


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"overlap": "skip"}, "overlap", "'allow' only"),
        ({"catchup_seconds": 60}, "catchup_seconds", "no catch-up"),
        (
            {"spec": {"scheduling": {"fallbacks": [{"region": "us-east1"}]}}},
            "spec.scheduling.fallbacks",
            "runs_in 'server'",
        ),
        (
            {"spec": {"scheduling": {"max_cost_usd": 20}}},
            "spec.scheduling.max_cost_usd",
            "cost cap",
        ),
        (
            {"spec": {"scheduling": {"strategy": "spot"}}},
            "spec.scheduling.max_preemptions",
            "set it to 0",
        ),
        (
            {"spec": {"sweep": SWEEP}},
            "spec.sweep",
            "not supported",
        ),
    ],
)
def test_fields_that_need_a_running_server_are_refused(backend, changes, field, says):
    errors = fields_of(backend, schedule(**changes))

    assert list(errors) == [field]
    assert says in errors[field]


def test_spot_without_preemption_retries_is_accepted(backend):
    spot = {"scheduling": {"strategy": "spot", "max_preemptions": 0}}
    assert fields_of(backend, schedule(spec=spot)) == {}


def test_a_schedule_with_no_service_account_names_the_setting(backend):
    backend.scheduler_service_account = None

    errors = fields_of(backend, schedule())

    assert list(errors) == ["runs_in"]
    assert "VertexBackend.scheduler_service_account" in errors["runs_in"]
    with pytest.raises(RuntimeError, match="scheduler_service_account"):
        backend.cloud_scheduler().create(schedule())
    account = {"scheduling": {"service_account": "runs@test-project.iam.gserviceaccount.com"}}
    assert fields_of(backend, schedule(spec=account)) == {}


def test_vertex_says_its_schedules_can_run_in_the_cloud(backend):
    assert backend.capabilities.cloud_schedules is True


# ----- a run's own folder -----


@pytest.fixture
def container(tmp_path) -> Path:
    """A fresh Python environment standing for the prebuilt container (no site packages; pip
    is this one's, pointed at it, which spares bootstrapping one)."""
    where = tmp_path / "container"
    venv.EnvBuilder(symlinks=True).create(where)
    return where


def test_each_scheduled_run_writes_its_status_and_model_in_a_folder_of_its_own(
    backend, scheduler, container, tmp_path
):
    """The staged package, pip-installed as the container does and run as `python -m`, twice
    with the same CustomJob and each its own CLOUD_ML_JOB_ID: neither overwrites the other."""
    (tmp_path / "train.py").write_text(
        "import os, pathlib\n"
        "model = pathlib.Path(os.environ['AIP_MODEL_DIR'].replace('gs://', os.environ['MOUNT']))\n"
        "model.mkdir(parents=True, exist_ok=True)\n"
        "(model / 'model.txt').write_text(os.environ['CLOUD_ML_JOB_ID'])\n"
    )
    fake, _ = scheduler
    backend.cloud_scheduler().create(schedule())
    custom = body_of(fake.only())
    spec = custom.job_spec.worker_pool_specs[0].python_package_spec
    (uri,) = spec.package_uris
    package = tmp_path / "package.tar.gz"
    blob = gcs.Client(project=PROJECT).bucket(BUCKET).blob(uri.removeprefix(f"gs://{BUCKET}/"))
    package.write_bytes(blob.download_as_bytes())
    python = str(container / "bin" / "python")
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-index",
            "--quiet",
            str(package),
        ],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    mount = tmp_path / "gcs"
    base = custom.job_spec.base_output_directory.output_uri_prefix
    for job_number in ("1111", "2222"):
        env = {
            "PATH": f"{container / 'bin'}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            **{v.name: v.value.replace("/gcs/", f"{mount}/") for v in spec.env},
            "AIP_MODEL_DIR": f"{base}model/",
            "AIP_CHECKPOINT_DIR": f"{base}checkpoints/",
            "CLOUD_ML_JOB_ID": job_number,
            "MLP_GCS_MOUNT": f"{mount}/",
            "MOUNT": f"{mount}/",
        }
        done = subprocess.run(
            [python, "-m", spec.python_module], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr

    runs = mount / BUCKET / "mlp" / "schedules" / SCHEDULE_ID / "runs"
    for job_number in ("1111", "2222"):
        assert (runs / job_number / "model" / "model.txt").read_text() == job_number
        status = json.loads((runs / job_number / "status.json").read_text())
        assert (status["phase"], status["exit_code"]) == ("exited", 0)
    assert not (runs.parent / "status.json").exists()
    assert not (runs.parent / "model").exists()


def test_a_job_that_is_not_scheduled_keeps_its_own_folder(tmp_path):
    """Without MLP_PER_RUN_OUTPUT the runner leaves the job's folders as Vertex named them."""
    env = {**os.environ, "MLP_OUTPUT_DIR": str(tmp_path / "out") + "/", "CLOUD_ML_JOB_ID": "9"}
    env.pop("MLP_PER_RUN_OUTPUT", None)
    code = (
        "import os; from jupyter_mlp.jobfiles import runner; runner.enter_run_folder(); "
        "print(os.environ['MLP_OUTPUT_DIR'])"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == str(tmp_path / "out") + "/"
