"""The clock that fires the schedules run by the server (`runs_in: "server"`).

A task on the server's loop sleeps until the next fire time of any schedule, or until the
database changed (a schedule added or edited here or by another server, a run that ended), and
then makes a pass in a thread: each fire time that came due is claimed by inserting its row
(unique per schedule and time, so two servers on one database never run it twice) and its run
submitted from the schedule's source snapshot. Fires missed while no server ran are caught up
or recorded as missed (`schedule_plan.due`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from .models import Job, MLPError
from .offload import Offload
from .schedule_models import FireOutcome, Schedule, ScheduleFire
from .schedule_plan import due, next_fire
from .schedule_store import ScheduleStore, StoredSchedule
from .store import JobStore
from .submission import ScheduledRun, Submission
from .transitions import utcnow

# How often the clock looks whether the database changed (about 10 µs a look on SQLite).
LOOK_SECONDS = 1.0
# Where the database cannot say whether it changed, a pass is made this often.
PASS_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 5.0
# A fire claimed this long ago whose job was never recorded: the server that claimed it stopped
# before submitting (a submit takes seconds), so it is submitted now.
UNSETTLED_AFTER = timedelta(minutes=5)

#: Submits a schedule's run (blocking): the spec as a request, and what makes it a run.
Submit = Callable[[dict[str, object], ScheduledRun], Job]


def snapshot_root(folder: str) -> Path:
    """Where a schedule's runs read their source from, in the schedule's folder."""
    return Path(folder) / "source"


def submit_run(submission: Submission, schedule: Schedule, run: ScheduledRun) -> Job:
    """Submit one run of a schedule from its snapshot (blocking); a spec that names no job
    runs under the schedule's name."""
    request = schedule.spec.model_dump(mode="json", exclude_unset=True)
    if not request.get("name"):
        request["name"] = schedule.name
    return submission.submit(request, run_of=run)


class ScheduleClock:
    """Fires the server's schedules on time; every database call and submit in a thread."""

    def __init__(
        self,
        store: ScheduleStore,
        jobs: JobStore,
        submission: Submission,
        offload: Offload,
        log: logging.Logger,
        on_pass: Callable[[], float | None] | None = None,
    ):
        """`on_pass`: called (in the thread) after each pass, e.g. to look for cloud runs; it
        answers in how many seconds it wants the next pass (None: whenever)."""
        self.store = store
        self.jobs = jobs
        self.submission = submission
        self.offload = offload
        self.log = log
        self.on_pass = on_pass
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Fire schedules from now on; needs a running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.wait([self._task], timeout=STOP_TIMEOUT_SECONDS)
        self._task = None

    def wake(self) -> None:
        """Make a pass now (schedules changed); callable from any thread."""
        self.offload.soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while True:
            version = self.jobs.changes()
            try:
                upcoming = await self.offload.run(self.make_pass)
            except Exception:  # a broken pass must not stop the schedules for good
                self.log.exception("jupyter-mlp: firing schedules failed; retrying")
                upcoming = None
            await self._sleep(upcoming, version)

    async def _sleep(self, upcoming: datetime | None, version: int | None) -> None:
        """Until `upcoming`, a wake, or a change to the database since `version`."""
        self._wake.clear()
        while True:
            wait = LOOK_SECONDS if version is not None else PASS_SECONDS
            if upcoming is not None:
                wait = min(wait, max((upcoming - utcnow()).total_seconds(), 0.0))
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
                return
            except TimeoutError:
                pass
            if version is None or (upcoming is not None and utcnow() >= upcoming):
                return
            if self.jobs.changes() != version:
                return

    def make_pass(self) -> datetime | None:
        """Fire what came due and start queued runs whose last run ended (blocking); the next
        fire time of any schedule."""
        now = utcnow()
        upcoming: list[datetime] = []
        for stored in self.store.all("server"):
            try:
                self._fire_due(stored, now)
                self._settle_orphans(stored.schedule, stored.folder, now)
                self._start_queued(stored.schedule, stored.folder)
            except Exception:  # one schedule's trouble must not hold up the others
                self.log.exception("jupyter-mlp: schedule %s could not fire", stored.schedule.id)
            found = next_fire(stored.schedule, max(now, stored.horizon))
            if found is not None:
                upcoming.append(found)
        if self.on_pass is not None:
            again = self.on_pass()
            if again is not None:
                upcoming.append(utcnow() + timedelta(seconds=again))
        return min(upcoming, default=None)

    def _fire_due(self, stored: StoredSchedule, now: datetime) -> None:
        schedule = stored.schedule
        found = due(schedule, stored.horizon, now)
        for at in found.missed:
            self.store.claim(_fire(schedule, at, FireOutcome.MISSED, "no server ran at this time"))
        if found.run is not None:
            self.fire(schedule, stored.folder, found.run)
        if found.passed:
            self.store.advance(schedule.id, now)

    def fire(self, schedule: Schedule, folder: str, at: datetime) -> ScheduleFire | None:
        """Fire a schedule for time `at` (blocking): run it, or record why not. None when
        another server claimed that time."""
        if schedule.overlap != "allow" and self.store.running(schedule.id):
            if schedule.overlap == "queue" and not self.store.queued(schedule.id):
                outcome, why = FireOutcome.QUEUED, "waits for the last run to end"
            else:
                outcome, why = FireOutcome.SKIPPED, "the last run had not ended"
            fire = _fire(schedule, at, outcome, why)
            return fire if self.store.claim(fire) else None
        fire = _fire(schedule, at, FireOutcome.STARTED, "")
        if not self.store.claim(fire):
            return None
        return self._submit(schedule, folder, fire)

    def _settle_orphans(self, schedule: Schedule, folder: str, now: datetime) -> None:
        """Finish the fires a stopped server claimed but never recorded a job for: the job it
        did submit, else a run submitted now."""
        for fire in self.store.unsettled(schedule.id, now - UNSETTLED_AFTER):
            if not self.store.retake(fire, now):
                continue
            job_id = self.store.run_for(schedule.id, fire.fire_at)
            if job_id is None:
                self._submit(schedule, folder, fire)
            else:
                self.store.settle(
                    schedule.id, fire.fire_at, FireOutcome.STARTED, FireOutcome.STARTED, job_id
                )

    def _start_queued(self, schedule: Schedule, folder: str) -> None:
        """Start the queued fire of a schedule whose last run ended (one server does)."""
        for fire in self.store.queued(schedule.id):
            if self.store.running(schedule.id):
                return
            if self.store.settle(
                schedule.id, fire.fire_at, FireOutcome.STARTED, expected=FireOutcome.QUEUED
            ):
                self._submit(schedule, folder, fire)

    def _submit(self, schedule: Schedule, folder: str, fire: ScheduleFire) -> ScheduleFire:
        """Submit a claimed fire's run and record its job, or why it was refused."""
        run = ScheduledRun(schedule.id, fire.fire_at, snapshot_root(folder))
        try:
            job = submit_run(self.submission, schedule, run)
        except Exception as exc:  # refused at fire time: recorded, and the schedule goes on
            message = exc.message if isinstance(exc, MLPError) else str(exc)
            self.log.warning("jupyter-mlp: schedule %s: run refused: %s", schedule.id, message)
            self.store.settle(
                schedule.id,
                fire.fire_at,
                FireOutcome.FAILED,
                expected=FireOutcome.STARTED,
                message=message,
            )
            return fire.model_copy(update={"outcome": FireOutcome.FAILED, "message": message})
        self.store.settle(
            schedule.id, fire.fire_at, FireOutcome.STARTED, FireOutcome.STARTED, job.id
        )
        return fire.model_copy(update={"job_id": job.id})


def _fire(schedule: Schedule, at: datetime, outcome: FireOutcome, message: str) -> ScheduleFire:
    return ScheduleFire(
        schedule_id=schedule.id,
        fire_at=at,
        outcome=outcome,
        message=message,
        recorded_at=utcnow(),
    )
