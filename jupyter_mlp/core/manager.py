"""The JobManager: the one place that creates, watches, cancels and reruns jobs.

Every state change goes through `JobManager._move`, which stores the transition with its time
and tells listeners (the server's event bus). Backends only report what they observe.

Nothing here blocks the event loop it runs on (Jupyter Server's): store queries, file walks,
bundle writing and folder removal run in the manager's thread pool. Each backend is watched by
a task of its own, on the backend's own interval, and no lock is held across backend calls: the
guarded UPDATEs of the store make every state change safe, so a cancel never waits for a round.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from ..backends.base import Backend, BackendStatus, Launch, Observation, Tracked
from ..catalog.cloud import catalog_view, estimate_hourly_cost
from ..catalog.validation import normalize_cloud_resources
from ..jobfiles.bundle import (
    DEFAULT_MAX_INCLUDE_BYTES,
    JobFolder,
    SourcePlan,
    build_bundle,
    pack_bundle,
    plan_source,
)
from .models import (
    CLOUD_BACKENDS,
    KNOWN_BACKENDS,
    Cost,
    FieldError,
    Job,
    JobSpec,
    JobState,
    MLPError,
    Transition,
    default_job_name,
)
from .store import STORED, ActiveJob, JobStore, Listed
from .sweeps import SweepDriver, sweep_errors

StateListener = Callable[[Job, JobState | None], None]
T = TypeVar("T")

LOG_READ_DEFAULT = 64 * 1024
LOG_READ_MAX = 4 * 1024 * 1024
# Queued jobs a round considers for admission; the rest wait for later rounds.
ADMIT_BATCH = 64
# A claimed job whose launch was never recorded (its starter died) is started again after this:
# starting is idempotent on the job id, so this never makes a second job.
LAUNCH_GRACE_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
# List pages kept for answering again while the database has not changed.
PAGES_KEPT = 32
# Who a cancel through the API, the CLI or a magic is from (a cost cap would be another).
BY_YOU = "you"
# Times a round decides a job's move again after losing a race for it; a job changes state a
# few times in its life, so losing more often means the next round decides.
MOVE_TRIES = 4


def _times(job: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """When a listed job (JSON) started and ended."""
    return tuple(  # type: ignore[return-value]
        None if job[key] is None else datetime.fromisoformat(job[key])
        for key in ("started_at", "ended_at")
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobManager:
    """Creates jobs, drives them through their states and answers questions about them."""

    def __init__(
        self,
        store: JobStore,
        backends: Mapping[str, Backend[Any]],
        *,
        root_dir: Path,
        jobs_dir: Path,
        default_backend: str = "local",
        on_change: StateListener | None = None,
        poll_interval: float | None = None,
        cancel_grace_seconds: float | None = None,
        max_include_bytes: int = DEFAULT_MAX_INCLUDE_BYTES,
        log: logging.Logger | None = None,
    ):
        self.store = store
        self.backends = dict(backends)
        self.root_dir = root_dir.resolve()
        self.jobs_dir = jobs_dir.resolve()
        self.default_backend = default_backend
        self.on_change = on_change
        self.max_include_bytes = max_include_bytes
        self.log = log or logging.getLogger(__name__)
        # Server-wide settings given here override the backends' defaults, not their config.
        for backend in self.backends.values():
            if poll_interval is not None and not backend.trait_has_value("poll_interval"):
                backend.poll_interval = poll_interval
            if cancel_grace_seconds is not None and not backend.trait_has_value(
                "cancel_grace_seconds"
            ):
                backend.cancel_grace_seconds = cancel_grace_seconds
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="jupyter-mlp")
        self._wakes = {name: asyncio.Event() for name in self.backends}
        self._round_locks = {name: asyncio.Lock() for name in self.backends}
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeps = SweepDriver(self)
        self._pages: dict[tuple[Any, ...], tuple[list[Listed], int | None]] = {}
        self._pages_version: int | None = None
        for name, backend in self.backends.items():
            backend.bind(root_dir=self.root_dir, wake=partial(self._wake_threadsafe, name))

    # ----- life of the manager -----

    def start(self) -> None:
        """Reconcile jobs left by an earlier server and keep watching; needs a running loop."""
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        for name, backend in self.backends.items():
            self._tasks.append(self._loop.create_task(self._watch(name, backend)))

    async def stop(self) -> None:
        """Stop watching. Running jobs keep running; the next manager picks them up."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # A round stuck in a backend call must not hold up the server's shutdown.
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_SECONDS)
            if stuck:
                self.log.warning("jupyter-mlp: %d watcher(s) did not stop in time", len(stuck))
        self._tasks = []
        for backend in self.backends.values():
            backend.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _watch(self, name: str, backend: Backend[Any]) -> None:
        wake = self._wakes[name]
        errors = 0
        while True:
            try:
                ok = await self._round(name, backend)
            except Exception:  # a broken round must not stop the watching of every other job
                self.log.exception("jupyter-mlp: watching %s jobs failed; retrying", name)
                ok = False
            errors = 0 if ok else errors + 1
            # Back off after errors (a cloud API that is down is not asked twice a second).
            interval = min(backend.poll_interval * 2**errors, backend.max_poll_interval)
            try:
                await asyncio.wait_for(wake.wait(), max(interval, backend.poll_interval))
            except TimeoutError:
                pass
            wake.clear()

    async def tick(self) -> None:
        """One round for every backend at once: observe started jobs, start queued ones."""
        await asyncio.gather(*(self._round(n, b) for n, b in self.backends.items()))
        for job in await self._db(self.store.unfinished_elsewhere, list(self.backends)):
            await self._move(
                job,
                JobState.FAILED,
                f"backend '{job.backend}' is not installed",
                expected=job.state,
            )

    def _wake_threadsafe(self, backend: str) -> None:
        """Make a backend's watcher run a round now (callable from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            wake = self._wakes.get(backend)
            if wake is not None:
                self._loop.call_soon_threadsafe(wake.set)

    async def _round(self, name: str, backend: Backend[Any]) -> bool:
        """Observe a backend's started jobs, then start those of its queued jobs that fit.
        False when the backend could not be asked (so the watcher backs off)."""
        async with self._round_locks[name]:
            # A sweep driven as trial jobs runs no process: the sweep driver moves it.
            active = [
                a for a in await self._db(self.store.active, name) if not self._sweeps.drives(a.job)
            ]
            launched = [a for a in active if a.launched]
            ok = True
            ended: set[str] = set()
            if launched:
                tracked = [self._tracked(backend, a) for a in launched]
                seen = await backend.poll_many(tracked)
                for item, stored in zip(tracked, launched, strict=True):
                    result = seen.get(item.job.id)
                    if isinstance(result, Exception):
                        ok = False
                        self.log.warning(
                            "jupyter-mlp: could not look at job %s: %s", item.job.id, result
                        )
                    elif result is not None and await self._apply(backend, item, stored, result):
                        ended.add(item.job.id)
            others = [self._tracked(backend, a) for a in active if a.launched]
            for stored in active:
                if not stored.launched:
                    await self._restart_unrecorded(backend, stored, others)
            await self._sweeps.round(name)
            queued = [
                job
                for job in await self._db(self.store.queued, name, ADMIT_BATCH)
                if not self._sweeps.drives(job)
            ]
            if queued:
                running = [self._tracked(backend, a) for a in active if a.job.id not in ended]
                for job in backend.admit(queued, running):
                    started = await self._start(backend, job, running)
                    if started is not None:
                        running.append(started)
            return ok

    # ----- what people ask for -----

    async def submit(self, request: JobSpec | Mapping[str, Any]) -> Job:
        """Validate a spec, write its bundle and queue it; 400 with field errors when invalid."""
        return await self._db(self._submit, request)

    def _submit(
        self,
        request: JobSpec | Mapping[str, Any],
        sweep_id: str | None = None,
        trial: int | None = None,
    ) -> Job:
        checked = self._check_spec(request)
        checked.raise_for_errors()
        assert checked.spec is not None and checked.plan is not None
        spec = checked.spec
        folder = self._new_folder(spec)
        job_id = folder.path.name.rsplit("-", 1)[1]
        try:
            folder.create()
            backend = self.backends[spec.backend or self.default_backend]
            manifest = build_bundle(spec, checked.plan, folder.bundle, backend.bundle_args(spec))
        except BaseException:
            shutil.rmtree(folder.path, ignore_errors=True)
            raise
        now = utcnow()
        job = Job(
            id=job_id,
            name=spec.name or default_job_name(spec),
            kind=spec.kind,
            backend=spec.backend or self.default_backend,
            state=JobState.QUEUED,
            state_message="waiting to start",
            spec=spec,
            created_at=now,
            outputs=self._outputs(folder, manifest),
            transitions=[Transition(state=JobState.QUEUED, at=now, message="submitted")],
            sweep_id=sweep_id,
        )
        try:
            self.store.add(job, folder=str(folder.path), trial=trial)
        except BaseException:
            shutil.rmtree(folder.path, ignore_errors=True)
            raise
        self._notify(job, None)
        self._wake_threadsafe(job.backend)
        return job

    async def check_spec(self, request: JobSpec | Mapping[str, Any]) -> CheckedSpec:
        """Every problem of a spec at once (for the submit form), with the normalised spec."""
        return await self._db(self._check_spec, request)

    def _check_spec(self, request: JobSpec | Mapping[str, Any]) -> CheckedSpec:
        try:
            spec = request if isinstance(request, JobSpec) else JobSpec.model_validate(request)
        except ValidationError as exc:
            return CheckedSpec(None, None, MLPError.from_validation(exc).errors)
        backend_name = spec.backend or self.default_backend
        spec = spec.model_copy(update={"backend": backend_name})
        errors: list[FieldError] = []
        plan = None
        try:
            plan = plan_source(spec, self.root_dir, self.max_include_bytes)
        except MLPError as exc:
            errors.extend(exc.errors)
        if plan is not None and plan.parameters is not None:  # typed as the source's defaults
            spec = spec.model_copy(update={"parameters": plan.parameters})
        if plan is not None and "requirements" not in spec.model_fields_set:
            # The spec says what will be installed (the notebook's %pip packages), so a rerun
            # installs the same even if the notebook changed meanwhile.
            spec = spec.model_copy(update={"requirements": plan.requirements})
        errors.extend(sweep_errors(spec, backend_name, self.backends))
        backend = self.backends.get(backend_name)
        if backend is None:
            if backend_name in CLOUD_BACKENDS:
                # Not installed here, but its resources can still be checked (the form shows
                # where the choice is wrong before the backend is set up).
                spec, resource_errors = normalize_cloud_resources(spec)
                errors.extend(resource_errors)
            installed = ", ".join(sorted(self.backends))
            errors.append(
                FieldError(
                    field="backend",
                    message=f"backend '{backend_name}' is not installed; available: {installed}",
                    suggestions=sorted(self.backends),
                )
            )
            return CheckedSpec(spec, plan, errors)
        spec, resource_errors = backend.normalize(spec)
        errors.extend(resource_errors)

        status = backend.status()
        if not status.available:
            errors.append(
                FieldError(
                    field="backend", message=f"'{backend_name}' is not available: {status.reason}"
                )
            )
        errors.extend(backend.validate(spec, plan))
        return CheckedSpec(spec, plan, errors)

    async def preview(self, request: JobSpec | Mapping[str, Any]) -> dict[str, Any]:
        """What submitting would run: mode, parameters, requirements, script, bundle manifest."""
        return await self._db(self._preview, request)

    def _preview(self, request: JobSpec | Mapping[str, Any]) -> dict[str, Any]:
        checked = self._check_spec(request)
        checked.raise_for_errors()
        assert checked.spec is not None and checked.plan is not None
        plan = checked.plan
        with tempfile.TemporaryDirectory() as tmp:
            backend = self.backends[checked.spec.backend or self.default_backend]
            manifest = build_bundle(
                checked.spec, plan, Path(tmp), backend.bundle_args(checked.spec)
            )
            digest = hashlib.sha256(pack_bundle(Path(tmp))).hexdigest()
        info = plan.notebook
        return {
            "mode": plan.mode,
            "kernel_name": info.kernel_name if info else None,
            "parameters": [asdict(p) for p in info.parameters] if info else [],
            "detected_requirements": info.requirements if info else [],
            "magic_cells": info.magic_cells if info else [],
            "script": plan.text if plan.mode == "script" and plan.source_file is None else None,
            "manifest": manifest,
            "bundle_sha256": digest,
        }

    async def backend_statuses(self) -> list[BackendStatus]:
        """Each installed backend's status (which may ask a cloud for credentials: off the loop)."""

        def statuses() -> list[BackendStatus]:
            found = []
            for name, backend in sorted(self.backends.items()):
                status = backend.status()
                status.default = name == self.default_backend
                status.capabilities = backend.capabilities
                found.append(status)
            return found

        return await self._db(statuses)

    def estimate(self, spec: JobSpec) -> dict[str, Any] | None:
        """Estimated hourly cost of a job by list prices; None locally or when unknown."""
        backend = self.backends.get(spec.backend or self.default_backend)
        if backend is not None:
            return backend.estimate(spec)
        if spec.backend in CLOUD_BACKENDS:
            return estimate_hourly_cost(spec.backend, spec.resources.model_dump(), spec.region)
        return None

    async def catalog(self, backend_name: str, region: str | None = None) -> dict[str, Any]:
        """Machine types, accelerators and prices a backend offers; for `local`, this machine."""
        backend = self.backends.get(backend_name)
        try:
            if backend is None:
                if backend_name not in CLOUD_BACKENDS:
                    known = ", ".join(sorted({*KNOWN_BACKENDS, *self.backends}))
                    raise MLPError.invalid(
                        "backend", f"no catalog for '{backend_name}'; one of: {known}"
                    )
                return catalog_view(backend_name, region)
            active = await self._db(self.store.active, backend_name)
            tracked = [self._tracked(backend, a) for a in active if a.launched]
            return await self._db(backend.catalog, region, tracked)
        except ValueError as exc:
            raise MLPError.invalid("region" if region else "backend", str(exc)) from None

    async def get(self, job_id: str) -> Job:
        job = await self._db(self.store.get, job_id)
        if job is None:
            raise MLPError(404, f"no job with id '{job_id}'")
        return self._with_cost(job)

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
    ) -> tuple[list[str], int | None]:
        """A page of jobs, newest first, as summaries ready to send (JSON text, shaped as
        `Job`): the spec without its code or parameters, no transitions (`get` has those).
        Top-level jobs, or with `sweep_id` the trial jobs of that sweep."""
        # Open panels ask for the same page every few seconds: the pages read since the
        # database last changed (by anyone: `changes`) are answered again without a read.
        key = (tuple(states or ()), backend, kind, name_prefix, search, limit, cursor, sweep_id)
        version = self.store.changes()
        if version != self._pages_version:
            self._pages, self._pages_version = {}, version
        page = self._pages.get(key) if version is not None else None
        if page is None:
            page = await self._db(
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
                )
            )
            if version is not None and version == self._pages_version:
                if len(self._pages) >= PAGES_KEPT:
                    del self._pages[next(iter(self._pages))]
                self._pages[key] = page
        jobs, next_cursor = page
        return [self._listed_cost(job) for job in jobs], next_cursor

    def _listed_cost(self, listed: Listed) -> str:
        """A listed job (JSON text), with its cost if its backend has prices."""
        if not self._priced(listed.backend):
            return listed.json
        job = json.loads(listed.json)
        spec = JobSpec.model_validate(job["spec"], context=STORED)
        cost = self._cost(spec, listed.backend, *_times(job))
        job["cost"] = None if cost is None else cost.model_dump(mode="json")
        return json.dumps(job)

    async def cancel(self, job_id: str, by: str = BY_YOU) -> Job:
        """Ask a job to stop: QUEUED ends at once, a started one goes through CANCELLING and
        ends CANCELLED. `by` names who asked; the job says so ("Cancelled by you at 10:42")."""
        job = await self.get(job_id)
        if job.state.terminal:
            raise MLPError(409, f"job '{job_id}' already ended ({job.state.value})")
        now = utcnow()
        asked = {"cancel_requested_at": now, "cancelled_by": by}
        # Every move is guarded by the state it starts from; a round may move the job in
        # between (QUEUED -> STARTING -> RUNNING), so look again and retry from where it is.
        while not job.state.terminal and job.state is not JobState.CANCELLING:
            if job.state is JobState.QUEUED:
                if await self._move(
                    job,
                    JobState.CANCELLED,
                    f"{cancelled_by(by, now)}, before it started",
                    expected=job.state,
                    **asked,
                ):
                    return await self.get(job_id)
            elif await self._move(
                job,
                JobState.CANCELLING,
                f"cancel requested by {by} at {clock(now)}",
                expected=job.state,
                **asked,
            ):
                backend = self.backends.get(job.backend)
                tracked = await self._tracked_by_id(backend, job) if backend else None
                if backend is not None and tracked is not None:
                    await backend.cancel(tracked)
                break
            job = await self.get(job_id)
        self._wake_threadsafe(job.backend)
        return await self.get(job_id)

    async def drain(self, job_id: str) -> Job:
        """Ask a running streaming pipeline to drain: it stops reading its input, finishes what
        it read, then ends CANCELLED (its backend state saying drained). Only a backend with a
        `drain` (Dataflow) drains, and only its running streaming jobs."""
        job = await self.get(job_id)
        backend = self.backends.get(job.backend)
        drain = getattr(backend, "drain", None)
        what = "only a running streaming pipeline on dataflow drains"
        if backend is None or drain is None:
            raise MLPError.conflict("drain", f"{what}; this job runs on '{job.backend}': cancel it")
        if job.state is not JobState.RUNNING:
            raise MLPError.conflict("drain", f"{what}; this job is {job.state.value}")
        tracked = await self._tracked_by_id(backend, job)
        if tracked is None:
            raise MLPError.conflict("drain", f"{what}; this job has not started")
        try:
            await drain(tracked)
        except RuntimeError as exc:  # the backend's reason this job cannot drain
            raise MLPError.conflict("drain", f"{what}: {exc}") from None
        except Exception as exc:  # the cloud could not be asked now: not the caller's mistake
            raise MLPError(502, f"{job.backend} could not be asked to drain: {exc}") from None
        # No cancel_requested_at: a drain takes as long as the job needs, and is never turned
        # into a cancel after cancel_grace_seconds.
        await self._move(job, JobState.CANCELLING, "drain requested", expected=JobState.RUNNING)
        self._wake_threadsafe(job.backend)
        return await self.get(job_id)

    async def progress(self, job_id: str) -> dict[str, Any]:
        """Elements each step of a pipeline put out so far, from a backend that counts them:
        {job_id, steps: [{step, elements}], note}."""
        job = await self.get(job_id)
        backend = self._backend_of(job)
        progress = getattr(backend, "progress", None)
        if progress is None:
            note = f"the {job.backend} backend reports no progress per step"
            return {"job_id": job.id, "steps": [], "note": note}
        tracked = await self._tracked_by_id(backend, job)
        steps: list[dict[str, Any]] = []
        note = ""
        try:
            if tracked is not None:
                steps = await progress(tracked)
        except Exception as exc:  # a cloud that cannot answer now is not the caller's error
            note = f"progress could not be read now: {exc}"
        if not steps and not note:
            note = "no step has reported a count yet"
        return {"job_id": job.id, "steps": steps, "note": note}

    async def rerun(self, job_id: str) -> Job:
        """A new job with the same spec (the source is read again as it is now)."""
        # As a new request, checked by today's rules (a stored spec was checked by its day's).
        return await self.submit((await self.get(job_id)).spec.model_dump(mode="json"))

    async def delete(self, job_id: str) -> None:
        """Forget an ended job and remove its folder."""
        job = await self.get(job_id)
        if not job.state.terminal:
            raise MLPError(409, f"job '{job_id}' is {job.state.value}; cancel it before deleting")
        if job.sweep_id is not None:
            sweep = await self._db(self.store.get, job.sweep_id)
            if sweep is not None and not sweep.state.terminal:
                raise MLPError(
                    409, f"job '{job_id}' is a trial of sweep '{sweep.id}', which is running"
                )
        for trial_folder in await self._db(self.store.trial_folders, job_id):
            if Path(trial_folder).resolve().is_relative_to(self.jobs_dir):
                await self._db(shutil.rmtree, trial_folder, True)
        await self._db(self.store.delete_trials, job_id)
        folder = await self._db(self.store.folder, job_id)
        await self._db(self.store.delete, job_id)
        if folder and Path(folder).resolve().is_relative_to(self.jobs_dir):
            await self._db(shutil.rmtree, folder, True)

    async def list_outputs(self, job_id: str) -> dict[str, Any]:
        """The job's outputs as they are now (from its backend): which exist, their sizes, the
        files of output folders (capped), local paths or cloud URIs."""
        job = await self.get(job_id)
        backend = self._backend_of(job)
        tracked = await self._tracked_by_id(backend, job)
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
        backend = self._backend_of(job)
        tracked = await self._tracked_by_id(backend, job)
        if tracked is None:
            return {"data": "", "cursor": "", "next_cursor": "", "complete": True}
        limit = min(limit or LOG_READ_DEFAULT, LOG_READ_MAX)
        if tail is not None:
            tail = min(tail, LOG_READ_MAX)
        chunk = await backend.read_log(tracked, cursor or None, limit, tail)
        return chunk.to_json()

    # ----- internals -----

    async def _db(self, function: Callable[..., T], *args: Any) -> T:
        """Run something that blocks (the store, the file system) off the event loop."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop  # listeners are told on this loop, whichever thread moved a job
        return await loop.run_in_executor(self._pool, function, *args)

    def _backend_of(self, job: Job) -> Backend[Any]:
        backend = self.backends.get(job.backend)
        if backend is None:
            raise MLPError(409, f"job '{job.id}' ran on '{job.backend}', not installed here")
        return backend

    def _tracked(self, backend: Backend[Any], stored: ActiveJob) -> Tracked[Any]:
        return Tracked(
            job=stored.job,
            folder=JobFolder(Path(stored.folder)),
            runtime=backend.runtime_model.model_validate(stored.runtime),
        )

    async def _tracked_by_id(self, backend: Backend[Any], job: Job) -> Tracked[Any] | None:
        folder = await self._db(self.store.folder, job.id)
        if not folder:
            return None
        runtime = await self._db(self.store.runtime, job.id)
        return Tracked(
            job=job,
            folder=JobFolder(Path(folder)),
            runtime=backend.runtime_model.model_validate(runtime),
        )

    async def _start(
        self, backend: Backend[Any], job: Job, running: list[Tracked[Any]]
    ) -> Tracked[Any] | None:
        # Claim the job first: of several managers sharing the database, only one starts it.
        if not await self._move(
            job, JobState.STARTING, "starting", expected=JobState.QUEUED, started_at=utcnow()
        ):
            return None
        claimed = job.model_copy(update={"state": JobState.STARTING})
        folder = await self._db(self.store.folder, job.id)
        return await self._launch(backend, claimed, JobFolder(Path(folder or "")), running)

    async def _launch(
        self, backend: Backend[Any], job: Job, folder: JobFolder, running: list[Tracked[Any]]
    ) -> Tracked[Any] | None:
        """Start a claimed job; `running`: the backend's other active jobs (for its GPUs)."""
        running = [t for t in running if t.job.id != job.id]
        try:
            launch = await backend.start(job, folder, running)
        except Exception as exc:
            self.log.warning("jupyter-mlp: job %s could not start: %s", job.id, exc)
            # Decided like an observation: a job cancelled meanwhile ends CANCELLED.
            seen = Observation(JobState.FAILED, message=f"could not start: {exc}")
            for stored in await self._db(self.store.active, job.backend, job.id):
                await self._settle(stored, seen)
            return None
        await self._record_launch(job, launch)
        tracked = Tracked(job=job, folder=folder, runtime=launch.runtime)
        current = await self._db(self.store.get, job.id)
        if current is not None and current.state is JobState.CANCELLING:
            # Cancelled while it was being started: the backend hears of it now.
            await backend.cancel(tracked)
        return tracked

    async def _record_launch(self, job: Job, launch: Launch) -> None:
        await self._db(
            partial(
                self.store.record_launch,
                job.id,
                launch.runtime.model_dump(mode="json"),
                utcnow(),
                backend_job_id=launch.backend_job_id,
                console_url=launch.console_url,
                outputs={**job.outputs, **launch.outputs},
            )
        )

    async def _restart_unrecorded(
        self, backend: Backend[Any], stored: ActiveJob, running: list[Tracked[Any]]
    ) -> None:
        """A job claimed by a manager that died before recording its launch: start it again
        (idempotent on the job id, so a job that did start is found, not doubled)."""
        claimed_at = stored.job.started_at
        if claimed_at is None or (utcnow() - claimed_at).total_seconds() < LAUNCH_GRACE_SECONDS:
            return
        self.log.info("jupyter-mlp: job %s was claimed, never recorded; starting it", stored.job.id)
        await self._launch(backend, stored.job, JobFolder(Path(stored.folder)), running)

    async def _apply(
        self, backend: Backend[Any], tracked: Tracked[Any], stored: ActiveJob, seen: Observation
    ) -> bool:
        """Map what the backend saw onto the job's state machine; True when the job ended."""
        updates = seen.updates()
        if seen.backend_state == stored.job.backend_state:
            updates.pop("backend_state", None)
        if updates:  # not the state: those fields are right whatever state the job is in
            await self._db(partial(self.store.set_fields, stored.job.id, **updates))
        current = await self._settle(stored, seen)
        if current is None:
            return True
        requested = current.cancel_requested_at
        if (
            current.job.state is JobState.CANCELLING
            and requested is not None
            and current.force_cancel_at is None
            and (utcnow() - requested).total_seconds() > backend.cancel_grace_seconds
            and await self._db(self.store.claim_force_cancel, current.job.id, utcnow())
        ):
            await backend.cancel(tracked, force=True)
        return False

    async def _settle(self, stored: ActiveJob, seen: Observation) -> ActiveJob | None:
        """Move a started job as what its backend saw says, from the state it is in: the move
        is guarded by the state it was decided from, and a move that lost a race (a cancel
        came first) is decided again from the job as it is now, never applied over it.
        The job as it is after the move (None once it ended)."""
        current: ActiveJob | None = stored
        for _ in range(MOVE_TRIES):
            assert current is not None
            decided = _decide(current, seen)
            if decided is None:
                return current
            target, message = decided
            job = current.job
            moved = await self._move(
                job, target, message, expected=job.state, backend_state=seen.backend_state
            )
            found = await self._db(self.store.active, job.backend, job.id)
            current = found[0] if found else None
            if current is None:  # ended, by this move or by another's
                return None
            if moved:
                return current
        self.log.info("jupyter-mlp: job %s changed under every try; next round", stored.job.id)
        return current

    async def _move(
        self,
        job: Job,
        state: JobState,
        message: str,
        *,
        expected: JobState,
        **fields: Any,
    ) -> bool:
        """The single place a job's state changes; terminal states never change again.

        The move happens only from `expected`, the state it was decided from (compare-and-set
        in the store). True when the job moved; False when it is in another state by now.
        """
        now = utcnow()
        if state.terminal:
            fields.setdefault("ended_at", now)

        def move() -> Job | None:
            if not self.store.transition(job.id, state, now, message, expected, **fields):
                return None
            return self.store.get(job.id)

        updated = await self._db(move)
        if updated is None:
            return False
        self._notify(updated, job.state)
        return True

    def _notify(self, job: Job, previous: JobState | None) -> None:
        if self.on_change is None:
            return
        if self._loop is not None and self._loop.is_running():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not self._loop:  # from a pool thread: tell listeners on the loop
                self._loop.call_soon_threadsafe(self._call_listener, job, previous)
                return
        self._call_listener(job, previous)

    def _call_listener(self, job: Job, previous: JobState | None) -> None:
        assert self.on_change is not None
        try:
            self.on_change(job, previous)
        except Exception:
            self.log.exception("jupyter-mlp: a job state listener failed")

    def _new_folder(self, spec: JobSpec) -> JobFolder:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", spec.name or default_job_name(spec)).strip("-.")
        return JobFolder(self.jobs_dir / f"{slug[:60] or 'job'}-{uuid.uuid4().hex[:12]}")

    def _outputs(self, folder: JobFolder, manifest: dict[str, Any]) -> dict[str, str]:
        def shown(path: Path) -> str:
            # Paths relative to the root dir open in JupyterLab; others are shown as they are.
            return (
                path.relative_to(self.root_dir).as_posix()
                if path.is_relative_to(self.root_dir)
                else str(path)
            )

        outputs = {
            "folder": shown(folder.path),
            "log": shown(folder.log),
            "model_dir": shown(folder.model_dir),
        }
        if "output_notebook" in manifest:
            outputs["executed_notebook"] = shown(folder.path / manifest["output_notebook"])
        return outputs

    def _with_cost(self, job: Job) -> Job:
        """The job with its estimated cost, for jobs on a backend with list prices."""
        if not self._priced(job.backend):
            return job
        cost = self._cost(job.spec, job.backend, job.started_at, job.ended_at)
        return job if cost is None else job.model_copy(update={"cost": cost})

    def _priced(self, backend_name: str) -> bool:
        """Whether jobs on this backend have list prices (a cloud's, installed or not)."""
        backend = self.backends.get(backend_name)
        if backend is None:
            return backend_name in CLOUD_BACKENDS
        return type(backend).estimate is not Backend.estimate

    def _cost(
        self,
        spec: JobSpec,
        backend_name: str,
        started_at: datetime | None,
        ended_at: datetime | None,
    ) -> Cost | None:
        estimate = self.estimate(spec.model_copy(update={"backend": backend_name}))
        if estimate is None:
            return None
        hours = 0.0
        if started_at is not None:
            hours = ((ended_at or utcnow()) - started_at).total_seconds() / 3600
        return Cost(
            usd_per_hour=estimate["usd_per_hour"],
            usd_so_far=round(estimate["usd_per_hour"] * hours, 4),
            prices_as_of=estimate["as_of"],
        )


def clock(at: datetime) -> str:
    """A time as the server's clock shows it (10:42): the machine the CLI and kernels run on."""
    return at.astimezone().strftime("%H:%M")


def cancelled_by(by: str, at: datetime) -> str:
    """What a job cancelled by `by` at `at` says it ended with."""
    return f"Cancelled by {by} at {clock(at)}"


def _decide(current: ActiveJob, seen: Observation) -> tuple[JobState, str] | None:
    """The state (and message) a started job moves to, from the state it is in now and what
    its backend saw; None when it stays. A cancel is never undone: a job CANCELLING goes on
    only to CANCELLED, or to SUCCEEDED when it finished before the cancel reached it."""
    state, target, message = current.job.state, seen.state, seen.message
    if target is None or target is state:
        return None
    if state is not JobState.CANCELLING:
        return target, message
    if not target.terminal:  # a look taken before the cancel, answered after it
        return None
    requested = current.cancel_requested_at
    by = current.cancelled_by or BY_YOU
    if target is JobState.SUCCEEDED:
        if requested is None:  # a drained pipeline that finished its input
            return target, message
        return target, f"finished before the cancel by {by} at {clock(requested)} took effect"
    if requested is None:  # a drain: ended as the backend says
        return JobState.CANCELLED, message or "cancelled"
    if target is JobState.CANCELLED and message and not message.lower().startswith("cancel"):
        # How the backend stopped it (a Dataflow drain) says more than that it was cancelled.
        return target, f"{cancelled_by(by, requested)} ({message})"
    # A job killed by the cancel's signal (or whose kernel died of it) was cancelled, not failed:
    # the backend's words ("killed by signal 15") stay in its backend_state.
    return JobState.CANCELLED, cancelled_by(by, requested)


@dataclass
class CheckedSpec:
    """A spec with its backend resolved and its source planned, and every problem found."""

    spec: JobSpec | None
    plan: SourcePlan | None
    errors: list[FieldError]

    @property
    def valid(self) -> bool:
        """Runnable: no problem but warnings."""
        return not any(e.blocking for e in self.errors)

    def raise_for_errors(self) -> None:
        if not self.valid or self.spec is None or self.plan is None:
            blocking = [e for e in self.errors if e.blocking]
            summary = "; ".join(f"{e.field}: {e.message}" for e in blocking)
            raise MLPError(400, f"invalid job spec: {summary}", blocking)
