"""A page of 50 out of 10,000 jobs: `GET /mlp/jobs?limit=50` against jupyter-scheduler's
`GET /scheduler/jobs?max_items=50`, each on a real `jupyter server` with 10,000 stored jobs.

The stores are filled before the servers start, by direct inserts (a full listing through the
API would take hours): ours as rows built by the store's own `job_row`, as `JobStore.add` writes
them, the scheduler's through its own ORM
(`jupyter_scheduler.orm.Job`) in its own environment. Both are SQLite files. Goal: >= 5x faster.

Pages are walked as a panel scrolls: 10 walks of 20 pages, each page by the cursor of the one
before (the scheduler's `next_token`), each walk over jobs of its own, so no page is asked for
twice and none is answered from memory; the servers take turns page by page. `GET /api/status`
on the same server is printed too: what any request costs, the floor of both. A page asked
for again (answered from memory while the database is unchanged) is printed apart.
`--baseline DIR` measures another checkout's jupyter-mlp in the same run, for before/after.

Usage: python benchmarks/list_jobs.py [--jobs N] [--walks N] [--pages N] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import HERE, Server, machine, summary
from _scheduler import scheduler_args, scheduler_python, scheduler_version
from sqlalchemy.orm import sessionmaker

from jupyter_mlp.core.models import Job, JobSpec, JobState, Transition
from jupyter_mlp.core.store import JobStore, job_row

ROOT = HERE.parent

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


async def page_at(server: Server, cursor: int) -> tuple[float, int]:
    """Seconds for the page of 50 before `cursor`, and the cursor of the page after it."""
    code, answer, elapsed = await server.call("GET", f"mlp/jobs?limit=50&cursor={cursor}")
    assert code == 200 and len(answer["jobs"]) == 50, (code, answer)
    return elapsed, int(answer["next"] or 0)  # none after the last page


def ours_server(root: Path, code: Path, jobs: int) -> Server:
    """jupyter-mlp as `code` (a checkout's root) has it, on a store of `jobs` ended jobs."""
    root.mkdir()
    fill_ours(root / "mlp.db", jobs)
    env = {"PYTHONPATH": f"{code}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return Server(root, db=root / "mlp.db", env=env)


async def main(jobs: int, walks: int, pages: int, baseline: Path | None) -> None:
    print(f"machine: {machine()}")
    print(f"jupyter-scheduler {scheduler_version()}; {jobs:,} jobs in each store")
    assert walks * pages * 50 <= jobs, "every page walked must be a page not asked before"
    with tempfile.TemporaryDirectory() as tmp:
        theirs_root = Path(tmp) / "theirs"
        theirs_root.mkdir()
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
        ours = ours_server(Path(tmp) / "ours", ROOT, jobs)
        before = ours_server(Path(tmp) / "before", baseline, jobs) if baseline else None
        theirs = Server(
            theirs_root,
            mlp=False,
            python=scheduler_python(),
            extra_args=scheduler_args(theirs_root),
        )
        mlps = [server for server in (ours, before) if server is not None]
        try:
            for server in mlps:
                await server.ready()
                await server.call("GET", "mlp/jobs?limit=50")  # the first request (its imports)
            await theirs.ready("scheduler/jobs?max_items=1")
            _, their_page, _ = await theirs.call("GET", "scheduler/jobs?max_items=50")
            assert len(their_page["jobs"]) == 50
            again: list[float] = []
            walked: dict[int, list[float]] = {id(server): [] for server in mlps}
            other, floor = [], []
            for walk in range(walks):  # interleaved, page by page
                cursor, token = jobs + 1 - walk * pages * 50, walk * pages * 50
                for _ in range(pages):
                    following = cursor
                    for server in mlps:
                        elapsed, following = await page_at(server, cursor)
                        walked[id(server)].append(elapsed)
                    cursor = following
                    code, answer, elapsed = await theirs.call(
                        "GET", f"scheduler/jobs?max_items=50&next_token={token}"
                    )
                    assert code == 200 and len(answer["jobs"]) == 50, (code, answer)
                    token = int(answer.get("next_token") or 0)
                    other.append(elapsed)
                    floor += await page_seconds(ours, "api/status", 1)
                    again += await page_seconds(ours, "mlp/jobs?limit=50", 1)
        finally:
            for server in (*mlps, theirs):
                server.stop()
    mine = walked[id(ours)]
    print(f"{walks} walks of {pages} pages of 50, each page asked for the first time:")
    print(summary("GET /mlp/jobs?limit=50&cursor=...", mine, "ms", 1000))
    if before is not None:
        print(summary(f"  the same, as {baseline} has it", walked[id(before)], "ms", 1000))
    print(summary("GET /scheduler/jobs (by next_token)", other, "ms", 1000))
    # What any authenticated request to the server costs (the same for both): the floor.
    print(summary("GET /api/status (the floor)", floor, "ms", 1000))
    print(summary("GET /mlp/jobs?limit=50 asked again", again, "ms", 1000))
    ratio = statistics.median(other) / statistics.median(mine)
    print(f"jupyter-mlp is {ratio:.1f}x faster on pages not read before  (goal: at least 5x)")
    if before is not None:
        ratio = statistics.median(other) / statistics.median(walked[id(before)])
        print(f"  {baseline}: {ratio:.1f}x")
    ratio = statistics.median(other) / statistics.median(again)
    print(f"  {ratio:.1f}x with a page asked again (answered from memory)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--walks", type=int, default=10, help="walks, each over its own jobs")
    parser.add_argument("--pages", type=int, default=20, help="pages of 50 a walk")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout's root (e.g. `git worktree add /tmp/before main`): its "
        "jupyter-mlp is measured in the same run, page by page next to this one",
    )
    options = parser.parse_args()
    asyncio.run(main(options.jobs, options.walks, options.pages, options.baseline))
