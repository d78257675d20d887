"""`jupyter mlp ...` as child processes: against a real Jupyter server found from the working
dir (or named by URL), and with no server (the CLI runs the jobs itself)."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import listed
from jupyter_processes import TOKEN, JupyterServer, isolated_env

from jupyter_mlp.client.connection import Client, LogRead
from jupyter_mlp.client.handle import JobHandle
from jupyter_mlp.core.models import Job, JobState
from jupyter_mlp.core.store import JobStore

BIN = Path(sys.executable).parent
GARBLED_LINES = 400
# Lines after bytes that are not UTF-8, in two halves with a pause between, so that a
# follower reads the first half while the job runs and reads on from there.
GARBLED = f"""\
import sys, time
for i in range({GARBLED_LINES}):
    if i == {GARBLED_LINES // 2}:
        sys.stdout.buffer.flush()
        time.sleep(3)
    sys.stdout.buffer.write(b"\\xff\\xfe line %05d\\n" % i)
"""


# A sweep's trial: reports its parameter `x` as the metric `score`, as it would on Vertex AI.
SCORE = """\
import argparse, hypertune
parser = argparse.ArgumentParser()
parser.add_argument("--x", type=int)
x = parser.parse_args().x
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=x * x
)
"""


def mlp(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlp.client.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def job_named(server: JupyterServer, name: str) -> dict[str, Any]:
    """The whole job (the list shows summaries) of the one job with this name."""
    [summary] = [j for j in server.jobs() if j["name"] == name]
    return server.call("GET", f"mlp/jobs/{summary['id']}")  # type: ignore[no-any-return]


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
    (work / "garbled.py").write_text(GARBLED)
    (work / "marked.py").write_text("print('Executing Cell 1' + '-' * 39)\nprint('trained')\n")
    (work / "score.py").write_text(SCORE)
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
    job = job_named(server, "cli-ok")
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


def test_submit_wait_of_a_sweep_prints_the_best_trial_and_exits_0(server, run):
    result = run(
        "submit", "score.py", "--name", "cli-sweep", "--sweep", "x=[3,-1,2]",
        "--metric", "score:min", "--algorithm", "grid", "--parallel", "2", "--wait",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()
    assert "SUCCEEDED" in last[-2]
    assert last[-1] == "best trial: 1  score=1  x=-1"  # grid order: -1, 2, 3
    sweep = job_named(server, "cli-sweep")
    assert [t["metric"] for t in sweep["trials"]] == [1.0, 4.0, 9.0]
    table = run("status", sweep["id"]).stdout.strip().splitlines()[-4:]
    assert table[0].split() == ["TRIAL", "STATE", "METRIC", "PARAMETERS"]
    assert table[1].split() == ["*1", "SUCCEEDED", "1", "x=-1"]


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


def garbled_lines(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\ufffd\ufffd line (\d{5})\n", text)]


def test_submit_wait_prints_every_line_of_a_log_with_bytes_that_are_not_utf8(run):
    waited = run("submit", "garbled.py", "--wait")
    assert waited.returncode == 0, waited.stderr
    assert garbled_lines(waited.stdout) == list(range(GARBLED_LINES))


def test_logs_follow_prints_every_line_of_a_log_with_bytes_that_are_not_utf8(server, run):
    submitted = run("submit", "garbled.py", "--json")
    job_id = json.loads(submitted.stdout)["id"]
    followed = run("logs", job_id, "-f")
    assert server.call("GET", f"mlp/jobs/{job_id}")["state"] == "SUCCEEDED"
    assert garbled_lines(followed.stdout) == list(range(GARBLED_LINES))
    assert run("logs", job_id).stdout == followed.stdout


def test_logs_leave_out_papermills_cell_marks_unless_debug(server, run):
    job_id = json.loads(run("submit", "marked.py", "--json").stdout)["id"]
    assert server.wait(job_id)["state"] == "SUCCEEDED"
    assert run("logs", job_id).stdout == "trained\n"
    assert run("logs", job_id, "--debug").stdout == f"Executing Cell 1{'-' * 39}\ntrained\n"


def test_submit_by_url_from_a_subfolder_names_the_file_from_the_servers_root(server, tmp_path):
    env = isolated_env(tmp_path)  # no record of the server here: its root dir is unknown
    by_url = ("--url", server.url, "--token", TOKEN)
    result = mlp("submit", "ok.py", *by_url, "--json", cwd=server.root / "work", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["spec"]["source"]["path"] == "work/ok.py"


def test_identical_copies_on_the_server_are_told_apart_by_root_dir(server, tmp_path):
    for folder in (server.root, server.root / "work"):
        (folder / "twin.py").write_text("print('a twin')\n")
    env = isolated_env(tmp_path)
    by_url = ("--url", server.url, "--token", TOKEN)
    unsure = mlp("submit", "twin.py", *by_url, cwd=server.root / "work", env=env)
    assert unsure.returncode == 2
    assert "identical copies on the server at twin.py, work/twin.py" in one_line_error(unsure)
    root_dir = ("--root-dir", str(server.root))
    told = mlp("submit", "twin.py", *by_url, *root_dir, "--json", cwd=server.root / "work", env=env)
    assert told.returncode == 0, told.stderr
    assert json.loads(told.stdout)["spec"]["source"]["path"] == "work/twin.py"


def test_a_requirements_file_is_sent_by_its_path_for_the_server_to_read(server, run):
    work = server.root / "work"
    (work / "base.txt").write_text("numpy  # arrays\n")
    (work / "reqs.txt").write_text("-r base.txt\npandas>=2\n")
    submitted = run("submit", "ok.py", "--requirements", "reqs.txt", "--json")
    assert submitted.returncode == 0, submitted.stderr
    job = json.loads(submitted.stdout)
    assert job["spec"]["requirements"] == "work/reqs.txt"
    run("cancel", job["id"])


def test_list_shows_summaries_without_code(run):
    listed = run("list", "--json")
    assert listed.returncode == 0, listed.stderr
    jobs = json.loads(listed.stdout)["jobs"]
    assert jobs and all("spec" not in j and "source_path" in j for j in jobs)


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
        (
            ("submit", "ok.py", "--sweep", "x=normal(0,1)", "--metric", "a"),
            "sweep: 'x=normal(0,1)' has an unknown SPEC 'normal(0,1)'; give NAME=[a,b,c]",
        ),
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


# ----- following a log by cursor -----


class ScriptedLog(Client):
    """A client whose job and log answer from a script, counting the reads."""

    def __init__(self, job: Job, reads: list[LogRead]):
        self.job, self.reads, self.asked = job, reads, []

    def get(self, job_id: str) -> Job:
        return self.job

    def read_log(self, job_id: str, cursor: str = "", limit: int | None = None) -> LogRead:
        self.asked.append(cursor)
        return self.reads.pop(0) if self.reads else LogRead("", cursor, False)


def scripted_job(state: str) -> Job:
    return Job.model_validate(
        {
            "id": "j1",
            "name": "scripted",
            "kind": "train",
            "backend": "fake",
            "state": state,
            "created_at": "2026-01-01T00:00:00Z",
            "spec": {"source": {"code": "pass"}},
        }
    )


def test_a_follower_reads_on_from_the_cursor_the_server_gave():
    reads = [LogRead("a\ufffd", "page-2", False), LogRead("b\n", "page-3", True)]
    client = ScriptedLog(scripted_job("SUCCEEDED"), reads)
    out = io.StringIO()
    JobHandle(client, client.job, poll_interval=0.01).wait(stream=out)
    assert out.getvalue() == "a\ufffdb\n"
    assert client.asked == ["", "page-2"]


def test_a_follower_waits_between_reads_that_bring_nothing():
    client = ScriptedLog(scripted_job("RUNNING"), [])
    with pytest.raises(TimeoutError):
        JobHandle(client, client.job, poll_interval=0.1).wait(timeout=1.0, stream=io.StringIO())
    assert 5 <= len(client.asked) <= 12


def test_an_ended_jobs_log_that_never_completes_is_left_after_a_while():
    client = ScriptedLog(scripted_job("FAILED"), [LogRead("last words\n", "7", False)])
    out = io.StringIO()
    handle = JobHandle(client, client.job, poll_interval=0.05, log_patience=0.5)
    assert handle.wait(stream=out, raise_on_failure=False).state is JobState.FAILED
    assert out.getvalue() == "last words\n"


def test_log_answers_of_servers_from_before_cursors_are_read_by_offset():
    answer = {"data": "x", "offset": 0, "next_offset": 1, "size": 1, "complete": True}
    assert LogRead.from_answer(answer) == LogRead("x", "1", True)


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
        jobs = {job["name"]: job for job in listed(store, limit=10)}
    finally:
        store.close()
    assert jobs["waited"]["state"] == JobState.SUCCEEDED.value
    assert (project / jobs["waited"]["outputs"]["log"]).read_text() == "direct ok\n"
