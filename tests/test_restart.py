"""A server restart loses nothing: jobs outlive the server that started them.

Each server here is a real `jupyter server` process, so stopping one is a real shutdown.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlp.backends.local import process_start_ticks

TOKEN = "restart-test-token"


class Server:
    """A `jupyter server` child process with jupyter-mlp on a given database and root dir."""

    def __init__(self, root: Path, db: Path, log: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                f"--ServerApp.port={self.port}",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.root_dir={root}",
                f"--IdentityProvider.token={TOKEN}",
                "--ServerApp.open_browser=False",
                "--ServerApp.allow_root=True",
                f"--MLPExtension.db_url=sqlite:///{db}",
                "--MLPExtension.poll_interval=0.1",
                "--LocalBackend.max_concurrent_jobs=8",
                "--LocalBackend.warm_runners=0",
            ],
            stdout=open(log, "ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.call("GET", "backends")
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start; see {log}") from None
                time.sleep(0.2)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/mlp/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def wait(self, job_id: str, states: set[str], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.call("GET", f"jobs/{job_id}")
            if job["state"] in states or time.monotonic() > deadline:
                return job  # type: ignore[no-any-return]
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Any]:
    root = tmp_path / "root"
    root.mkdir()
    started: list[Server] = []

    def start() -> Server:
        server = Server(root, tmp_path / "mlp.db", tmp_path / "server.log")
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


def test_jobs_outlive_a_server_restart_and_are_reconciled(servers, tmp_path):
    go = tmp_path / "go"
    waits = f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.05)\n"
    first = servers()
    finishing = first.call(
        "POST", "jobs", {"name": "finishes", "source": {"code": waits + "print('done')"}}
    )
    failing = first.call(
        "POST", "jobs", {"name": "fails", "source": {"code": waits + "raise SystemExit(4)"}}
    )
    vanishing = first.call("POST", "jobs", {"name": "vanishes", "source": {"code": waits}})
    ended_early = first.call(
        "POST", "jobs", {"name": "early", "source": {"code": "print('quick')"}}
    )
    for job in (finishing, failing, vanishing):
        assert first.wait(job["id"], {"RUNNING"})["state"] == "RUNNING"
    assert first.wait(ended_early["id"], {"SUCCEEDED"})["state"] == "SUCCEEDED"
    pid = int(first.call("GET", f"jobs/{vanishing['id']}")["backend_job_id"])

    first.stop()
    # With no server watching: one job is killed outright, the others finish on their own.
    assert process_start_ticks(pid) is not None, "the job died with the server"
    os.killpg(pid, signal.SIGKILL)
    go.touch()
    time.sleep(1.0)

    second = servers()
    finished = second.wait(finishing["id"], {"SUCCEEDED", "FAILED", "CANCELLED"})
    failed = second.wait(failing["id"], {"SUCCEEDED", "FAILED", "CANCELLED"})
    vanished = second.wait(vanishing["id"], {"SUCCEEDED", "FAILED", "CANCELLED"})

    assert finished["state"] == "SUCCEEDED"
    assert failed["state"] == "FAILED" and "exit code 4" in failed["state_message"]
    assert vanished["state"] == "FAILED" and "recorded no exit status" in vanished["state_message"]
    assert second.call("GET", f"jobs/{ended_early['id']}")["state"] == "SUCCEEDED"
    assert [j["name"] for j in second.call("GET", "jobs")["jobs"]] == [
        "early",
        "vanishes",
        "fails",
        "finishes",
    ]


def test_a_job_still_running_after_a_restart_is_watched_and_can_be_cancelled(servers, tmp_path):
    first = servers()
    job = first.call(
        "POST",
        "jobs",
        {"source": {"code": "import time\nprint('up', flush=True)\ntime.sleep(300)"}},
    )
    assert first.wait(job["id"], {"RUNNING"})["state"] == "RUNNING"
    first.stop()

    second = servers()
    watched = second.wait(job["id"], {"RUNNING"})
    assert watched["state"] == "RUNNING"
    second.call("POST", f"jobs/{job['id']}/cancel", {})
    assert second.wait(job["id"], {"CANCELLED"})["state"] == "CANCELLED"
    assert process_start_ticks(int(watched["backend_job_id"])) is None


def test_server_start_does_not_import_cloud_sdks():
    probe = (
        "import sys\n"
        "from jupyter_mlp.extension import MLPExtension\n"
        "from jupyter_mlp.backends import backend_classes\n"
        "backend_classes()\n"
        "heavy = ('google.cloud.aiplatform', 'apache_beam')\n"
        "print([m for m in sys.modules if m.startswith(heavy)])\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"
