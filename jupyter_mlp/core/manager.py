"""The JobManager: the one place that creates, watches, cancels and reruns jobs.

It is a facade over the parts that do each job: `Submission` (check, plan, preview, queue),
`Watcher` (the watch rounds of each backend), `Transitions` (every state change, told to the
listeners), `JobQueries` and `Pricing` (answers), `JobActions` (cancel, drain, progress,
delete), and the `SweepDriver`, which drives trial sweeps through `JobsSweepPort`.

Nothing here blocks the event loop it runs on (Jupyter Server's): what blocks runs in the
manager's `Offload` threads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from ..backends.base import Backend, BackendStatus, PreflightCheck
from ..jobfiles.bundle import DEFAULT_MAX_INCLUDE_BYTES
from .actions import JobActions
from .caps import CostCaps
from .installed import InstalledBackends
from .models import FieldError, Job, JobRef, JobSpec, JobState, MLPError
from .offload import Offload
from .pricing import Pricing
from .queries import JobQueries
from .schedule_clock import ScheduleClock
from .schedule_cloud import CloudSchedules
from .schedule_store import ScheduleStore
from .schedules import Schedules
from .store import JobStore
from .submission import CheckedSpec, Submission
from .sweep_port import JobsSweepPort
from .sweeps import SweepDriver
from .transitions import BY_YOU, StateListener, Transitions
from .watch import Watcher

__all__ = ["BY_YOU", "CheckedSpec", "JobManager", "StateListener"]

#: The fewest characters of a job id that name it (when no other id starts with them).
MIN_ID_PREFIX = 4
#: How many jobs an ambiguous prefix's answer lists.
PREFIX_MATCHES_SHOWN = 5


class JobManager:
    """Creates jobs, drives them through their states and answers questions about them."""

    def __init__(
        self,
        store: JobStore,
        backends: Mapping[str, Backend[Any]],
        *,
        root_dir: Path,
        jobs_dir: Path,
        default_backend: str | None = None,
        on_change: StateListener | None = None,
        poll_interval: float | None = None,
        cancel_grace_seconds: float | None = None,
        max_include_bytes: int = DEFAULT_MAX_INCLUDE_BYTES,
        log: logging.Logger | None = None,
        known_backends: Mapping[str, type[Backend[Any]]] | None = None,
    ):
        """`default_backend`: of jobs that name none (by default, the first backend by name that
        runs jobs on this machine). `known_backends`: the backend classes whose capabilities
        hold for a backend named but not set up here (by default, those of the installed entry
        points)."""
        self.store = store
        self.backends = dict(backends)
        self.root_dir = root_dir.resolve()
        self.jobs_dir = jobs_dir.resolve()
        default_backend = default_backend or _on_this_machine(self.backends)
        self.default_backend = default_backend
        self.max_include_bytes = max_include_bytes
        self.log = log or logging.getLogger(__name__)
        self._settle_intervals(poll_interval, cancel_grace_seconds)
        self.offload = Offload()
        installed = InstalledBackends(self.backends, known_backends)
        self.transitions = Transitions(store, self.offload, on_change, self.log)
        self.pricing = Pricing(installed, default_backend)
        self.queries = JobQueries(store, installed, self.offload, self.pricing, default_backend)
        self.submission = Submission(
            store,
            installed,
            self.transitions,
            self._wake,
            self.root_dir,
            self.jobs_dir,
            default_backend,
            max_include_bytes,
        )
        self.actions = JobActions(
            store,
            installed,
            self.offload,
            self.transitions,
            self.queries,
            self._wake,
            self.jobs_dir,
        )
        port = JobsSweepPort(
            installed, store, self.offload, self.transitions, self.submission, self.cancel
        )
        caps = CostCaps(self.pricing, self.cancel, self.log)
        self.watcher = Watcher(
            self.backends, store, self.offload, self.transitions, SweepDriver(port), self.log, caps
        )
        for name, backend in self.backends.items():
            backend.bind(root_dir=self.root_dir, wake=partial(self._wake, name))
        self.schedules = self._schedules(installed)

    def _schedules(self, installed: InstalledBackends) -> Schedules:
        """The schedules, on the jobs' database: the server's fired by a clock, the clouds'
        runs looked for after each of its passes."""
        store = ScheduleStore(self.store.engine)
        cloud = CloudSchedules(
            store, self.store, installed, self.transitions, self.jobs_dir, self.log
        )
        clock = ScheduleClock(
            store, self.store, self.submission, self.offload, self.log, on_pass=cloud.look
        )
        return Schedules(
            store, clock, cloud, self.submission, installed, self.offload, self.jobs_dir
        )

    def _settle_intervals(
        self, poll_interval: float | None, cancel_grace_seconds: float | None
    ) -> None:
        # Server-wide settings given here override the backends' defaults, not their config.
        for backend in self.backends.values():
            if poll_interval is not None and not backend.trait_has_value("poll_interval"):
                backend.poll_interval = poll_interval
            if cancel_grace_seconds is not None and not backend.trait_has_value(
                "cancel_grace_seconds"
            ):
                backend.cancel_grace_seconds = cancel_grace_seconds

    def _wake(self, backend: str) -> None:
        self.watcher.wake(backend)

    @property
    def on_change(self) -> StateListener | None:
        """Told of every job that changed state, with the state it left (None when new)."""
        return self.transitions.on_change

    @on_change.setter
    def on_change(self, listener: StateListener | None) -> None:
        self.transitions.on_change = listener

    # ----- life of the manager -----

    def start(self) -> None:
        """Reconcile jobs left by an earlier server and keep watching; needs a running loop."""
        self.watcher.start()

    def fire_schedules(self) -> None:
        """Fire the schedules run by the server from now on, those missed while none ran too;
        needs a running loop. The server's manager does; a kernel's or the command line's own
        manager (short-lived, or one of many) does not."""
        self.schedules.clock.start()

    async def stop(self) -> None:
        """Stop watching and firing. Running jobs keep running; the next manager picks them up,
        and fires what was missed meanwhile."""
        await self.schedules.clock.stop()
        await self.watcher.stop()
        for backend in self.backends.values():
            backend.close()
        self.offload.shutdown()

    async def tick(self) -> None:
        """One round for every backend at once: observe started jobs, start queued ones."""
        await self.watcher.tick()

    # ----- what people ask for -----

    async def submit(
        self, request: JobSpec | Mapping[str, Any], rerun_of: str | None = None
    ) -> Job:
        """Validate a spec, write its bundle and queue it; 400 with field errors when invalid.
        `rerun_of`: the id (or a prefix of it) of the job this one runs again; 404 if none."""
        origin = None
        if rerun_of is not None:
            earlier = await self.get(rerun_of)
            origin = JobRef(id=earlier.id, name=earlier.name)
        submit = partial(self.submission.submit, request, rerun_of=origin)
        return await self.offload.run(submit)

    async def check_spec(self, request: JobSpec | Mapping[str, Any]) -> CheckedSpec:
        """Every problem of a spec at once (for the submit form), with the normalised spec."""
        return await self.offload.run(self.submission.check_spec, request)

    async def preview(self, request: JobSpec | Mapping[str, Any]) -> dict[str, Any]:
        """What submitting would run: mode, parameters, requirements, script, bundle manifest."""
        return await self.offload.run(self.submission.preview, request)

    async def preflight(self, spec: JobSpec) -> list[dict[str, Any]]:
        """What the backend of a checked spec can look at before a job is staged or created
        (credentials, APIs, permissions, quotas), each pass / fail / unknown; none locally."""
        backend = self.backends.get(spec.backend or self.default_backend)
        if backend is None:
            return []
        try:
            found = await self.offload.run(backend.preflight, spec)
        except Exception as exc:  # the checks inform; their failure must not fail the review
            self.log.warning("jupyter-mlp: preflight of a %s job: %s", spec.backend, exc)
            found = [
                PreflightCheck(
                    id="preflight",
                    title="Checks before launch",
                    status="unknown",
                    detail=f"the checks could not run: {exc}",
                )
            ]
        return [check.model_dump() for check in found]

    async def backend_statuses(self) -> list[BackendStatus]:
        """Each installed backend's status (which may ask a cloud for credentials: off the loop)."""
        return await self.queries.backend_statuses()

    def estimate(self, spec: JobSpec) -> dict[str, Any] | None:
        """Estimated hourly cost of a job by list prices; None locally or when unknown."""
        return self.pricing.estimate(spec)

    async def catalog(self, backend_name: str, region: str | None = None) -> dict[str, Any]:
        """Machine types, accelerators and prices a backend offers; for `local`, this machine."""
        return await self.queries.catalog(backend_name, region)

    async def job_id(self, given: str) -> str:
        """The id of the job `given` names: its whole id, or a prefix of at least MIN_ID_PREFIX
        characters that no other job's id starts with. 404 when none, 400 naming the jobs an
        ambiguous prefix matches. Every method here taking a job id takes a prefix too."""
        matches = await self.offload.run(self.store.ids_starting, given, PREFIX_MATCHES_SHOWN + 1)
        if any(job_id == given for job_id, _ in matches):
            return given
        if len(given) < MIN_ID_PREFIX or not matches:
            short = len(given) < MIN_ID_PREFIX and matches
            hint = f" (a prefix of an id needs {MIN_ID_PREFIX} characters or more)" if short else ""
            raise MLPError(404, f"no job with id '{given}'{hint}")
        if len(matches) == 1:
            return matches[0][0]
        named = ", ".join(f"{job_id} ({name})" for job_id, name in matches[:PREFIX_MATCHES_SHOWN])
        more = " and more" if len(matches) > PREFIX_MATCHES_SHOWN else ""
        message = f"'{given}' is the start of several jobs' ids: {named}{more}; give more of it"
        raise MLPError(400, message, [FieldError(field="id", message=message)])

    async def get(self, job_id: str) -> Job:
        """A job with its transitions and cost; 404 when there is none."""
        return await self.queries.get(await self.job_id(job_id))

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
        """A page of jobs, newest first, as summaries ready to send (JSON text, shaped as
        `Job`): the spec without its code or parameters, no transitions (`get` has those).
        Top-level jobs, or with `sweep_id` the trial jobs of that sweep; with `schedule_id`,
        that schedule's runs."""
        return await self.queries.list_jobs(
            states=states,
            backend=backend,
            kind=kind,
            name_prefix=name_prefix,
            search=search,
            limit=limit,
            cursor=cursor,
            sweep_id=sweep_id,
            schedule_id=schedule_id,
        )

    async def cancel(self, job_id: str, by: str = BY_YOU) -> Job:
        """Ask a job to stop: QUEUED ends at once, a started one goes through CANCELLING and
        ends CANCELLED. `by` names who asked; the job says so ("Cancelled by you at 10:42")."""
        return await self.actions.cancel(await self.job_id(job_id), by)

    async def drain(self, job_id: str) -> Job:
        """Ask a running streaming pipeline to drain: it stops reading its input, finishes what
        it read, then ends CANCELLED (its backend state saying drained). Only a backend whose
        capabilities say `drain` drains, and only its running streaming jobs."""
        return await self.actions.drain(await self.job_id(job_id))

    async def progress(self, job_id: str) -> dict[str, Any]:
        """Elements each step of a pipeline put out so far, from a backend that counts them:
        {job_id, steps: [{step, elements}], note}."""
        return await self.actions.progress(await self.job_id(job_id))

    async def rerun(self, job_id: str) -> Job:
        """A new job with the same spec (the source is read again as it is now), a rerun of
        that job."""
        job = await self.get(job_id)
        # As a new request, checked by today's rules (a stored spec was checked by its day's).
        return await self.submit(job.spec.model_dump(mode="json"), rerun_of=job.id)

    async def delete(self, job_id: str) -> None:
        """Forget an ended job and remove its folder."""
        await self.actions.delete(await self.job_id(job_id))

    async def list_outputs(self, job_id: str) -> dict[str, Any]:
        """The job's outputs as they are now (from its backend): which exist, their sizes, the
        files of output folders (capped), local paths or cloud URIs."""
        return await self.queries.list_outputs(await self.job_id(job_id))

    async def read_log(
        self,
        job_id: str,
        cursor: str | None = None,
        limit: int | None = None,
        tail: int | None = None,
    ) -> dict[str, Any]:
        """A piece of the job's log from an opaque cursor (the backend's), never the whole."""
        return await self.queries.read_log(await self.job_id(job_id), cursor, limit, tail)


def _on_this_machine(backends: Mapping[str, Backend[Any]]) -> str:
    """The first backend by name whose jobs run on this machine (else the first by name)."""
    names = sorted(backends, key=lambda name: (backends[name].capabilities.remote, name))
    if not names:
        raise ValueError("a JobManager needs at least one backend")
    return names[0]
