"""A Google Cloud job service as a backend: what Vertex AI and Dataflow have in common.

Both run each job as a job of a Google API, found again by our job id in its labels; both
check their settings the same way, say Google's errors in Google's words, watch their active
jobs with one list call per place (a region, a project) a round, and read logs in threads.
A subclass says what differs: its settings, how one place is listed and one job observed,
how a job is started, cancelled and read. Google's libraries are imported lazily (by
`service.py` and the subclasses); their calls block, so they run in threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from importlib.util import find_spec
from typing import Any, ClassVar, TypeVar

from traitlets import Float, Unicode, default, observe

from ...core.models import Job
from ...jobfiles.bundle import JobFolder
from ..base import Backend, BackendStatus, Launch, LogChunk, Observation, Runtime, Tracked
from .cloud_logging import CloudLogSettings, LogReaders
from .errors import classify
from .preflight import PreflightSettings
from .service import GoogleCloud, local_http

R = TypeVar("R", bound=Runtime)

CREDENTIALS_MISSING = {
    "setting": "credentials",
    "message": "no Application Default Credentials: run `gcloud auth application-default "
    "login` or set GOOGLE_APPLICATION_CREDENTIALS to a key file (they are looked for again "
    "when needed: no restart)",
}


class GoogleCloudJobService(Backend[R], CloudLogSettings, PreflightSettings):
    """A backend whose jobs are jobs of a Google Cloud API (Vertex AI, Dataflow)."""

    # The settings shown in the status (after the project); those jobs cannot run without, as
    # (name, what it is, an example): the first, set, says the backend is meant to be used;
    # and the setting naming the API's endpoint (a local stand-in needs no credentials).
    shown_settings: ClassVar[tuple[str, ...]]
    required_settings: ClassVar[tuple[tuple[str, str, str], ...]]
    endpoint_setting: ClassVar[str]
    # The module whose absence means the backend is not installed, and what to say then.
    library: ClassVar[str]
    not_installed: ClassVar[str]

    project = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Google Cloud project of the jobs (default: Application Default Credentials').",
    )

    retry_initial_delay = Float(1.0, config=True, help="First wait before a retry (doubles).")

    @default("poll_interval")
    def _default_poll_interval(self) -> float:
        return 10.0

    @default("max_poll_interval")
    def _default_max_poll_interval(self) -> float:
        return 120.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cloud = GoogleCloud(self.project)

    @observe("project")
    def _project_changed(self, change: dict[str, Any]) -> None:
        self.cloud = GoogleCloud(change["new"])

    # ----- what a subclass says -----

    def _more_missing(self) -> list[dict[str, str]]:
        """Problems of the subclass's settings beyond a required one unset."""
        return []

    def _describe(self, project: str | None) -> str:
        """What the backend does, in the status of a configured one."""
        raise NotImplementedError

    def _start(self, job: Job, folder: JobFolder) -> Launch:
        raise NotImplementedError

    def _group(self, tracked: Tracked[R]) -> Hashable:
        """The place a job is listed in: jobs of one place are listed by one call a round."""
        raise NotImplementedError

    def _list_group(self, group: Any) -> dict[str, Any]:
        """The active jobs of a place, by a key `_observe` knows."""
        raise NotImplementedError

    def _observe(self, tracked: Tracked[R], listed: dict[str, Any]) -> Observation:
        raise NotImplementedError

    def _cancel(self, tracked: Tracked[R], force: bool) -> None:
        raise NotImplementedError

    def _read_log(
        self, tracked: Tracked[R], cursor: str | None, limit: int, tail: int | None
    ) -> LogChunk:
        raise NotImplementedError

    # ----- what the backend is -----

    def status(self) -> BackendStatus:
        settings = {"project": self.project}
        settings.update({name: getattr(self, name) for name in self.shown_settings})
        if find_spec(self.library) is None:
            return BackendStatus(
                name=self.name,
                available=False,
                configured=False,
                reason=self.not_installed,
                settings=settings,
                missing=self._not_installed_missing(),
            )
        missing = self._missing()
        if self._anchor() and not any(m["setting"] == "credentials" for m in missing):
            settings["project"] = self.cloud.project()
        return BackendStatus.installed(
            self.name, settings, missing, self._describe(settings["project"])
        )

    def _not_installed_missing(self) -> list[dict[str, str]]:
        return []

    def _missing(self) -> list[dict[str, str]]:
        """Every setting still needed before jobs can run, all at once: [{setting, message}].

        Until `_anchor` says the backend is meant to be used, credentials are judged without
        the network (looking for them may ask the Compute Engine metadata server)."""
        owner = type(self).__name__
        missing = [
            {"setting": f"{owner}.{name}", "message": f"set {what}, e.g. c.{owner}.{name} = {e!r}"}
            for name, what, e in self.required_settings
            if not getattr(self, name)
        ]
        missing += self._more_missing()
        # Google's libraries look only where credentials may be: no metadata server elsewhere.
        may_look = bool(self._anchor()) or self.cloud.credentials_may_exist()
        local = local_http(getattr(self, self.endpoint_setting))
        credentials = local or (may_look and self.cloud.has_credentials())
        if not credentials:
            missing.append(CREDENTIALS_MISSING)
        if not self.project and not (credentials and may_look and self.cloud.project()):
            setting = f"{type(self).__name__}.project"
            missing.append(
                {
                    "setting": setting,
                    "message": f"set the Google Cloud project, e.g. c.{setting} = "
                    "'my-project' (or GOOGLE_CLOUD_PROJECT): "
                    + ("the credentials name none" if credentials else "no credentials name one"),
                }
            )
        return missing

    def _require_settings(self) -> None:
        """Raise, naming every setting still needed, unless jobs can run."""
        missing = self._missing()
        if missing:
            raise RuntimeError("; ".join(f"{m['setting']}: {m['message']}" for m in missing))

    def _anchor(self) -> str:
        """The value of the first required setting: set, the backend is meant to be used."""
        return str(getattr(self, self.required_settings[0][0]) or "")

    def _project(self) -> str:
        project = self.cloud.project()
        if not project:
            name = type(self).__name__
            raise RuntimeError(f"{name}.project is not set and the credentials name none")
        return project

    # ----- the life of jobs -----

    async def start(self, job: Job, folder: JobFolder, active: list[Tracked[R]]) -> Launch:
        def start() -> Launch:
            try:
                return self._start(job, folder)
            except RuntimeError:
                raise
            except Exception as exc:  # an API error met on the way: Google's words, not a trace
                explained = classify(exc, self.project or self.cloud.project()).message
                raise RuntimeError(f"{self.capabilities.service}: {explained}") from exc

        return await asyncio.to_thread(start)

    async def poll(self, tracked: Tracked[R]) -> Observation:
        seen = (await self.poll_many([tracked]))[tracked.job.id]
        if isinstance(seen, Exception):
            raise seen
        return seen

    async def poll_many(self, tracked: list[Tracked[R]]) -> dict[str, Observation | Exception]:
        return await asyncio.to_thread(self._poll_many, tracked)

    def _poll_many(self, tracked: list[Tracked[R]]) -> dict[str, Observation | Exception]:
        # One list call per place for the round; a job not listed is asked for alone.
        groups: dict[Hashable, list[Tracked[R]]] = {}
        for item in tracked:
            groups.setdefault(self._group(item), []).append(item)
        seen: dict[str, Observation | Exception] = {}
        for group, items in groups.items():
            try:
                listed = self._list_group(group)
            except Exception as exc:
                seen.update({item.job.id: exc for item in items})
                continue
            for item in items:
                try:
                    seen[item.job.id] = self._observe(item, listed)
                except Exception as exc:
                    seen[item.job.id] = exc
        return seen

    async def cancel(self, tracked: Tracked[R], force: bool = False) -> None:
        await asyncio.to_thread(self._cancel, tracked, force)

    # ----- what jobs leave -----

    @cached_property
    def _log_readers(self) -> LogReaders:
        # One per backend: its jobs' followers (panels, CLIs, magics) share what it read.
        return LogReaders()

    async def read_log(
        self, tracked: Tracked[R], cursor: str | None, limit: int, tail: int | None = None
    ) -> LogChunk:
        return await asyncio.to_thread(self._read_log, tracked, cursor, limit, tail)

    def _settled_at(self, job: Job, settle_seconds: float) -> datetime | None:
        """When an ended job's log has stopped growing (Google shows the last entries late)."""
        return job.ended_at + timedelta(seconds=settle_seconds) if job.ended_at else None

    def _still_looking(self, since: datetime | None, window: float) -> bool:
        """Whether a job whose create may have happened is still looked for by its label:
        for `window` seconds from `since` (a create left unanswered, a submission given up)."""
        waited = (datetime.now(UTC) - (since or datetime.now(UTC))).total_seconds()
        return waited < window
