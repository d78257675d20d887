"""A cancel is never lost: a watch round that looked at a job before the cancel cannot move it
back, a job killed by its cancel ends CANCELLED, and it says who cancelled it and when."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import nbformat
import pytest
from fake_backend import FakeBackend, FakeCloud, FakeRuntime

from jupyter_mlp.backends.base import Tracked
from jupyter_mlp.backends.capabilities import Capabilities
from jupyter_mlp.backends.local.backend import LocalBackend
from jupyter_mlp.core.manager import JobManager
from jupyter_mlp.core.models import Job, JobState
from jupyter_mlp.core.store import JobStore

GRACE = 0.3
KILLED = "killed by signal 15 SIGTERM"  # what the local backend says of a job that got SIGTERM


def said_at(words: str, before: datetime, after: datetime) -> set[str]:
    """`words` with the time (as the server's clock shows it) of a moment between two."""
    return {f"{words} at {moment.astimezone():%H:%M}" for moment in (before, after)}


# ----- the race, acted out step by step with a backend whose answers a test holds back -----


@pytest.fixture
def cloud() -> FakeCloud:
    return FakeCloud()


@pytest.fixture
def manager(tmp_path: Path, cloud: FakeCloud) -> Iterator[JobManager]:
    made = JobManager(
        JobStore(f"sqlite:///{tmp_path / 'mlp.db'}"),
        {"fake": FakeBackend(cloud)},
        root_dir=tmp_path,
        jobs_dir=tmp_path / "jobs",
        default_backend="fake",
        poll_interval=0.05,
        cancel_grace_seconds=GRACE,
    )
    yield made
    made.store.close()


async def cancelled_while_a_look_is_on_its_way(manager: JobManager, cloud: FakeCloud) -> Job:
    """A job the backend has started (STARTING), cancelled while a round's look at it, which
    will say it runs, has not come back yet; the round then ends. The job as it is then."""
    job = await manager.submit({"source": {"code": "pass"}})
    await manager.tick()  # claims and starts it: STARTING until a look sees it run
    assert (await manager.get(job.id)).state is JobState.STARTING
    cloud.on_cancel = None  # the cancel has not reached the job yet when the look answers
    cloud.hold = asyncio.Event()
    looking = asyncio.ensure_future(manager.tick())
    while cloud.in_flight == 0:
        await asyncio.sleep(0.01)

    await manager.cancel(job.id)
    cloud.hold.set()
    await looking
    return await manager.get(job.id)


async def test_a_look_taken_before_a_cancel_does_not_move_the_job_back_to_running(manager, cloud):
    job = await cancelled_while_a_look_is_on_its_way(manager, cloud)

    assert job.state is JobState.CANCELLING
    assert [t.state for t in job.transitions] == [
        JobState.QUEUED,
        JobState.STARTING,
        JobState.CANCELLING,
    ]


async def test_a_job_killed_by_its_cancel_after_a_late_look_ends_cancelled(manager, cloud):
    job = await cancelled_while_a_look_is_on_its_way(manager, cloud)

    cloud.finish(job.id, JobState.FAILED, KILLED)  # the signal arrives
    await manager.tick()

    ended = await manager.get(job.id)
    assert ended.state is JobState.CANCELLED, ended.state_message
    assert [t.state for t in ended.transitions][-2:] == [JobState.CANCELLING, JobState.CANCELLED]


async def test_a_job_cancelled_during_a_late_look_is_stopped_by_force_after_the_grace(
    manager, cloud
):
    job = await cancelled_while_a_look_is_on_its_way(manager, cloud)  # it ignores SIGTERM

    await asyncio.sleep(GRACE * 1.5)
    await manager.tick()

    assert (job.id, True) in cloud.cancels


async def test_a_job_that_ended_by_itself_before_a_late_look_keeps_its_end(manager, cloud):
    job = await manager.submit({"source": {"code": "pass"}})
    await manager.tick()
    cloud.on_cancel = None
    cloud.finish(job.id, JobState.SUCCEEDED)  # it finished before the cancel reached it
    await manager.cancel(job.id)

    await manager.tick()

    done = await manager.get(job.id)
    assert done.state is JobState.SUCCEEDED
    assert done.state_message.startswith("finished before the cancel by you at ")


class DrainingBackend(FakeBackend):
    """A fake whose streaming jobs drain: the far side says CANCELLING until a test ends them."""

    capabilities: ClassVar[Capabilities] = FakeBackend.capabilities.model_copy(
        update={
            "drain": True,
            "unsupported": {
                k: v for k, v in FakeBackend.capabilities.unsupported.items() if k != "drain"
            },
        }
    )

    async def drain(self, tracked: Tracked[FakeRuntime]) -> None:
        self.cloud.states[tracked.job.id] = JobState.CANCELLING


async def test_a_drain_while_a_round_looks_at_the_job_is_recorded_once(tmp_path, cloud):
    manager = JobManager(
        JobStore(f"sqlite:///{tmp_path / 'mlp.db'}"),
        {"fake": DrainingBackend(cloud)},
        root_dir=tmp_path,
        jobs_dir=tmp_path / "jobs",
        default_backend="fake",
        poll_interval=0.05,
    )
    job = await manager.submit({"source": {"code": "pass"}})
    await manager.tick()
    await manager.tick()
    assert (await manager.get(job.id)).state is JobState.RUNNING
    cloud.hold = asyncio.Event()
    looking = asyncio.ensure_future(manager.tick())  # read the job RUNNING; its look is held
    while cloud.in_flight == 0:
        await asyncio.sleep(0.01)

    await manager.drain(job.id)
    cloud.hold.set()
    await looking  # its look says CANCELLING (draining), as the drain already recorded

    drained = await manager.get(job.id)
    manager.store.close()
    assert [t.state for t in drained.transitions] == [
        JobState.QUEUED,
        JobState.STARTING,
        JobState.RUNNING,
        JobState.CANCELLING,
    ]
    assert drained.state_message == "drain requested"


# ----- real local jobs -----


@contextlib.asynccontextmanager
async def watching(tmp_path: Path) -> AsyncIterator[JobManager]:
    """A manager of local jobs watching them as a server does (its own watch task)."""
    made = JobManager(
        JobStore(f"sqlite:///{tmp_path / 'mlp.db'}"),
        {"local": LocalBackend(max_concurrent_jobs=16, gpu_ids=[], warm_runners=0)},
        root_dir=tmp_path,
        jobs_dir=tmp_path / "jobs",
        poll_interval=0.02,
        cancel_grace_seconds=5.0,
    )
    made.start()
    try:
        yield made
    finally:
        await made.stop()
        made.store.close()


async def until_ended(manager: JobManager, job_id: str, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while not (job := await manager.get(job_id)).state.terminal:
        assert time.monotonic() < deadline, f"job {job_id} stuck in {job.state.value}"
        await asyncio.sleep(0.02)
    return job


async def cancel_when_running(manager: JobManager, source: dict[str, str]) -> tuple[Job, set[str]]:
    """Submit a job and cancel it once it runs: the job once it ended, and the words it may
    end with (the minute of the cancel can turn over during the call)."""
    job = await manager.submit({"source": source})
    while (await manager.get(job.id)).state is not JobState.RUNNING:
        await asyncio.sleep(0.02)
    before = datetime.now().astimezone()
    await manager.cancel(job.id)
    after = datetime.now().astimezone()
    ended = await until_ended(manager, job.id)
    assert ended.state is JobState.CANCELLED, ended.state_message
    return ended, said_at("Cancelled by you", before, after)


async def test_a_cancelled_script_says_who_cancelled_it_and_when_not_the_signal(tmp_path):
    async with watching(tmp_path) as local:
        ended, words = await cancel_when_running(local, {"code": "import time; time.sleep(60)"})

    assert ended.state_message in words
    assert ended.transitions[-1].message == ended.state_message  # the timeline says it too
    assert ended.backend_state == "signal 15"  # what the backend saw is kept, not shown as why


async def test_a_cancelled_notebook_says_who_cancelled_it_not_that_its_kernel_died(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(60)")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, tmp_path / "slow.ipynb")
    async with watching(tmp_path) as local:
        ended, words = await cancel_when_running(local, {"path": "slow.ipynb"})

    assert ended.state_message in words


async def test_jobs_cancelled_while_starting_or_running_all_end_cancelled(tmp_path):
    async with watching(tmp_path) as local:
        # Jobs that never end by themselves while the test runs: only their cancel ends them.
        source = {"code": "import time; time.sleep(60)"}
        jobs = [await local.submit({"source": source}) for _ in range(40)]
        pending = {job.id for job in jobs}
        cancels = []
        # Each job is cancelled as soon as it is seen starting or running: while the watcher's
        # rounds look at it and move it.
        while pending:
            page, _ = await local.list_jobs(states=[JobState.STARTING, JobState.RUNNING])
            for job_id in {json.loads(job)["id"] for job in page} & pending:
                cancels.append(asyncio.ensure_future(local.cancel(job_id)))
                pending.discard(job_id)
            await asyncio.sleep(0.005)
        await asyncio.gather(*cancels)
        ended = [await until_ended(local, job.id) for job in jobs]

    wrong = [
        ([t.state.value for t in j.transitions], j.state_message)
        for j in ended
        if j.state is not JobState.CANCELLED
    ]
    assert not wrong
