"""`jupyter mlp ...` as child processes: against a real Jupyter server found from the working
dir (or named by URL), and with no server (the CLI runs the jobs itself)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_processes import TOKEN, JupyterServer, isolated_env

from jupyter_mlp.models import JobState
from jupyter_mlp.store import JobStore

BIN = Path(sys.executable).parent


def mlp(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlp.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jupyter mlp: error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp("cli-server")
    work = base / "root" / "work"
    work.mkdir(parents=True)
    (work / "ok.py").write_text("import sys\nprint('ok', *sys.argv[1:])\n")
    (work / "bad.py").write_text("print('failing', flush=True)\nraise SystemExit(5)\n")
    (work / "sleeper.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    server = JupyterServer(base / "root", base / "mlp.db", isolated_env(base), base / "server.log")
    yield server
    server.stop()


@pytest.fixture
def run(server: JupyterServer):
    """The CLI run from a folder under the server's root dir, in the server's Jupyter dirs."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return mlp(*args, cwd=server.root / "work", env=server.env)

    return run


# ----- with a server -----


def test_submit_wait_streams_the_log_through_the_server_and_exits_0(server, run):
    result = run("submit", "ok.py", "--name", "cli-ok", "--param", "n=2", "--wait")
    assert result.returncode == 0, result.stderr
    assert "ok --n=2" in result.stdout
    assert "SUCCEEDED" in result.stdout.splitlines()[-1]
    assert "the Jupyter server at http://127.0.0.1" in result.stderr
    [job] = [j for j in server.jobs() if j["name"] == "cli-ok"]
    assert job["spec"]["source"]["path"] == "work/ok.py"


def test_submit_passes_script_arguments_before_the_parameters(run):
    result = run(
        "submit", "ok.py", "--args", "--epochs 3 --tag 'a b'", "--param", "lr=0.1", "--wait"
    )
    assert result.returncode == 0, result.stderr
    assert "ok --epochs 3 --tag a b --lr=0.1" in result.stdout


def test_submit_wait_of_a_failing_job_exits_1(run):
    result = run("submit", "bad.py", "--wait")
    assert result.returncode == 1
    assert "failing" in result.stdout
    assert "FAILED (exit code 5)" in result.stdout.splitlines()[-1]


def test_status_list_logs_and_cancel_of_a_running_job(server, run):
    submitted = run("submit", "sleeper.py", "--name", "cli-sleeper", "--json")
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["id"]
    server.wait(job_id, {"RUNNING"})
    while "up" not in server.call("GET", f"mlp/jobs/{job_id}/logs")["data"]:
        time.sleep(0.05)

    status = run("status", job_id)
    assert status.returncode == 0 and "state:        RUNNING" in status.stdout
    assert json.loads(run("status", job_id, "--json").stdout)["state"] == "RUNNING"
    listed = json.loads(run("list", "--json", "--state", "running").stdout)["jobs"]
    assert [j["id"] for j in listed] == [job_id]
    table = run("list").stdout.splitlines()
    assert table[0].split()[:5] == ["id", "name", "kind", "backend", "state"]
    assert any(line.startswith(job_id) and "RUNNING" in line for line in table)
    assert run("logs", job_id).stdout == "up\n"

    cancelled = run("cancel", job_id, "--json")
    assert cancelled.returncode == 0
    assert json.loads(cancelled.stdout)["state"] in ("CANCELLING", "CANCELLED")
    followed = run("logs", job_id, "-f")  # returns once the job has ended
    assert followed.returncode == 0 and followed.stdout.startswith("up")
    assert server.call("GET", f"mlp/jobs/{job_id}")["state"] == "CANCELLED"
    again = run("cancel", job_id)
    assert again.returncode == 2
    assert "already ended (CANCELLED)" in one_line_error(again)


def test_catalog_shows_machine_types_accelerators_and_prices(run):
    vertex = run("catalog", "--backend", "vertex")
    assert vertex.returncode == 0, vertex.stderr
    a2 = next(line for line in vertex.stdout.splitlines() if line.startswith("a2-highgpu-1g "))
    assert "A100: 1" in a2
    assert any(line.split()[:2] == ["T4", "NVIDIA_TESLA_T4"] for line in vertex.stdout.splitlines())
    regional = json.loads(
        run("catalog", "--backend", "vertex", "--region", "us-east1", "--json").stdout
    )
    assert regional["region"] == "us-east1" and regional["machine_types"]
    local = run("catalog")
    assert local.returncode == 0 and local.stdout.startswith("local: ")
    assert json.loads(run("catalog", "--json").stdout)["backend"] == "local"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("submit", "ok.py", "--gpu", "X100:3"), "gpu: unknown accelerator 'X100'; known: T4"),
        (("submit", "ok.py", "--replicas", "2"), "resources.replica_count: the local backend"),
        (("submit", "missing.py"), "file: no file 'missing.py'"),
        (("status", "nosuchjob"), "no job with id 'nosuchjob'"),
        (("catalog", "--backend", "vertex", "--region", "mars-1"), "unknown region 'mars-1'"),
    ],
)
def test_mistakes_exit_2_with_one_line(run, args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in one_line_error(result)
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2(run):
    assert run("list", "--bogus").returncode == 2
    assert run().returncode == 2


def test_an_unreachable_server_exits_3(run):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run("list", "--url", f"http://127.0.0.1:{port}/")
    assert result.returncode == 3
    assert "cannot reach" in one_line_error(result)


def test_a_server_named_by_environment_is_used_from_anywhere(server, tmp_path):
    env = isolated_env(tmp_path)  # no server recorded in these runtime files
    env.update(MLP_SERVER_URL=server.url, MLP_TOKEN=TOKEN)
    result = mlp("list", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert {j["id"] for j in json.loads(result.stdout)["jobs"]} == {j["id"] for j in server.jobs()}
    env["MLP_TOKEN"] = "wrong"
    refused = mlp("list", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "Forbidden" in one_line_error(refused)


def test_jupyter_mlp_is_a_jupyter_subcommand(server):
    env = {**server.env, "PATH": f"{BIN}{os.pathsep}{server.env.get('PATH', '')}"}
    result = subprocess.run(
        [str(BIN / "jupyter"), "mlp", "list", "--json"],
        cwd=server.root / "work",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "jobs" in json.loads(result.stdout)


# ----- without a server -----


def test_without_a_server_the_cli_runs_jobs_into_the_shared_database(tmp_path):
    env = isolated_env(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    (project / "ok.py").write_text("print('direct ok')\n")
    waited = mlp("submit", "ok.py", "--name", "waited", "--wait", cwd=project, env=env)
    assert waited.returncode == 0, waited.stderr
    assert "direct ok" in waited.stdout and "no Jupyter server found" in waited.stderr
    started = mlp("submit", "ok.py", "--name", "started", "--json", cwd=project, env=env)
    assert started.returncode == 0, started.stderr
    # The CLI stays until its job has started; the job then finishes on its own.
    assert json.loads(started.stdout)["state"] != "QUEUED"

    store = JobStore(f"sqlite:///{tmp_path / 'data' / 'mlp' / 'jobs.db'}")
    try:
        jobs = {job.name: job for job in store.find(limit=10)[0]}
    finally:
        store.close()
    assert jobs["waited"].state is JobState.SUCCEEDED
    assert (project / jobs["waited"].outputs["log"]).read_text() == "direct ok\n"
