"""The cloud backends' stand-ins on 127.0.0.1, shared by their own tests and the contract suite.

Vertex AI: a fake JobService (REST), gcp-storage-emulator for Cloud Storage and a fake Cloud
Logging. Dataflow: a fake Dataflow v1b3 REST server, which Beam's own DataflowRunner submits to.
Each backend's `Driver` makes its jobs do what a contract test needs, at the stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_dataflow import FakeDataflowServer, Importance
from fake_dataflow import JobState as DataflowState
from fake_logging import FakeLoggingServer
from fake_storage import StorageEmulator
from fake_vertex import FakeVertexServer
from fake_vertex import JobState as VertexState

from jupyter_mlp.backends.base import Backend
from jupyter_mlp.backends.dataflow.backend import DataflowBackend
from jupyter_mlp.backends.vertex.backend import VertexBackend
from jupyter_mlp.core.models import JobState

BUCKET = "mlp-staging"
PROJECT = "test-project"
# Every prebuilt image the catalog lists may have ended by the day the tests run: jobs naming
# no image run in the server's default one (a warning, not an error, once it has ended).
DEFAULT_IMAGE = "us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest"
# A small pipeline as a cell would hold it; its options come from the command line.
PIPELINE = """\
import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

with beam.Pipeline(options=PipelineOptions()) as pipeline:
    pipeline | beam.Create(["a", "b"]) | beam.Map(str.upper)
"""


@pytest.fixture(scope="module")
def storage_emulator() -> Iterator[StorageEmulator]:
    with StorageEmulator(BUCKET) as emulator:
        yield emulator


@pytest.fixture
def storage(storage_emulator: StorageEmulator, monkeypatch: pytest.MonkeyPatch) -> StorageEmulator:
    storage_emulator.reset()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", storage_emulator.endpoint)
    return storage_emulator


@pytest.fixture
def vertex() -> Iterator[tuple[Any, str]]:
    with FakeVertexServer() as server:
        yield server.fake, server.endpoint


@pytest.fixture
def logs() -> Iterator[tuple[Any, str]]:
    with FakeLoggingServer() as server:
        yield server.fake, server.endpoint


@pytest.fixture
def dataflow_server() -> Iterator[FakeDataflowServer]:
    with FakeDataflowServer() as server:
        yield server


def dataflow_backend(endpoint: str, root: Path, **kwargs: Any) -> DataflowBackend:
    """A Dataflow backend speaking to the stand-in at ``endpoint``, staging under ``root``."""
    settings: dict[str, Any] = {
        "project": PROJECT,
        "temp_location": str(root / "dataflow-temp"),
        "dataflow_endpoint": endpoint,
        "retry_initial_delay": 0.01,
        "retry_timeout": 2.0,
        "log_settle_seconds": 0.0,
        "log_read_interval": 0.0,
    }
    backend = DataflowBackend(**{**settings, **kwargs})
    backend.bind(root_dir=root, wake=lambda: None)
    return backend


class Driver:
    """Makes one kind of backend's jobs do what a contract test needs."""

    name: str
    #: How many jobs a test of many jobs submits: fewer where each costs a real submission.
    many = 6

    def backend(self, **kwargs: Any) -> Backend[Any]:
        raise NotImplementedError

    def source(self) -> dict[str, Any]:
        return {"code": "pass"}

    def finish(self, job_id: str, state: JobState, message: str = "") -> None:
        raise NotImplementedError

    def ignore_cancel(self) -> None:
        raise NotImplementedError

    def created(self) -> list[str] | None:
        """Our ids of the jobs created at the far side, once per creation; None: not recorded."""
        return None

    def cancel_requests(self, job_id: str) -> int | None:
        """How many times the far side was asked to stop the job; None: not recorded."""
        return None


class VertexDriver(Driver):
    """Vertex jobs (created running) that the test finishes at the fake JobService."""

    name = "vertex"

    def __init__(self, fake: Any, endpoint: str, logging_endpoint: str):
        self.fake, self.endpoint, self.logging_endpoint = fake, endpoint, logging_endpoint
        fake.created_state = VertexState.JOB_STATE_RUNNING
        fake.settle_cancels = True

    @classmethod
    def of(cls, request: pytest.FixtureRequest, tmp: Path) -> VertexDriver:
        """The driver of the stand-ins the requesting test gets."""
        request.getfixturevalue("storage")
        fake, endpoint = request.getfixturevalue("vertex")
        return cls(fake, endpoint, request.getfixturevalue("logs")[1])

    def backend(self, **kwargs: Any) -> VertexBackend:
        return VertexBackend(
            project=PROJECT,
            staging_bucket=f"gs://{BUCKET}",
            api_endpoint=self.endpoint,
            logging_endpoint=self.logging_endpoint,
            **{
                "retry_initial_delay": 0.01,
                "retry_timeout": 2.0,
                "default_image": DEFAULT_IMAGE,
                **kwargs,
            },
        )

    def finish(self, job_id: str, state: JobState, message: str = "") -> None:
        ended = (
            VertexState.JOB_STATE_SUCCEEDED
            if state is JobState.SUCCEEDED
            else VertexState.JOB_STATE_FAILED
        )
        self.fake.set_state(self.fake.labelled(job_id).name, ended, error=message or None)

    def ignore_cancel(self) -> None:
        self.fake.ignore_cancel = True

    def created(self) -> list[str]:
        return [job.labels["mlp-job-id"] for job in self.fake.created()]

    def cancel_requests(self, job_id: str) -> int:
        made = self.fake.labelled(job_id).name.rsplit("/", 1)[1]
        return sum(1 for c in self.fake.calls if c.route == "cancel" and made in c.path)


class DataflowDriver(Driver):
    """Pipelines submitted through the real DataflowRunner (created running at the fake), which
    the test ends at the fake."""

    name = "dataflow"
    many = 2  # each is a Beam submission

    def __init__(self, server: FakeDataflowServer, tmp: Path):
        self.server, self.tmp = server, tmp
        server.fake.created_state = DataflowState.JOB_STATE_RUNNING

    @classmethod
    def of(cls, request: pytest.FixtureRequest, tmp: Path) -> DataflowDriver:
        """The driver of the stand-in the requesting test gets."""
        return cls(request.getfixturevalue("dataflow_server"), tmp)

    def backend(self, **kwargs: Any) -> DataflowBackend:
        return dataflow_backend(self.server.endpoint, self.tmp, **kwargs)

    def source(self) -> dict[str, Any]:
        return {"code": PIPELINE}

    def finish(self, job_id: str, state: JobState, message: str = "") -> None:
        made = self.server.fake.labelled(job_id)
        assert made is not None
        if message:
            self.server.fake.add_message(made.id, message, Importance.JOB_MESSAGE_ERROR)
        ended = (
            DataflowState.JOB_STATE_DONE
            if state is JobState.SUCCEEDED
            else DataflowState.JOB_STATE_FAILED
        )
        self.server.fake.set_state(made.id, ended)

    def ignore_cancel(self) -> None:
        self.server.fake.ignore_cancel = True

    def created(self) -> list[str]:
        return [job.labels["mlp-job-id"] for job in self.server.fake.created()]

    def cancel_requests(self, job_id: str) -> int:
        made = self.server.fake.labelled(job_id)
        assert made is not None
        return sum(1 for c in self.server.fake.calls if c.route == "update" and made.id in c.path)
