"""Metrics as results: what a job reports with `jupyter_mlp.report(...)` is kept with the job.

Real jobs on this machine (a script, a notebook, a job whose Python has no jupyter-mlp, a sweep's
trials) through a real Jupyter server, and a Vertex AI job whose output folder in Cloud Storage
(gcp-storage-emulator) gets a metrics file, read by the server as it polls."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import clouds
import nbformat
import pytest
import test_vertex as vertex_tests
from clouds import BUCKET, PROJECT
from fake_vertex import JobState

import jupyter_mlp
from jupyter_mlp.client import cli
from jupyter_mlp.core.metrics import merged, parse
from jupyter_mlp.core.models import MAX_METRIC_POINTS, MetricPoint

storage_emulator, storage, vertex, logs = (
    clouds.storage_emulator,
    clouds.storage,
    clouds.vertex,
    clouds.logs,
)
vertex_installed, staging_bucket = vertex_tests.vertex_installed, vertex_tests.staging_bucket

# Reports `accuracy` at steps 0..149 (and `loss` at the last), 50 of them, then waits for `go`.
REPORTING = """\
import os, sys, time
import jupyter_mlp

for step in range(150):
    jupyter_mlp.report(accuracy=step / 1000, step=step)
    if step == 49:
        deadline = time.time() + 60
        while not os.path.exists(sys.argv[1]) and time.time() < deadline:
            time.sleep(0.05)
jupyter_mlp.report(loss=0.25)
"""


async def until(check: Any, timeout: float = 30) -> Any:
    """Poll `check()` (a coroutine function) until it gives something true."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


# ----- jobs on this machine -----


async def test_a_script_job_keeps_every_report_and_the_list_shows_each_metrics_last(
    api, write_script, jp_root_dir, tmp_path
):
    go = tmp_path / "go"
    script = write_script("fit.py", REPORTING)
    job = await api.submit(source={"path": script}, args=[str(go)])

    async def fifty() -> dict[str, Any] | None:
        seen = await api.job(job["id"])
        return seen if len(seen["metrics"].get("accuracy", [])) == 50 else None

    running = await until(fifty)
    go.touch()
    done = await api.wait(job["id"])
    _, page = await api.call("GET", "jobs")

    assert running is not None and running["state"] == "RUNNING"
    assert done["state"] == "SUCCEEDED", done["state_message"]
    accuracy = done["metrics"]["accuracy"]
    assert [p["step"] for p in accuracy] == list(range(150))
    assert accuracy[-1]["value"] == 0.149 and accuracy[0]["at"] is not None
    assert [(p["value"], p["step"]) for p in done["metrics"]["loss"]] == [(0.25, None)]
    [listed] = [j for j in page["jobs"] if j["id"] == job["id"]]
    assert listed["metrics"] == {"accuracy": [accuracy[-1]], "loss": done["metrics"]["loss"]}
    folder = jp_root_dir / done["outputs"]["folder"]
    assert len((folder / "mlp-metrics.jsonl").read_text().splitlines()) == 151
    hypertune = [json.loads(line) for line in (folder / "hypertune" / "output.metric").open()]
    assert len(hypertune) == 100
    assert hypertune[0]["accuracy"] == "0.051" and hypertune[0]["global_step"] == "51"
    assert hypertune[-1]["loss"] == "0.25" and hypertune[-1]["trial"] == "0"


async def test_a_notebook_job_reports_from_its_cells(api, jp_root_dir):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "py"}
    nb.cells = [
        nbformat.v4.new_code_cell("epochs = 3", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from jupyter_mlp import report\n"
            "for epoch in range(epochs):\n"
            "    report(accuracy=0.5 + epoch / 10, step=epoch)"
        ),
    ]
    nbformat.write(nb, jp_root_dir / "train.ipynb")

    job = await api.submit(source={"path": "train.ipynb"}, parameters={"epochs": 4})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    points = done["metrics"]["accuracy"]
    assert [(p["step"], p["value"]) for p in points] == [(0, 0.5), (1, 0.6), (2, 0.7), (3, 0.8)]


async def test_a_job_whose_python_has_no_jupyter_mlp_reports_through_the_bundles_copy(
    api, write_script, tmp_path, monkeypatch
):
    # A fresh environment, as a cloud container's: jupyter-mlp is not installed there.
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    monkeypatch.delenv("PYTHONPATH", raising=False)  # the server's own path is not the job's
    script = write_script(
        "bare.py",
        "import jupyter_mlp\nprint('from', jupyter_mlp.__file__)\njupyter_mlp.report(auc=0.7)\n",
    )

    job = await api.submit(source={"path": script}, environment=str(bare / "bin" / "python"))
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", await api.log(job["id"])
    assert "/bundle/mlp_report/jupyter_mlp/__init__.py" in await api.log(job["id"])
    assert [p["value"] for p in done["metrics"]["auc"]] == [0.7]


async def test_a_sweep_picks_its_best_trial_by_what_the_trials_report(api, write_script):
    script = write_script(
        "scored.py",
        "import argparse, jupyter_mlp\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--x', type=int)\n"
        "x = parser.parse_args().x\n"
        "jupyter_mlp.report(score=(x - 2) ** 2, step=1)\n",
    )
    sweep = {
        "metric": {"name": "score", "goal": "minimize"},
        "parameters": [{"name": "x", "type": "discrete", "values": [0, 2, 3]}],
        "algorithm": "grid",
        "max_trials": 3,
        "parallel_trials": 3,
    }

    job = await api.submit(source={"path": script}, sweep=sweep)
    ended = await api.wait(job["id"], timeout=60)

    assert ended["state"] == "SUCCEEDED", ended["state_message"]
    best = next(t for t in ended["trials"] if t["id"] == ended["best_trial"])
    assert best["parameters"] == {"x": 2} and best["metric"] == 0.0
    trial = await api.job(best["job_id"])
    assert [p["value"] for p in trial["metrics"]["score"]] == [0.0]


async def test_status_on_the_command_line_prints_each_metrics_last_value(
    api, write_script, jp_serverapp, monkeypatch, capsys
):
    script = write_script(
        "short.py",
        "import jupyter_mlp\njupyter_mlp.report(acc=0.5, step=1)\n"
        "jupyter_mlp.report(acc=0.75, loss=1.5, step=2)\n",
    )
    job = await api.submit(source={"path": script})
    await api.wait(job["id"])
    monkeypatch.setenv("MLP_SERVER_URL", jp_serverapp.connection_url)
    monkeypatch.setenv("MLP_TOKEN", jp_serverapp.identity_provider.token)

    code = await asyncio.to_thread(cli.main, ["status", job["id"]])

    assert code == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("metrics:")]
    assert line == "metrics:      acc=0.75 (step 2), loss=1.5 (step 2)"


# ----- a Vertex AI job -----


class TestAVertexJob:
    """A job on Vertex AI: its metrics file is in its output folder in Cloud Storage."""

    @pytest.fixture
    def jp_server_config(self, tmp_path, vertex, logs, storage, vertex_installed):
        return {
            "ServerApp": {"jpserver_extensions": {"jupyter_mlp": True}},
            "MLPExtension": {
                "db_url": f"sqlite:///{tmp_path / 'state' / 'mlp.db'}",
                "poll_interval": 0.1,
            },
            "LocalBackend": {"gpu_ids": [], "warm_runners": 0},
            "VertexBackend": {
                "project": PROJECT,
                "staging_bucket": f"gs://{BUCKET}",
                "api_endpoint": vertex[1],
                "logging_endpoint": logs[1],
                "retry_initial_delay": 0.01,
                "retry_timeout": 2.0,
                "log_settle_seconds": 0.0,
                "default_image": clouds.DEFAULT_IMAGE,
            },
        }

    async def test_its_metrics_appear_as_the_server_polls_and_unchanged_files_are_not_read(
        self, api, vertex, storage
    ):
        from google.cloud import storage as gcs

        fake, _ = vertex
        job = await api.submit(backend="vertex", source={"code": "pass"})
        created = await vertex_tests.wait_at_vertex(fake, job["id"])
        fake.set_state(created.name, JobState.JOB_STATE_RUNNING)
        await api.wait(job["id"], {"RUNNING"})
        blob = gcs.Client(project=PROJECT).bucket(BUCKET).blob(f"mlp/{job['id']}/mlp-metrics.jsonl")
        lines = [
            json.dumps({"metric": "loss", "value": v, "step": s, "at": None})
            for s, v in ((1, 0.9), (2, 0.7))
        ]
        await asyncio.to_thread(blob.upload_from_string, "".join(f"{line}\n" for line in lines))

        async def losses(count: int) -> list[float] | None:
            seen = (await api.job(job["id"]))["metrics"].get("loss", [])
            return [p["value"] for p in seen] if len(seen) == count else None

        def looks(kind: str) -> int:  # "/storage/": its size asked; "/download/": its bytes read
            return sum(1 for r in storage.requests if f"GET {kind}" in r and "mlp-metrics" in r)

        first = await until(lambda: losses(2))
        asked = looks("/storage/")

        async def rounds_later() -> bool:
            return looks("/storage/") >= asked + 3

        await until(rounds_later)
        unchanged_reads = looks("/download/")
        more = json.dumps({"metric": "loss", "value": 0.5, "step": 3, "at": None})
        written = "".join(f"{line}\n" for line in [*lines, "not json", more]) + '{"metric": "lo'
        await asyncio.to_thread(blob.upload_from_string, written)
        fake.set_state(created.name, JobState.JOB_STATE_SUCCEEDED)
        done = await api.wait(job["id"])

        assert first == [0.9, 0.7]
        assert unchanged_reads == 1  # three looks at a file that did not grow read none of it
        assert done["state"] == "SUCCEEDED"
        assert [(p["step"], p["value"]) for p in done["metrics"]["loss"]] == [
            (1, 0.9),
            (2, 0.7),
            (3, 0.5),
        ]
        _, page = await api.call("GET", "jobs")
        assert page["jobs"][0]["metrics"]["loss"][0]["value"] == 0.5


# ----- report() itself -----


def test_outside_a_job_report_prints_what_it_would_report(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("MLP_OUTPUT_DIR", raising=False)
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(tmp_path / "hp"))

    jupyter_mlp.report(accuracy=0.93, step=3)

    assert capsys.readouterr().out == "[mlp] not in a job: would report accuracy=0.93 at step 3\n"
    assert not (tmp_path / "hp").exists()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: jupyter_mlp.report(accuracy="0.9"), "metric 'accuracy' must be a number, not str"),
        (lambda: jupyter_mlp.report(ok=True), "metric 'ok' must be a number, not bool"),
        (lambda: jupyter_mlp.report(step=1.5, loss=1), "step must be a whole number, not float"),
        (lambda: jupyter_mlp.report(), "needs at least one metric"),
    ],
)
def test_report_refuses_what_is_not_a_number(call, message, monkeypatch, tmp_path):
    monkeypatch.setenv("MLP_OUTPUT_DIR", str(tmp_path))

    with pytest.raises(TypeError, match=message):
        call()

    assert not (tmp_path / "mlp-metrics.jsonl").exists()


def test_a_replica_other_than_the_chief_leaves_the_metrics_file_to_the_chief(monkeypatch, tmp_path):
    output = tmp_path / "gcs" / "bucket" / "mlp" / "job"  # no folder yet, as on the mount
    monkeypatch.setenv("MLP_OUTPUT_DIR", str(output))
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(tmp_path / "hp" / "output.metrics"))
    for task, value in (("workerpool1", 1.0), ("workerpool0", 2.0)):
        monkeypatch.setenv("CLUSTER_SPEC", json.dumps({"task": {"type": task, "index": 0}}))
        jupyter_mlp.report(loss=value)

    [line] = (output / "mlp-metrics.jsonl").read_text().splitlines()
    assert json.loads(line)["value"] == 2.0
    assert len((tmp_path / "hp" / "output.metrics").read_text().splitlines()) == 2


# ----- reading what was reported -----


def test_a_malformed_or_unfinished_line_is_skipped_and_the_rest_is_read():
    data = (
        b'{"metric": "acc", "value": 0.5, "step": 1, "at": null}\n'
        b"not json\n"
        b'{"metric": "acc", "value": "high"}\n'
        b'{"metric": "acc", "value": NaN}\n'
        b'{"metric": "acc", "value": 0.6, "step": 2}\n'
        b'{"metric": "acc", "val'
    )

    points, used = parse(data)

    assert [(p.value, p.step) for p in points["acc"]] == [(0.5, 1), (0.6, 2)]
    assert data[used:] == b'{"metric": "acc", "val'


def test_past_the_limit_older_points_are_thinned_and_recent_ones_kept():
    many = [MetricPoint.model_construct(value=i, step=i) for i in range(MAX_METRIC_POINTS)]

    kept = merged({"loss": many}, {"loss": [MetricPoint(value=-1, step=MAX_METRIC_POINTS)]})

    steps = [p.step for p in kept["loss"]]
    assert len(steps) <= MAX_METRIC_POINTS
    assert steps[0] == 0 and steps[-1] == MAX_METRIC_POINTS
    assert steps[-MAX_METRIC_POINTS // 2 :] == list(
        range(MAX_METRIC_POINTS // 2 + 1, MAX_METRIC_POINTS + 1)
    )
    assert steps == sorted(steps)
