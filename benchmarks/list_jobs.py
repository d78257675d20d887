"""A page of 50 out of 10,000 jobs: `GET /mlp/jobs?limit=50` against jupyter-scheduler's
`GET /scheduler/jobs?max_items=50`, each on a real `jupyter server` with 10,000 stored jobs.

The stores are filled before the servers start, by direct inserts (a full listing through the
API would take hours): ours as rows built by the store's own `job_row`, as `JobStore.add` writes
them, the scheduler's through its own ORM
(`jupyter_scheduler.orm.Job`) in its own environment. Both are SQLite files. Goal: >= 5x faster.

`GET /api/status` on the same server is printed too: what any request costs, the floor of both.
Our server answers a page asked for again from memory while the database is unchanged (open
panels ask every few seconds); a page not read before (`cursor`) is printed too: the database
read every change costs.

Usage: python benchmarks/list_jobs.py [--jobs N] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import Server, machine, summary
from _scheduler import scheduler_args, scheduler_python, scheduler_version
from sqlalchemy.orm import sessionmaker

from jupyter_mlp.models import Job, JobSpec, JobState, Transition
from jupyter_mlp.store import JobStore, job_row

FILL_SCHEDULER = """
import sys, time, uuid
from jupyter_scheduler.orm import Job, create_session, create_tables
url, count = sys.argv[1], int(sys.argv[2])
create_tables(url)
now = int(time.time() * 1000)
with create_session(url)() as session:
    session.bulk_insert_mappings(Job, [
        dict(job_id=uuid.uuid4().hex, name=f"job-{i}", input_filename="bench.ipynb",
             runtime_environment_name="python3", output_formats=["ipynb"],
             parameters={"n": str(i)}, status="COMPLETED", create_time=now + i,
             output_filename_template="{{input_filename}}-{{create_time}}", packaged_files=[],
             update_time=now + i, start_time=now + i, end_time=now + i, url=f"scheduler/jobs/{i}")
        for i in range(count)
    ])
    session.commit()
"""


def fill_ours(db: Path, count: int) -> None:
    """`count` ended jobs, written in one transaction as `JobStore.add` would write each."""
    store = JobStore(f"sqlite:///{db}")
    spec = JobSpec.model_validate({"source": {"path": "bench.ipynb"}, "parameters": {"n": 3}})
    start = datetime.now(UTC) - timedelta(days=1)
    rows = []
    for index in range(count):
        at = start + timedelta(seconds=index)
        job = Job(
            id=f"{index:012x}",
            name=f"job-{index}",
            kind=spec.kind,
            backend="local",
            state=JobState.SUCCEEDED,
            spec=spec,
            created_at=at,
            started_at=at,
            ended_at=at,
            outputs={"log": f"mlp-jobs/job-{index}/job.log"},
            transitions=[Transition(state=JobState.SUCCEEDED, at=at)],
        )
        rows.append(job_row(job))
    with sessionmaker(store.engine).begin() as session:
        session.add_all(rows)
    store.close()


async def page_seconds(server: Server, path: str, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        code, answer, elapsed = await server.call("GET", path)
        assert code == 200, (path, code, answer)
        times.append(elapsed)
    return times


async def main(jobs: int, requests: int) -> None:
    print(f"machine: {machine()}")
    print(f"jupyter-scheduler {scheduler_version()}; {jobs:,} jobs in each store")
    with tempfile.TemporaryDirectory() as tmp:
        ours_root, theirs_root = Path(tmp) / "ours", Path(tmp) / "theirs"
        ours_root.mkdir()
        theirs_root.mkdir()
        fill_ours(ours_root / "mlp.db", jobs)
        subprocess.run(
            [
                scheduler_python(),
                "-c",
                FILL_SCHEDULER,
                f"sqlite:///{theirs_root / 'scheduler.sqlite'}",
                str(jobs),
            ],
            check=True,
        )
        ours = Server(ours_root, db=ours_root / "mlp.db")
        theirs = Server(
            theirs_root,
            mlp=False,
            python=scheduler_python(),
            extra_args=scheduler_args(theirs_root),
        )
        try:
            await ours.ready()
            await theirs.ready("scheduler/jobs?max_items=1")
            _, page, _ = await ours.call("GET", "mlp/jobs?limit=50")
            _, their_page, _ = await theirs.call("GET", "scheduler/jobs?max_items=50")
            assert len(page["jobs"]) == 50 and len(their_page["jobs"]) == 50
            mine, unread, other, floor = [], [], [], []
            for index in range(requests):  # interleaved
                mine += await page_seconds(ours, "mlp/jobs?limit=50", 1)
                # A page not asked for before: read from the database, not answered again.
                unread += await page_seconds(ours, f"mlp/jobs?limit=50&cursor={jobs - index}", 1)
                other += await page_seconds(theirs, "scheduler/jobs?max_items=50", 1)
                floor += await page_seconds(ours, "api/status", 1)
        finally:
            ours.stop()
            theirs.stop()
    print(summary("GET /mlp/jobs?limit=50", mine, "ms", 1000))
    print(summary("  the same, a page not read before", unread, "ms", 1000))
    print(summary("GET /scheduler/jobs?max_items=50", other, "ms", 1000))
    # What any authenticated request to the server costs (the same for both): the floor.
    print(summary("GET /api/status (the floor)", floor, "ms", 1000))
    ratio = statistics.median(other) / statistics.median(mine)
    print(f"jupyter-mlp is {ratio:.1f}x faster  (goal: at least 5x)")
    ratio = statistics.median(other) / statistics.median(unread)
    print(f"  {ratio:.1f}x with a page not read before (what a change costs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    options = parser.parse_args()
    asyncio.run(main(options.jobs, options.requests))
