"""Sweeps on Vertex AI: a sweep job becomes one `HyperparameterTuningJob`, whose trials run what
the job's CustomJob would run. Google's real client libraries speak to the stand-ins on
127.0.0.1 (the fake JobService, gcp-storage-emulator), through the fixtures of test_vertex."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import pytest
import test_contract as contract
import test_vertex as base
from fake_vertex import JobState
from google.cloud import storage as gcs
from google.cloud.aiplatform_v1 import types
from test_staging import fresh_venv
from test_vertex import BUCKET, PROJECT, env_of

from jupyter_mlp.core.models import JobSpec
from jupyter_mlp.core.models import JobState as Ours
from jupyter_mlp.jobfiles.bundle import JobFolder, build_bundle, plan_source

# The fixtures of the Vertex backend's own tests: the stand-ins, a backend, a Jupyter server.
storage_emulator, storage, vertex, logs = (
    base.storage_emulator,
    base.storage,
    base.vertex,
    base.logs,
)
backend, submit, driver, managers = base.backend, base.submit, base.driver, contract.managers
vertex_installed, staging_bucket = base.vertex_installed, base.staging_bucket
jp_server_config = base.jp_server_config

Scale = types.StudySpec.ParameterSpec.ScaleType
TrialState = types.Trial.State

SWEEP: dict[str, Any] = {
    "metric": {"name": "accuracy", "goal": "maximize"},
    "parameters": [
        {"name": "lr", "type": "double", "min": 0.0001, "max": 0.1, "scale": "log"},
        {"name": "layers", "type": "integer", "min": 1, "max": 4},
        {"name": "batch", "type": "discrete", "values": [64, 16, 32]},
        {"name": "optimizer", "type": "categorical", "values": ["adam", "sgd"]},
    ],
    "algorithm": "random",
    "max_trials": 12,
    "parallel_trials": 3,
    "max_failed_trials": 2,
}
GPU = {"machine_type": "n1-standard-8", "accelerator_type": "T4", "accelerator_count": 1}
# A script file: Vertex AI hands a trial's parameters to it as `--name=value` arguments.
SCRIPT = {"path": "train.py"}


@pytest.fixture(autouse=True)
def script(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('training')\n")


def tuning_of(fake: Any, job_id: str) -> Any:
    with fake.lock:
        return fake.tuning_labelled(job_id)


# ----- what Vertex AI is asked for -----


async def test_a_sweep_becomes_a_tuning_job_with_its_metric_parameters_and_budget(submit, vertex):
    fake, _ = vertex
    tracked = await submit.started(
        name="tune-resnet", source=SCRIPT, sweep=SWEEP, labels={"Team": "Vision"}
    )

    (created,) = fake.created_tuning()
    study = created.study_spec
    assert [(m.metric_id, m.goal) for m in study.metrics] == [
        ("accuracy", types.StudySpec.MetricSpec.GoalType.MAXIMIZE)
    ]
    lr, layers, batch, optimizer = study.parameters
    assert (lr.parameter_id, lr.double_value_spec.min_value, lr.double_value_spec.max_value) == (
        "lr",
        0.0001,
        0.1,
    )
    assert lr.scale_type == Scale.UNIT_LOG_SCALE
    assert (layers.integer_value_spec.min_value, layers.integer_value_spec.max_value) == (1, 4)
    assert layers.scale_type == Scale.UNIT_LINEAR_SCALE
    assert list(batch.discrete_value_spec.values) == [16.0, 32.0, 64.0]
    assert list(optimizer.categorical_value_spec.values) == ["adam", "sgd"]
    assert optimizer.scale_type == Scale.SCALE_TYPE_UNSPECIFIED
    assert study.algorithm == types.StudySpec.Algorithm.RANDOM_SEARCH
    assert (created.max_trial_count, created.parallel_trial_count) == (12, 3)
    assert created.max_failed_trial_count == 2
    assert created.display_name == "tune-resnet"
    job_id = tracked.job.id
    assert dict(created.labels) == {"mlp-job-id": job_id, "mlp-managed": "true", "team": "vision"}
    assert fake.calls[-1].path == (
        f"/v1/projects/{PROJECT}/locations/us-central1/hyperparameterTuningJobs"
    )
    assert not fake.jobs  # no CustomJob of its own: Vertex makes one per trial
    assert tracked.job.backend_job_id == created_name(fake, job_id)
    assert "/hyperparameterTuningJobs/" in tracked.job.backend_job_id


def created_name(fake: Any, job_id: str) -> str:
    return str(tuning_of(fake, job_id).name)


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("grid", types.StudySpec.Algorithm.GRID_SEARCH),
        ("bayes", types.StudySpec.Algorithm.ALGORITHM_UNSPECIFIED),  # Vertex's default: Bayesian
    ],
)
async def test_the_algorithm_is_vertexs_and_failed_trials_default_to_the_service(
    submit, vertex, algorithm, expected
):
    fake, _ = vertex
    sweep = {
        "metric": {"name": "val/loss", "goal": "minimize"},
        "parameters": [{"name": "depth", "type": "integer", "min": 2, "max": 20}],
        "algorithm": algorithm,
    }
    await submit.started(source=SCRIPT, sweep=sweep)

    (created,) = fake.created_tuning()
    assert created.study_spec.algorithm == expected
    assert created.study_spec.metrics[0].goal == types.StudySpec.MetricSpec.GoalType.MINIMIZE
    assert (created.max_trial_count, created.parallel_trial_count) == (10, 1)
    assert "maxFailedTrialCount" not in fake.calls[-1].body  # type: ignore[operator]


async def test_a_grid_of_fewer_points_than_max_trials_asks_vertex_for_its_size(submit, vertex):
    fake, _ = vertex
    sweep = {
        "metric": {"name": "accuracy"},
        "parameters": [{"name": "batch", "type": "discrete", "values": [16, 32, 64]}],
        "algorithm": "grid",
        "max_trials": 10,
        "parallel_trials": 4,
    }
    tracked = await submit.started(source=SCRIPT, sweep=sweep)

    (created,) = fake.created_tuning()
    assert (created.max_trial_count, created.parallel_trial_count) == (3, 3)
    assert fake.calls[-1].body["maxTrialCount"] == 3  # type: ignore[index]
    assert tracked.job.spec.sweep is not None and tracked.job.spec.sweep.max_trials == 10


async def test_each_trial_runs_exactly_what_the_jobs_custom_job_would_run(submit, vertex):
    fake, _ = vertex
    same = {
        "source": SCRIPT,
        "resources": GPU,
        "args": ["--epochs", "3"],
        "requirements": ["torch==2.4.1"],
    }
    plain = await submit.started(**same)
    swept = await submit.started(**same, sweep=SWEEP)

    (custom,) = fake.created()
    (tuning,) = fake.created_tuning()

    def comparable(spec: Any, tracked: Any) -> str:
        text = type(spec).to_json(spec)
        return text.replace(tracked.job.id, "JOB").replace(tracked.runtime.package_uri, "PKG")

    assert comparable(tuning.trial_job_spec, swept) == comparable(custom.job_spec, plain)
    (pool,) = tuning.trial_job_spec.worker_pool_specs
    assert pool.machine_spec.machine_type == "n1-standard-8"
    assert pool.machine_spec.accelerator_type == types.AcceleratorType.NVIDIA_TESLA_T4
    assert pool.python_package_spec.executor_image_uri == (
        "us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest"
    )
    assert list(pool.python_package_spec.package_uris) == [swept.runtime.package_uri]
    assert pool.python_package_spec.python_module == "mlp_bundle.runner"
    assert env_of(pool)["MLP_OUTPUT_DIR"] == f"/gcs/{BUCKET}/mlp/{swept.job.id}/"


async def test_a_sweeps_package_installs_cloudml_hypertune(submit, vertex, storage, tmp_path):
    swept = await submit.started(source=SCRIPT, sweep=SWEEP, requirements=["scikit-learn"])

    package = download(swept.runtime.package_uri, tmp_path)
    with tarfile.open(package) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/PKG-INFO"))
        info = tar.extractfile(member).read().decode()  # type: ignore[union-attr]

    assert "Requires-Dist: scikit-learn" in info
    assert "Requires-Dist: cloudml-hypertune" in info
    # The job's own bundle stays as it was made.
    manifest = json.loads((swept.folder.bundle / "manifest.json").read_text())
    assert manifest["requirements"] == ["scikit-learn"]


async def test_in_a_custom_image_the_trials_parameters_reach_the_runner(submit, vertex, tmp_path):
    fake, _ = vertex
    await submit.started(
        environment="europe-docker.pkg.dev/my-proj/images/train:3", source=SCRIPT, sweep=SWEEP
    )
    (pool,) = fake.created_tuning()[0].trial_job_spec.worker_pool_specs
    # A `python3` that installs nothing and prints what it is asked to run.
    (tmp_path / "python3").write_text('#!/bin/sh\n[ "$2" = pip ] && exit 0\necho "$@"\n')
    (tmp_path / "python3").chmod(0o755)

    # Vertex appends `--name=value` to the container's arguments.
    shell, *rest = pool.container_spec.command
    done = subprocess.run(
        [f"/bin/{shell}", *rest, "--lr=0.5", "--optimizer=sgd"],
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path)},
    )

    assert done.stdout.split() == ["-m", "mlp_bundle.runner", "--lr=0.5", "--optimizer=sgd"]


def test_grid_search_refuses_double_parameters_naming_them(backend):
    sweep = {**SWEEP, "algorithm": "grid"}
    spec, _ = backend.normalize(
        JobSpec.model_validate({"source": {"code": "pass"}, "sweep": sweep})
    )

    errors = backend.validate(spec, None)

    assert [e.field for e in errors] == ["sweep.parameters[0].type"]
    assert "'lr'" in errors[0].message and "grid" in errors[0].message


def test_inline_code_and_scripts_can_be_swept_on_vertex(backend, tmp_path):
    # Generated code reads the trial's --name=value arguments (tests/test_trial_arguments.py).
    def problems(source: dict[str, Any]) -> list[Any]:
        spec, _ = backend.normalize(JobSpec.model_validate({"source": source, "sweep": SWEEP}))
        return backend.validate(spec, plan_source(spec, tmp_path))

    assert problems({"code": "print(lr)"}) == []
    assert problems(SCRIPT) == []


def test_a_sweeps_estimate_is_a_trials_cost_times_the_trials_run_at_once(backend):
    one = backend.estimate(JobSpec.model_validate({"source": {"code": "pass"}, "resources": GPU}))
    sweep = backend.estimate(
        JobSpec.model_validate({"source": {"code": "pass"}, "resources": GPU, "sweep": SWEEP})
    )

    assert one is not None and sweep is not None
    assert sweep["usd_per_trial_hour"] == one["usd_per_hour"]
    assert sweep["usd_per_hour"] == pytest.approx(3 * one["usd_per_hour"], abs=1e-3)
    assert "3 parallel trial(s)" in sweep["note"]


# ----- a trial as Vertex AI runs it -----


def download(uri: str, where: Path) -> Path:
    name = uri.removeprefix(f"gs://{BUCKET}/")
    target = where / Path(name).name
    gcs.Client(project=PROJECT).bucket(BUCKET).blob(name).download_to_filename(str(target))
    return target


TRAIN = """\
import argparse, json, os, pathlib, sys
import hypertune

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
parser.add_argument("--lr", type=float)
parser.add_argument("--optimizer")
args = parser.parse_args()
out = pathlib.Path(os.environ["MLP_OUTPUT_DIR"])
(out / "seen.json").write_text(json.dumps(sys.argv[1:]))
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="accuracy", metric_value=1 - args.lr, global_step=args.epochs
)
"""


async def test_a_trial_of_the_staged_package_gets_its_parameters_and_reports_its_metric(
    submit, vertex, storage, tmp_path
):
    fake, _ = vertex
    (submit.root / "train.py").write_text(TRAIN)
    swept = await submit.started(source={"path": "train.py"}, args=["--epochs", "3"], sweep=SWEEP)
    (pool,) = fake.created_tuning()[0].trial_job_spec.worker_pool_specs
    python = fresh_venv(tmp_path / "env")
    install = [str(python), "-m", "pip", "install", "--no-index", "--quiet"]
    subprocess.run([*install, str(download(swept.runtime.package_uri, tmp_path))], check=True)
    gcs_dir, metric_file = tmp_path / "gcs", tmp_path / "hypertune" / "output.metric"
    gcs_dir.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        **env_of(pool),  # as Vertex sets them, with the job's folder where the bucket is mounted
        "MLP_OUTPUT_DIR": f"{gcs_dir}/",
        "MLP_STATUS_FILE": f"{gcs_dir}/status.json",
        "CLOUD_ML_TRIAL_ID": "7",
        "CLOUD_ML_HP_METRIC_FILE": str(metric_file),
    }
    (tmp_path / "cwd").mkdir()

    # Vertex runs the module with the trial's parameters appended to its arguments.
    done = subprocess.run(
        [str(python), "-m", pool.python_package_spec.python_module, "--lr=0.25", "--optimizer=sgd"],
        env=env,
        cwd=tmp_path / "cwd",
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    trial_dir = gcs_dir / "7"  # each trial's outputs apart, as Vertex's AIP_MODEL_DIR is
    assert json.loads((trial_dir / "seen.json").read_text()) == [
        "--epochs",
        "3",
        "--lr=0.25",
        "--optimizer=sgd",
    ]
    assert json.loads((trial_dir / "status.json").read_text())["exit_code"] == 0
    (report,) = [json.loads(line) for line in metric_file.read_text().splitlines()]
    assert float(report["accuracy"]) == 0.75  # hypertune writes values as text


def test_a_notebook_trial_gets_its_parameters_as_papermill_parameters(tmp_path, submit):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "P", "language": "python"}
    parameters = nbformat.v4.new_code_cell("lr = 0.1\noptimizer = 'adam'\nepochs = 1")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell("print(repr(lr), optimizer, epochs)")]
    nbformat.write(notebook, submit.root / "tune.ipynb")
    spec, _ = submit.backend.normalize(
        JobSpec.model_validate(
            {"source": {"path": "tune.ipynb"}, "parameters": {"epochs": 5}, "sweep": SWEEP}
        )
    )
    bundle = JobFolder(tmp_path / "job").bundle
    build_bundle(spec, plan_source(spec, submit.root), bundle)
    out = tmp_path / "gcs"
    env = {
        **os.environ,
        "MLP_INSTALL_IN_PLACE": "1",
        "MLP_OUTPUT_DIR": f"{out}/",
        "MLP_STATUS_FILE": f"{out}/status.json",
        "CLOUD_ML_TRIAL_ID": "3",
    }
    out.mkdir()

    done = subprocess.run(
        [sys.executable, str(bundle / "runner.py"), "--lr=0.002", "--optimizer=sgd"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    executed = json.loads((out / "3" / "tune.executed.ipynb").read_text())
    printed = "".join("".join(o.get("text", [])) for o in executed["cells"][-1]["outputs"])
    assert printed.strip() == "0.002 sgd 5"


# ----- watching -----


async def test_trials_states_parameters_and_metrics_come_from_the_tuning_job(
    submit, backend, vertex
):
    fake, _ = vertex
    tracked = await submit.started(source=SCRIPT, sweep=SWEEP)
    name = tracked.runtime.resource_name
    fake.set_state(name, JobState.JOB_STATE_RUNNING)
    first = fake.add_trial(name, {"lr": 0.01, "layers": 2.0, "batch": 32.0, "optimizer": "adam"})
    second = fake.add_trial(name, {"lr": 0.001, "layers": 3.0, "batch": 64.0, "optimizer": "sgd"})
    fake.add_trial(name, {"lr": 0.05, "layers": 1.0, "batch": 16.0, "optimizer": "sgd"})
    fake.end_trial(name, first, metric=0.91)
    fake.end_trial(name, second, infeasible="The replica workerpool0-0 exited with status 1.")

    seen = (await backend.poll_many([tracked]))[tracked.job.id]

    assert (seen.state, seen.backend_state) == (Ours.RUNNING, "JOB_STATE_RUNNING")
    one, two, three = seen.trials or []
    assert (one["id"], one["state"], one["metric"]) == ("1", "SUCCEEDED", 0.91)
    assert one["parameters"] == {"lr": 0.01, "layers": 2, "batch": 32, "optimizer": "adam"}
    assert isinstance(one["parameters"]["layers"], int)
    assert one["started_at"] and one["ended_at"]
    assert (two["state"], two["metric"]) == ("FAILED", None)
    assert two["message"] == "The replica workerpool0-0 exited with status 1."
    assert (three["state"], three["ended_at"]) == ("RUNNING", None)


async def test_trials_unchanged_since_the_last_look_are_not_reported_again(submit, backend, vertex):
    fake, _ = vertex
    tracked = await submit.started(source=SCRIPT, sweep=SWEEP)
    fake.add_trial(tracked.runtime.resource_name, {"lr": 0.01})
    seen = (await backend.poll_many([tracked]))[tracked.job.id]
    stored = tracked.job.model_validate({**tracked.job.model_dump(), **seen.updates()})
    tracked.job = stored

    again = (await backend.poll_many([tracked]))[tracked.job.id]

    assert seen.trials is not None
    assert again.trials is None


async def test_sweeps_and_custom_jobs_are_observed_with_one_list_call_each(submit, backend, vertex):
    fake, _ = vertex
    jobs = [await submit.started() for _ in range(2)]
    sweeps = [await submit.started(source=SCRIPT, sweep=SWEEP) for _ in range(3)]
    for tracked in [*jobs, *sweeps]:
        fake.set_state(tracked.runtime.resource_name, JobState.JOB_STATE_RUNNING)
    before = {route: fake.count(route) for route in ("list", "list_tuning", "get", "get_tuning")}

    seen = await backend.poll_many([*jobs, *sweeps])

    assert {o.state for o in seen.values()} == {Ours.RUNNING}
    assert {route: fake.count(route) - n for route, n in before.items()} == {
        "list": 1,
        "list_tuning": 1,
        "get": 0,
        "get_tuning": 0,
    }
    (call,) = [c for c in fake.calls if c.route == "list_tuning"][-1:]
    assert 'labels.mlp-managed="true"' in call.query["filter"][0]


async def test_an_ended_sweep_is_asked_for_alone_and_its_unfinished_trials_end_with_it(
    submit, backend, vertex
):
    fake, _ = vertex
    tracked = await submit.started(source=SCRIPT, sweep=SWEEP)
    name = tracked.runtime.resource_name
    fake.add_trial(name, {"lr": 0.01})
    fake.set_state(name, JobState.JOB_STATE_FAILED, error="3 trials failed")

    seen = (await backend.poll_many([tracked]))[tracked.job.id]

    assert (seen.state, seen.message) == (Ours.FAILED, "3 trials failed")
    assert [t["state"] for t in (seen.trials or [])] == ["FAILED"]
    assert fake.count("get_tuning") == 1


async def test_cancel_asks_vertex_to_cancel_the_tuning_job(submit, backend, vertex):
    fake, _ = vertex
    tracked = await submit.started(source=SCRIPT, sweep=SWEEP)
    fake.set_state(tracked.runtime.resource_name, JobState.JOB_STATE_RUNNING)

    await backend.cancel(tracked)
    cancelling = (await backend.poll_many([tracked]))[tracked.job.id]

    assert (fake.count("cancel_tuning"), fake.count("cancel")) == (1, 0)
    assert cancelling.state is Ours.CANCELLING


async def test_a_tuning_job_created_before_a_crash_is_found_and_not_created_again(
    submit, backend, vertex
):
    fake, _ = vertex
    job, folder = submit.job(source=SCRIPT, sweep=SWEEP)
    earlier = fake.add_job(made_before_crash(job))

    launch = await backend.start(job, folder, [])

    assert (fake.count("create_tuning"), fake.count("create")) == (0, 0)
    assert launch.backend_job_id == earlier.name
    assert launch.runtime.package_uri == "gs://b/mlp/packages/x.tar.gz"  # type: ignore[attr-defined]


async def test_a_tuning_job_is_created_once_through_transient_errors(submit, vertex):
    fake, _ = vertex
    fake.fail_next("list_tuning", 429, "Quota exceeded for requests per minute")
    fake.fail_next("create_tuning", 503, "The service is currently unavailable.")

    tracked = await submit.started(source=SCRIPT, sweep=SWEEP)

    assert len(fake.tuning_jobs) == 1
    assert fake.count("create_tuning") == 2
    assert tracked.runtime.resource_name == tuning_of(fake, tracked.job.id).name


def made_before_crash(job: Any) -> Any:
    image = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-6:latest"
    return types.HyperparameterTuningJob(
        display_name=job.name,
        labels={"mlp-job-id": job.id, "mlp-managed": "true"},
        study_spec={
            "metrics": [{"metric_id": "accuracy", "goal": "MAXIMIZE"}],
            "parameters": [
                {"parameter_id": "lr", "double_value_spec": {"min_value": 0.1, "max_value": 1}}
            ],
        },
        max_trial_count=12,
        parallel_trial_count=3,
        trial_job_spec={
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


async def test_a_sweeps_log_lines_say_which_trial_wrote_them(submit, backend, logs):
    fake_logs, _ = logs
    tracked = await submit.started(source=SCRIPT, sweep=SWEEP)
    number = tracked.runtime.resource_name.rsplit("/", 1)[1]
    for at, trial in [(1, "1"), (2, "2")]:
        fake_logs.add(number, f"epoch 1 of trial {trial}", at=at)
        with fake_logs.lock:
            fake_logs.entries[-1]["labels"] = {"ml.googleapis.com/trial_id": trial}

    chunk = await backend.read_log(tracked, None, 10_000)

    assert chunk.data == "[trial 1] epoch 1 of trial 1\n[trial 2] epoch 1 of trial 2\n"


# ----- with the manager: restarts and crashes -----


async def test_a_restarted_manager_goes_on_watching_a_sweep_and_its_trials(
    managers, driver, vertex
):
    fake, _ = vertex
    before = managers()
    job = await before.submit({"source": {"code": "pass"}, "sweep": SWEEP})
    await contract.until(before, job.id, {Ours.RUNNING})
    name = tuning_of(fake, job.id).name
    fake.end_trial(name, fake.add_trial(name, {"lr": 0.02}), metric=0.8)
    await before.tick()
    await before.stop()

    after = managers()
    fake.end_trial(name, fake.add_trial(name, {"lr": 0.03}), metric=0.9)
    fake.set_state(name, JobState.JOB_STATE_SUCCEEDED)
    done = await contract.until(after, job.id, {Ours.SUCCEEDED})

    assert [(t.id, t.metric) for t in done.trials] == [("1", 0.8), ("2", 0.9)]
    assert done.best_trial == "2"
    assert fake.count("create_tuning") == 1


async def test_a_tuning_job_created_just_before_a_crash_is_found_by_the_next_manager(
    managers, driver, vertex
):
    fake, _ = vertex
    manager = managers()
    job = await manager.submit({"source": {"code": "pass"}, "sweep": SWEEP})
    # A manager claimed the sweep and created its tuning job, then died before recording it.
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    manager.store.transition(
        job.id, Ours.STARTING, long_ago, "starting", Ours.QUEUED, started_at=long_ago
    )
    made = fake.add_job(made_before_crash(job))

    running = await contract.until(managers(), job.id, {Ours.RUNNING})

    assert (fake.count("create_tuning"), fake.count("create")) == (0, 0)
    assert running.backend_job_id == made.name


# ----- through a real Jupyter server's REST API -----


async def wait_for_tuning_job(fake: Any, job_id: str) -> Any:
    for _ in range(200):
        with fake.lock:
            found = [j for j in fake.tuning_jobs.values() if j.labels.get("mlp-job-id") == job_id]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"sweep {job_id} never reached Vertex AI")


async def test_a_sweep_over_the_api_shows_its_trials_and_best_trial(api, vertex):
    fake, _ = vertex
    job = await api.submit(backend="vertex", name="tune", source={"code": "pass"}, sweep=SWEEP)
    created = await wait_for_tuning_job(fake, job["id"])
    fake.set_state(created.name, JobState.JOB_STATE_RUNNING)
    first = fake.add_trial(created.name, {"lr": 0.01, "layers": 2.0, "optimizer": "adam"})
    second = fake.add_trial(created.name, {"lr": 0.02, "layers": 4.0, "optimizer": "sgd"})
    fake.end_trial(created.name, first, metric=0.7)
    fake.end_trial(created.name, second, metric=0.85)
    fake.set_state(created.name, JobState.JOB_STATE_SUCCEEDED)

    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED"
    assert done["backend_job_id"] == created.name
    assert [(t["id"], t["state"], t["metric"]) for t in done["trials"]] == [
        ("1", "SUCCEEDED", 0.7),
        ("2", "SUCCEEDED", 0.85),
    ]
    assert done["trials"][1]["parameters"] == {"lr": 0.02, "layers": 4, "optimizer": "sgd"}
    assert done["best_trial"] == "2"
    assert done["cost"]["usd_per_hour"] > 0
    code, listed = await api.call("GET", "jobs")
    assert code == 200 and [j["id"] for j in listed["jobs"]] == [job["id"]]


async def test_a_sweep_cancelled_over_the_api_is_cancelled_at_vertex(api, vertex):
    fake, _ = vertex
    fake.settle_cancels = True
    job = await api.submit(backend="vertex", source={"code": "pass"}, sweep=SWEEP)
    created = await wait_for_tuning_job(fake, job["id"])
    fake.set_state(created.name, JobState.JOB_STATE_RUNNING)
    fake.add_trial(created.name, {"lr": 0.01})
    await api.wait(job["id"], {"RUNNING"})

    code, cancelling = await api.call("POST", "jobs", job["id"], "cancel")
    cancelled = await api.wait(job["id"])

    assert (code, cancelling["state"]) == (200, "CANCELLING")
    assert cancelled["state"] == "CANCELLED"
    assert fake.count("cancel_tuning") >= 1
    assert [t["state"] for t in cancelled["trials"]] == ["CANCELLED"]


async def test_a_grid_sweep_with_a_double_parameter_is_refused_naming_it(api, vertex):
    sweep = {**SWEEP, "algorithm": "grid"}
    code, answer = await api.call(
        "POST", "jobs", body={"backend": "vertex", "source": {"code": "pass"}, "sweep": sweep}
    )

    assert code == 400
    assert [e["field"] for e in answer["errors"]] == ["sweep.parameters[0].type"]
    assert not vertex[0].calls
