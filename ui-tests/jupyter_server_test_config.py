"""Jupyter Server configuration for the jupyter-mlp Galata tests.

Starts from Galata's test configuration (no token, no XSRF check), then gives
the server its own port, a fresh root directory and a fresh job database.

With MLP_UI_CLOUD=1 (the server `tests/cloud.spec.ts` starts), the Vertex AI and
Dataflow backends are configured against the stand-ins of `tests/` on 127.0.0.1:
the fake Vertex JobService, the Cloud Storage emulator, the fake Cloud Logging and
the fake Dataflow API, served from threads of this process. A small thread moves
the stand-ins' jobs through their lives as the services would: created, running a
moment later, done a moment after that (a streaming pipeline runs until drained
or cancelled), with log lines and per-step element counts on the way. Without it,
the cloud backends stay unconfigured, as the other specs expect.
"""

import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # type: ignore[name-defined]  # noqa: F821

configure_jupyter_server(c)

# The database lives outside the root directory so the file browser stays empty.
root = Path(tempfile.mkdtemp(prefix="jupyter-mlp-ui-root-"))
state = Path(tempfile.mkdtemp(prefix="jupyter-mlp-ui-state-"))
c.ServerApp.port = int(os.environ.get("MLP_UI_PORT", "8899"))
c.ServerApp.allow_root = True
c.ServerApp.root_dir = str(root)
c.MLPExtension.db_url = f"sqlite:///{state / 'mlp.db'}"
# Every prebuilt image in the catalog's data is past its end of availability: Vertex jobs
# that name no image run in this one, as a deployment would set it (configured or not).
c.VertexBackend.default_image = "us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest"

PROJECT = "ui-test-project"
BUCKET = "mlp-ui-staging"
# Seconds after its creation a stand-in's job starts running, and then ends.
RUNS_AFTER = 1.5
ENDS_AFTER = 4.0


def serve_cloud_stand_ins(config: Any, tests_dir: Path) -> None:
    """Start the stand-ins of Google's APIs and point the cloud backends at them."""
    sys.path.insert(0, str(tests_dir))
    from fake_dataflow import FakeDataflowServer
    from fake_logging import FakeLoggingServer
    from fake_storage import StorageEmulator
    from fake_vertex import FakeVertexServer

    # Entered for the life of the server process; their threads are daemons.
    storage = StorageEmulator(BUCKET).__enter__()
    vertex = FakeVertexServer().__enter__()
    logs = FakeLoggingServer().__enter__()
    dataflow = FakeDataflowServer().__enter__()
    os.environ["STORAGE_EMULATOR_HOST"] = storage.endpoint

    config.VertexBackend.project = PROJECT
    config.VertexBackend.staging_bucket = f"gs://{BUCKET}"
    config.VertexBackend.api_endpoint = vertex.endpoint
    config.VertexBackend.logging_endpoint = logs.endpoint
    config.VertexBackend.poll_interval = 0.5
    config.VertexBackend.log_settle_seconds = 0.0
    config.VertexBackend.log_read_interval = 1.0  # Cloud Logging's budget still applies
    config.DataflowBackend.project = PROJECT
    config.DataflowBackend.temp_location = str(state / "dataflow-temp")
    config.DataflowBackend.dataflow_endpoint = dataflow.endpoint
    config.DataflowBackend.poll_interval = 0.5
    config.DataflowBackend.log_settle_seconds = 0.0
    config.DataflowBackend.log_read_interval = 1.0

    lives = JobLives(vertex.fake, logs.fake, dataflow.fake)
    threading.Thread(target=lives.run, name="mlp-ui-stand-ins", daemon=True).start()


class JobLives:
    """Moves the stand-ins' jobs along, as the services would, through the fakes' own API."""

    def __init__(self, vertex: Any, logs: Any, dataflow: Any) -> None:
        self.vertex, self.logs, self.dataflow = vertex, logs, dataflow
        self.born: dict[str, float] = {}

    def run(self) -> None:
        while True:
            try:
                self.step()
            except Exception as exc:  # a bad step must not stop the jobs of later tests
                print(f"[mlp-ui] stand-in lives: {exc}", file=sys.stderr)
            time.sleep(0.25)

    def age(self, key: str) -> float:
        return time.monotonic() - self.born.setdefault(key, time.monotonic())

    def step(self) -> None:
        from fake_dataflow import TERMINAL
        from fake_dataflow import JobState as DataflowState
        from fake_vertex import JobState as VertexState
        from google.cloud import dataflow_v1beta3 as dataflow

        with self.vertex.lock:
            vertex_jobs = list(self.vertex.jobs.values())
        for job in vertex_jobs:
            age = self.age(job.name)
            number = job.name.rsplit("/", 1)[-1]
            if job.state == VertexState.JOB_STATE_PENDING and age > RUNS_AFTER:
                self.vertex.set_state(job.name, VertexState.JOB_STATE_RUNNING)
                self.logs.add(number, "Epoch 1/2: loss 0.61", at=age)
                self.logs.add(number, "Epoch 2/2: loss 0.32", at=age + 0.1)
            elif job.state == VertexState.JOB_STATE_RUNNING and age > ENDS_AFTER:
                self.logs.add(number, "Training finished.", at=age)
                self.vertex.set_state(job.name, VertexState.JOB_STATE_SUCCEEDED)

        with self.dataflow.lock:
            dataflow_jobs = list(self.dataflow.jobs.values())
        for job in dataflow_jobs:
            if job.current_state in TERMINAL:
                continue
            age = self.age(job.id)
            streaming = job.type_ == dataflow.JobType.JOB_TYPE_STREAMING
            if job.current_state == DataflowState.JOB_STATE_PENDING and age > RUNS_AFTER:
                self.dataflow.set_state(job.id, DataflowState.JOB_STATE_RUNNING)
                self.dataflow.add_message(job.id, "Workers have started successfully.")
                self.count(job, done=False)
            elif (
                job.current_state == DataflowState.JOB_STATE_RUNNING
                and age > ENDS_AFTER
                and not streaming
            ):
                self.count(job, done=True)
                self.dataflow.add_message(job.id, "All workers have finished the startup.")
                self.dataflow.set_state(job.id, DataflowState.JOB_STATE_DONE)

    def count(self, job: Any, done: bool) -> None:
        """Element counts of the job's steps, as its workers report them (more when done)."""
        with self.dataflow.lock:
            self.dataflow.metrics.pop(job.id, None)
        for index, step in enumerate(step_names(job)):
            elements = (100 if done else 40) // (index + 1)
            self.dataflow.add_metric(job.id, "ElementCount", step, elements)


def step_names(job: Any) -> list[str]:
    """The outputs of the job's steps as Beam named them in the graph it submitted, or three
    made-up steps when the submitted job lists none (the counts are the stand-in's anyway)."""
    names = []
    for step in job.steps:
        properties = dict(step.properties or {})
        for output in properties.get("output_info") or []:
            name = dict(output).get("user_name")
            if name:
                names.append(str(name))
    return names or ["Read.out0", "Transform.out0", "Write.out0"]


if os.environ.get("MLP_UI_CLOUD") == "1":
    serve_cloud_stand_ins(c, Path(__file__).resolve().parent.parent / "tests")
