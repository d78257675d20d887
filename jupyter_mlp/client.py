"""One client for the magics and the command line: a Jupyter server's REST API, or, with no
server, a JobManager of our own on the same database (so the panel still sees every job).

`connect()` picks one; both answer the same methods with the same `Job` models, and raise
`MLPError` for the caller's mistakes and `ServerUnreachable` when the server cannot be reached.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_core.paths import jupyter_config_path
from traitlets.config import Config
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

from .discovery import ServerInfo, server_by_url, server_for_directory, server_for_kernel
from .models import FieldError, Job, JobState, MLPError

if TYPE_CHECKING:
    from .manager import JobManager

T = TypeVar("T")
REQUEST_TIMEOUT = 30.0


class ServerUnreachable(Exception):
    """The Jupyter server did not answer (or answered with a server error)."""


class Client:
    """What the magics and the CLI ask of jupyter-mlp, wherever it runs."""

    #: The folder source paths are relative to (the server's root dir); None when unknown.
    root_dir: Path | None = None
    #: Where jobs go, in words: "the Jupyter server at ..." or "the database ...".
    where: str = ""

    def submit(self, body: dict[str, Any]) -> Job:
        raise NotImplementedError

    def get(self, job_id: str) -> Job:
        raise NotImplementedError

    def list_jobs(self, *, states: list[str] | None = None, limit: int = 50) -> list[Job]:
        raise NotImplementedError

    def cancel(self, job_id: str) -> Job:
        raise NotImplementedError

    def read_log(self, job_id: str, offset: int = 0) -> dict[str, Any]:
        raise NotImplementedError

    def catalog(self, backend: str | None = None, region: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Let go of what the client holds; jobs keep running."""

    def source_path(self, path: Path) -> str:
        """A local file as the server names it: relative to its root dir."""
        path = path.expanduser().resolve()
        if self.root_dir is None:
            return str(path)
        if not path.is_relative_to(self.root_dir):
            raise MLPError.invalid(
                "source.path", f"'{path}' is outside the Jupyter root dir {self.root_dir}"
            )
        return path.relative_to(self.root_dir).as_posix()

    def log_chunks(self, job_id: str, offset: int = 0) -> Iterator[tuple[str, bool]]:
        """What the log holds from `offset` on, chunk by chunk: (text, whether it is complete)."""
        while True:
            chunk = self.read_log(job_id, offset)
            offset = chunk["next_offset"]
            yield chunk["data"], bool(chunk["complete"])
            if chunk["complete"] or not chunk["data"] or offset >= chunk["size"]:
                return


class ServerClient(Client):
    """The REST API under /mlp of a running Jupyter server."""

    def __init__(self, server: ServerInfo):
        self.server = server
        self.root_dir = server.root_dir
        self.where = f"the Jupyter server at {server.url}"

    def _call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        url = self.server.url.rstrip("/") + "/mlp/" + path
        params = {k: v for k, v in query.items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {"Content-Type": "application/json"}
        if self.server.token:
            headers["Authorization"] = f"token {self.server.token}"
        request = urllib.request.Request(
            url,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                text = response.read()
        except urllib.error.HTTPError as exc:
            raise _answer_error(exc) from None
        except (OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnreachable(f"cannot reach {self.server.url}: {reason}") from None
        return json.loads(text) if text else None

    def submit(self, body: dict[str, Any]) -> Job:
        return Job.model_validate(self._call("POST", "jobs", body))

    def get(self, job_id: str) -> Job:
        return Job.model_validate(self._call("GET", f"jobs/{_quoted(job_id)}"))

    def list_jobs(self, *, states: list[str] | None = None, limit: int = 50) -> list[Job]:
        answer = self._call("GET", "jobs", state=",".join(states or []) or None, limit=limit)
        return [Job.model_validate(j) for j in answer["jobs"]]

    def cancel(self, job_id: str) -> Job:
        return Job.model_validate(self._call("POST", f"jobs/{_quoted(job_id)}/cancel", {}))

    def read_log(self, job_id: str, offset: int = 0) -> dict[str, Any]:
        return self._call("GET", f"jobs/{_quoted(job_id)}/logs", offset=offset)  # type: ignore[no-any-return]

    def catalog(self, backend: str | None = None, region: str | None = None) -> dict[str, Any]:
        return self._call("GET", "catalog", backend=backend, region=region)  # type: ignore[no-any-return]


class DirectClient(Client):
    """A JobManager of our own on the database the server uses, watching in a background thread.

    Settings are the server extension's (`MLPExtension.db_url`, `jobs_dir`, backend settings)
    as configured in `jupyter_server_config` files; the root dir is the given folder.
    """

    def __init__(self, root_dir: Path):
        from .extension import MLPExtension  # the server extension's defaults and config

        config = server_config()
        if "warm_runners" not in config.LocalBackend:
            # A kernel's own manager keeps no warm runner: it would cost a second kernel each.
            config.LocalBackend.warm_runners = 0
        settings = MLPExtension(config=config)
        self.root_dir = root_dir.resolve()
        self.where = f"the job database {settings.db_url} (no Jupyter server found)"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="jupyter-mlp-manager", daemon=True
        )
        self._thread.start()
        self.manager = self._run(self._started(settings.make_manager(self.root_dir)))

    @staticmethod
    async def _started(manager: JobManager) -> JobManager:
        manager.start()  # needs the loop of the manager's thread
        return manager

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        # The manager lives on its loop's thread; every call goes there, so its lock and its
        # database session are only ever used from one thread.
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _call(self, function: Callable[[], T]) -> T:
        async def call() -> T:
            return function()

        return self._run(call())

    def submit(self, body: dict[str, Any]) -> Job:
        return self._run(self.manager.submit(body))

    def get(self, job_id: str) -> Job:
        return self._call(lambda: self.manager.get(job_id))

    def list_jobs(self, *, states: list[str] | None = None, limit: int = 50) -> list[Job]:
        wanted = [_state(s) for s in states or []]
        return self._call(lambda: self.manager.list_jobs(states=wanted, limit=limit)[0])

    def cancel(self, job_id: str) -> Job:
        return self._run(self.manager.cancel(job_id))

    def read_log(self, job_id: str, offset: int = 0) -> dict[str, Any]:
        return self._call(lambda: self.manager.read_log(job_id, offset=offset))

    def catalog(self, backend: str | None = None, region: str | None = None) -> dict[str, Any]:
        return self._call(
            lambda: self.manager.catalog(backend or self.manager.default_backend, region)
        )

    def close(self) -> None:
        if not self._loop.is_running():
            return

        async def stop() -> None:
            await self.manager.stop()
            self.manager.store.close()

        self._run(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def server_config() -> Config:
    """The settings in `jupyter_server_config.{json,py}` files, as a Jupyter server reads them."""
    config = Config()
    for folder in reversed(jupyter_config_path()):  # lowest priority first
        for loader_class in (JSONFileConfigLoader, PyFileConfigLoader):
            suffix = ".json" if loader_class is JSONFileConfigLoader else ".py"
            loader = loader_class(f"jupyter_server_config{suffix}", path=folder)
            try:
                config.merge(loader.load_config())
            except ConfigFileNotFound:
                continue
    return config


def connect(
    *,
    url: str | None = None,
    token: str | None = None,
    connection_file: str | None = None,
    directory: Path | None = None,
) -> Client:
    """The client to use: an explicit server (argument or MLP_SERVER_URL/MLP_TOKEN), else the
    server owning the kernel of `connection_file`, else a server whose root dir holds
    `directory`, else a direct manager rooted at `directory` (default: the working dir)."""
    directory = (directory or Path.cwd()).resolve()
    url = url or os.environ.get("MLP_SERVER_URL")
    token = token if token is not None else os.environ.get("MLP_TOKEN", "")
    if url:
        return ServerClient(server_by_url(url, token))
    server = server_for_kernel(connection_file) if connection_file else None
    if server is None and connection_file is None:
        server = server_for_directory(directory)
    if server is not None:
        return ServerClient(server)
    return DirectClient(directory)


def describe_error(exc: MLPError) -> str:
    """The error's message in one line, with what would be valid where a field says so."""
    hints = [f"{e.field}: try {', '.join(e.suggestions[:10])}" for e in exc.errors if e.suggestions]
    return "; ".join([exc.message, *hints])


def _answer_error(exc: urllib.error.HTTPError) -> Exception:
    try:
        payload = json.loads(exc.read() or b"{}")
    except ValueError:
        payload = {}
    message = payload.get("message") or f"{exc.code} {exc.reason}"
    if exc.code >= 500:
        return ServerUnreachable(f"the server failed: {message}")
    errors = [FieldError.model_validate(e) for e in payload.get("errors") or []]
    return MLPError(exc.code, message, errors)


def _quoted(job_id: str) -> str:
    return urllib.parse.quote(job_id, safe="")


def _state(name: str) -> JobState:
    try:
        return JobState(name.strip().upper())
    except ValueError:
        valid = ", ".join(s.value for s in JobState)
        raise MLPError.invalid("state", f"unknown state '{name}'; one of: {valid}") from None
