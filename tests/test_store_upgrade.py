"""A job database written by the previous version opens with every job kept and still running."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import listed

from jupyter_mlp.core.models import JobState
from jupyter_mlp.core.store import JobStore

PREVIOUS_SCHEMA = """
CREATE TABLE mlp_jobs (
    seq INTEGER NOT NULL, id VARCHAR(32) NOT NULL, name VARCHAR(128) NOT NULL,
    kind VARCHAR(16) NOT NULL, backend VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL,
    state_message TEXT NOT NULL, backend_state VARCHAR(64), backend_job_id VARCHAR(256),
    console_url TEXT, spec JSON NOT NULL, created_at DATETIME NOT NULL, started_at DATETIME,
    ended_at DATETIME, outputs JSON NOT NULL, runtime JSON NOT NULL, PRIMARY KEY (seq)
);
CREATE UNIQUE INDEX ix_mlp_jobs_id ON mlp_jobs (id);
CREATE TABLE mlp_job_transitions (
    id INTEGER NOT NULL, job_id VARCHAR(32) NOT NULL, state VARCHAR(16) NOT NULL,
    at DATETIME NOT NULL, message TEXT NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(job_id) REFERENCES mlp_jobs (id) ON DELETE CASCADE
);
"""


def previous_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.executescript(PREVIOUS_SCHEMA)
    spec = {"source": {"code": "print('hello')"}, "backend": "local", "kind": "train"}
    runtime = {"folder": "/jobs/old-1", "pid": 4242, "start_ticks": 7, "gpus": ["0"]}
    connection.execute(
        "INSERT INTO mlp_jobs VALUES (1, 'old1', 'old', 'train', 'local', 'RUNNING', 'running',"
        " 'running', '4242', NULL, ?, '2026-11-01 10:00:00', '2026-11-01 10:00:01', NULL, '{}', ?)",
        (json.dumps(spec), json.dumps(runtime)),
    )
    connection.execute(
        "INSERT INTO mlp_job_transitions VALUES (1, 'old1', 'QUEUED', '2026-11-01 10:00:00', '')"
    )
    connection.commit()
    connection.close()


def test_a_previous_database_keeps_its_jobs_and_their_bookkeeping(tmp_path):
    previous_database(tmp_path / "jobs.db")

    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        job = store.get("old1")
        [active] = store.active("local")
        page = listed(store)
    finally:
        store.close()

    assert job is not None and job.state is JobState.RUNNING
    assert job.spec.source.code == "print('hello')"
    assert active.folder == "/jobs/old-1" and active.launched
    assert active.runtime == {"pid": 4242, "start_ticks": 7, "gpus": ["0"]}
    assert [j["id"] for j in page] == ["old1"] and page[0]["spec"]["source"]["code"] == ""


def test_trials_stored_before_trial_numbers_get_theirs_in_the_order_they_were_added(tmp_path):
    from datetime import UTC, datetime

    from jupyter_mlp.core.models import Job, JobSpec
    from jupyter_mlp.core.store import TrialTaken

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = JobStore(url)
    spec = JobSpec.model_validate({"source": {"code": "pass"}})
    now = datetime.now(UTC)

    def trial(name: str, state: JobState) -> Job:
        return Job(
            id=name,
            name=name,
            kind="train",
            backend="local",
            state=state,
            spec=spec,
            created_at=now,
            sweep_id="s1",
        )

    for name in ("t-a", "t-b"):  # as the previous version stored trials: no number
        store.add(trial(name, JobState.SUCCEEDED))
    store.close()
    connection = sqlite3.connect(tmp_path / "jobs.db")
    connection.execute("DROP INDEX ix_mlp_jobs_sweep_trial")
    connection.execute("ALTER TABLE mlp_jobs DROP COLUMN trial")
    connection.commit()
    connection.close()

    store = JobStore(url)
    try:
        numbers = dict(
            sqlite3.connect(tmp_path / "jobs.db").execute("SELECT id, trial FROM mlp_jobs")
        )
        third = trial("t-c", JobState.QUEUED)
        with pytest.raises(TrialTaken):  # trial 2 is t-b's: no second manager adds it again
            store.add(third, trial=2)
        store.add(third, trial=3)
    finally:
        store.close()

    assert numbers == {"t-a": 1, "t-b": 2}


def test_a_previous_database_takes_attempts_and_lists_where_the_last_one_ran(tmp_path):
    from datetime import UTC, datetime

    from jupyter_mlp.core.models import Attempt

    previous_database(tmp_path / "jobs.db")
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        before = store.get("old1")
        now = datetime.now(UTC)
        tried = [
            Attempt(number=1, region="us-central1", machine_type="n1-standard-8", ended_at=now),
            Attempt(number=2, region="us-east1", machine_type="n1-standard-4"),
        ]
        store.set_fields("old1", attempts=tried)
        after = store.get("old1")
        page = listed(store)
    finally:
        store.close()

    assert before is not None and before.attempts == []
    assert after is not None and after.attempts == tried
    assert after.spec.region is None  # the spec stays as submitted
    assert page[0]["attempts"] == [a.model_dump(mode="json") for a in tried]
    assert page[0]["spec"]["region"] == "us-east1"
    assert page[0]["spec"]["resources"]["machine_type"] == "n1-standard-4"


def test_a_previous_database_takes_scheduled_runs_and_lists_them_by_schedule(tmp_path):
    from datetime import UTC, datetime

    from jupyter_mlp.core.models import Job, JobSpec

    previous_database(tmp_path / "jobs.db")
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    night = datetime(2026, 12, 7, 2, tzinfo=UTC)
    try:
        run = Job(
            id="run1",
            name="nightly",
            kind="train",
            backend="local",
            state=JobState.QUEUED,
            spec=JobSpec.model_validate({"source": {"code": "pass"}}),
            created_at=night,
            schedule_id="sched1",
            scheduled_for=night,
        )
        store.add(run)
        old, stored = store.get("old1"), store.get("run1")
        runs = listed(store, schedule_id="sched1")
        everything = listed(store)
    finally:
        store.close()

    assert old is not None and old.schedule_id is None and old.scheduled_for is None
    assert stored is not None and stored.schedule_id == "sched1"
    assert stored.scheduled_for == night
    assert [(j["id"], j["scheduled_for"]) for j in runs] == [("run1", "2026-12-07T02:00:00Z")]
    assert [j["id"] for j in everything] == ["run1", "old1"]
    assert everything[1]["schedule_id"] is None and everything[1]["scheduled_for"] is None
