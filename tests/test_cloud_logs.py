"""Cloud jobs' logs within Cloud Logging's read quota, with no line lost: the real backends
read a stand-in of `entries:list` on 127.0.0.1 (60 reads a minute per project unless a test
says otherwise, 429s in Google's shape, entries ingested out of order)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_dataflow import FakeDataflowServer, Importance, JobState, past
from fake_logging import FakeLogging, FakeLoggingServer
from fake_vertex import JobState as VertexState
from google.cloud import dataflow_v1beta3 as dataflow
from test_vertex import (  # noqa: F401 (fixtures)
    BUCKET,
    PROJECT,
    storage,
    storage_emulator,
    vertex,
    vertex_installed,
    wait_at_vertex,
)

from jupyter_mlp.backends.base import Tracked
from jupyter_mlp.backends.dataflow.backend import DataflowBackend, DataflowRuntime
from jupyter_mlp.backends.vertex.backend import VertexBackend, VertexRuntime
from jupyter_mlp.core.models import Job, JobSpec
from jupyter_mlp.core.models import JobState as Ours
from jupyter_mlp.jobfiles.bundle import JobFolder


@pytest.fixture
def logs():
    with FakeLoggingServer(FakeLogging(project=PROJECT)) as server:
        yield server.fake, server.endpoint


def vertex_backend(logs: tuple[FakeLogging, str], **settings: Any) -> VertexBackend:
    return VertexBackend(
        project=PROJECT,
        staging_bucket=f"gs://{BUCKET}",
        logging_endpoint=logs[1],
        log_settle_seconds=0.0,
        **settings,
    )


def tracked_job(tmp_path: Path, runtime: Any, kind: str = "train") -> Tracked[Any]:
    """A running job as its backend is handed it."""
    job_id = uuid.uuid4().hex[:12]
    folder = JobFolder(tmp_path / f"job-{job_id}")
    folder.create()
    now = datetime.now(UTC)
    spec = JobSpec.model_validate({"kind": kind, "source": {"code": "print('hi')"}})
    job = Job(
        id=job_id,
        name="job",
        kind=spec.kind,
        backend="vertex",
        state=Ours.RUNNING,
        spec=spec,
        created_at=now,
        started_at=now,
    )
    return Tracked(job=job, folder=folder, runtime=runtime)


def custom_job(tmp_path: Path, number: str) -> Tracked[VertexRuntime]:
    name = f"projects/123/locations/us-central1/customJobs/{number}"
    return tracked_job(tmp_path, VertexRuntime(resource_name=name, location="us-central1"))


class Follower:
    """One panel, CLI or magic following a log by its cursor."""

    def __init__(self, backend: Any, tracked: Tracked[Any]):
        self.backend, self.tracked = backend, tracked
        self.cursor: str | None = None
        self.text = ""

    async def read(self) -> dict[str, Any]:
        chunk = await self.backend.read_log(self.tracked, self.cursor, 1_000_000)
        self.cursor = chunk.next_cursor
        self.text += chunk.data
        return chunk.extra  # type: ignore[no-any-return]


# ----- one read for all followers, no line lost -----


async def test_a_line_ingested_late_reaches_each_follower_exactly_once(tmp_path, logs):
    fake, _ = logs
    backend = vertex_backend(logs, log_read_interval=0.0)
    tracked = custom_job(tmp_path, "101")
    followers = [Follower(backend, tracked) for _ in range(3)]
    fake.add("101", "epoch 1", at=1)
    fake.add("101", "epoch 3", at=3)
    for follower in followers:
        await follower.read()

    fake.add("101", "epoch 2, ingested late", at=2)  # visible after a later line
    fake.add("101", "epoch 4", at=4)
    for _ in range(2):
        for follower in followers:
            await follower.read()

    for follower in followers:
        assert follower.text == "epoch 1\nepoch 3\nepoch 2, ingested late\nepoch 4\n"


async def test_followers_of_one_job_cause_one_read_per_interval(tmp_path, logs):
    fake, _ = logs
    backend = vertex_backend(logs, log_read_interval=3600.0)
    tracked = custom_job(tmp_path, "102")
    fake.add("102", "step 1", at=1)
    followers = [Follower(backend, tracked) for _ in range(10)]

    for _ in range(3):
        for follower in followers:
            await follower.read()

    assert fake.reads() == 1
    assert all(follower.text == "step 1\n" for follower in followers)


async def test_two_followed_jobs_are_read_in_one_request(tmp_path, logs):
    fake, _ = logs
    backend = vertex_backend(logs, log_read_interval=1.0)
    first = Follower(backend, custom_job(tmp_path, "201"))
    second = Follower(backend, custom_job(tmp_path, "202"))
    await first.read()
    await second.read()  # each job's first read is its own
    fake.add("201", "a", at=1)
    fake.add("202", "b", at=1)
    time.sleep(0.6)
    await second.read()  # followers keep polling: answered from memory within the interval
    time.sleep(0.45)  # the interval between two reads of a job has passed

    await first.read()
    await second.read()  # served by the read the first follower caused

    assert (first.text, second.text) == ("a\n", "b\n")
    assert fake.reads() == 3
    joint = fake.requests[-1]["filter"]
    assert 'resource.labels.job_id="201"' in joint and 'resource.labels.job_id="202"' in joint
    assert " OR " in joint


async def test_a_follower_behind_what_is_kept_gets_a_note_and_reads_on(tmp_path, logs):
    fake, _ = logs
    backend = vertex_backend(logs, log_read_interval=0.0, log_lines_kept=3)
    tracked = custom_job(tmp_path, "103")
    slow, fast = Follower(backend, tracked), Follower(backend, tracked)
    fake.add("103", "line 1", at=1)
    await slow.read()
    for n in range(2, 7):
        fake.add("103", f"line {n}", at=n)
        await fast.read()

    extra = await slow.read()

    assert slow.text == "line 1\nline 4\nline 5\nline 6\n"
    assert "2 line(s) of this log were no longer kept" in extra["note"]


async def test_a_log_longer_than_one_read_is_read_whole_from_its_start_and_by_its_tail(
    tmp_path, logs
):
    fake, _ = logs
    backend = vertex_backend(logs, log_read_interval=0.0)
    tracked = custom_job(tmp_path, "104")
    for n in range(1500):  # more than a page: the first read takes the newest 1,000
        fake.add("104", f"line {n:04d}", at=n // 3)  # three lines an instant
    tail = await backend.read_log(tracked, None, 1_000_000, tail=30)
    fake.add("104", "line 1500", at=500)
    whole = Follower(backend, tracked)

    for _ in range(10):
        await whole.read()

    assert tail.data == "line 1497\nline 1498\nline 1499\n"
    assert whole.text == "".join(f"line {n:04d}\n" for n in range(1500)) + "line 1500\n"


# ----- Dataflow: job messages and workers' logs -----


async def test_a_dataflow_log_shows_worker_lines_and_each_job_message_once(tmp_path, logs):
    fake_logs, endpoint = logs
    with FakeDataflowServer() as server:
        made = server.fake.add_job(
            dataflow.Job(
                name="etl-job",
                type_=dataflow.JobType.JOB_TYPE_BATCH,
                current_state=JobState.JOB_STATE_RUNNING,
            )
        )
        backend = DataflowBackend(
            project=PROJECT,
            temp_location=str(tmp_path / "temp"),
            dataflow_endpoint=server.endpoint,
            logging_endpoint=endpoint,
            log_read_interval=0.0,
            log_settle_seconds=0.0,
        )
        runtime = DataflowRuntime(
            dataflow_job_id=made.id, project=PROJECT, region="us-central1", job_name="etl-job"
        )
        follower = Follower(backend, tracked_job(tmp_path, runtime, kind="etl"))
        # Dataflow writes its job messages both to its API and to Logging's job-message log.
        server.fake.add_message(made.id, "Workers have started.", at=past(30))
        fake_logs.add_job_message(made.id, "Workers have started.", at=1)
        fake_logs.add_worker_line(made.id, "reading gs://in/part-0", at=2)
        fake_logs.add_worker_line(made.id, "pip install ok", at=0.5, log="worker-startup")

        await follower.read()
        server.fake.add_message(made.id, "Step failed.", Importance.JOB_MESSAGE_ERROR)
        fake_logs.add_job_message(made.id, "Step failed.", at=3, severity="ERROR")
        fake_logs.add_worker_line(made.id, "Traceback: boom", at=2.5)
        await follower.read()

    lines = follower.text.splitlines()
    for text in ("Workers have started.", "Step failed."):  # from Dataflow's API
        assert len([line for line in lines if line.endswith(text)]) == 1, follower.text
    for text in ("reading gs://in/part-0", "pip install ok", "Traceback: boom"):
        assert len([line for line in lines if line.endswith(text)]) == 1, follower.text


# ----- a rate-limited Logging, through a real Jupyter server -----


@pytest.fixture
def jp_server_config(tmp_path, vertex, logs, storage, vertex_installed):  # noqa: F811
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlp": True}},
        "MLPExtension": {
            "db_url": f"sqlite:///{tmp_path / 'state' / 'mlp.db'}",
            "poll_interval": 0.1,
        },
        "LocalBackend": {"gpu_ids": [], "warm_runners": 0},
        "VertexBackend": {
            "project": PROJECT,
            "staging_bucket": f"gs://{BUCKET}",
            "api_endpoint": vertex[1],
            "logging_endpoint": logs[1],
            "retry_initial_delay": 0.01,
            "retry_timeout": 2.0,
            "log_read_interval": 0.0,
            "default_image": "us-docker.pkg.dev/p/images/train:1",
        },
    }


async def test_a_rate_limited_logging_is_answered_with_what_is_known_and_a_note(
    api,
    vertex,  # noqa: F811
    logs,
):
    fake_vertex, _ = vertex
    fake_logs, _ = logs
    job = await api.submit(backend="vertex", source={"code": "print('fit')"})
    created = await wait_at_vertex(fake_vertex, job["id"])
    number = created.name.rsplit("/", 1)[1]
    fake_vertex.set_state(created.name, VertexState.JOB_STATE_RUNNING)
    await api.wait(job["id"], {"RUNNING"})
    fake_logs.add(number, "epoch 1", at=1)
    code, first = await api.call("GET", "jobs", job["id"], "logs")
    assert code == 200 and first["data"] == "epoch 1\n"
    fake_logs.limit = 1  # the project's quota is spent (by this server or any other tool)
    fake_logs.add(number, "epoch 2", at=2)

    answers = [
        await api.call("GET", "jobs", job["id"], "logs", cursor=first["next_cursor"]),
        await api.call("GET", "jobs", job["id"], "logs"),  # a new follower
        await api.call("GET", "jobs", job["id"], "logs"),
    ]

    assert [code for code, _ in answers] == [200, 200, 200]
    assert answers[0][1]["data"] == ""
    assert answers[1][1]["data"] == "epoch 1\n"  # what is known
    assert all("429" in chunk["note"] for _, chunk in answers)
    assert fake_logs.refused == 1  # its RetryInfo is waited for, not asked again at once
