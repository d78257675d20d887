"""Hyperparameter sweeps run locally: each trial a job of its own, driven by the manager.

The trials run a real scikit-learn training script that reports its accuracy the way it would
on Vertex AI (cloudml-hypertune), so the same script runs unchanged in both places.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jupyter_processes import JupyterServer, isolated_env

TRAIN = """\
import argparse, os

import hypertune
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--n_estimators", type=int, default=10)
parser.add_argument("--max_depth", type=int, default=None)
parser.add_argument("--criterion", default="gini")
parser.add_argument("--max_features", type=float, default=1.0)
args = parser.parse_args()
print("CUDA_VISIBLE_DEVICES=" + os.environ.get("CUDA_VISIBLE_DEVICES", ""), flush=True)
x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x[:600], y[:600], random_state=0)
model = RandomForestClassifier(
    n_estimators=args.n_estimators,
    max_depth=args.max_depth,
    criterion=args.criterion,
    max_features=args.max_features,
    random_state=0,
    n_jobs=1,
)
model.fit(x_train, y_train)
accuracy = model.score(x_test, y_test)
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="accuracy", metric_value=accuracy, global_step=1
)
print(f"accuracy={accuracy}")
"""


@pytest.fixture
def train_script(write_script) -> str:
    return write_script("train.py", TRAIN)


def sweep(parameters: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    return {
        "metric": {"name": "accuracy", "goal": "maximize"},
        "parameters": parameters,
        **settings,
    }


FOREST = [
    {"name": "n_estimators", "type": "integer", "min": 2, "max": 12},
    {"name": "max_depth", "type": "discrete", "values": [2, 4, 8]},
]


async def trial_jobs(api, sweep_id: str) -> list[dict[str, Any]]:
    code, page = await api.call("GET", "jobs", sweep_id=sweep_id)
    assert code == 200, page
    return sorted(page["jobs"], key=lambda job: job["created_at"])


def most_at_once(jobs: list[dict[str, Any]]) -> int:
    """The most jobs that were started and not yet ended at one time."""
    events = []
    for job in jobs:
        events.append((datetime.fromisoformat(job["started_at"]), 1))
        events.append((datetime.fromisoformat(job["ended_at"]), -1))
    running = most = 0
    for _, change in sorted(events, key=lambda e: (e[0], e[1])):
        running += change
        most = max(most, running)
    return most


def assert_best_is_best(job: dict[str, Any]) -> None:
    scored = [t for t in job["trials"] if t["state"] == "SUCCEEDED"]
    best = max(scored, key=lambda t: t["metric"])
    assert job["best_trial"] is not None
    chosen = next(t for t in job["trials"] if t["id"] == job["best_trial"])
    assert chosen["metric"] == best["metric"]


async def test_a_grid_sweep_tries_every_point_up_to_max_trials(api, train_script):
    grid = [
        {"name": "n_estimators", "type": "integer", "min": 3, "max": 4},
        {"name": "criterion", "type": "categorical", "values": ["gini", "entropy"]},
    ]
    job = await api.submit(
        name="forest",
        source={"path": train_script},
        parameters={"max_depth": 6},
        sweep=sweep(grid, algorithm="grid", max_trials=10, parallel_trials=2),
    )
    ended = await api.wait(job["id"], timeout=120)

    assert ended["state"] == "SUCCEEDED", ended["state_message"]
    points = {
        (t["parameters"]["n_estimators"], t["parameters"]["criterion"]) for t in ended["trials"]
    }
    assert points == {(3, "gini"), (3, "entropy"), (4, "gini"), (4, "entropy")}
    assert len(ended["trials"]) == 4  # the grid has four points, fewer than max_trials
    assert all(0 < t["metric"] <= 1 for t in ended["trials"])
    assert_best_is_best(ended)
    trials = await trial_jobs(api, job["id"])
    assert [t["name"] for t in trials] == [f"forest-trial-{n}" for n in range(1, 5)]
    assert most_at_once(trials) <= 2
    # The fixed parameter reached every trial, next to the searched ones.
    first = await api.job(trials[0]["id"])
    assert first["spec"]["parameters"]["max_depth"] == 6
    assert first["sweep_id"] == job["id"]


@pytest.mark.parametrize("algorithm", ["random", "bayes"])
async def test_a_searched_sweep_keeps_every_trial_in_range(api, train_script, algorithm):
    searched = [
        *FOREST,
        {"name": "max_features", "type": "double", "min": 0.2, "max": 0.9, "scale": "log"},
    ]
    job = await api.submit(
        source={"path": train_script},
        sweep=sweep(searched, algorithm=algorithm, max_trials=3, parallel_trials=2),
    )
    ended = await api.wait(job["id"], timeout=120)

    assert ended["state"] == "SUCCEEDED", ended["state_message"]
    assert [t["id"] for t in ended["trials"]] == ["1", "2", "3"]
    for trial in ended["trials"]:
        parameters = trial["parameters"]
        assert isinstance(parameters["n_estimators"], int)
        assert 2 <= parameters["n_estimators"] <= 12
        assert parameters["max_depth"] in (2, 4, 8)
        assert 0.2 <= parameters["max_features"] <= 0.9
        assert trial["state"] == "SUCCEEDED" and 0 < trial["metric"] <= 1
    assert_best_is_best(ended)
    assert f"best: trial {ended['best_trial']}" in ended["state_message"]
    assert most_at_once(await trial_jobs(api, job["id"])) <= 2


@pytest.mark.parametrize("gpu_ids", [["0", "1"]])
async def test_trials_asking_for_a_gpu_queue_on_the_machines_gpus(api, train_script):
    job = await api.submit(
        source={"path": train_script},
        resources={"accelerator_count": 1},
        sweep=sweep(FOREST, algorithm="random", max_trials=3, parallel_trials=3),
    )
    ended = await api.wait(job["id"], timeout=120)

    assert ended["state"] == "SUCCEEDED", ended["state_message"]
    trials = await trial_jobs(api, job["id"])
    assert len(trials) == 3
    assert most_at_once(trials) <= 2  # three trials unfinished at once, two GPUs
    for trial in trials:
        assert any(
            line in {"CUDA_VISIBLE_DEVICES=0", "CUDA_VISIBLE_DEVICES=1"}
            for line in (await api.log(trial["id"])).splitlines()
        )


def reporting(body: str) -> str:
    """A trial script: `x` from its flags, `body`, then `x` reported as the metric `score`."""
    return (
        "import argparse, os, sys, time\nimport hypertune\n"
        "parser = argparse.ArgumentParser()\nparser.add_argument('--x', type=int)\n"
        "x = parser.parse_args().x\n"
        f"{body}\n"
        "hypertune.HyperTune().report_hyperparameter_tuning_metric("
        "hyperparameter_metric_tag='score', metric_value=x)\n"
    )


def waiting_for(go: Path) -> str:
    """Code that waits until `go` exists, for a minute at most (never forever)."""
    return (
        "deadline = time.time() + 60\n"
        f"while not os.path.exists({str(go)!r}) and time.time() < deadline:\n"
        "    time.sleep(0.05)"
    )


def scored(values: list[int], **settings: Any) -> dict[str, Any]:
    return {
        "metric": {"name": "score", "goal": "minimize"},
        "parameters": [{"name": "x", "type": "discrete", "values": values}],
        "algorithm": "grid",
        **settings,
    }


async def test_a_grid_of_fewer_points_than_max_trials_runs_its_size_and_says_so(api, write_script):
    script = write_script("quick.py", reporting(""))
    spec = {
        "source": {"path": script},
        "sweep": scored([1, 2, 3], max_trials=10, parallel_trials=5),
    }
    code, checked = await api.call("POST", "validate", body=spec)
    said = "the grid has 3 points: 3 trials run, 3 at once"

    assert code == 200 and checked["valid"], checked
    assert [(e["field"], e["severity"], e["message"]) for e in checked["errors"]] == [
        ("sweep.max_trials", "warning", said)
    ]
    job = await api.submit(**spec)
    assert [(w["field"], w["message"]) for w in job["warnings"]] == [("sweep.max_trials", said)]
    ended = await api.wait(job["id"], timeout=60)

    assert ended["state"] == "SUCCEEDED", ended["state_message"]
    assert sorted(t["parameters"]["x"] for t in ended["trials"]) == [1, 2, 3]
    assert "running up to 3 trials" in [t["message"] for t in ended["transitions"]]
    assert ended["spec"]["sweep"]["max_trials"] == 10  # kept as given


async def test_a_grid_with_as_many_points_as_max_trials_warns_nothing(api):
    spec = {"source": {"code": "pass"}, "sweep": scored([1, 2, 3], max_trials=3)}
    code, checked = await api.call("POST", "validate", body=spec)

    assert code == 200 and checked["errors"] == []


async def test_a_failing_trial_is_kept_and_the_sweep_goes_on(api, write_script):
    script = write_script("fails.py", reporting("if x == 2: sys.exit('x=2 is bad')"))
    job = await api.submit(source={"path": script}, sweep=scored([1, 2, 3], max_trials=3))
    ended = await api.wait(job["id"], timeout=60)

    assert ended["state"] == "SUCCEEDED", ended["state_message"]
    states = {t["parameters"]["x"]: t["state"] for t in ended["trials"]}
    assert states == {1: "SUCCEEDED", 2: "FAILED", 3: "SUCCEEDED"}
    failed = next(t for t in ended["trials"] if t["state"] == "FAILED")
    assert failed["metric"] is None and "exit code" in failed["message"]
    assert ended["best_trial"] == "1"  # minimize: x=1 beats x=3


async def test_reaching_max_failed_trials_fails_the_sweep_and_stops_the_others(
    api, write_script, tmp_path
):
    body = f"if x == 1: sys.exit(1)\n{waiting_for(tmp_path / 'never')}"
    script = write_script("stops.py", reporting(body))
    job = await api.submit(
        source={"path": script},
        sweep=scored([1, 2, 3, 4], max_trials=4, parallel_trials=2, max_failed_trials=1),
    )
    ended = await api.wait(job["id"], timeout=60)

    assert ended["state"] == "FAILED"
    assert "max_failed_trials is 1" in ended["state_message"]
    assert [t["state"] for t in ended["trials"]] == ["FAILED", "CANCELLED"]
    assert [t["state"] for t in await trial_jobs(api, job["id"])] == ["FAILED", "CANCELLED"]


async def test_cancelling_a_sweep_cancels_its_trials(api, write_script, tmp_path):
    script = write_script("slow.py", reporting(waiting_for(tmp_path / "never")))
    job = await api.submit(source={"path": script}, sweep=scored([1, 2, 3], parallel_trials=2))
    await api.wait(job["id"], {"RUNNING"})
    for _ in range(600):
        trials = await trial_jobs(api, job["id"])
        if len(trials) == 2 and all(t["state"] == "RUNNING" for t in trials):
            break
        await asyncio.sleep(0.05)
    code, cancelled = await api.call("POST", "jobs", job["id"], "cancel")
    assert code == 200, cancelled

    ended = await api.wait(job["id"], timeout=60)
    assert ended["state"] == "CANCELLED"
    assert [t["state"] for t in ended["trials"]] == ["CANCELLED", "CANCELLED"]
    assert [t["state"] for t in await trial_jobs(api, job["id"])] == ["CANCELLED", "CANCELLED"]


async def test_an_ended_trial_of_a_running_sweep_is_kept(api, write_script, tmp_path):
    body = f"if x == 1: sys.exit(1)\n{waiting_for(tmp_path / 'never')}"
    script = write_script("second_waits.py", reporting(body))
    job = await api.submit(source={"path": script}, sweep=scored([1, 2]))
    for _ in range(600):
        trials = await trial_jobs(api, job["id"])
        if [t["state"] for t in trials] == ["FAILED", "RUNNING"]:
            break
        await asyncio.sleep(0.05)

    code, body = await api.call("DELETE", "jobs", trials[0]["id"])
    assert code == 409, body
    assert f"a trial of sweep '{job['id']}', which is running" in body["message"]
    await api.call("POST", "jobs", job["id"], "cancel")
    assert (await api.wait(job["id"], timeout=60))["state"] == "CANCELLED"


async def test_trial_jobs_are_listed_under_their_sweep_and_deleted_with_it(api, write_script):
    script = write_script("quick.py", reporting(""))
    job = await api.submit(name="listed", source={"path": script}, sweep=scored([5, 6]))
    ended = await api.wait(job["id"], timeout=60)
    assert ended["state"] == "SUCCEEDED" and ended["best_trial"] == "1"

    code, page = await api.call("GET", "jobs")
    assert [j["id"] for j in page["jobs"]] == [job["id"]]  # the trials are not top-level jobs
    # The sweep's row carries its progress and best trial, for the panel's list.
    (row,) = page["jobs"]
    assert [t["state"] for t in row["trials"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert row["best_trial"] == "1"
    trials = await trial_jobs(api, job["id"])
    assert [t["name"] for t in trials] == ["listed-trial-1", "listed-trial-2"]
    assert all(t["sweep_id"] == job["id"] for t in trials)
    folders = [Path((await api.job(t["id"]))["outputs"]["folder"]) for t in trials]

    code, body = await api.call("DELETE", "jobs", job["id"])
    assert code == 204, body
    for trial in trials:
        assert (await api.call("GET", "jobs", trial["id"]))[0] == 404
    assert not any(folder.exists() for folder in folders)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"backend": "dataflow"}, "sweep", "cannot run sweeps"),
        ({"kind": "etl"}, "sweep", "only train jobs"),
        ({"parameters": {"x": 1}}, "sweep.parameters[0].name", "also a fixed parameter"),
        (
            {
                "sweep": {
                    "metric": {"name": "score"},
                    "parameters": [{"name": "x", "type": "double", "min": 1, "max": 0.5}],
                }
            },
            "sweep.parameters[0].max",
            "not greater than min",
        ),
        (
            {
                "sweep": {
                    "metric": {"name": "score"},
                    "parameters": [
                        {"name": "x", "type": "integer", "min": 0, "max": 9, "scale": "log"}
                    ],
                }
            },
            "sweep.parameters[0].min",
            "min > 0",
        ),
        (
            {
                "sweep": {
                    "metric": {"name": "score"},
                    "parameters": [{"name": "x", "type": "categorical", "values": [1]}],
                }
            },
            "sweep.parameters[0].values[0]",
            "not a string",
        ),
        (
            {"sweep": scored([1], max_trials=2, parallel_trials=3)},
            "sweep.parallel_trials",
            "1 to 2",
        ),
        ({"sweep": scored([1], max_trials=0)}, "sweep.max_trials", "greater than or equal to 1"),
    ],
)
async def test_a_sweep_that_cannot_run_is_refused_naming_the_field(api, change, field, words):
    spec = {"source": {"code": "pass"}, "sweep": scored([1, 2]), **change}
    code, body = await api.call("POST", "jobs", body=spec)

    assert code == 400, body
    errors = {e["field"]: e["message"] for e in body["errors"]}
    assert field in errors, errors
    assert words in errors[field]


async def test_a_sweep_spec_is_stored_and_returned_as_given(api, write_script):
    script = write_script("quick.py", reporting(""))
    job = await api.submit(source={"path": script}, sweep=scored([3, 1, 2], max_trials=1))
    assert job["spec"]["sweep"]["parameters"][0]["values"] == [1, 2, 3]
    assert job["trials"] == [] and job["best_trial"] is None
    ended = await api.wait(job["id"], timeout=60)
    assert [t["parameters"] for t in ended["trials"]] == [{"x": 1}]
    assert ended["trials"][0]["metric"] == 1.0
    assert json.loads(json.dumps(ended["spec"]["sweep"]))["max_trials"] == 1


def test_a_restarted_server_goes_on_with_the_sweep(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    go = tmp_path / "go"
    (root / "waits.py").write_text(reporting(waiting_for(go)), encoding="utf-8")
    env = isolated_env(tmp_path / "jupyter")

    def server() -> JupyterServer:
        return JupyterServer(root, tmp_path / "mlp.db", env, tmp_path / "server.log")

    first = server()
    try:
        job = first.call(
            "POST",
            "mlp/jobs",
            {"source": {"path": "waits.py"}, "sweep": scored([7, 8, 9], parallel_trials=2)},
        )
        for _ in range(600):
            trials = first.wait(job["id"], {"RUNNING"})["trials"]
            if len(trials) == 2 and all(t["state"] == "RUNNING" for t in trials):
                break
            time.sleep(0.05)
        assert [t["state"] for t in trials] == ["RUNNING", "RUNNING"]
    finally:
        first.stop()
    # With no server watching, the two running trials finish on their own.
    go.touch()
    second = server()
    try:
        ended = second.wait(job["id"], timeout=60)
    finally:
        second.stop()

    assert ended["state"] == "SUCCEEDED", ended["state_message"]
    assert [(t["parameters"]["x"], t["state"], t["metric"]) for t in ended["trials"]] == [
        (7, "SUCCEEDED", 7.0),
        (8, "SUCCEEDED", 8.0),
        (9, "SUCCEEDED", 9.0),
    ]
    assert ended["best_trial"] == "1"
