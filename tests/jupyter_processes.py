"""Real Jupyter processes for the magics and CLI tests: a `jupyter server` child process with
jupyter-mlp, kernels (started through that server, or on their own), and isolated Jupyter dirs.
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client import BlockingKernelClient

TOKEN = "mlp-magics-test-token"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


def isolated_env(base: Path) -> dict[str, str]:
    """Environment with Jupyter's data, runtime and config dirs under `base`."""
    env = dict(os.environ)
    for name in ("data", "runtime", "config"):
        (base / name).mkdir(parents=True, exist_ok=True)
    env.update(
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_PLATFORM_DIRS="0",
        PYTHONUNBUFFERED="1",
    )
    for name in ("MLP_SERVER_URL", "MLP_TOKEN", "JPY_SESSION_NAME"):
        env.pop(name, None)
    return env


class JupyterServer:
    """A `jupyter server` child process with jupyter-mlp on its own database and root dir."""

    def __init__(
        self,
        root: Path,
        db: Path,
        env: dict[str, str],
        log: Path,
        extra_args: Sequence[str] = (),
        port: int | None = None,
        start_timeout: float = 60,
    ):
        """`extra_args`: more `--Class.trait=value` settings; `port`: reuse one (a restart);
        `start_timeout`: how long to wait for it to answer (a loaded machine is slow)."""
        self.root = root
        self.env = env
        if port is None:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}/"
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
                "--MLPExtension.cancel_grace_seconds=3",
                "--LocalBackend.max_concurrent_jobs=8",
                "--LocalBackend.warm_runners=0",
                *extra_args,
            ],
            env=env,
            stdout=open(log, "ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                self.call("GET", "mlp/backends")
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()  # a server that never answered is not left behind
                    self.process.wait()
                    raise RuntimeError(f"server did not start; see {log}") from None
                time.sleep(0.2)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def jobs(self) -> list[dict[str, Any]]:
        return self.call("GET", "mlp/jobs")["jobs"]  # type: ignore[no-any-return]

    def wait(self, job_id: str, states: set[str] = TERMINAL, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.call("GET", f"mlp/jobs/{job_id}")
            if job["state"] in states or time.monotonic() > deadline:
                return job  # type: ignore[no-any-return]
            time.sleep(0.1)

    def start_session(self, notebook: str) -> str:
        """Start a kernel for `notebook` (relative to the root) the way JupyterLab does."""
        session = self.call(
            "POST",
            "api/sessions",
            {
                "path": notebook,
                "name": Path(notebook).name,
                "type": "notebook",
                "kernel": {"name": "python3"},
            },
        )
        return session["kernel"]["id"]  # type: ignore[no-any-return]

    def kill(self) -> None:
        """`kill -9` the server: no shutdown code of its own runs."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Outcome:
    """What executing one cell produced."""

    status: str
    stdout: str = ""
    displays: list[dict[str, Any]] = field(default_factory=list)  # display/execute/update data
    error: tuple[str, str] | None = None  # (ename, evalue)
    traceback: list[str] = field(default_factory=list)

    def texts(self, mime: str = "text/plain") -> list[str]:
        return [d["data"].get(mime, "") for d in self.displays]


class Kernel:
    """A connected kernel client that runs cells and gathers their iopub output."""

    def __init__(self, client: BlockingKernelClient):
        self.client = client

    @classmethod
    def from_connection_file(cls, path: Path) -> Kernel:
        client = BlockingKernelClient(connection_file=str(path))
        client.load_connection_file()
        # No heartbeat channel: a fresh kernel's heartbeat is not beating yet, and a client
        # that does not own the kernel would take that for a dead kernel.
        client.start_channels(hb=False)
        client.wait_for_ready(timeout=60)
        return cls(client)

    def run(self, code: str, timeout: float = 90) -> Outcome:
        outcome = Outcome(status="")

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                outcome.stdout += content["text"]
            elif kind in ("display_data", "execute_result", "update_display_data"):
                outcome.displays.append({"type": kind, **content})
            elif kind == "error":
                outcome.error = (content["ename"], content["evalue"])
                outcome.traceback = content["traceback"]

        reply = self.client.execute_interactive(code, output_hook=hook, timeout=timeout)
        outcome.status = reply["content"]["status"]
        if outcome.status == "error" and outcome.error is None:
            outcome.error = (reply["content"]["ename"], reply["content"]["evalue"])
        return outcome

    def wait_for_update(self, display_id: str, text: str, timeout: float) -> dict[str, Any]:
        """The first iopub update of `display_id` whose text shows `text` (outside any cell)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_iopub_msg(timeout=0.2)
            except Exception:  # queue.Empty: nothing yet
                continue
            content = msg["content"]
            if (
                msg["msg_type"] == "update_display_data"
                and content["transient"]["display_id"] == display_id
                and text in content["data"]["text/plain"]
            ):
                return content  # type: ignore[no-any-return]
        raise AssertionError(f"no update of display {display_id} showing {text!r}")


def write_notebook(path: Path, cells: list[tuple[str, list[str]]]) -> None:
    """A saved notebook of code cells given as (source, tags)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
