"""The JobManager: the one place that creates, watches, cancels and reruns jobs.

Every state change goes through `JobManager._move`, which stores the transition with its time
and tells listeners (the server's event bus). Backends only report what they observe.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .backends.base import Backend, Observation
from .backends.local import LocalBackend
from .bundle import (
    DEFAULT_MAX_INCLUDE_BYTES,
    JobFolder,
    SourcePlan,
    build_bundle,
    pack_bundle,
    plan_source,
)
from .catalog.cloud import BACKENDS as CLOUD_BACKENDS
from .catalog.cloud import catalog_view, estimate_hourly_cost
from .catalog.validation import normalize_cloud_resources
from .models import Cost, FieldError, Job, JobSpec, JobState, MLPError, Transition
from .store import JobStore

StateListener = Callable[[Job, JobState | None], None]

LOG_READ_DEFAULT = 64 * 1024
LOG_READ_MAX = 4 * 1024 * 1024
OUTPUT_FILES_LISTED = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobManager:
    """Creates jobs, drives them through their states and answers questions about them."""

    def __init__(
        self,
        store: JobStore,
        backends: Mapping[str, Backend],
        *,
        root_dir: Path,
        jobs_dir: Path,
        default_backend: str = "local",
        on_change: StateListener | None = None,
        poll_interval: float = 0.5,
        cancel_grace_seconds: float = 10.0,
        max_include_bytes: int = DEFAULT_MAX_INCLUDE_BYTES,
        log: logging.Logger | None = None,
    ):
        self.store = store
        self.backends = dict(backends)
        self.root_dir = root_dir.resolve()
        self.jobs_dir = jobs_dir.resolve()
        self.default_backend = default_backend
        self.on_change = on_change
        self.poll_interval = poll_interval
        self.cancel_grace_seconds = cancel_grace_seconds
        self.max_include_bytes = max_include_bytes
        self.log = log or logging.getLogger(__name__)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None

    # ----- life of the manager -----

    def start(self) -> None:
        """Reconcile jobs left by an earlier server and keep watching; needs a running loop."""
        if self._loop_task is None:
            self._loop_task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        """Stop watching. Running jobs keep running; the next manager picks them up."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            try:
                await self._loop_task
            except asyncio.CancelledError:
                pass
            self._loop_task = None
        for backend in self.backends.values():
            backend.close()

    async def _watch(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a broken round must not stop the watching of every other job
                self.log.exception("jupyter-mlp: watching jobs failed; retrying")
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            except TimeoutError:
                pass
            self._wake.clear()

    async def tick(self) -> None:
        """One round: look at every started job, then start the queued jobs that fit."""
        async with self._lock:
            for job, runtime in self.store.unfinished():
                if job.state.active:
                    await self._observe(job, runtime)
            unfinished = self.store.unfinished()
            for name, backend in self.backends.items():
                queued = [
                    j for j, _ in unfinished if j.backend == name and j.state is JobState.QUEUED
                ]
                if not queued:
                    continue
                active = [(j, r) for j, r in unfinished if j.backend == name and j.state.active]
                runtimes = {j.id: r for j, r in unfinished}
                for job in backend.admit(queued, active):
                    await self._start(backend, job, runtimes[job.id], active)
                    active.append((job, runtimes[job.id]))
            for job, _ in unfinished:
                if job.backend not in self.backends:
                    self._move(job, JobState.FAILED, f"backend '{job.backend}' is not installed")

    # ----- what people ask for -----

    async def submit(self, request: JobSpec | Mapping[str, Any]) -> Job:
        """Validate a spec, write its bundle and queue it; 400 with field errors when invalid."""
        checked = self.check_spec(request)
        checked.raise_for_errors()
        assert checked.spec is not None and checked.plan is not None
        spec = checked.spec
        folder = self._new_folder(spec)
        job_id = folder.path.name.rsplit("-", 1)[1]
        try:
            folder.create()
            manifest = build_bundle(spec, checked.plan, folder.bundle)
        except BaseException:
            shutil.rmtree(folder.path, ignore_errors=True)
            raise
        now = utcnow()
        job = Job(
            id=job_id,
            name=spec.name or _default_name(spec),
            kind=spec.kind,
            backend=spec.backend or self.default_backend,
            state=JobState.QUEUED,
            state_message="waiting to start",
            spec=spec,
            created_at=now,
            outputs=self._outputs(folder, manifest),
            transitions=[Transition(state=JobState.QUEUED, at=now, message="submitted")],
        )
        self.store.add(job, runtime={"folder": str(folder.path)})
        self._notify(job, None)
        self._wake.set()
        return job

    def check_spec(self, request: JobSpec | Mapping[str, Any]) -> CheckedSpec:
        """Every problem of a spec at once (for the submit form), with the normalised spec."""
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
        if plan is not None and "requirements" not in spec.model_fields_set:
            # The spec says what will be installed (the notebook's %pip packages), so a rerun
            # installs the same even if the notebook changed meanwhile.
            spec = spec.model_copy(update={"requirements": plan.requirements})
        if backend_name in CLOUD_BACKENDS:
            spec, resource_errors = normalize_cloud_resources(spec)
            errors.extend(resource_errors)
        backend = self.backends.get(backend_name)
        if backend is None:
            installed = ", ".join(sorted(self.backends))
            errors.append(
                FieldError(
                    field="backend",
                    message=f"backend '{backend_name}' is not installed; available: {installed}",
                    suggestions=sorted(self.backends),
                )
            )
            return CheckedSpec(spec, plan, errors)
        status = backend.status()
        if not status.available:
            errors.append(
                FieldError(
                    field="backend", message=f"'{backend_name}' is not available: {status.reason}"
                )
            )
        errors.extend(backend.validate(spec, plan))
        return CheckedSpec(spec, plan, errors)

    def preview(self, request: JobSpec | Mapping[str, Any]) -> dict[str, Any]:
        """What submitting would run: mode, parameters, requirements, script, bundle manifest."""
        checked = self.check_spec(request)
        checked.raise_for_errors()
        assert checked.spec is not None and checked.plan is not None
        plan = checked.plan
        with tempfile.TemporaryDirectory() as tmp:
            manifest = build_bundle(checked.spec, plan, Path(tmp))
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

    def estimate(self, spec: JobSpec) -> dict[str, Any] | None:
        """Estimated hourly cost of a cloud job (list prices); None locally or when unknown."""
        if spec.backend not in CLOUD_BACKENDS:
            return None
        return estimate_hourly_cost(spec.backend, spec.resources.model_dump(), spec.region)

    def catalog(self, backend: str, region: str | None = None) -> dict[str, Any]:
        """Machine types, accelerators and prices a backend offers; for `local`, this machine."""
        if backend in CLOUD_BACKENDS:
            try:
                return catalog_view(backend, region)
            except ValueError as exc:
                raise MLPError.invalid("region" if region else "backend", str(exc)) from None
        local = self.backends.get(backend)
        if not isinstance(local, LocalBackend):
            known = ", ".join(sorted({*CLOUD_BACKENDS, "local"}))
            raise MLPError.invalid("backend", f"no catalog for '{backend}'; one of: {known}")
        holders = {
            gpu: job.id
            for job, runtime in self.store.unfinished()
            if job.backend == backend and job.state.active
            for gpu in runtime.get("gpus", [])
        }
        return local.inventory(holders)

    def get(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise MLPError(404, f"no job with id '{job_id}'")
        return _with_cost(job)

    def list_jobs(
        self,
        *,
        states: list[JobState] | None = None,
        backend: str | None = None,
        kind: str | None = None,
        name_prefix: str | None = None,
        search: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> tuple[list[Job], int | None]:
        jobs, next_cursor = self.store.find(
            states=states or [],
            backend=backend,
            kind=kind,
            name_prefix=name_prefix,
            search=search,
            limit=limit,
            before_seq=cursor,
        )
        return [_with_cost(job) for job in jobs], next_cursor

    async def cancel(self, job_id: str) -> Job:
        """Ask a job to stop: QUEUED ends at once, a started one goes through CANCELLING."""
        async with self._lock:
            job = self.get(job_id)
            if job.state.terminal:
                raise MLPError(409, f"job '{job_id}' already ended ({job.state.value})")
            if job.state is JobState.QUEUED:
                self._move(job, JobState.CANCELLED, "cancelled before it started")
            elif job.state is not JobState.CANCELLING:
                self._move(job, JobState.CANCELLING, "cancel requested")
                await self.backends[job.backend].cancel(job, self.store.runtime(job_id))
        self._wake.set()
        return self.get(job_id)

    async def rerun(self, job_id: str) -> Job:
        """A new job with the same spec (the source is read again as it is now)."""
        return await self.submit(self.get(job_id).spec)

    async def delete(self, job_id: str) -> None:
        """Forget an ended job and remove its folder."""
        async with self._lock:
            job = self.get(job_id)
            if not job.state.terminal:
                raise MLPError(
                    409, f"job '{job_id}' is {job.state.value}; cancel it before deleting"
                )
            folder = self._folder(job_id)
            if folder is not None and folder.path.is_relative_to(self.jobs_dir):
                shutil.rmtree(folder.path, ignore_errors=True)
            self.store.delete(job_id)

    def list_outputs(self, job_id: str) -> dict[str, Any]:
        """The job's outputs as they are on disk now: which exist, their sizes, and the files
        of the output folders (the model), so a client can offer what there is to open."""
        job = self.get(job_id)
        listed = []
        for name, shown in job.outputs.items():
            path = Path(shown) if Path(shown).is_absolute() else self.root_dir / shown
            entry: dict[str, Any] = {"name": name, "path": shown, "exists": path.exists()}
            if path.is_dir():
                files = sorted(p for p in path.rglob("*") if p.is_file() and ".mlp" not in p.parts)
                entry.update(
                    type="directory",
                    size=sum(p.stat().st_size for p in files),
                    files=[p.relative_to(path).as_posix() for p in files[:OUTPUT_FILES_LISTED]],
                    file_count=len(files),
                )
            else:
                entry.update(type="file", size=path.stat().st_size if path.exists() else 0)
            listed.append(entry)
        return {"job_id": job.id, "outputs": listed}

    def read_log(
        self,
        job_id: str,
        offset: int | None = None,
        limit: int | None = None,
        tail: int | None = None,
    ) -> dict[str, Any]:
        """A byte range of the job's log, read without loading the rest of the file."""
        job = self.get(job_id)
        folder = self._folder(job_id)
        path = folder.log if folder else None
        size = path.stat().st_size if path and path.exists() else 0
        limit = min(limit or LOG_READ_DEFAULT, LOG_READ_MAX)
        if tail is not None:
            offset = max(0, size - tail)
            limit = min(tail, LOG_READ_MAX)
        offset = min(offset or 0, size)
        data = b""
        if path and offset < size:
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read(min(limit, size - offset))
        if tail is not None:
            # Start on a character boundary: skip UTF-8 continuation bytes.
            skip = next((i for i, b in enumerate(data[:4]) if b & 0xC0 != 0x80), 0)
            offset, data = offset + skip, data[skip:]
        data = _trim_partial_utf8(data)
        next_offset = offset + len(data)
        return {
            "data": data.decode("utf-8", errors="replace"),
            "offset": offset,
            "next_offset": next_offset,
            "size": size,
            "complete": job.state.terminal and next_offset >= size,
        }

    # ----- internals -----

    async def _start(
        self,
        backend: Backend,
        job: Job,
        runtime: dict[str, Any],
        active: list[tuple[Job, dict[str, Any]]],
    ) -> None:
        # Claim the job first: of several managers sharing the database, only one starts it.
        if not self._move(
            job, JobState.STARTING, "starting", expected=JobState.QUEUED, started_at=utcnow()
        ):
            return
        claimed = job.model_copy(update={"state": JobState.STARTING})
        folder = JobFolder(Path(runtime["folder"]))
        try:
            launch = await backend.start(job, folder, active)
        except Exception as exc:
            self.log.warning("jupyter-mlp: job %s could not start: %s", job.id, exc)
            self._move(claimed, JobState.FAILED, f"could not start: {exc}")
            return
        runtime.update(launch.runtime)
        self.store.set_runtime(job.id, runtime)
        self.store.set_fields(
            job.id,
            backend_job_id=launch.backend_job_id,
            console_url=launch.console_url,
            outputs={**job.outputs, **launch.outputs},
        )

    async def _observe(self, job: Job, runtime: dict[str, Any]) -> None:
        backend = self.backends.get(job.backend)
        if backend is None:
            return
        try:
            observation = await backend.poll(job, runtime)
        except Exception as exc:  # a transient backend error must not fail the job
            self.log.warning("jupyter-mlp: could not look at job %s: %s", job.id, exc)
            return
        if observation.runtime is not None:
            self.store.set_runtime(job.id, observation.runtime)
        if self._apply(job, observation) is JobState.CANCELLING:
            requested = next(
                (t.at for t in reversed(job.transitions) if t.state is JobState.CANCELLING), None
            )
            if requested and (utcnow() - requested).total_seconds() > self.cancel_grace_seconds:
                await backend.cancel(job, runtime, force=True)

    def _apply(self, job: Job, observation: Observation) -> JobState:
        """Map what the backend saw onto the job's state machine; returns the state after."""
        target, message = observation.state, observation.message
        if target is None or (job.state is JobState.CANCELLING and target is JobState.RUNNING):
            return job.state
        if job.state is JobState.CANCELLING and target is JobState.FAILED:
            target, message = JobState.CANCELLED, "cancelled"
        if target is job.state:
            if observation.backend_state and observation.backend_state != job.backend_state:
                self.store.set_fields(job.id, backend_state=observation.backend_state)
            return job.state
        self._move(job, target, message, backend_state=observation.backend_state)
        return target

    def _move(
        self,
        job: Job,
        state: JobState,
        message: str,
        expected: JobState | None = None,
        **fields: Any,
    ) -> bool:
        """The single place a job's state changes; terminal states never change again.

        With `expected`, the move happens only from that state. True when the job moved.
        """
        now = utcnow()
        if state.terminal:
            fields.setdefault("ended_at", now)
        if not self.store.transition(job.id, state, now, message, expected, **fields):
            return False
        updated = self.store.get(job.id)
        if updated is not None:
            self._notify(updated, job.state)
        return True

    def _notify(self, job: Job, previous: JobState | None) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(job, previous)
        except Exception:
            self.log.exception("jupyter-mlp: a job state listener failed")

    def _new_folder(self, spec: JobSpec) -> JobFolder:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", spec.name or _default_name(spec)).strip("-.")
        return JobFolder(self.jobs_dir / f"{slug[:60] or 'job'}-{uuid.uuid4().hex[:12]}")

    def _folder(self, job_id: str) -> JobFolder | None:
        folder = self.store.runtime(job_id).get("folder")
        return JobFolder(Path(folder)) if folder else None

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


@dataclass
class CheckedSpec:
    """A spec with its backend resolved and its source planned, and every problem found."""

    spec: JobSpec | None
    plan: SourcePlan | None
    errors: list[FieldError]

    def raise_for_errors(self) -> None:
        if self.errors or self.spec is None or self.plan is None:
            summary = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
            raise MLPError(400, f"invalid job spec: {summary}", self.errors)


def _with_cost(job: Job) -> Job:
    """The job with its estimated cost, for jobs on a backend with list prices."""
    if job.backend not in CLOUD_BACKENDS:
        return job
    estimate = estimate_hourly_cost(job.backend, job.spec.resources.model_dump(), job.spec.region)
    if estimate is None:
        return job
    hours = 0.0
    if job.started_at is not None:
        hours = ((job.ended_at or utcnow()) - job.started_at).total_seconds() / 3600
    cost = Cost(
        usd_per_hour=estimate["usd_per_hour"],
        usd_so_far=round(estimate["usd_per_hour"] * hours, 4),
        prices_as_of=estimate["as_of"],
    )
    return job.model_copy(update={"cost": cost})


def _default_name(spec: JobSpec) -> str:
    return Path(spec.source.path).stem if spec.source.path else f"{spec.kind.value}-cell"


def _trim_partial_utf8(data: bytes) -> bytes:
    """Drop an incomplete UTF-8 sequence at the end; the next read starts with it whole."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:
            continue  # continuation byte: keep looking for the lead byte
        if byte & 0x80 == 0:
            return data
        needed = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4
        return data if back >= needed else data[:-back]
    return data
