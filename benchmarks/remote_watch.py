"""Watching 500 active jobs on each of the Vertex AI and Dataflow stand-ins (tests/fake_vertex.py,
tests/fake_dataflow.py, real client libraries): API calls per minute, and the delay between a
state change at the stand-in and the job's new state through `GET /mlp/jobs/{id}`.

The 1,000 running jobs are put in place directly, as a server that launched them would have left
them: at the stand-ins with our job id as their label (`add_job`), and in our store as RUNNING,
launched, with the backend's bookkeeping (`JobRow` through the store's SQLAlchemy model). Then
a real `jupyter server` starts with the backends' default poll intervals and watches them.

Usage: python benchmarks/remote_watch.py [--jobs N] [--seconds S] [--samples N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from _common import HERE, Server, machine, summary
from sqlalchemy.orm import sessionmaker

sys.path.insert(0, str(HERE.parent / "tests"))
from fake_dataflow import FakeDataflowServer
from fake_dataflow import JobState as DataflowState
from fake_vertex import FakeVertexServer
from fake_vertex import JobState as VertexState
from google.cloud import dataflow_v1beta3 as dataflow
from google.cloud.aiplatform_v1 import types

from jupyter_mlp.core.models import JobSpec
from jupyter_mlp.core.store import JobRow, JobStore, summary_of

PROJECT = "bench-project"


def place_jobs(
    root: Path, db: Path, vertex: FakeVertexServer, df: FakeDataflowServer, count: int
) -> dict[str, list[tuple[str, str]]]:
    """`count` running jobs on each stand-in and in the store; their (vertex, dataflow) ids."""
    store = JobStore(f"sqlite:///{db}")
    now = datetime.now(UTC)
    rows: list[JobRow] = []
    ids: dict[str, list[tuple[str, str]]] = {"vertex": [], "dataflow": []}
    for backend in ("vertex", "dataflow"):
        kind = "train" if backend == "vertex" else "etl"
        spec = JobSpec.model_validate(
            {"kind": kind, "backend": backend, "source": {"code": "pass"}}
        )
        for index in range(count):
            job_id = f"{backend[0]}{index:011x}"
            if backend == "vertex":
                made = vertex.fake.add_job(
                    types.CustomJob(
                        display_name=f"w-{index}",
                        labels={"mlp-job-id": job_id, "mlp-managed": "true"},
                        state=VertexState.JOB_STATE_RUNNING,
                    )
                )
                runtime = {"resource_name": made.name, "location": "us-central1"}
                backend_id = made.name
            else:
                made = df.fake.add_job(
                    dataflow.Job(
                        name=f"w-{index}-{job_id}",
                        labels={"mlp-job-id": job_id, "mlp-managed": "true"},
                        current_state=DataflowState.JOB_STATE_RUNNING,
                    )
                )
                runtime = {
                    "dataflow_job_id": made.id,
                    "job_name": made.name,
                    "project": PROJECT,
                    "region": "us-central1",
                }
                backend_id = made.id
            folder = root / "work" / "mlp-jobs" / job_id
            folder.mkdir(parents=True)
            rows.append(
                JobRow(
                    id=job_id,
                    name=f"w-{index}",
                    kind=kind,
                    backend=backend,
                    state="RUNNING",
                    state_message="",
                    backend_state="JOB_STATE_RUNNING",
                    backend_job_id=backend_id,
                    spec=spec.model_dump(mode="json", exclude_none=True),
                    created_at=now,
                    started_at=now,
                    launched_at=now,
                    outputs={},
                    folder=str(folder),
                    runtime=runtime,
                    summary=summary_of(spec),
                )
            )
            ids[backend].append((job_id, backend_id))
    with sessionmaker(store.engine).begin() as session:
        session.add_all(rows)
    store.close()
    return ids


async def delay_seconds(server: Server, job_id: str, change: Callable[[], object]) -> float:
    change()
    changed = time.perf_counter()
    while True:
        _, job, _ = await server.call("GET", f"mlp/jobs/{job_id}")
        if job["state"] == "SUCCEEDED":
            return time.perf_counter() - changed
        await asyncio.sleep(0.05)


async def main(count: int, seconds: float, samples: int) -> None:
    print(f"machine: {machine()}")
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeVertexServer() as vertex,
        FakeDataflowServer() as df,
    ):
        root = Path(tmp)
        ids = place_jobs(root, root / "mlp.db", vertex, df, count)
        server = Server(
            root,
            db=root / "mlp.db",
            extra_args=[
                f"--VertexBackend.project={PROJECT}",
                "--VertexBackend.staging_bucket=gs://bench",
                f"--VertexBackend.api_endpoint={vertex.endpoint}",
                "--VertexBackend.default_image=us-docker.pkg.dev/p/images/train:1",
                f"--DataflowBackend.project={PROJECT}",
                f"--DataflowBackend.temp_location={root / 'temp'}",
                f"--DataflowBackend.dataflow_endpoint={df.endpoint}",
            ],
        )
        try:
            await server.ready("mlp/backends")
            await asyncio.sleep(5)  # the first rounds
            calls = (len(vertex.fake.calls), len(df.fake.calls))
            await asyncio.sleep(seconds)
            per_minute = [
                (len(fake.calls) - before) * 60 / seconds
                for fake, before in ((vertex.fake, calls[0]), (df.fake, calls[1]))
            ]
            routes = {
                name: sorted({c.route for c in fake.calls[before:]})
                for name, fake, before in (
                    ("vertex", vertex.fake, calls[0]),
                    ("dataflow", df.fake, calls[1]),
                )
            }
            delays: dict[str, list[float]] = {"vertex": [], "dataflow": []}
            for sample in range(samples):
                job_id, name = ids["vertex"][sample]
                delays["vertex"].append(
                    await delay_seconds(
                        server,
                        job_id,
                        partial(vertex.fake.set_state, name, VertexState.JOB_STATE_SUCCEEDED),
                    )
                )
                job_id, made = ids["dataflow"][sample]
                delays["dataflow"].append(
                    await delay_seconds(
                        server,
                        job_id,
                        partial(df.fake.set_state, made, DataflowState.JOB_STATE_DONE),
                    )
                )
        finally:
            server.stop()
    from jupyter_mlp.backends.dataflow.backend import DataflowBackend
    from jupyter_mlp.backends.vertex.backend import VertexBackend

    intervals = {b.name: b().poll_interval for b in (VertexBackend, DataflowBackend)}
    print(f"{count} running jobs on each backend; default poll intervals (s): {intervals}")
    for index, name in enumerate(("vertex", "dataflow")):
        print(f"{name:<9} API calls per minute: {per_minute[index]:.1f} (routes {routes[name]})")
        print(summary(f"{name} change -> visible through REST", delays[name]))
    print(f"median delay overall: {statistics.median(delays['vertex'] + delays['dataflow']):.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--samples", type=int, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.jobs, options.seconds, options.samples))
