"""One client for the magics and the command line: a Jupyter server's REST API, or, with no
server, a JobManager of our own on the same database (so the panel still sees every job).

`connect()` picks one; both answer the same methods with the same `Job` models, and raise
`MLPError` for the caller's mistakes and `ServerUnreachable` when the server cannot be reached.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_core.paths import jupyter_config_path
from traitlets.config import Config
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

from ..core.log_view import readable
from ..core.models import STORED, FieldError, Job, JobSummary, MLPError, parse_states
from ..core.schedule_models import Schedule, ScheduleFire
from .discovery import ServerInfo, server_by_url, server_for_directory, server_for_kernel

if TYPE_CHECKING:
    from ..core.manager import JobManager

T = TypeVar("T")
REQUEST_TIMEOUT = 30.0


class ServerUnreachable(Exception):
    """The Jupyter server did not answer (or answered with a server error)."""


@dataclass(frozen=True)
class LogRead:
    """One read of a job's log: its text, the cursor to read on from, and whether the log is
    complete (the job ended and nothing is left). Cursors are the backend's, opaque here."""

    text: str
    next_cursor: str
    complete: bool

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> LogRead:
        # Servers from before cursors answer byte offsets only; the offset is their cursor.
        next_cursor = answer.get("next_cursor")
        if next_cursor is None:
            next_cursor = answer.get("next_offset", "")
        return cls(str(answer.get("data") or ""), str(next_cursor), bool(answer.get("complete")))


class Client:
    """What the magics and the CLI ask of jupyter-mlp, wherever it runs."""

    #: The folder source paths are relative to (the server's root dir); None when unknown.
    root_dir: Path | None = None
    #: Where jobs go, in words: "the Jupyter server at ..." or "the database ...".
    where: str = ""
    #: Whether logs read through this client keep every line (papermill's cell marks, the
    #: kernel's TCP warning): `jupyter mlp logs --debug`. Left out by default.
    log_debug: bool = False

    def submit(self, body: dict[str, Any], rerun_of: str | None = None) -> Job:
        """Submit a spec; `rerun_of`: the id of the job it runs again (changed or not)."""
        raise NotImplementedError

    def get(self, job_id: str) -> Job:
        """A job by its id, or by a prefix of it no other job's id starts with."""
        raise NotImplementedError

    def rerun(self, job_id: str) -> Job:
        """The job run again as it was (its source read as it is now)."""
        raise NotImplementedError

    def delete(self, job_id: str) -> None:
        """Forget an ended job and remove its folder (409 for an active one)."""
        raise NotImplementedError

    def list_jobs(
        self, *, states: list[str] | None = None, limit: int = 50, schedule_id: str | None = None
    ) -> list[JobSummary]:
        raise NotImplementedError

    def cancel(self, job_id: str, drain: bool = False) -> Job:
        """Ask a job to stop; `drain`: let a running streaming pipeline finish what it read."""
        raise NotImplementedError

    def read_log(self, job_id: str, cursor: str = "", limit: int | None = None) -> LogRead:
        """One piece of the log from `cursor` ("" is its start)."""
        raise NotImplementedError

    def catalog(self, backend: str | None = None, region: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    # Schedules are fired by a running Jupyter server: without one there is nothing to ask.

    def create_schedule(self, body: dict[str, Any]) -> Schedule:
        """POST /mlp/schedules: a job spec plus when it runs."""
        raise _needs_server()

    def list_schedules(self) -> list[Schedule]:
        raise _needs_server()

    def get_schedule(self, schedule_id: str) -> Schedule:
        raise _needs_server()

    def update_schedule(self, schedule_id: str, patch: dict[str, Any]) -> Schedule:
        """PATCH a schedule (pause and resume: `{"paused": true|false}`)."""
        raise _needs_server()

    def run_schedule(self, schedule_id: str) -> Job | None:
        """Run a schedule now: its job (None for a cloud schedule: Cloud Scheduler starts it)."""
        raise _needs_server()

    def delete_schedule(self, schedule_id: str) -> None:
        """Delete a schedule; its runs stay."""
        raise _needs_server()

    def schedule_fires(self, schedule_id: str, limit: int = 20) -> list[ScheduleFire]:
        """A schedule's latest fire times and what became of each, newest first."""
        raise _needs_server()

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

    def log_reads(self, job_id: str, cursor: str = "") -> Iterator[LogRead]:
        """The log from `cursor` on, as far as it is written now, read by read, each from the
        cursor the one before gave. Ends at the end of a complete log, or at a read that brings
        nothing new (a caller following the log waits before reading on from there)."""
        while True:
            read = self.read_log(job_id, cursor)
            yield read
            if read.complete or not read.text or read.next_cursor == cursor:
                return
            cursor = read.next_cursor


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

    def submit(self, body: dict[str, Any], rerun_of: str | None = None) -> Job:
        return _job(self._call("POST", "jobs", body, rerun_of=rerun_of))

    def get(self, job_id: str) -> Job:
        return _job(self._call("GET", f"jobs/{_quoted(job_id)}"))

    def rerun(self, job_id: str) -> Job:
        return _job(self._call("POST", f"jobs/{_quoted(job_id)}/rerun", {}))

    def delete(self, job_id: str) -> None:
        self._call("DELETE", f"jobs/{_quoted(job_id)}")

    def list_jobs(
        self, *, states: list[str] | None = None, limit: int = 50, schedule_id: str | None = None
    ) -> list[JobSummary]:
        state = ",".join(states or []) or None
        answer = self._call("GET", "jobs", state=state, limit=limit, schedule_id=schedule_id)
        jobs = [_summary(j) for j in answer["jobs"]]
        # A server from before schedules ignores the filter: keep only that schedule's runs.
        return [j for j in jobs if schedule_id is None or j.schedule_id == schedule_id]

    def cancel(self, job_id: str, drain: bool = False) -> Job:
        body = {"drain": True} if drain else {}
        return _job(self._call("POST", f"jobs/{_quoted(job_id)}/cancel", body))

    def read_log(self, job_id: str, cursor: str = "", limit: int | None = None) -> LogRead:
        debug = "true" if self.log_debug else None
        path = f"jobs/{_quoted(job_id)}/logs"
        answer = self._call("GET", path, cursor=cursor, limit=limit, debug=debug)
        return LogRead.from_answer(answer)

    def source_path(self, path: Path) -> str:
        if self.root_dir is not None:
            return super().source_path(path)
        return self._path_on_server(path.expanduser().resolve())

    def _path_on_server(self, path: Path) -> str:
        """The path under the server's root dir of a local file, for a server whose root dir
        is not known here (named by URL, maybe in a container with the folder mounted).

        Each tail of the path (`ok.py`, `work/ok.py`, ...) is looked up through the server's
        contents API; the one file whose content hash (else size) equals the local file's is
        the same file."""
        data = path.read_bytes()
        tails = ["/".join(path.parts[start:]) for start in range(len(path.parts) - 1, 0, -1)]
        same = [tail for tail in tails if _same_content(self._contents_model(tail), data)]
        if len(same) == 1:
            return same[0]
        if not same:
            message = (
                f"the server at {self.server.url} has no copy of '{path}' under its root dir; "
                "give the path as the server sees it (relative to its root dir), or --root-dir"
            )
        else:
            message = (
                f"'{path}' has identical copies on the server at {', '.join(same)}; "
                "say which folder is the server's root dir with --root-dir"
            )
        raise MLPError.invalid("source.path", message)

    def _contents_model(self, path: str) -> dict[str, Any] | None:
        """What GET /api/contents says of a path (no content, with its hash); None if absent."""
        url = "api/contents/" + urllib.parse.quote(path) + "?content=0&hash=1"
        try:
            model = self.server.get(url, timeout=REQUEST_TIMEOUT)
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise _answer_error(exc) from None
            return None  # no such file, or one the server will not show (hidden)
        except (OSError, ValueError) as exc:
            raise ServerUnreachable(f"cannot reach {self.server.url}: {exc}") from None
        return model if isinstance(model, dict) else None

    def catalog(self, backend: str | None = None, region: str | None = None) -> dict[str, Any]:
        return self._call("GET", "catalog", backend=backend, region=region)  # type: ignore[no-any-return]

    def create_schedule(self, body: dict[str, Any]) -> Schedule:
        return _schedule(self._call("POST", "schedules", body))

    def list_schedules(self) -> list[Schedule]:
        return [_schedule(s) for s in self._call("GET", "schedules")["schedules"]]

    def get_schedule(self, schedule_id: str) -> Schedule:
        return _schedule(self._call("GET", f"schedules/{_quoted(schedule_id)}"))

    def update_schedule(self, schedule_id: str, patch: dict[str, Any]) -> Schedule:
        return _schedule(self._call("PATCH", f"schedules/{_quoted(schedule_id)}", patch))

    def run_schedule(self, schedule_id: str) -> Job | None:
        answer = self._call("POST", f"schedules/{_quoted(schedule_id)}/run", {})
        return _job(answer["job"]) if answer and answer.get("job") else None

    def delete_schedule(self, schedule_id: str) -> None:
        self._call("DELETE", f"schedules/{_quoted(schedule_id)}")

    def schedule_fires(self, schedule_id: str, limit: int = 20) -> list[ScheduleFire]:
        answer = self._call("GET", f"schedules/{_quoted(schedule_id)}/fires", limit=limit)
        return [ScheduleFire.model_validate(f) for f in answer["fires"]]


class DirectClient(Client):
    """A JobManager of our own on the database the server uses, watching in a background thread.

    Settings are the server extension's (`MLPExtension.db_url`, `jobs_dir`, backend settings)
    as configured in `jupyter_server_config` files; the root dir is the given folder.
    """

    def __init__(self, root_dir: Path):
        from ..server.extension import MLPExtension  # the server extension's defaults and config

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
        # The manager lives on its loop's thread; every call (a coroutine of the manager's)
        # runs there, so its database session and its backends are used from one thread.
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def submit(self, body: dict[str, Any], rerun_of: str | None = None) -> Job:
        return self._run(self.manager.submit(body, rerun_of=rerun_of))

    def get(self, job_id: str) -> Job:
        return self._run(self.manager.get(job_id))

    def rerun(self, job_id: str) -> Job:
        return self._run(self.manager.rerun(job_id))

    def delete(self, job_id: str) -> None:
        self._run(self.manager.delete(job_id))

    def list_jobs(
        self, *, states: list[str] | None = None, limit: int = 50, schedule_id: str | None = None
    ) -> list[JobSummary]:
        wanted = parse_states(states or [])
        jobs, _ = self._run(self.manager.list_jobs(states=wanted, limit=limit))
        summaries = [JobSummary.from_job(Job.model_validate_json(job)) for job in jobs]
        return [j for j in summaries if schedule_id is None or j.schedule_id == schedule_id]

    def cancel(self, job_id: str, drain: bool = False) -> Job:
        return self._run(self.manager.drain(job_id) if drain else self.manager.cancel(job_id))

    def read_log(self, job_id: str, cursor: str = "", limit: int | None = None) -> LogRead:
        answer = self._run(self.manager.read_log(job_id, cursor=cursor or None, limit=limit))
        if not self.log_debug:  # as a server serves it
            answer["data"] = readable(answer["data"])
        return LogRead.from_answer(answer)

    def catalog(self, backend: str | None = None, region: str | None = None) -> dict[str, Any]:
        return self._run(self.manager.catalog(backend or self.manager.default_backend, region))

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
    """The error's message in one line, with each field's own message the summary leaves out
    and what would be valid where a field says so."""
    fields = [
        f"{e.field}: {e.message}" for e in exc.errors if e.message and e.message not in exc.message
    ]
    hints = [f"{e.field}: try {', '.join(e.suggestions[:10])}" for e in exc.errors if e.suggestions]
    return "; ".join([exc.message, *fields, *hints])


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


def _job(answer: Any) -> Job:
    # A stored job is shown as it was accepted, even if today's rules would refuse its spec.
    return Job.model_validate(answer, context=STORED)


def _schedule(answer: Any) -> Schedule:
    return Schedule.model_validate(answer, context=STORED)


def _needs_server() -> MLPError:
    return MLPError.invalid(
        "schedule",
        "schedules are kept and fired by a running Jupyter server with jupyter-mlp, and none "
        "was found: start JupyterLab here, or name one with --url (MLP_SERVER_URL)",
    )


def _summary(answer: dict[str, Any]) -> JobSummary:
    # Servers from before summaries list whole jobs.
    if "spec" in answer:
        return JobSummary.from_job(_job(answer))
    return JobSummary.model_validate(answer)


def _same_content(model: dict[str, Any] | None, data: bytes) -> bool:
    if model is None or model.get("type") not in ("file", "notebook"):
        return False
    algorithm, digest = model.get("hash_algorithm"), model.get("hash")
    if algorithm and digest and algorithm in hashlib.algorithms_available:
        return bool(hashlib.new(algorithm, data).hexdigest() == digest)
    return bool(model.get("size") == len(data))  # a contents manager that does not hash
