"""Fixtures: a real Jupyter server with jupyter-mlp, and a small client for its REST API."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPResponse

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


@pytest.fixture
def gpu_ids() -> list[str]:
    """The local GPU inventory the server is given; override in a test module or test."""
    return []


@pytest.fixture
def jp_server_config(tmp_path: Path, gpu_ids: list[str]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlp": True}},
        "MLPExtension": {
            "db_url": f"sqlite:///{tmp_path / 'state' / 'mlp.db'}",
            "poll_interval": 0.1,
            "cancel_grace_seconds": 3.0,
            # Tests never reach Google's Billing API; test_prices_refresh.py uses its stand-in.
            "refresh_prices_hours": 0,
        },
        # Warm runners cost a kernel per server; tests/test_warm_runners.py turns them on.
        "LocalBackend": {"gpu_ids": gpu_ids, "max_concurrent_jobs": 8, "warm_runners": 0},
    }


class Api:
    """The /mlp REST API as a test would use it: JSON in, (status, JSON) out."""

    def __init__(self, fetch: Callable[..., Awaitable[HTTPResponse]]):
        self._fetch = fetch

    async def call(
        self, method: str, *path: str, body: Any = None, raw_body: str | None = None, **params: Any
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if params:
            kwargs["params"] = {k: str(v) for k, v in params.items()}
        if raw_body is not None:
            kwargs["body"] = raw_body
        elif body is not None or method == "POST":
            kwargs["body"] = json.dumps(body if body is not None else {})
        response = await self._fetch("mlp", *path, **kwargs)
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text else None)

    async def submit(self, **spec: Any) -> dict[str, Any]:
        code, job = await self.call("POST", "jobs", body=spec)
        assert code == 201, job
        return job  # type: ignore[no-any-return]

    async def job(self, job_id: str) -> dict[str, Any]:
        code, job = await self.call("GET", "jobs", job_id)
        assert code == 200, job
        return job  # type: ignore[no-any-return]

    async def wait(
        self, job_id: str, states: set[str] = TERMINAL, timeout: float = 60
    ) -> dict[str, Any]:
        """Poll until the job is in one of `states`; fail with its last state on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            job = await self.job(job_id)
            if job["state"] in states:
                return job
            if job["state"] in TERMINAL or time.monotonic() > deadline:
                raise AssertionError(
                    f"job never reached {states}: {job['state']} {job['state_message']}"
                )
            await asyncio.sleep(0.05)

    async def log(self, job_id: str) -> str:
        code, chunk = await self.call("GET", "jobs", job_id, "logs", limit=1_000_000)
        assert code == 200, chunk
        return chunk["data"]  # type: ignore[no-any-return]


@pytest.fixture
def api(jp_fetch: Callable[..., Awaitable[HTTPResponse]]) -> Api:
    return Api(jp_fetch)


async def server_manager(serverapp: Any) -> Any:
    """The JobManager of a running server, once its extension has built it."""
    return await asyncio.wrap_future(serverapp.web_app.settings["mlp_ready"])


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start real `jupyter server` processes, one after the other, on one database and root."""
    from jupyter_processes import JupyterServer, isolated_env

    root = tmp_path / "root"
    root.mkdir()
    env = isolated_env(tmp_path / "jupyter")
    started: list[JupyterServer] = []

    def start(*extra_args: str, env_updates: dict[str, str] | None = None) -> JupyterServer:
        server = JupyterServer(
            root,
            tmp_path / "mlp.db",
            {**env, **(env_updates or {})},
            tmp_path / "server.log",
            extra_args=extra_args,
            start_timeout=180,
        )
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


@pytest.fixture
def write_script(jp_root_dir: Path) -> Callable[[str, str], str]:
    """Write a Python file under the server's root dir; returns its relative path."""

    def write(name: str, code: str) -> str:
        path = jp_root_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code), encoding="utf-8")
        return name

    return write


def listed(store: Any, **filters: Any) -> list[dict[str, Any]]:
    """A page of `JobStore.find`, each job as a client reads it (JSON)."""
    return [json.loads(job.json) for job in store.find(**filters)[0]]
