"""Schedules: a job spec plus when it runs. Creating, editing, pausing, running now and deleting
them, and what is known of their fires.

A schedule keeps a snapshot of its source (the file, its includes and its requirements file),
taken when it is created or edited and on "Update from file" (`refresh_source`): its runs are
submitted from the snapshot, so an edit in progress never leaks into a run. Inline code is its
own snapshot. The server's schedules are fired by the `ScheduleClock`; the cloud's by the cloud
(`CloudSchedules`).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..jobfiles.bundle import SourcePlan
from .installed import InstalledBackends
from .models import FieldError, Job, JobSpec, MLPError, default_job_name
from .offload import Offload
from .schedule_clock import ScheduleClock, snapshot_root, submit_run
from .schedule_cloud import CloudSchedules
from .schedule_models import (
    FireOutcome,
    Schedule,
    ScheduleFire,
    SchedulePatch,
    ScheduleRequest,
    server_time_zone,
)
from .schedule_plan import next_fire
from .schedule_store import ScheduleStore, StoredSchedule
from .submission import ScheduledRun, Submission
from .transitions import utcnow

# Fires a schedule shows with it (its strip of last runs).
LAST_FIRES = 10
# The fields of a schedule that say when it fires: an edit of one starts its plan anew.
_WHEN = {"cron", "timezone", "start_at", "end_at"}


class Schedules:
    """The schedules: their REST operations, each run off the event loop."""

    def __init__(
        self,
        store: ScheduleStore,
        clock: ScheduleClock,
        cloud: CloudSchedules,
        submission: Submission,
        installed: InstalledBackends,
        offload: Offload,
        jobs_dir: Path,
    ):
        self.store = store
        self.clock = clock
        self.cloud = cloud
        self.submission = submission
        self.installed = installed
        self.offload = offload
        self.jobs_dir = jobs_dir

    async def create(self, request: Mapping[str, Any]) -> Schedule:
        """A new schedule, its spec checked like a submission; 400 naming each bad field."""
        schedule = await self.offload.run(self._create, request)
        self.clock.wake()
        return await self.get(schedule.id)

    async def all(self) -> list[Schedule]:
        """Every schedule, oldest first, each with its next fire time and latest fires."""
        return await self.offload.run(self._list)

    async def get(self, schedule_id: str) -> Schedule:
        """A schedule with its next fire time and its latest fires; 404 when there is none."""
        return await self.offload.run(self._get, schedule_id)

    async def update(self, schedule_id: str, patch: Mapping[str, Any]) -> Schedule:
        """Edit a schedule (pause and resume: `paused`); its snapshot is taken again when its
        spec changed or `refresh_source` asks."""
        await self.offload.run(self._update, schedule_id, patch)
        self.clock.wake()
        return await self.get(schedule_id)

    async def delete(self, schedule_id: str) -> None:
        """Forget a schedule (and the cloud's); its runs stay as jobs."""
        await self.offload.run(self._delete, schedule_id)
        self.clock.wake()

    async def run_now(self, schedule_id: str) -> Job | None:
        """Run a schedule now: the job, or None for a schedule the cloud fires (it runs there)."""
        return await self.offload.run(self._run_now, schedule_id)

    async def fires(self, schedule_id: str, limit: int) -> list[ScheduleFire]:
        """A schedule's latest fires, newest first."""
        await self.get(schedule_id)
        return await self.offload.run(self.store.fires, schedule_id, limit)

    # ----- blocking parts, in threads -----

    def _create(self, body: Mapping[str, Any]) -> Schedule:
        try:
            request = ScheduleRequest.model_validate(body)
        except ValidationError as exc:
            raise _invalid_schedule(exc) from None
        spec, plan = self._checked(request.spec)
        now = utcnow()
        schedule = Schedule(
            id=uuid.uuid4().hex[:12],
            name=request.name or spec.name or default_job_name(spec),
            cron=request.cron,
            timezone=request.timezone or server_time_zone(),
            spec=spec,
            overlap=request.overlap,
            runs_in=request.runs_in,
            start_at=request.start_at,
            end_at=request.end_at,
            paused=request.paused,
            catchup_seconds=request.catchup_seconds,
            created_at=now,
            updated_at=now,
            source_snapshot_at=now,
            next_fire_at=None,
            cloud_job=None,
        )
        folder = self.jobs_dir / "schedules" / schedule.id
        self._snapshot(spec, plan, folder)
        try:
            if schedule.runs_in == "cloud":
                scheduler = self.cloud.check(schedule)
                schedule = schedule.model_copy(update={"cloud_job": scheduler.create(schedule)})
            # A start in the past: the fires since then count as missed while no server ran.
            horizon = min(now, request.start_at) if request.start_at else now
            self.store.add(schedule, str(folder), horizon)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return schedule

    def _checked(self, spec: JobSpec) -> tuple[JobSpec, SourcePlan]:
        """The spec with its backend resolved, once it would be accepted as a submission, and
        its source's plan; 400 naming each problem under `spec.`."""
        checked = self.submission.check_spec(spec)
        errors = [
            e.model_copy(update={"field": f"spec.{e.field}"}) for e in checked.errors if e.blocking
        ]
        if checked.spec is not None:
            name = checked.spec.backend or ""
            capabilities = self.installed.capabilities(name)
            if capabilities is not None and not capabilities.schedules:
                why = capabilities.unsupported.get("schedules", "")
                errors.append(FieldError(field="spec.backend", message=f"cannot schedule: {why}"))
        if errors or checked.spec is None or checked.plan is None:
            summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
            raise MLPError(400, f"invalid schedule: {summary}", errors)
        return spec.model_copy(update={"backend": checked.spec.backend}), checked.plan

    def _snapshot(self, spec: JobSpec, plan: SourcePlan, folder: Path) -> None:
        """Copy the spec's source file, its includes and its requirements file into the
        schedule's folder, replacing what was there."""
        fresh = folder / "source.new"
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        if spec.source.path is not None:
            target = fresh / spec.source.path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.submission.root_dir / spec.source.path, target)
            for name, path in plan.includes.items():
                (target.parent / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target.parent / name)
        if isinstance(spec.requirements, str):
            # As the requirements it resolved to: a file it names (-r) is read now, not later.
            listed = fresh / spec.requirements
            listed.parent.mkdir(parents=True, exist_ok=True)
            listed.write_text("".join(f"{line}\n" for line in plan.requirements), "utf-8")
        current = snapshot_root(str(folder))
        shutil.rmtree(current, ignore_errors=True)
        fresh.rename(current)

    def _stored(self, schedule_id: str) -> StoredSchedule:
        stored = self.store.get(schedule_id)
        if stored is None:
            raise MLPError(404, f"no schedule with id '{schedule_id}'")
        return stored

    def _get(self, schedule_id: str) -> Schedule:
        return self._shown(self._stored(schedule_id))

    def _list(self) -> list[Schedule]:
        return [self._shown(stored) for stored in self.store.all()]

    def _shown(self, stored: StoredSchedule) -> Schedule:
        """A schedule as it is sent: with its next fire time and its latest fires."""
        schedule = stored.schedule
        upcoming = next_fire(schedule, max(utcnow(), stored.horizon))
        return schedule.model_copy(
            update={
                "next_fire_at": upcoming,
                "last_fires": self.store.fires(schedule.id, LAST_FIRES),
            }
        )

    def _update(self, schedule_id: str, body: Mapping[str, Any]) -> None:
        stored = self._stored(schedule_id)
        try:
            patch = SchedulePatch.model_validate(body)
        except ValidationError as exc:
            raise _invalid_schedule(exc) from None
        schedule = stored.schedule
        changes = patch.model_dump(exclude_unset=True, exclude={"refresh_source", "spec"})
        plan = None
        if patch.spec is not None or patch.refresh_source:
            changes["spec"], plan = self._checked(patch.spec or schedule.spec)
        now = utcnow()
        edited = schedule.model_copy(update={**changes, "updated_at": now})
        if edited.start_at is not None and edited.end_at is not None:
            if edited.end_at <= edited.start_at:
                raise MLPError.invalid(
                    "end_at", "is not after start_at: give an end after the start"
                )
        if plan is not None:
            self._snapshot(edited.spec, plan, Path(stored.folder))
            edited = edited.model_copy(update={"source_snapshot_at": now})
        resumed = schedule.paused and not edited.paused
        # A new plan, or a resume, starts from now: fires before are neither run nor missed.
        horizon = now if resumed or _WHEN & set(changes) else None
        if edited.runs_in == "cloud":
            self.cloud.check(edited).update(edited)
        self.store.save(edited, horizon)

    def _delete(self, schedule_id: str) -> None:
        stored = self._stored(schedule_id)
        if stored.schedule.runs_in == "cloud":
            self.cloud.scheduler(stored.schedule).delete(stored.schedule)
        self.store.delete(schedule_id)
        shutil.rmtree(stored.folder, ignore_errors=True)

    def _run_now(self, schedule_id: str) -> Job | None:
        stored = self._stored(schedule_id)
        schedule = stored.schedule
        if schedule.runs_in == "cloud":
            self.cloud.scheduler(schedule).run_now(schedule)
            return None
        now = utcnow()
        fire = ScheduleFire(
            schedule_id=schedule.id,
            fire_at=now,
            outcome=FireOutcome.STARTED,
            message="run now",
            recorded_at=now,
        )
        self.store.claim(fire)
        run = ScheduledRun(schedule.id, None, snapshot_root(stored.folder))
        try:
            job = submit_run(self.submission, schedule, run)
        except MLPError as exc:
            self.store.settle(
                schedule.id, now, FireOutcome.FAILED, FireOutcome.STARTED, message=exc.message
            )
            raise
        self.store.settle(
            schedule.id, now, FireOutcome.STARTED, FireOutcome.STARTED, job.id, "run now"
        )
        return job


def _invalid_schedule(exc: ValidationError) -> MLPError:
    error = MLPError.from_validation(exc)
    summary = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
    return MLPError(400, f"invalid schedule: {summary}", error.errors)
