"""Schedules run by a backend's cloud (`runs_in: "cloud"`): the server does not fire them.

It creates, edits, pauses, runs now and deletes the cloud's schedule through the backend's
`CloudScheduler`, and, each watch round of that backend, adds the runs the cloud made as jobs
of the schedule that the backend's watcher then follows. Every method blocks (the cloud's API,
the database): callers run them in threads.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from pathlib import Path

from ..backends.cloud_schedules import CloudRun, CloudScheduler
from ..jobfiles.bundle import JobFolder
from .installed import InstalledBackends
from .models import FieldError, Job, MLPError, Transition
from .schedule_models import FireOutcome, Schedule, ScheduleFire
from .schedule_store import ScheduleStore
from .store import JobStore
from .transitions import Transitions, utcnow


class CloudSchedules:
    """The schedules that a backend's cloud fires, and the runs it made of them."""

    def __init__(
        self,
        store: ScheduleStore,
        jobs: JobStore,
        installed: InstalledBackends,
        transitions: Transitions,
        jobs_dir: Path,
        log: logging.Logger,
    ):
        self.store = store
        self.jobs = jobs
        self.installed = installed
        self.transitions = transitions
        self.jobs_dir = jobs_dir
        self.log = log
        self._looked: dict[str, float] = {}  # by backend: when its runs were last looked for

    def scheduler(self, schedule: Schedule) -> CloudScheduler:
        """The cloud scheduler of the schedule's backend; 400 naming `runs_in` when it has none."""
        name = schedule.spec.backend or ""
        capabilities = self.installed.capabilities(name)
        backend = self.installed.get(name)
        scheduler = backend.cloud_scheduler() if backend is not None else None
        if capabilities is None or not capabilities.cloud_schedules or scheduler is None:
            service = capabilities.service if capabilities else name
            raise MLPError.invalid(
                "runs_in",
                f"{service} cannot run schedules in its cloud; use runs_in 'server' "
                "(this server fires them)",
                ["server"],
            )
        return scheduler

    def check(self, schedule: Schedule) -> CloudScheduler:
        """The scheduler, once it says it can run the schedule; 400 naming each field it cannot."""
        scheduler = self.scheduler(schedule)
        errors: list[FieldError] = scheduler.schedule_errors(schedule)
        if any(e.blocking for e in errors):
            blocking = [e for e in errors if e.blocking]
            summary = "; ".join(f"{e.field}: {e.message}" for e in blocking)
            raise MLPError(400, f"cannot run in the cloud: {summary}", blocking)
        return scheduler

    def look(self) -> float | None:
        """Add the runs the clouds made of their schedules, each backend at most once per its
        poll interval (a watch round's pace); in how many seconds to look again (None: no
        schedule runs in a cloud)."""
        schedules = [stored.schedule for stored in self.store.all("cloud")]
        now = time.monotonic()
        due = set()
        intervals = []
        for name in {schedule.spec.backend or "" for schedule in schedules}:
            backend = self.installed.get(name)
            if backend is None:
                continue
            interval = max(backend.poll_interval, 1.0)
            intervals.append(interval)
            if now - self._looked.get(name, -interval) >= interval:
                due.add(name)
                self._looked[name] = now
        for schedule in schedules:
            if schedule.spec.backend in due:
                try:
                    self.add_runs(schedule)
                except Exception as exc:  # an outage: the next look finds them
                    self.log.warning("jupyter-mlp: runs of schedule %s: %s", schedule.id, exc)
        return min(intervals, default=None)

    def add_runs(self, schedule: Schedule) -> list[Job]:
        """The cloud's new runs of a schedule, added as its jobs."""
        known = self.store.run_ids(schedule.id)
        added = []
        for run in self.scheduler(schedule).runs(schedule, known):
            job = self._add(schedule, run)
            if job is not None:
                added.append(job)
        return added

    def _add(self, schedule: Schedule, run: CloudRun) -> Job | None:
        # Claimed as a fire first: of several servers finding the run, one adds it.
        at = run.scheduled_for or run.created_at
        fire = ScheduleFire(
            schedule_id=schedule.id,
            fire_at=at,
            outcome=FireOutcome.STARTED,
            recorded_at=utcnow(),
        )
        if not self.store.claim(fire):
            return None
        job_id = uuid.uuid4().hex[:12]
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", schedule.name).strip("-.")[:60] or "job"
        folder = JobFolder(self.jobs_dir / f"{slug}-{job_id}")
        folder.create()
        job = Job(
            id=job_id,
            name=schedule.name,
            kind=schedule.spec.kind,
            backend=schedule.spec.backend or "",
            state=run.state,
            state_message=run.state_message,
            backend_job_id=run.backend_job_id,
            console_url=run.console_url,
            spec=schedule.spec,
            created_at=run.created_at,
            started_at=run.started_at or run.created_at,
            ended_at=run.ended_at,
            outputs=run.outputs,
            transitions=[Transition(state=run.state, at=run.created_at, message="fired")],
            schedule_id=schedule.id,
            scheduled_for=run.scheduled_for,
        )
        self.jobs.add(job, runtime=run.runtime, folder=str(folder.path))
        self.jobs.record_launch(job.id, run.runtime, utcnow(), backend_job_id=run.backend_job_id)
        self.store.settle(schedule.id, at, FireOutcome.STARTED, FireOutcome.STARTED, job.id)
        self.transitions.notify(job, None)
        return job
