"""What the benchmarks share: the machine they ran on, a real `jupyter server` to measure, and
medians with their spread."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPResponse

TOKEN = "bench-token"
HERE = Path(__file__).resolve().parent


def machine() -> str:
    """nproc, CPU model, RAM and load, printed with every figure (figures depend on them)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        ram = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    except OSError:
        ram = 0.0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs ({model}), "
        f"{ram:.0f} GiB RAM; load average {load}; Python {platform.python_version()}"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def summary(label: str, seconds: Sequence[float], unit: str = "s", scale: float = 1.0) -> str:
    values = [s * scale for s in seconds]
    return (
        f"{label:<40} median {statistics.median(values):9.3f} {unit}  "
        f"(min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
    )


class Server:
    """A real `jupyter server` on a port of its own, with jupyter-mlp on or off.

    `python` picks the interpreter (another virtual environment's, for jupyter-scheduler);
    warm runners are off unless asked for (they cost a kernel; only a launch gains from them)."""

    def __init__(
        self,
        root: Path,
        *,
        mlp: bool = True,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        python: str = sys.executable,
        db: Path | None = None,
        warm_runners: int | None = 0,
    ):
        self.port = free_port()
        self.root = root / "work"
        self.root.mkdir(parents=True, exist_ok=True)
        environment = {**os.environ, **(env or {})}
        for name in ("data", "runtime", "config"):
            (root / name).mkdir(exist_ok=True)
            environment[f"JUPYTER_{name.upper()}_DIR"] = str(root / name)
        args = [
            python,
            "-m",
            "jupyter_server",
            f"--ServerApp.port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={TOKEN}",
            "--ServerApp.open_browser=False",
            "--ServerApp.allow_root=True",
        ]
        if mlp:
            args.append(f"--MLPExtension.db_url=sqlite:///{db or root / 'mlp.db'}")
            if warm_runners is not None:  # None: the extension's default
                args.append(f"--LocalBackend.warm_runners={warm_runners}")
        elif python == sys.executable:  # another environment has no jupyter-mlp to turn off
            args.append('--ServerApp.jpserver_extensions={"jupyter_mlp": False}')
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [*args, *extra_args],
            env=environment,
            stdout=open(root / "server.log", "ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Not the checkout: `python -m` puts the working folder first on the path, which
            # would run its jupyter-mlp whatever PYTHONPATH says (a --baseline measures another).
            cwd=root,
        )
        self.http = AsyncHTTPClient(max_clients=250)

    async def call(
        self, method: str, path: str, body: Any = None, timeout: float = 600
    ) -> tuple[int, Any, float]:
        """(status, JSON answer, seconds) of one request."""
        started = time.perf_counter()
        response: HTTPResponse = await self.http.fetch(
            f"http://127.0.0.1:{self.port}/{path}",
            method=method,
            body=None if body is None else json.dumps(body),
            headers={"Authorization": f"token {TOKEN}"},
            raise_error=False,
            request_timeout=timeout,
            allow_nonstandard_methods=True,
        )
        elapsed = time.perf_counter() - started
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text.startswith(("{", "[")) else text), elapsed

    async def ready(self, path: str = "api/status", timeout: float = 180) -> float:
        """Wait until `path` answers 200; seconds since the process was started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited; see its server.log")
            try:
                if (await self.call("GET", path, timeout=5))[0] == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            await asyncio.sleep(0.02)
        raise RuntimeError("the server did not start")

    def rss_bytes(self) -> int:
        """The server process's resident memory now."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
