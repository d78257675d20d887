"""Persistence of jobs and their state transitions through SQLAlchemy (SQLite by default)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    TypeDecorator,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    inspect,
    literal_column,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    mapped_column,
    relationship,
    selectinload,
    sessionmaker,
)

from .models import (
    ACTIVE_STATES,
    OPTION_FIELDS,
    TERMINAL_STATES,
    Attempt,
    FieldError,
    Job,
    JobRef,
    JobSpec,
    JobState,
    MetricPoint,
    Progress,
    Transition,
    Trial,
    best_trial,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes, also on SQLite (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "mlp_jobs"

    # seq orders jobs (newest first) and is the pagination cursor; id is the public identity.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    backend: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    state_message: Mapped[str] = mapped_column(Text, default="")
    backend_state: Mapped[str | None] = mapped_column(String(64), nullable=True)
    backend_job_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    console_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outputs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The job's folder (bundle, log, outputs): the manager's own field.
    folder: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The backend's bookkeeping (its typed `Runtime` model as JSON); empty until it started.
    runtime: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What a list page shows of the spec (never inline code): kept apart so that a page of 50
    # is the same size however large the jobs' sources are.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Times a watch round needs, in columns rather than found by scanning transitions.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Who asked for the cancel ("you"; later e.g. a cost cap): the words the job ends with.
    cancelled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    force_cancel_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the backend's start returned (the job exists there); NULL while only claimed.
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A sweep's trials (`Trial` models as JSON); a trial job's sweep (NULL for top-level jobs).
    trials: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    sweep_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # A trial job's number in its sweep: unique per sweep, so of several managers driving one
    # sweep only one adds each trial.
    trial: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A cloud job's tries (`Attempt` models as JSON): the last is what finally ran.
    attempts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    # A scheduled run's schedule and the fire time it was planned for (NULL for other jobs).
    schedule_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the job reported (`MetricPoint`s by name), how far a notebook has run (`Progress`).
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Each metric's last point, what a list page sends: kept apart, as `summary` is.
    metrics_last: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The job this one reruns (`JobRef`), the declared parameters it left at their defaults, and
    # the warnings its checks gave at submit (`FieldError`s).
    rerun_of: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    parameter_defaults: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    warnings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    transitions: Mapped[list[TransitionRow]] = relationship(
        order_by="TransitionRow.id", cascade="all, delete-orphan", lazy="raise"
    )

    __table_args__ = (
        # A round reads the oldest queued jobs of one backend, and the active ones.
        Index("ix_mlp_jobs_backend_state_seq", "backend", "state", "seq"),
        Index("ix_mlp_jobs_sweep_trial", "sweep_id", "trial", unique=True),
    )


class TransitionRow(Base):
    __tablename__ = "mlp_job_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("mlp_jobs.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    message: Mapped[str] = mapped_column(Text, default="")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the server and a kernel-side manager share one file; busy_timeout avoids spurious
    # "database is locked" errors when both write at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite files get their folder created and WAL mode."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


# Specs read back were checked when they were submitted; checks added since must not refuse them.
STORED = {"stored": True}

# Columns added after the first release, with how to fill them in rows stored before.
_ADDED_COLUMNS = {
    "folder": "TEXT",
    "summary": "JSON",
    "cancel_requested_at": "DATETIME",
    "cancelled_by": "VARCHAR(64)",
    "force_cancel_at": "DATETIME",
    "launched_at": "DATETIME",
    "trials": "JSON",
    "sweep_id": "VARCHAR(32)",
    "trial": "INTEGER",
    "attempts": "JSON",
    "schedule_id": "VARCHAR(32)",
    "scheduled_for": "DATETIME",
    "metrics": "JSON",
    "metrics_last": "JSON",
    "progress": "JSON",
    "rerun_of": "JSON",
    "parameter_defaults": "JSON",
    "warnings": "JSON",
}


def _upgrade(engine: Engine) -> None:
    """Bring a database written by an earlier version up to this schema, keeping every job."""
    present = {column["name"] for column in inspect(engine).get_columns("mlp_jobs")}
    missing = [name for name in _ADDED_COLUMNS if name not in present]
    if not missing:
        return
    with engine.begin() as connection:
        for name in missing:
            kind = _ADDED_COLUMNS[name]
            connection.execute(text(f"ALTER TABLE mlp_jobs ADD COLUMN {name} {kind}"))
    numbered: dict[str, int] = {}
    with sessionmaker(engine).begin() as session:
        for row in session.scalars(select(JobRow).order_by(JobRow.seq)):
            runtime = dict(row.runtime or {})
            row.folder = row.folder or runtime.pop("folder", None)
            row.runtime = runtime
            if runtime.get("pid") is not None:  # started by an earlier version
                row.launched_at = row.started_at
            row.summary = summary_of(JobSpec.model_validate(row.spec, context=STORED))
            if row.sweep_id is not None and row.trial is None:  # numbered as they were added
                numbered[row.sweep_id] = number = numbered.get(row.sweep_id, 0) + 1
                row.trial = number
    for index in JobRow.__table__.indexes:  # type: ignore[attr-defined]
        index.create(engine, checkfirst=True)


#: The spec's section of one backend's own options (`OPTION_FIELDS`' `<section>.flexrs`).
_OPTIONS_SECTION = next(p for p in OPTION_FIELDS if p.endswith(".flexrs")).split(".")[0]


def summary_of(spec: JobSpec, attempts: Sequence[Attempt] = ()) -> dict[str, Any]:
    """The part of a spec a list page shows: what runs where, never the code itself. Where
    and on what is the last attempt's, if the job made any: what finally ran."""
    source: dict[str, Any] = {"path": spec.source.path} if spec.source.path else {"code": ""}
    if spec.source.mode:
        source["mode"] = spec.source.mode
    resources = spec.resources.model_dump(exclude_none=True)
    region = spec.region
    # What prices it besides the resources: the strategy (Spot, Flex-start), Dataflow's FlexRS.
    strategy = spec.scheduling.strategy
    if attempts:
        ran = attempts[-1]
        resources.pop("accelerator_type", None)
        ran_on = ran.model_dump(include={"machine_type", "accelerator_type", "accelerator_count"})
        resources.update({key: value for key, value in ran_on.items() if value is not None})
        region = ran.region or region
        strategy = ran.strategy
    return {
        "kind": spec.kind.value,
        "backend": spec.backend,
        "name": spec.name,
        "source": source,
        "resources": resources,
        "region": region,
        "labels": spec.labels,
        **({"scheduling": {"strategy": strategy}} if strategy != "standard" else {}),
        # Dataflow's FlexRS prices its workers (its options' section, named by its field).
        **spec.model_dump(include={_OPTIONS_SECTION: {"flexrs"}}, exclude_defaults=True),
        **({"sweep": spec.sweep.model_dump(mode="json")} if spec.sweep else {}),
    }


def _stored_trials(trials: Any) -> list[dict[str, Any]]:
    """Trials (models or dicts, as a backend reports them) as the JSON the column holds."""
    return [Trial.model_validate(t).model_dump(mode="json") for t in trials or []]


def _stored_attempts(attempts: Any) -> list[dict[str, Any]]:
    """Attempts (models or dicts) as the JSON the column holds."""
    return [Attempt.model_validate(a).model_dump(mode="json") for a in attempts or []]


# The columns `JobStore.set_fields` may change: none of them is a job's state or a time the
# state machine keeps.
PLAIN_FIELDS = frozenset(
    {
        "state_message",
        "backend_state",
        "backend_job_id",
        "console_url",
        "runtime",
        "trials",
        "attempts",
        "metrics",
        "progress",
    }
)


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    if "trials" in fields:
        fields = {**fields, "trials": _stored_trials(fields["trials"])}
    if "attempts" in fields:
        fields = {**fields, "attempts": _stored_attempts(fields["attempts"])}
    if "metrics" in fields:
        metrics = _stored_metrics(fields["metrics"])
        fields = {**fields, "metrics": metrics, "metrics_last": _last_points(metrics)}
    if "progress" in fields and fields["progress"] is not None:
        fields = {
            **fields,
            "progress": Progress.model_validate(fields["progress"]).model_dump(mode="json"),
        }
    return fields


def _stored_metrics(metrics: Any) -> dict[str, list[dict[str, Any]]]:
    """Metrics (`MetricPoint` models or dicts, by name) as the JSON the column holds."""
    return {
        name: [MetricPoint.model_validate(p).model_dump(mode="json") for p in points]
        for name, points in (metrics or {}).items()
    }


def _last_points(metrics: dict[str, list[dict[str, Any]]] | None) -> dict[str, list[Any]]:
    """What a list page sends of a job's metrics: each one's last point."""
    return {name: points[-1:] for name, points in (metrics or {}).items()}


def job_row(
    job: Job,
    runtime: dict[str, Any] | None = None,
    folder: str | None = None,
    trial: int | None = None,
) -> JobRow:
    """A new job as its row holds it, every field and its transitions."""
    row = JobRow(
        id=job.id,
        name=job.name,
        kind=job.kind.value,
        backend=job.backend,
        state=job.state.value,
        state_message=job.state_message,
        backend_state=job.backend_state,
        backend_job_id=job.backend_job_id,
        console_url=job.console_url,
        spec=job.spec.model_dump(mode="json", exclude_none=True),
        created_at=job.created_at,
        started_at=job.started_at,
        ended_at=job.ended_at,
        outputs=job.outputs,
        folder=folder,
        runtime=runtime or {},
        summary=summary_of(job.spec, job.attempts),
        trials=_stored_trials(job.trials),
        attempts=_stored_attempts(job.attempts),
        sweep_id=job.sweep_id,
        trial=trial,
        schedule_id=job.schedule_id,
        scheduled_for=job.scheduled_for,
        metrics=_stored_metrics(job.metrics),
        metrics_last=_last_points(_stored_metrics(job.metrics)),
        progress=job.progress.model_dump(mode="json") if job.progress else None,
        rerun_of=job.rerun_of.model_dump(mode="json") if job.rerun_of else None,
        parameter_defaults=job.parameter_defaults or None,
        warnings=[w.model_dump(mode="json") for w in job.warnings] or None,
    )
    row.transitions = [
        TransitionRow(state=t.state.value, at=t.at, message=t.message) for t in job.transitions
    ]
    return row


_PageStatement = tuple[str, tuple[str, ...], dict[str, Any]]


class TrialTaken(Exception):
    """A sweep's trial of that number is stored already (another manager added it)."""


class JobStore:
    """Reads and writes jobs. Knows nothing of backends; the JobManager decides what to write.

    Every method blocks (it talks to the database): the manager calls them off the event loop.
    """

    def __init__(self, url: str):
        self.engine = make_engine(url)
        Base.metadata.create_all(self.engine)
        _upgrade(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite writes a list page's JSON itself (`_LISTED_IN_SQL`), four times faster than
        # decoding the stored JSON and encoding it again; other databases get `_listed`.
        self.pages_in_sql = self.engine.dialect.name == "sqlite"
        self._page_sql: dict[tuple[str, ...], _PageStatement] = {}
        database = self.engine.url.database
        # A connection that only ever asks whether another one committed (`changes`); it never
        # waits for a lock (timeout 0), so it may be asked on the server's event loop.
        self._watcher = (
            sqlite3.connect(database, check_same_thread=False, timeout=0)
            if self.engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
            else None
        )

    def changes(self) -> int | None:
        """A number that is different after any commit to the database, by this process or
        another (the CLI, a kernel's manager); None where it cannot be known now. About 10 µs:
        SQLite's `data_version` is read from memory shared between connections, taking no lock
        (a write in progress does not hold it up)."""
        if self._watcher is None:
            return None
        try:
            return int(self._watcher.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:  # e.g. another connection recovering the database after a crash
            return None

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
        self.engine.dispose()

    def add(
        self,
        job: Job,
        runtime: dict[str, Any] | None = None,
        folder: str | None = None,
        trial: int | None = None,
    ) -> None:
        """Store a new job, every field of it, with its folder and backend bookkeeping; a
        sweep's trial with its number (TrialTaken when another manager added that trial)."""
        row = job_row(job, runtime, folder, trial)
        try:
            with self._session.begin() as session:
                session.add(row)
        except IntegrityError:
            if trial is None:
                raise
            raise TrialTaken(f"trial {trial} of sweep {job.sweep_id} was added already") from None

    def get(self, job_id: str) -> Job | None:
        with self._session() as session:
            row = session.scalar(
                select(JobRow).where(JobRow.id == job_id).options(selectinload(JobRow.transitions))
            )
            return None if row is None else _to_job(row)

    def runtime(self, job_id: str) -> dict[str, Any]:
        """The backend's bookkeeping of a job; empty before it started (or for no such job)."""
        with self._session() as session:
            value = session.scalar(select(JobRow.runtime).where(JobRow.id == job_id))
            return dict(value or {})

    def folder(self, job_id: str) -> str | None:
        with self._session() as session:
            return session.scalar(select(JobRow.folder).where(JobRow.id == job_id))

    def claim_force_cancel(self, job_id: str, at: datetime) -> bool:
        """Record that a job is being stopped by force; True only for the first to ask, so a
        forced cancel is sent once, however many managers watch the job."""
        with self._session.begin() as session:
            result = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.force_cancel_at.is_(None))
                .values(force_cancel_at=at)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def set_runtime(self, job_id: str, runtime: dict[str, Any]) -> None:
        with self._session.begin() as session:
            session.execute(update(JobRow).where(JobRow.id == job_id).values(runtime=runtime))

    def record_launch(
        self, job_id: str, runtime: dict[str, Any], at: datetime, **fields: Any
    ) -> None:
        """The backend started the job: its bookkeeping and what it reported, in one write."""
        with self._session.begin() as session:
            session.execute(
                update(JobRow)
                .where(JobRow.id == job_id)
                .values(runtime=runtime, launched_at=at, **_jsonable(fields))
            )

    def set_fields(self, job_id: str, **fields: Any) -> None:
        """Update a job's plain fields (those of `PLAIN_FIELDS`: what its backend reports, a
        sweep's trials). Its state and times move only through `transition`; any other column
        is refused (ValueError)."""
        refused = sorted(set(fields) - PLAIN_FIELDS)
        if refused:
            raise ValueError(f"not plain fields of a job: {', '.join(refused)}")
        values = _jsonable(fields)
        with self._session.begin() as session:
            if values.get("attempts"):  # a list page shows what the last attempt runs on
                spec = session.scalar(select(JobRow.spec).where(JobRow.id == job_id))
                if spec is not None:
                    ran = [Attempt.model_validate(a) for a in values["attempts"]]
                    stored = JobSpec.model_validate(spec, context=STORED)
                    values["summary"] = summary_of(stored, ran)
            session.execute(update(JobRow).where(JobRow.id == job_id).values(**values))

    def transition(
        self,
        job_id: str,
        state: JobState,
        at: datetime,
        message: str,
        expected: JobState,
        **fields: Any,
    ) -> bool:
        """Move a job to `state` only from `expected` (the state the move was decided from);
        False when the job is in another state by now, and nothing changed.

        The guard is in the UPDATE itself (compare-and-set), so of two writers deciding from one
        state (a watch round and a cancel, or two processes sharing the database) only the first
        moves the job; the other reads it again and decides anew. A terminal state never moves.
        """
        if expected in TERMINAL_STATES:
            return False
        with self._session.begin() as session:
            result = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == expected.value)
                .values(state=state.value, state_message=message, **_jsonable(fields))
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                return False
            session.add(TransitionRow(job_id=job_id, state=state.value, at=at, message=message))
            return True

    def find(
        self,
        *,
        states: Iterable[JobState] = (),
        backend: str | None = None,
        kind: str | None = None,
        name_prefix: str | None = None,
        search: str | None = None,
        limit: int = 50,
        before_seq: int | None = None,
        sweep_id: str | None = None,
        schedule_id: str | None = None,
    ) -> tuple[list[Listed], int | None]:
        """Newest first, as summaries: each job as `Job` sends it (JSON text), but with the
        spec's `summary_of` and no transitions. Returns the page and the cursor (a seq) of the
        next page, if any. Top-level jobs only, or with `sweep_id` that sweep's trial jobs;
        with `schedule_id`, only that schedule's runs."""
        values: dict[str, Any] = {"limit": limit + 1}
        if sweep_id is not None:
            values["sweep_id"] = sweep_id
        if schedule_id is not None:
            values["schedule_id"] = schedule_id
        # Each state once: the compiled statements kept (one per set of filters) stay few.
        for index, state in enumerate(dict.fromkeys(JobState(s).value for s in states)):
            values[f"state_{index}"] = state
        if backend:
            values["backend"] = backend
        if kind:
            values["kind"] = kind
        if name_prefix:
            values["name_prefix"] = f"{_escape_like(name_prefix)}%"
        if search:
            values["search"] = f"%{_escape_like(search)}%"
        if before_seq is not None:
            values["before_seq"] = before_seq
        shape = tuple(sorted(values))
        with self.engine.connect() as connection:
            if not self.pages_in_sql:
                query = _page_query(shape, _SUMMARY_COLUMNS)
                rows = connection.execute(query, values).all()
            else:
                sql, order, fixed = self._page_statement(shape)
                arguments = tuple(values[n] if n in values else fixed[n] for n in order)
                rows = connection.exec_driver_sql(sql, arguments).all()
        following = rows[limit - 1].seq if len(rows) > limit else None
        page = rows[:limit]
        if self.pages_in_sql:
            return [Listed(r.backend, _with_trials(r.listed, r.trials)) for r in page], following
        return [Listed(r.backend, json.dumps(_listed(r))) for r in page], following

    def _page_statement(self, shape: tuple[str, ...]) -> _PageStatement:
        """The SQL of a list page with the filters of `shape`, its parameters' order and the
        values it fixes itself (SQLite's OFFSET 0): compiled once per shape, since building
        the statement anew costs SQLAlchemy as much as it costs SQLite to read and write the
        page (about 0.25 ms each)."""
        found = self._page_sql.get(shape)
        if found is None:
            compiled = _page_query(shape, _LISTED_COLUMNS).compile(dialect=self.engine.dialect)
            found = (compiled.string, tuple(compiled.positiontup or ()), compiled.params)
            self._page_sql[shape] = found
        return found

    def active(self, backend: str, job_id: str | None = None) -> list[ActiveJob]:
        """A backend's started jobs (STARTING, RUNNING, CANCELLING), oldest first, each with
        its folder, bookkeeping and cancel: what a watch round observes (only `job_id`'s, if
        given: a round that lost a race reads that job again)."""
        query = (
            select(JobRow)
            .where(JobRow.backend == backend, JobRow.state.in_([s.value for s in ACTIVE_STATES]))
            .order_by(_OLDEST_FIRST)
        )
        if job_id is not None:
            query = query.where(JobRow.id == job_id)
        with self._session() as session:
            return [
                ActiveJob(
                    job=_to_job(row, with_transitions=False),
                    folder=row.folder or "",
                    runtime=dict(row.runtime or {}),
                    cancel_requested_at=row.cancel_requested_at,
                    cancelled_by=row.cancelled_by,
                    force_cancel_at=row.force_cancel_at,
                    launched=row.launched_at is not None,
                )
                for row in session.scalars(query)
            ]

    def queued(self, backend: str, limit: int) -> list[Job]:
        """The oldest `limit` queued jobs of a backend (the admission order)."""
        query = (
            select(JobRow)
            .where(JobRow.backend == backend, JobRow.state == JobState.QUEUED.value)
            .order_by(JobRow.seq)
            .limit(limit)
        )
        with self._session() as session:
            return [_to_job(row, with_transitions=False) for row in session.scalars(query)]

    def unfinished_elsewhere(self, backends: Iterable[str]) -> list[Job]:
        """Unfinished jobs whose backend is none of `backends` (not installed here)."""
        query = select(JobRow).where(
            JobRow.backend.not_in(list(backends)), JobRow.state.in_(_UNFINISHED)
        )
        with self._session() as session:
            return [_to_job(row, with_transitions=False) for row in session.scalars(query)]

    def delete(self, job_id: str) -> None:
        with self._session.begin() as session:
            session.execute(delete(TransitionRow).where(TransitionRow.job_id == job_id))
            session.execute(delete(JobRow).where(JobRow.id == job_id))

    # ----- sweeps -----

    def sweeps(self, backend: str) -> list[Job]:
        """A backend's unfinished sweep jobs (those a sweep driver drives), oldest first."""
        query = (
            select(JobRow)
            .where(
                JobRow.backend == backend,
                JobRow.state.in_(_UNFINISHED),
                JobRow.sweep_id.is_(None),
                # As text: the JSON value of a missing key is SQLite's 'null', never NULL, so a
                # round would read (and validate) every queued job of the backend, not its sweeps.
                JobRow.spec["sweep"].as_string().is_not(None),
            )
            .order_by(_OLDEST_FIRST)
        )
        with self._session() as session:
            return [_to_job(row, with_transitions=False) for row in session.scalars(query)]

    def trial_states(self, sweep_id: str) -> list[tuple[str, JobState]]:
        """A sweep's trial jobs as (id, state), oldest (trial 1) first: what a sweep's step
        reads each round (the whole jobs only of those whose state it has not seen)."""
        query = (
            select(JobRow.id, JobRow.state).where(JobRow.sweep_id == sweep_id).order_by(JobRow.seq)
        )
        with self._session() as session:
            return [(job_id, JobState(state)) for job_id, state in session.execute(query)]

    def trial_jobs(
        self, sweep_id: str, ids: Iterable[str] | None = None
    ) -> list[tuple[Job, str | None]]:
        """A sweep's trial jobs (those of `ids`, if given) with their folders, oldest (trial
        1) first."""
        query = select(JobRow).where(JobRow.sweep_id == sweep_id).order_by(JobRow.seq)
        if ids is not None:
            query = query.where(JobRow.id.in_(list(ids)))
        with self._session() as session:
            return [
                (_to_job(row, with_transitions=False), row.folder) for row in session.scalars(query)
            ]

    def trial_folders(self, sweep_id: str) -> list[str]:
        query = select(JobRow.folder).where(JobRow.sweep_id == sweep_id)
        with self._session() as session:
            return [folder for folder in session.scalars(query) if folder]

    def delete_trials(self, sweep_id: str) -> None:
        """Forget a sweep's trial jobs (with the sweep)."""
        ids = select(JobRow.id).where(JobRow.sweep_id == sweep_id)
        with self._session.begin() as session:
            session.execute(delete(TransitionRow).where(TransitionRow.job_id.in_(ids)))
            session.execute(delete(JobRow).where(JobRow.sweep_id == sweep_id))

    def ids_starting(self, prefix: str, limit: int = 5) -> list[tuple[str, str]]:
        """The ids and names of the jobs whose id starts with `prefix`, in id order, at most
        `limit`. The range finds them through the id's index (SQLite's LIKE would scan: ids
        are compared case-sensitively); the LIKE keeps the match exact."""
        query = (
            select(JobRow.id, JobRow.name)
            .where(
                JobRow.id >= prefix,
                JobRow.id < prefix + _LAST_CHARACTER,
                JobRow.id.like(_escape_like(prefix) + "%", escape="\\"),
            )
            .order_by(JobRow.id)
            .limit(limit)
        )
        with self._session() as session:
            return [(row.id, row.name) for row in session.execute(query)]


#: Sorts after every character: `prefix + _LAST_CHARACTER` bounds the ids starting with prefix.
_LAST_CHARACTER = chr(0x10FFFF)


def _escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _page_query(shape: tuple[str, ...], columns: Iterable[Any]) -> Select[Any]:
    """A list page's query, newest first, with a bound parameter for each filter named in
    `shape` (`find`'s values: `state_0`..., `backend`, `name_prefix`, ...)."""
    present = set(shape)
    query = select(*columns).where(
        JobRow.sweep_id == bindparam("sweep_id")
        if "sweep_id" in present
        else JobRow.sweep_id.is_(None)
    )
    states = sorted(name for name in present if name.startswith("state_"))
    if states:
        query = query.where(JobRow.state.in_([bindparam(name) for name in states]))
    for name in ("backend", "kind", "schedule_id"):
        if name in present:
            query = query.where(getattr(JobRow, name) == bindparam(name))
    if "name_prefix" in present:
        query = query.where(JobRow.name.like(bindparam("name_prefix"), escape="\\"))
    if "search" in present:
        query = query.where(JobRow.name.ilike(bindparam("search"), escape="\\"))
    if "before_seq" in present:
        query = query.where(JobRow.seq < bindparam("before_seq"))
    return query.order_by(JobRow.seq.desc()).limit(bindparam("limit"))


@dataclass
class ActiveJob:
    """A started job as the store holds it, for a watch round."""

    job: Job
    folder: str
    runtime: dict[str, Any]
    cancel_requested_at: datetime | None
    cancelled_by: str | None
    force_cancel_at: datetime | None
    launched: bool


_SUMMARY_COLUMNS = (
    JobRow.seq,
    JobRow.id,
    JobRow.name,
    JobRow.kind,
    JobRow.backend,
    JobRow.state,
    JobRow.state_message,
    JobRow.backend_state,
    JobRow.backend_job_id,
    JobRow.console_url,
    JobRow.summary,
    JobRow.created_at,
    JobRow.started_at,
    JobRow.ended_at,
    JobRow.outputs,
    JobRow.sweep_id,
    JobRow.trials,  # a sweep's row shows its progress and best trial
    JobRow.attempts,
    JobRow.schedule_id,
    JobRow.metrics_last,
    JobRow.progress,
    JobRow.rerun_of,
    JobRow.scheduled_for,
)


# What a watch round reads are the few unfinished jobs among a history of thousands: named by
# the states they can be in (`state IN`, not `NOT IN` the terminal ones) and ordered by an
# expression, so SQLite looks them up through (backend, state) instead of walking every job of
# the backend in `seq` order to save a sort of a handful (10,000 jobs: 0.01 ms instead of 5 ms).
_UNFINISHED = [s.value for s in JobState if s not in TERMINAL_STATES]
_OLDEST_FIRST = JobRow.seq + 0


class Listed(NamedTuple):
    """A job of a list page: its backend, and the job as the page sends it (JSON text)."""

    backend: str
    json: str


def _sql(value: str | int) -> Any:
    """A constant written into the statement (not a bound parameter)."""
    if isinstance(value, int):
        return literal_column(str(value))
    return literal_column("'" + value.replace("'", "''") + "'")


def _sql_iso(column: Any) -> ColumnElement[Any]:
    """`_iso` in SQLite: a stored time (`2026-11-27 12:00:00.500000`) as pydantic writes it
    (`2026-11-27T12:00:00.500000Z`, whole seconds without a fraction)."""
    iso = func.replace(column, _sql(" "), _sql("T"))
    return func.iif(
        func.substr(column, _sql(20)) == _sql(".000000"),
        func.substr(iso, _sql(1), _sql(19)).op("||")(_sql("Z")),
        iso.op("||")(_sql("Z")),
    )


def _sql_json(column: Any, empty: str) -> ColumnElement[Any]:
    """A stored JSON value as JSON (not as a string), `empty` where there is none."""
    return func.json(func.coalesce(func.nullif(column, _sql("null")), _sql(empty)))


# `_listed` as SQLite writes it; a sweep's trials and best trial are added by `_with_trials`.
_LISTED_IN_SQL = func.json_object(
    *(
        part
        for name, value in (
            ("id", JobRow.id),
            ("name", JobRow.name),
            ("kind", JobRow.kind),
            ("backend", JobRow.backend),
            ("state", JobRow.state),
            ("state_message", func.coalesce(JobRow.state_message, _sql(""))),
            ("backend_state", JobRow.backend_state),
            ("backend_job_id", JobRow.backend_job_id),
            ("console_url", JobRow.console_url),
            ("spec", _sql_json(JobRow.summary, '{"source":{"code":""}}')),
            ("created_at", _sql_iso(JobRow.created_at)),
            ("started_at", _sql_iso(JobRow.started_at)),
            ("ended_at", _sql_iso(JobRow.ended_at)),
            ("outputs", _sql_json(JobRow.outputs, "{}")),
            ("transitions", func.json(_sql("[]"))),
            ("cost", literal_column("NULL")),
            ("trials", func.json(_sql("[]"))),
            ("best_trial", literal_column("NULL")),
            ("sweep_id", JobRow.sweep_id),
            ("attempts", _sql_json(JobRow.attempts, "[]")),
            ("schedule_id", JobRow.schedule_id),
            ("scheduled_for", _sql_iso(JobRow.scheduled_for)),
            ("metrics", _sql_json(JobRow.metrics_last, "{}")),
            ("progress", _sql_json(JobRow.progress, "null")),
            ("rerun_of", _sql_json(JobRow.rerun_of, "null")),
            ("parameter_defaults", func.json(_sql("{}"))),
            ("warnings", func.json(_sql("[]"))),
        )
        for part in (_sql(name), value)
    )
)
# Written into the statement as text, compiled once: SQLAlchemy would otherwise walk its ~80
# parts for a cache key on every page.
_LISTED_SQL = str(_LISTED_IN_SQL.compile(dialect=sqlite_dialect()))
_LISTED_COLUMNS: tuple[Any, ...] = (
    JobRow.seq,
    JobRow.backend,
    type_coerce(JobRow.trials, Text).label("trials"),  # decoded only where there are some
    literal_column(_LISTED_SQL).label("listed"),
)


def _with_trials(listed: str, trials: str | None) -> str:
    """A job written by `_LISTED_IN_SQL`, with its trials (stored JSON text) and best trial if
    it has any."""
    if trials in (None, "null", "[]"):
        return listed
    job = json.loads(listed)
    job["trials"] = json.loads(trials)
    job["best_trial"] = _best_of(job["spec"], job["trials"])
    return json.dumps(job)


def _best_of(spec: dict[str, Any], trials: list[dict[str, Any]]) -> str | None:
    """The id of a listed sweep's best trial."""
    if not trials or not spec.get("sweep"):
        return None
    goal = spec["sweep"]["metric"].get("goal", "maximize")
    found = best_trial([Trial.model_validate(t) for t in trials], goal)
    return found.id if found else None


def _iso(at: datetime | None) -> str | None:
    """A stored (UTC) time as pydantic writes it when a `Job` is sent (`...T12:00:00.500000Z`), so
    a listed job reads as a fetched one."""
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def _listed(row: Any) -> dict[str, Any]:
    """A row of `_SUMMARY_COLUMNS` as a list page sends it: the job as `Job` would be sent
    (JSON), with the spec's summary (`summary_of`: no code, parameters, args or requirements)
    as its spec and no transitions. Built directly: validating and dumping a page of 50 jobs
    as models costs several milliseconds."""
    spec = row.summary or {"source": {"code": ""}}
    trials = list(row.trials or [])
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "backend": row.backend,
        "state": row.state,
        "state_message": row.state_message or "",
        "backend_state": row.backend_state,
        "backend_job_id": row.backend_job_id,
        "console_url": row.console_url,
        "spec": spec,
        "created_at": _iso(row.created_at),
        "started_at": _iso(row.started_at),
        "ended_at": _iso(row.ended_at),
        "outputs": dict(row.outputs or {}),
        "transitions": [],
        "cost": None,
        "trials": trials,
        "best_trial": _best_of(spec, trials),
        "sweep_id": row.sweep_id,
        "attempts": list(row.attempts or []),
        "schedule_id": row.schedule_id,
        "scheduled_for": _iso(row.scheduled_for),
        "metrics": dict(row.metrics_last or {}),
        "progress": row.progress,
        "rerun_of": row.rerun_of,
        "parameter_defaults": {},
        "warnings": [],
    }


def _to_job(row: JobRow, with_transitions: bool = True) -> Job:
    spec = JobSpec.model_validate(
        row.spec if isinstance(row.spec, dict) else json.loads(row.spec), context=STORED
    )
    trials = [Trial.model_validate(t) for t in row.trials or []]
    best = best_trial(trials, spec.sweep.metric.goal) if spec.sweep else None
    return Job(
        id=row.id,
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]
        backend=row.backend,
        state=JobState(row.state),
        state_message=row.state_message or "",
        backend_state=row.backend_state,
        backend_job_id=row.backend_job_id,
        console_url=row.console_url,
        spec=spec,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        outputs=dict(row.outputs or {}),
        transitions=[
            Transition(state=JobState(t.state), at=t.at, message=t.message or "")
            for t in row.transitions
        ]
        if with_transitions
        else [],
        trials=trials,
        best_trial=best.id if best else None,
        sweep_id=row.sweep_id,
        attempts=[Attempt.model_validate(a) for a in row.attempts or []],
        schedule_id=row.schedule_id,
        scheduled_for=row.scheduled_for,
        metrics={
            name: [MetricPoint.model_validate(p) for p in points]
            for name, points in (row.metrics or {}).items()
        },
        progress=Progress.model_validate(row.progress) if row.progress else None,
        rerun_of=JobRef.model_validate(row.rerun_of) if row.rerun_of else None,
        parameter_defaults=dict(row.parameter_defaults or {}),
        warnings=[FieldError.model_validate(w) for w in row.warnings or []],
    )
