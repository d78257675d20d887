"""Persistence of schedules and of their fire times, in the jobs' database.

A fire is claimed by inserting its row: (schedule_id, fire_at) is unique, so of several servers
sharing one database only the first to insert a fire time runs it. Every method blocks: callers
run them in the manager's threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from .models import TERMINAL_STATES
from .schedule_models import FireOutcome, Schedule, ScheduleFire
from .store import STORED, Base, JobRow, UTCDateTime

# What a stored schedule's JSON leaves out: worked out when it is read.
_DERIVED = {"next_fire_at", "last_fires"}


class ScheduleRow(Base):
    __tablename__ = "mlp_schedules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    runs_in: Mapped[str] = mapped_column(String(16), index=True)
    paused: Mapped[bool] = mapped_column(Boolean)
    # The Schedule as JSON (without what is worked out when read).
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The schedule's folder: its source snapshot.
    folder: Mapped[str] = mapped_column(Text)
    # Fire times up to this one were dealt with (fired, recorded, or passed while paused).
    horizon: Mapped[datetime] = mapped_column(UTCDateTime)


class FireRow(Base):
    __tablename__ = "mlp_schedule_fires"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[str] = mapped_column(String(32), index=True)
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("schedule_id", "fire_at", name="uq_mlp_fire"),)


@dataclass
class StoredSchedule:
    """A schedule as the store holds it: with its snapshot's folder and its horizon."""

    schedule: Schedule
    folder: str
    horizon: datetime


def _row_data(schedule: Schedule) -> dict[str, Any]:
    data = schedule.model_dump(mode="json", exclude=_DERIVED, exclude_none=True)
    # The spec as it was given: a field left unset (requirements) is still found at each run.
    data["spec"] = schedule.spec.model_dump(mode="json", exclude_unset=True)
    return data


def _stored(row: ScheduleRow) -> StoredSchedule:
    schedule = Schedule.model_validate(row.data, context=STORED)
    return StoredSchedule(schedule, row.folder, row.horizon)


def _fire(row: FireRow) -> ScheduleFire:
    return ScheduleFire(
        schedule_id=row.schedule_id,
        fire_at=row.fire_at,
        outcome=FireOutcome(row.outcome),
        job_id=row.job_id,
        message=row.message or "",
        recorded_at=row.recorded_at,
    )


class ScheduleStore:
    """Reads and writes schedules and their fires, on the jobs' database engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        tables = [ScheduleRow.__table__, FireRow.__table__]
        Base.metadata.create_all(engine, tables=tables)  # type: ignore[arg-type]
        self._session = sessionmaker(engine, expire_on_commit=False)

    def add(self, schedule: Schedule, folder: str, horizon: datetime) -> None:
        row = ScheduleRow(
            id=schedule.id,
            runs_in=schedule.runs_in,
            paused=schedule.paused,
            data=_row_data(schedule),
            folder=folder,
            horizon=horizon,
        )
        with self._session.begin() as session:
            session.add(row)

    def get(self, schedule_id: str) -> StoredSchedule | None:
        with self._session() as session:
            row = session.get(ScheduleRow, schedule_id)
            return None if row is None else _stored(row)

    def all(self, runs_in: str | None = None) -> list[StoredSchedule]:
        """Every schedule (those that run in `runs_in`, if given), oldest first."""
        query = select(ScheduleRow)
        if runs_in is not None:
            query = query.where(ScheduleRow.runs_in == runs_in)
        with self._session() as session:
            found = [_stored(row) for row in session.scalars(query)]
        return sorted(found, key=lambda s: s.schedule.created_at)

    def save(self, schedule: Schedule, horizon: datetime | None = None) -> None:
        """Store an edited schedule; `horizon` moves its horizon (an edit of when, a resume)."""
        values: dict[str, Any] = {"paused": schedule.paused, "data": _row_data(schedule)}
        if horizon is not None:
            values["horizon"] = horizon
        with self._session.begin() as session:
            session.execute(
                update(ScheduleRow).where(ScheduleRow.id == schedule.id).values(**values)
            )

    def advance(self, schedule_id: str, horizon: datetime) -> None:
        """Fire times up to `horizon` were dealt with (never moves it back)."""
        with self._session.begin() as session:
            session.execute(
                update(ScheduleRow)
                .where(ScheduleRow.id == schedule_id, ScheduleRow.horizon < horizon)
                .values(horizon=horizon)
            )

    def delete(self, schedule_id: str) -> None:
        """Forget a schedule and its fires (its runs stay, as jobs)."""
        with self._session.begin() as session:
            session.execute(delete(FireRow).where(FireRow.schedule_id == schedule_id))
            session.execute(delete(ScheduleRow).where(ScheduleRow.id == schedule_id))

    # ----- fires -----

    def claim(self, fire: ScheduleFire) -> bool:
        """Record a fire time; False when it is recorded already (another server claimed it)."""
        row = FireRow(
            schedule_id=fire.schedule_id,
            fire_at=fire.fire_at,
            outcome=fire.outcome.value,
            job_id=fire.job_id,
            message=fire.message,
            recorded_at=fire.recorded_at,
        )
        try:
            with self._session.begin() as session:
                session.add(row)
        except IntegrityError:
            return False
        return True

    def settle(
        self,
        schedule_id: str,
        fire_at: datetime,
        outcome: FireOutcome,
        expected: FireOutcome,
        job_id: str | None = None,
        message: str = "",
    ) -> bool:
        """Change a fire's outcome only from `expected` (compare-and-set): True for the one
        writer that changed it."""
        with self._session.begin() as session:
            result = session.execute(
                update(FireRow)
                .where(
                    FireRow.schedule_id == schedule_id,
                    FireRow.fire_at == fire_at,
                    FireRow.outcome == expected.value,
                )
                .values(outcome=outcome.value, job_id=job_id, message=message)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def fires(self, schedule_id: str, limit: int) -> list[ScheduleFire]:
        """A schedule's latest fires, newest first."""
        query = (
            select(FireRow)
            .where(FireRow.schedule_id == schedule_id)
            .order_by(FireRow.fire_at.desc(), FireRow.id.desc())
            .limit(limit)
        )
        with self._session() as session:
            return [_fire(row) for row in session.scalars(query)]

    def queued(self, schedule_id: str | None = None) -> list[ScheduleFire]:
        """The fires waiting for their schedule's last run to end (of one schedule, if given)."""
        query = select(FireRow).where(FireRow.outcome == FireOutcome.QUEUED.value)
        if schedule_id is not None:
            query = query.where(FireRow.schedule_id == schedule_id)
        with self._session() as session:
            return [_fire(row) for row in session.scalars(query.order_by(FireRow.fire_at))]

    def unsettled(self, schedule_id: str, before: datetime) -> list[ScheduleFire]:
        """Fires claimed to start before `before` that never got their job recorded (the
        server that claimed them stopped in between); run-now fires excepted."""
        query = select(FireRow).where(
            FireRow.schedule_id == schedule_id,
            FireRow.outcome == FireOutcome.STARTED.value,
            FireRow.job_id.is_(None),
            FireRow.message == "",
            FireRow.recorded_at < before,
        )
        with self._session() as session:
            return [_fire(row) for row in session.scalars(query)]

    def retake(self, fire: ScheduleFire, at: datetime) -> bool:
        """Claim an unsettled fire again (compare-and-set on its claim time): True for the one
        server that did."""
        with self._session.begin() as session:
            result = session.execute(
                update(FireRow)
                .where(
                    FireRow.schedule_id == fire.schedule_id,
                    FireRow.fire_at == fire.fire_at,
                    FireRow.job_id.is_(None),
                    FireRow.recorded_at == fire.recorded_at,
                )
                .values(recorded_at=at)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # ----- a schedule's runs -----

    def run_for(self, schedule_id: str, at: datetime) -> str | None:
        """The job of a schedule planned for fire time `at`, if one was submitted."""
        query = select(JobRow.id).where(
            JobRow.schedule_id == schedule_id, JobRow.scheduled_for == at
        )
        with self._session() as session:
            return session.scalar(query.limit(1))

    def running(self, schedule_id: str) -> int:
        """How many of a schedule's runs have not ended."""
        query = select(func.count()).where(
            JobRow.schedule_id == schedule_id,
            JobRow.state.not_in([s.value for s in TERMINAL_STATES]),
        )
        with self._session() as session:
            return int(session.scalar(query) or 0)

    def run_ids(self, schedule_id: str) -> set[str]:
        """The backends' ids of a schedule's runs (those the cloud made are found by them)."""
        query = select(JobRow.backend_job_id).where(JobRow.schedule_id == schedule_id)
        with self._session() as session:
            return {found for found in session.scalars(query) if found}
