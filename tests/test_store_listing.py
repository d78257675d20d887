"""A list page as the database writes it: the same JSON a client gets for the fetched job."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from jupyter_mlp.core.models import Job, JobSpec, JobState, Transition, Trial
from jupyter_mlp.core.store import JobStore, summary_of

SWEEP = {
    "metric": {"name": "accuracy", "goal": "minimize"},
    "parameters": [{"name": "lr", "type": "double", "min": 0.001, "max": 0.1, "scale": "log"}],
    "max_trials": 3,
}


def job(index: int, **fields) -> Job:
    spec = JobSpec.model_validate(fields.pop("spec", {"source": {"code": "print(1)"}}))
    at = datetime(2026, 11, 27, 12, 0, index, 250_000 * (index % 2), tzinfo=UTC)
    return Job.model_validate(
        {
            "id": f"job{index}",
            "name": f"job-{index}",
            "kind": spec.kind,
            "backend": "local",
            "state": JobState.QUEUED,
            "spec": spec,
            "created_at": at,
            "transitions": [Transition(state=JobState.QUEUED, at=at)],
            **fields,
        }
    )


@pytest.fixture
def store(tmp_path):
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield store
    store.close()


def test_each_listed_job_reads_as_the_job_sent_whole_less_code_and_history(store):
    ended = datetime(2026, 11, 27, 13, 0, 0, tzinfo=UTC)  # whole seconds: written without
    trials = [
        Trial(id="1", state=JobState.SUCCEEDED, parameters={"lr": 0.01}, metric=0.3),
        Trial(id="2", state=JobState.SUCCEEDED, parameters={"lr": 0.002}, metric=0.1),
        Trial(id="3", state=JobState.FAILED, parameters={"lr": 0.05}, message="out of memory"),
    ]
    jobs = [
        job(1),
        job(2, name='quote " backslash \\ newline \n tab \t é 😀 <b>'),
        job(
            3,
            state=JobState.SUCCEEDED,
            started_at=ended,
            ended_at=ended,
            state_message="done: 'ok'",
            outputs={"log": "mlp-jobs/job3/job.log", "model_dir": "mlp-jobs/job3/model"},
            spec={"source": {"path": "train.ipynb", "mode": "notebook"}, "labels": {"team": "é"}},
            metrics={"accuracy": [{"value": 0.5, "step": 1}, {"value": 0.9, "step": 2}]},
            progress={"cells_done": 12, "cells_total": 12},
            rerun_of={"id": "job1", "name": "job-1"},
            parameter_defaults={"lr": 0.01},
        ),
        job(
            4,
            backend="vertex",
            state=JobState.RUNNING,
            backend_state="JOB_STATE_RUNNING",
            backend_job_id="projects/p/locations/us-central1/customJobs/42",
            console_url="https://console.cloud.google.com/vertex-ai/training/custom-jobs",
            spec={
                "source": {"path": "train.py"},
                "backend": "vertex",
                "region": "us-central1",
                "resources": {"machine_type": "n1-standard-4"},
            },
        ),
        job(
            5,
            spec={"source": {"path": "train.py"}, "sweep": SWEEP},
            trials=trials,
            best_trial="2",  # the accuracy is minimized
        ),
    ]
    for each in jobs:
        store.add(each)

    page, following = store.find()

    assert following is None
    expected = {
        each.id: {
            **each.model_dump(mode="json"),
            "spec": summary_of(each.spec),
            "transitions": [],
            # Only the whole job has every reported point, its defaults and its warnings.
            "metrics": {k: v[-1:] for k, v in each.model_dump(mode="json")["metrics"].items()},
            "parameter_defaults": {},
            "warnings": [],
        }
        for each in jobs
    }
    written = {j["id"]: j for j in (json.loads(listed.json) for listed in page)}
    assert [listed.backend for listed in page] == ["local", "vertex", "local", "local", "local"]
    assert written == expected
    assert written["job3"]["ended_at"] == "2026-11-27T13:00:00Z"
    assert written["job1"]["created_at"] == "2026-11-27T12:00:01.250000Z"

    # Other databases build the page in Python: the same page.
    store.pages_in_sql = False
    assert [json.loads(listed.json) for listed in store.find()[0]] == list(written.values())


def test_pages_follow_one_another_without_a_gap_or_a_repeat(store):
    for index in range(7):
        store.add(job(index))

    seen, cursor = [], None
    while True:
        page, cursor = store.find(limit=3, before_seq=cursor)
        seen += [json.loads(listed.json)["id"] for listed in page]
        if cursor is None:
            break

    assert seen == [f"job{index}" for index in reversed(range(7))]


def test_a_watch_round_looks_up_unfinished_jobs_by_state_not_through_the_whole_history(store):
    # A round runs every second: with thousands of finished jobs it must not read them all.
    from sqlalchemy import event

    for index in range(20):
        store.add(job(index, state=JobState.SUCCEEDED))
    statements = []

    def seen(_connection, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", seen)
    store.active("local")
    store.sweeps("local")
    store.unfinished_elsewhere(["local"])
    event.remove(store.engine, "before_cursor_execute", seen)

    assert len(statements) == 3
    with store.engine.connect() as connection:
        for statement, parameters in statements:
            plan = " ".join(
                row[-1]
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            )
            assert "state=?" in plan, (statement, plan)


def test_the_sweeps_a_round_drives_are_only_the_sweep_jobs(store):
    # A round asks for its backend's sweeps every time: a long queue of plain jobs is not them.
    for index in range(3):
        store.add(job(index))
    store.add(job(3, spec={"source": {"code": "print(1)"}, "sweep": SWEEP}))
    store.add(job(4, spec={"source": {"code": "print(1)"}, "sweep": SWEEP}, state=JobState.FAILED))

    assert [sweep.id for sweep in store.sweeps("local")] == ["job3"]


@pytest.mark.parametrize(
    "filters",
    [
        {"states": [JobState.QUEUED, JobState.FAILED]},
        {"backend": "local", "kind": "train"},
        {"name_prefix": "job-1"},
        {"search": "OB-1"},
        {"before_seq": 9, "limit": 2},
        {"sweep_id": "job3"},
    ],
)
def test_each_filter_picks_the_same_jobs_however_the_page_is_written(store, filters):
    for index in range(12):
        state = JobState.FAILED if index % 3 else JobState.QUEUED
        store.add(job(index, state=state, sweep_id="job3" if index in (7, 9) else None))

    written = [json.loads(listed.json) for listed in store.find(**filters)[0]]
    store.pages_in_sql = False
    built = [json.loads(listed.json) for listed in store.find(**filters)[0]]

    assert written == built and written


def test_only_plain_fields_are_set_outside_a_transition(store):
    store.add(job(1))
    store.set_fields("job1", state_message="waiting for a GPU", backend_state="PENDING")
    found = store.get("job1")
    assert found is not None
    assert (found.state_message, found.backend_state) == ("waiting for a GPU", "PENDING")
    for column in ("state", "ended_at", "cancel_requested_at", "folder"):
        with pytest.raises(ValueError, match=column):
            store.set_fields("job1", **{column: "x"})
    assert store.get("job1").state is JobState.QUEUED
