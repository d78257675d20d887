"""A job database written by the previous version opens with every job kept and still running."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from jupyter_mlp.models import JobState
from jupyter_mlp.store import JobStore

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
        page, _ = store.find()
    finally:
        store.close()

    assert job is not None and job.state is JobState.RUNNING
    assert job.spec.source.code == "print('hello')"
    assert active.folder == "/jobs/old-1" and active.launched
    assert active.runtime == {"pid": 4242, "start_ticks": 7, "gpus": ["0"]}
    assert [j["id"] for j in page] == ["old1"] and page[0]["spec"]["source"]["code"] == ""
