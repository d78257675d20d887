"""Reliability: jobs survive `kill -9` of the server, concurrent writers and flaky clouds.

Every server here is a real `jupyter server` process (or pytest-jupyter's in-process server),
every job a real child process or a job at a cloud stand-in spoken to by the real clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_dataflow import FakeDataflowServer
from fake_dataflow import JobState as DataflowState
from fake_storage import StorageEmulator
from fake_vertex import FakeVertexServer
from fake_vertex import JobState as VertexState
from flaky_proxy import LOST, PASS, STALL, TOO_MANY, UNAVAILABLE, FlakyProxy
from jupyter_processes import TERMINAL, TOKEN, JupyterServer, isolated_env

from jupyter_mlp.backends.local.processes import process_start_ticks

ROUNDS = 5
LINES = 200  # log lines a job writes before and after its go-ahead
PROJECT = "test-project"
BUCKET = "mlp-staging"


def gated_job(gate: Path, exit_code: int = 0) -> str:
    """A job that logs LINES lines, waits for `gate` (two minutes at most), logs LINES more."""
    return (
        "import os, sys, time\n"
        f"for i in range({LINES}): print(f'before {{i}}', flush=True)\n"
        "deadline = time.time() + 120\n"
        f"while not os.path.exists({str(gate)!r}) and time.time() < deadline: time.sleep(0.05)\n"
        f"for i in range({LINES}): print(f'after {{i}}', flush=True)\n"
        f"sys.exit({exit_code})\n"
    )


def full_log(server: JupyterServer, job_id: str) -> str:
    """The job's whole log, read through the logs endpoint by cursor."""
    text, cursor = "", ""
    while True:
        chunk = server.call("GET", f"mlp/jobs/{job_id}/logs?limit=65536&cursor={cursor}")
        text += chunk["data"]
        if chunk["complete"] or chunk["next_cursor"] == cursor:
            return text
        cursor = chunk["next_cursor"]


def expected_log(after: bool = True) -> str:
    lines = [f"before {i}" for i in range(LINES)]
    if after:
        lines += [f"after {i}" for i in range(LINES)]
    return "\n".join(lines) + "\n"


def wait_until_gone(pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while process_start_ticks(pid) is not None:
        assert time.monotonic() < deadline, f"process {pid} never ended"
        time.sleep(0.05)


@pytest.mark.timeout(600)
def test_local_jobs_survive_kill_9_of_the_server_round_after_round(servers, tmp_path):
    server = servers()
    seen: dict[str, str] = {}  # every job ever submitted -> its final state
    for round_ in range(ROUNDS):
        gates = {name: tmp_path / f"go-{round_}-{name}" for name in ("a", "b", "c", "d")}
        jobs = {
            "ends-ok-offline": server.call(
                "POST", "mlp/jobs", {"source": {"code": gated_job(gates["a"])}}
            ),
            "fails-offline": server.call(
                "POST", "mlp/jobs", {"source": {"code": gated_job(gates["b"], exit_code=3)}}
            ),
            "ends-ok-after": server.call(
                "POST", "mlp/jobs", {"source": {"code": gated_job(gates["c"])}}
            ),
            "cancelled-after": server.call(
                "POST", "mlp/jobs", {"source": {"code": gated_job(gates["d"])}}
            ),
            "ended-before": server.call("POST", "mlp/jobs", {"source": {"code": "print('quick')"}}),
        }
        ids = {name: job["id"] for name, job in jobs.items()}
        pids = {}
        for name in ("ends-ok-offline", "fails-offline", "ends-ok-after", "cancelled-after"):
            running = server.wait(ids[name], {"RUNNING"})
            assert running["state"] == "RUNNING", running
            pids[name] = int(running["backend_job_id"])
        assert server.wait(ids["ended-before"])["state"] == "SUCCEEDED"

        server.kill()
        # With no server at all: two jobs end (one well, one badly), two go on running.
        gates["a"].touch()
        gates["b"].touch()
        wait_until_gone(pids["ends-ok-offline"])
        wait_until_gone(pids["fails-offline"])
        assert process_start_ticks(pids["ends-ok-after"]) is not None

        server = servers()
        offline_ok = server.wait(ids["ends-ok-offline"])
        offline_failed = server.wait(ids["fails-offline"])
        assert offline_ok["state"] == "SUCCEEDED", offline_ok
        assert offline_failed["state"] == "FAILED", offline_failed
        assert "exit code 3" in offline_failed["state_message"]
        for name in ("ends-ok-after", "cancelled-after"):
            assert server.wait(ids[name], {"RUNNING"})["state"] == "RUNNING"
        gates["c"].touch()
        server.call("POST", f"mlp/jobs/{ids['cancelled-after']}/cancel", {})
        assert server.wait(ids["ends-ok-after"])["state"] == "SUCCEEDED"
        assert server.wait(ids["cancelled-after"])["state"] == "CANCELLED"
        assert process_start_ticks(pids["cancelled-after"]) is None

        for name in ("ends-ok-offline", "fails-offline", "ends-ok-after"):
            assert full_log(server, ids[name]) == expected_log(), (round_, name)
        assert full_log(server, ids["cancelled-after"]) == expected_log(after=False)
        assert full_log(server, ids["ended-before"]) == "quick\n"
        for job_id in ids.values():
            seen[job_id] = server.call("GET", f"mlp/jobs/{job_id}")["state"]

    listed = server.call("GET", "mlp/jobs?limit=200")["jobs"]
    assert len(listed) == 5 * ROUNDS  # none lost, none doubled
    assert {job["id"]: job["state"] for job in listed} == seen
    for job in listed:
        detail = server.call("GET", f"mlp/jobs/{job['id']}")
        states = [t["state"] for t in detail["transitions"]]
        assert sum(state in TERMINAL for state in states) == 1, (job["id"], states)


# ----- remote jobs: Vertex AI and Dataflow stand-ins -----

PIPELINE = """\
import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

with beam.Pipeline(options=PipelineOptions()) as pipeline:
    pipeline | beam.Create(["a", "b"]) | beam.Map(str.upper)
"""


@pytest.fixture(scope="module")
def storage_emulator() -> Iterator[StorageEmulator]:
    with StorageEmulator(BUCKET) as emulator:
        yield emulator


@pytest.fixture
def vertex() -> Iterator[FakeVertexServer]:
    with FakeVertexServer() as server:
        yield server


@pytest.fixture
def dataflow() -> Iterator[FakeDataflowServer]:
    with FakeDataflowServer() as server:
        yield server


def cloud_settings(tmp_path: Path, vertex_endpoint: str, dataflow_endpoint: str) -> list[str]:
    """Server settings for both cloud backends, at the given (stand-in or proxy) endpoints."""
    return [
        f"--VertexBackend.project={PROJECT}",
        f"--VertexBackend.staging_bucket=gs://{BUCKET}",
        f"--VertexBackend.api_endpoint={vertex_endpoint}",
        "--VertexBackend.retry_initial_delay=0.05",
        "--VertexBackend.retry_timeout=10",
        "--VertexBackend.log_settle_seconds=0",
        "--VertexBackend.default_image=us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest",
        f"--DataflowBackend.project={PROJECT}",
        f"--DataflowBackend.temp_location={tmp_path / 'dataflow-temp'}",
        f"--DataflowBackend.dataflow_endpoint={dataflow_endpoint}",
        "--DataflowBackend.retry_initial_delay=0.05",
        "--DataflowBackend.retry_timeout=10",
        "--DataflowBackend.log_settle_seconds=0",
    ]


def at_stand_in(find: Any, job_id: str, server: JupyterServer, timeout: float = 180) -> Any:
    """The stand-in's job labelled with our job id, once the server has created it."""
    deadline = time.monotonic() + timeout
    while (made := find(job_id)) is None:
        job = server.call("GET", f"mlp/jobs/{job_id}")
        assert job["state"] not in TERMINAL, job
        assert time.monotonic() < deadline, f"job {job_id} never reached the stand-in"
        time.sleep(0.1)
    return made


def vertex_job(fake: Any, job_id: str) -> Any:
    with fake.lock:
        return next((j for j in fake.jobs.values() if j.labels.get("mlp-job-id") == job_id), None)


def submit_remote(server: JupyterServer, backend: str, name: str) -> dict[str, Any]:
    if backend == "vertex":
        body = {"backend": "vertex", "name": name, "source": {"code": "print('fit')"}}
    else:
        body = {"backend": "dataflow", "kind": "etl", "name": name, "source": {"code": PIPELINE}}
    return server.call("POST", "mlp/jobs", body)  # type: ignore[no-any-return]


@pytest.mark.timeout(600)
def test_remote_jobs_are_watched_again_after_kill_9_and_never_created_twice(
    servers, tmp_path, storage_emulator, vertex, dataflow
):
    storage_emulator.reset()
    settings = cloud_settings(tmp_path, vertex.endpoint, dataflow.endpoint)
    env = {"STORAGE_EMULATOR_HOST": storage_emulator.endpoint}
    server = servers(*settings, env_updates=env)
    v_ok, v_failed, v_later = (submit_remote(server, "vertex", f"v{i}") for i in range(3))
    d_ok, d_later = (submit_remote(server, "dataflow", f"d{i}") for i in range(2))
    made_v = {
        j["id"]: at_stand_in(lambda i: vertex_job(vertex.fake, i), j["id"], server).name
        for j in (v_ok, v_failed, v_later)
    }
    made_d = {
        j["id"]: at_stand_in(dataflow.fake.labelled, j["id"], server).id for j in (d_ok, d_later)
    }
    for name in made_v.values():
        vertex.fake.set_state(name, VertexState.JOB_STATE_RUNNING)
    for made in made_d.values():
        dataflow.fake.set_state(made, DataflowState.JOB_STATE_RUNNING)
    for job_id in [*made_v, *made_d]:
        assert server.wait(job_id, {"RUNNING"}, timeout=90)["state"] == "RUNNING"

    server.kill()
    # While no server watches, the clouds move on.
    vertex.fake.set_state(made_v[v_ok["id"]], VertexState.JOB_STATE_SUCCEEDED)
    vertex.fake.set_state(made_v[v_failed["id"]], VertexState.JOB_STATE_FAILED, error="OOM")
    dataflow.fake.set_state(made_d[d_ok["id"]], DataflowState.JOB_STATE_DONE)

    server = servers(*settings, env_updates=env)
    assert server.wait(v_ok["id"])["state"] == "SUCCEEDED"
    failed = server.wait(v_failed["id"])
    assert failed["state"] == "FAILED" and "OOM" in failed["state_message"]
    assert server.wait(d_ok["id"])["state"] == "SUCCEEDED"
    assert server.wait(v_later["id"], {"RUNNING"})["state"] == "RUNNING"
    assert server.wait(d_later["id"], {"RUNNING"})["state"] == "RUNNING"
    # Still watched: changes after the restart are seen too.
    vertex.fake.set_state(made_v[v_later["id"]], VertexState.JOB_STATE_SUCCEEDED)
    dataflow.fake.set_state(made_d[d_later["id"]], DataflowState.JOB_STATE_FAILED)
    assert server.wait(v_later["id"])["state"] == "SUCCEEDED"
    assert server.wait(d_later["id"])["state"] == "FAILED"

    assert vertex.fake.count("create") == 3 and len(vertex.fake.jobs) == 3
    assert dataflow.fake.count("create") == 2 and len(dataflow.fake.jobs) == 2


# ----- the API under fire -----


@pytest.mark.timeout(600)
def test_generated_requests_find_the_server_and_its_openapi_document_in_agreement(
    servers, tmp_path
):
    # Every check: no 5xx, answers as documented, schema-valid requests accepted and invalid
    # ones refused, 405s with Allow. A short fixed budget; benchmarks/api_fuzzing.py runs longer.
    server = servers()
    (server.root / "train.py").write_text("print('hi')\n")
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "--config-file",
            str(Path(__file__).parent / "schemathesis.toml"),
            "run",
            f"{server.url}mlp/openapi.json",
            "--header",
            f"Authorization: token {TOKEN}",
            "--checks",
            "all",
            "--phases",
            "coverage,fuzzing,stateful",
            "--max-examples",
            "15",
            "--seed",
            "15",
            "--generation-deterministic",
            "--no-shrink",
            "--request-timeout",
            "30",
            "--report",
            "ndjson",
            "--report-dir",
            str(tmp_path / "schemathesis"),
        ],
        capture_output=True,
        text=True,
        timeout=500,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "20 selected" in done.stdout  # every operation of the document was exercised


@pytest.mark.timeout(600)
async def test_concurrent_submits_cancels_deletes_and_reruns_lose_nothing(api, jp_root_dir):
    async def submit(index: int) -> tuple[int, Any]:
        pause = "0.05" if index % 2 else "1"
        return await api.call(
            "POST",
            "jobs",
            body={
                "name": f"mixed-{index}",
                "source": {"code": f"import time; time.sleep({pause})"},
            },
        )

    async def act(index: int, job_id: str) -> list[tuple[str, int, Any]]:
        done = []
        if index % 3 == 0:
            done.append(("cancel", *await api.call("POST", "jobs", job_id, "cancel")))
        if index % 5 == 0:
            done.append(("rerun", *await api.call("POST", "jobs", job_id, "rerun")))
        if index % 7 == 0:  # a delete of a running job is refused (409), of an ended one done
            done.append(("delete", *await api.call("DELETE", "jobs", job_id)))
        if index % 4 == 0:
            done.append(("get", *await api.call("GET", "jobs", job_id)))
        return done

    async def one(index: int) -> list[tuple[str, int, Any]]:
        code, job = await submit(index)
        assert code == 201, job
        return [("submit", code, job), *await act(index, job["id"])]

    results = [r for rs in await asyncio.gather(*(one(i) for i in range(100))) for r in rs]

    assert all(code < 500 for _, code, _ in results), [r for r in results if r[1] >= 500]
    assert {code for verb, code, _ in results if verb == "delete"} <= {204, 409}
    created = {job["id"] for verb, code, job in results if verb in ("submit", "rerun")}
    code, page = await api.call("GET", "jobs", limit=500)
    assert code == 200
    deleted = created - {job["id"] for job in page["jobs"]}
    assert len(created) == 100 + 20  # every submit and every rerun made one job
    # Deleted jobs are only those whose delete succeeded, and they are gone for good.
    deletes_done = sum(1 for verb, code, _ in results if verb == "delete" and code == 204)
    assert len(deleted) == deletes_done
    for job_id in deleted:
        assert (await api.call("GET", "jobs", job_id))[0] == 404
    for job in page["jobs"]:
        final = await api.wait(job["id"], timeout=180)
        states = [t["state"] for t in final["transitions"]]
        assert sum(s in TERMINAL for s in states) == 1 and states[-1] == final["state"], states
        assert len(states) == len(set(states)), states  # no state entered twice
    # The store and the job folders agree: every stored job has its folder, no folder is orphaned.
    code, page = await api.call("GET", "jobs", limit=500)
    stored = {(jp_root_dir / job["outputs"]["folder"]).resolve() for job in page["jobs"]}
    # (The folder also holds the runners' signing secret, a file.)
    on_disk = {path.resolve() for path in (jp_root_dir / "mlp-jobs").iterdir() if path.is_dir()}
    assert stored == on_disk
    assert len(page["jobs"]) == len(created) - len(deleted)


@pytest.mark.timeout(600)
def test_the_server_and_the_command_line_write_one_database_at_once_without_lock_errors(
    servers, tmp_path
):
    server = servers()
    (server.root / "job.py").write_text("print('from a file')\n")
    # The command line finds no server (its own runtime dir) and opens the server's database.
    cli_env = isolated_env(tmp_path / "cli-jupyter")
    (tmp_path / "cli-jupyter" / "config" / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "MLPExtension": {"db_url": f"sqlite:///{tmp_path / 'mlp.db'}"},
                "LocalBackend": {"max_concurrent_jobs": 8, "warm_runners": 0},
            }
        )
    )
    cli = str(Path(sys.executable).parent / "jupyter-mlp")
    script = (
        f"for i in 1 2 3; do {cli} submit job.py --name cli-$i --json || exit 1; "
        f"{cli} list --limit 100 --json > /dev/null || exit 1; done"
    )
    writers = [
        subprocess.Popen(
            ["bash", "-c", script],
            cwd=server.root,
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    answered: list[tuple[str, float]] = []
    submitted = []
    # Write through the server for as long as the command lines write (within a bound).
    while (any(w.poll() is None for w in writers) and len(submitted) < 30) or len(submitted) < 5:
        for method, path, body in (
            ("POST", "mlp/jobs", {"name": "rest", "source": {"code": "print('rest')"}}),
            ("GET", "mlp/jobs?limit=100", None),
        ):
            started = time.monotonic()
            try:
                answer = server.call(method, path, body)
            except urllib.error.HTTPError as exc:
                raise AssertionError(f"{method} {path}: {exc.code} {exc.read()!r}") from None
            answered.append((path, time.monotonic() - started))
            if method == "POST":
                submitted.append(answer["id"])
        time.sleep(0.2)
    outputs = [w.communicate(timeout=300) for w in writers]

    assert [w.returncode for w in writers] == [0, 0], outputs
    assert not any("locked" in out + err for out, err in outputs)
    log = (tmp_path / "server.log").read_text()
    assert "database is locked" not in log
    # Waiting on the lock is bounded by SQLite's busy timeout (10 s): no request came near it.
    assert max(seconds for _, seconds in answered) < 10, max(answered, key=lambda a: a[1])
    jobs = server.call("GET", "mlp/jobs?limit=500")["jobs"]
    assert sum(j["name"].startswith("cli-") for j in jobs) == 6
    assert sum(j["name"] == "rest" for j in jobs) == len(submitted)
    for job in jobs:
        assert server.wait(job["id"], timeout=120)["state"] == "SUCCEEDED", job


# ----- clouds that answer 503 and 429, and stall -----

FAULTS = [PASS, UNAVAILABLE, PASS, TOO_MANY, PASS, STALL, PASS, LOST]


@pytest.mark.timeout(600)
def test_jobs_reach_their_final_state_through_a_flaky_cloud_and_watching_never_stops(
    servers, tmp_path, storage_emulator, vertex, dataflow
):
    storage_emulator.reset()
    with (
        FlakyProxy(vertex.endpoint, FAULTS, stall_seconds=1.5) as vertex_proxy,
        FlakyProxy(dataflow.endpoint, FAULTS, stall_seconds=1.5, host="localhost") as df_proxy,
    ):
        server = servers(
            *cloud_settings(tmp_path, vertex_proxy.endpoint, df_proxy.endpoint),
            env_updates={"STORAGE_EMULATOR_HOST": storage_emulator.endpoint},
        )
        v_ok, v_failed = (submit_remote(server, "vertex", f"v{i}") for i in range(2))
        d_ok = submit_remote(server, "dataflow", "d0")
        made_v = [
            at_stand_in(lambda i: vertex_job(vertex.fake, i), j["id"], server)
            for j in (v_ok, v_failed)
        ]
        made_d = at_stand_in(dataflow.fake.labelled, d_ok["id"], server)
        for made in made_v:
            vertex.fake.set_state(made.name, VertexState.JOB_STATE_RUNNING)
        dataflow.fake.set_state(made_d.id, DataflowState.JOB_STATE_RUNNING)
        for job in (v_ok, v_failed, d_ok):
            assert server.wait(job["id"], {"RUNNING"}, timeout=90)["state"] == "RUNNING"
        vertex.fake.set_state(made_v[0].name, VertexState.JOB_STATE_SUCCEEDED)
        vertex.fake.set_state(made_v[1].name, VertexState.JOB_STATE_FAILED, error="bad data")
        dataflow.fake.set_state(made_d.id, DataflowState.JOB_STATE_DONE)

        assert server.wait(v_ok["id"], timeout=90)["state"] == "SUCCEEDED"
        assert server.wait(v_failed["id"], timeout=90)["state"] == "FAILED"
        assert server.wait(d_ok["id"], timeout=90)["state"] == "SUCCEEDED"
        # After all those errors the watchers still run: a new job is created and followed.
        later = submit_remote(server, "vertex", "later")
        made_later = at_stand_in(lambda i: vertex_job(vertex.fake, i), later["id"], server)
        vertex.fake.set_state(made_later.name, VertexState.JOB_STATE_SUCCEEDED)
        assert server.wait(later["id"], timeout=90)["state"] == "SUCCEEDED"

    assert all(vertex_proxy.counts[fault] > 0 for fault in FAULTS), vertex_proxy.counts
    assert all(df_proxy.counts[fault] > 0 for fault in (UNAVAILABLE, TOO_MANY)), df_proxy.counts
    # An answer lost on its way back never makes a second job.
    assert len(vertex.fake.jobs) == 3 and len(dataflow.fake.jobs) == 1
