"""Answers about jobs: one job, pages of jobs, what backends offer, a job's log and outputs.

Open panels ask for the same list page every few seconds: pages read since the database last
changed are answered again without a read.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from ..backends.base import Backend, BackendStatus, Tracked
from ..catalog.cloud import catalog_view
from ..jobfiles.bundle import JobFolder
from .installed import InstalledBackends
from .models import Job, JobState, MLPError
from .offload import Offload
from .pricing import Pricing
from .store import ActiveJob, JobStore, Listed

LOG_READ_DEFAULT = 64 * 1024
LOG_READ_MAX = 4 * 1024 * 1024
# List pages kept for answering again while the database has not changed.
PAGES_KEPT = 32


def tracked_job(backend: Backend[Any], stored: ActiveJob) -> Tracked[Any]:
    """An active job as its backend knows it: with its folder and typed bookkeeping."""
    return Tracked(
        job=stored.job,
        folder=JobFolder(Path(stored.folder)),
        runtime=backend.runtime_model.model_validate(stored.runtime),
    )


class JobQueries:
    """Reads jobs and what their backends know of them; changes nothing."""

    def __init__(
        self,
        store: JobStore,
        installed: InstalledBackends,
        offload: Offload,
        pricing: Pricing,
        default_backend: str,
    ):
        self.store = store
        self.installed = installed
        self.offload = offload
        self.pricing = pricing
        self.default_backend = default_backend
        self._pages: dict[tuple[Any, ...], tuple[list[Listed], int | None]] = {}
        self._pages_version: int | None = None

    async def get(self, job_id: str) -> Job:
        """A job with its transitions and cost; 404 when there is none."""
        job = await self.offload.run(self.store.get, job_id)
        if job is None:
            raise MLPError(404, f"no job with id '{job_id}'")
        return self.pricing.with_cost(job)

    async def list_jobs(
        self,
        *,
        states: list[JobState] | None = None,
        backend: str | None = None,
        kind: str | None = None,
        name_prefix: str | None = None,
        search: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
        sweep_id: str | None = None,
        schedule_id: str | None = None,
    ) -> tuple[list[str], int | None]:
        """A page of jobs as summaries ready to send (see `JobManager.list_jobs`)."""
        key = (
            tuple(states or ()),
            backend,
            kind,
            name_prefix,
            search,
            limit,
            cursor,
            sweep_id,
            schedule_id,
        )
        version = self.store.changes()
        if version != self._pages_version:
            self._pages, self._pages_version = {}, version
        page = self._pages.get(key) if version is not None else None
        if page is None:
            page = await self.offload.run(
                partial(
                    self.store.find,
                    states=states or [],
                    backend=backend,
                    kind=kind,
                    name_prefix=name_prefix,
                    search=search,
                    limit=limit,
                    before_seq=cursor,
                    sweep_id=sweep_id,
                    schedule_id=schedule_id,
                )
            )
            if version is not None and version == self._pages_version:
                if len(self._pages) >= PAGES_KEPT:
                    del self._pages[next(iter(self._pages))]
                self._pages[key] = page
        jobs, next_cursor = page
        return [self.pricing.listed_cost(job) for job in jobs], next_cursor

    async def backend_statuses(self) -> list[BackendStatus]:
        """Each installed backend's status (which may ask a cloud for credentials: off the loop)."""

        def statuses() -> list[BackendStatus]:
            found = []
            for name, backend in sorted(self.installed.backends.items()):
                status = backend.status()
                status.default = name == self.default_backend
                status.capabilities = backend.capabilities
                status.outputs = backend.outputs_location()
                found.append(status)
            return found

        return await self.offload.run(statuses)

    async def catalog(self, backend_name: str, region: str | None = None) -> dict[str, Any]:
        """Machine types, accelerators and prices a backend offers (see `JobManager.catalog`)."""
        backend = self.installed.get(backend_name)
        try:
            if backend is None:
                if not self.pricing.priced(backend_name):
                    known = ", ".join(self.installed.known())
                    raise MLPError.invalid(
                        "backend", f"no catalog for '{backend_name}'; one of: {known}"
                    )
                return catalog_view(backend_name, region)
            active = await self.offload.run(self.store.active, backend_name)
            tracked = [tracked_job(backend, a) for a in active if a.launched]
            return await self.offload.run(backend.catalog, region, tracked)
        except ValueError as exc:
            raise MLPError.invalid("region" if region else "backend", str(exc)) from None

    async def tracked_by_id(self, backend: Backend[Any], job: Job) -> Tracked[Any] | None:
        """The job as its backend knows it; None before it has a folder."""
        folder = await self.offload.run(self.store.folder, job.id)
        if not folder:
            return None
        runtime = await self.offload.run(self.store.runtime, job.id)
        return Tracked(
            job=job,
            folder=JobFolder(Path(folder)),
            runtime=backend.runtime_model.model_validate(runtime),
        )

    async def list_outputs(self, job_id: str) -> dict[str, Any]:
        """The job's outputs as they are now, from its backend."""
        job = await self.get(job_id)
        backend = self.installed.of(job)
        tracked = await self.tracked_by_id(backend, job)
        listed = await backend.list_outputs(tracked) if tracked is not None else []
        return {"job_id": job.id, "outputs": listed}

    async def read_log(
        self,
        job_id: str,
        cursor: str | None = None,
        limit: int | None = None,
        tail: int | None = None,
    ) -> dict[str, Any]:
        """A piece of the job's log from an opaque cursor (the backend's), never the whole."""
        job = await self.get(job_id)
        backend = self.installed.of(job)
        tracked = await self.tracked_by_id(backend, job)
        if tracked is None:
            return {"data": "", "cursor": "", "next_cursor": "", "complete": True}
        limit = min(limit or LOG_READ_DEFAULT, LOG_READ_MAX)
        if tail is not None:
            tail = min(tail, LOG_READ_MAX)
        chunk = await backend.read_log(tracked, cursor or None, limit, tail)
        return chunk.to_json()
