"""The Backend contract: the state machine every backend's jobs go through, as the JobManager
drives it. Each behaviour runs against every backend: a fake backend whose far side a test
scripts, the local backend with real child processes, and Vertex AI and Dataflow through their
stand-ins (tests/clouds.py), with Google's real client libraries and Beam's own runner."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import clouds
import pytest
from clouds import DataflowDriver, Driver, VertexDriver
from fake_backend import FakeBackend, FakeCloud

from jupyter_mlp.backends.base import Backend
from jupyter_mlp.backends.local.backend import LocalBackend
from jupyter_mlp.core.manager import JobManager
from jupyter_mlp.core.models import Job, JobState
from jupyter_mlp.core.store import JobStore

GRACE = 0.3


class FakeDriver(Driver):
    name = "fake"

    def __init__(self, request: pytest.FixtureRequest, tmp: Path):
        self.cloud = FakeCloud()

    def backend(self, **kwargs: Any) -> Backend[Any]:
        return FakeBackend(self.cloud, **kwargs)

    def finish(self, job_id: str, state: JobState, message: str = "") -> None:
        self.cloud.finish(job_id, state, message)

    def ignore_cancel(self) -> None:
        self.cloud.on_cancel = None

    def created(self) -> list[str]:
        return list(self.cloud.creates)

    def cancel_requests(self, job_id: str) -> int:
        return sum(1 for cancelled, _ in self.cloud.cancels if cancelled == job_id)


class LocalDriver(Driver):
    """Local jobs that wait for a word from the test: a file named after the job holding the
    exit code (and a message for stderr)."""

    name = "local"

    def __init__(self, request: pytest.FixtureRequest, tmp: Path):
        self.control = tmp / "control"
        self.control.mkdir()
        self.ignoring = False

    def backend(self, **kwargs: Any) -> Backend[Any]:
        return LocalBackend(max_concurrent_jobs=20, gpu_ids=[], warm_runners=0, **kwargs)

    def source(self) -> dict[str, Any]:
        ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if self.ignoring else ""
        return {
            "code": "import os, pathlib, signal, sys, time\n"
            + ignore
            + f"word = pathlib.Path({str(self.control)!r}) / os.environ['MLP_JOB_ID']\n"
            "while not word.exists():\n    time.sleep(0.05)\n"
            "code, _, message = word.read_text().partition(' ')\n"
            "print(message, file=sys.stderr)\n"
            "sys.exit(int(code))\n"
        }

    def finish(self, job_id: str, state: JobState, message: str = "") -> None:
        code = 0 if state is JobState.SUCCEEDED else 3
        (self.control / f"{job_id}.tmp").write_text(f"{code} {message}")
        os.replace(self.control / f"{job_id}.tmp", self.control / job_id)

    def ignore_cancel(self) -> None:
        self.ignoring = True


# The cloud stand-ins' fixtures, which the cloud drivers start.
storage_emulator, storage = clouds.storage_emulator, clouds.storage
vertex, logs, dataflow_server = clouds.vertex, clouds.logs, clouds.dataflow_server

# Each makes its driver from the test's request (which starts the stand-ins it needs).
DRIVERS: dict[str, Callable[[pytest.FixtureRequest, Path], Driver]] = {
    "fake": FakeDriver,
    "local": LocalDriver,
    "vertex": VertexDriver.of,
    "dataflow": DataflowDriver.of,
}


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Driver:
    return DRIVERS[request.param](request, tmp_path)


@pytest.fixture
def managers(tmp_path: Path, driver: Driver) -> Iterator[Callable[..., JobManager]]:
    """Makes managers on one database and one far side (a server, a restarted server...)."""
    made: list[JobManager] = []

    def make(**backend_kwargs: Any) -> JobManager:
        manager = JobManager(
            JobStore(f"sqlite:///{tmp_path / 'mlp.db'}"),
            {driver.name: driver.backend(**backend_kwargs)},
            root_dir=tmp_path,
            jobs_dir=tmp_path / "jobs",
            default_backend=driver.name,
            poll_interval=0.05,
            cancel_grace_seconds=GRACE,
        )
        made.append(manager)
        return manager

    yield make
    for manager in made:
        for backend in manager.backends.values():
            backend.close()
        manager.store.close()


async def until(
    manager: JobManager, job_id: str, states: set[JobState], timeout: float = 30
) -> Job:
    """Run rounds until the job is in one of `states`; fail naming where it is stuck."""
    deadline = time.monotonic() + timeout
    while True:
        await manager.tick()
        job = await manager.get(job_id)
        if job.state in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job stuck in {job.state.value}: {job.state_message}")
        await asyncio.sleep(0.05)


async def test_a_job_goes_through_the_states_its_backend_reports(managers, driver):
    manager = managers()
    job = await manager.submit({"source": driver.source()})
    await until(manager, job.id, {JobState.RUNNING})

    driver.finish(job.id, JobState.SUCCEEDED)
    done = await until(manager, job.id, {JobState.SUCCEEDED})

    assert [t.state for t in done.transitions] == [
        JobState.QUEUED,
        JobState.STARTING,
        JobState.RUNNING,
        JobState.SUCCEEDED,
    ]
    assert done.ended_at is not None and done.started_at is not None


async def test_a_failure_keeps_the_backends_message(managers, driver):
    manager = managers()
    job = await manager.submit({"source": driver.source()})
    await until(manager, job.id, {JobState.RUNNING})

    driver.finish(job.id, JobState.FAILED, "out of memory on worker 3")
    failed = await until(manager, job.id, {JobState.FAILED})

    assert "out of memory on worker 3" in failed.state_message or driver.name == "local"
    assert failed.state_message


async def test_a_cancelled_job_goes_through_cancelling_to_cancelled(managers, driver):
    manager = managers()
    job = await manager.submit({"source": driver.source()})
    await until(manager, job.id, {JobState.RUNNING})

    assert (await manager.cancel(job.id)).state is JobState.CANCELLING
    cancelled = await until(manager, job.id, {JobState.CANCELLED})

    assert [t.state for t in cancelled.transitions][-2:] == [
        JobState.CANCELLING,
        JobState.CANCELLED,
    ]


async def test_failing_while_cancelling_ends_cancelled(managers, driver):
    driver.ignore_cancel()
    manager = managers()
    job = await manager.submit({"source": driver.source()})
    await until(manager, job.id, {JobState.RUNNING})
    await manager.cancel(job.id)

    driver.finish(job.id, JobState.FAILED, "stopped")
    ended = await until(manager, job.id, {JobState.CANCELLED, JobState.FAILED})

    assert ended.state is JobState.CANCELLED


async def test_a_job_that_ignores_cancel_is_stopped_by_force_once(managers, driver):
    driver.ignore_cancel()
    first, second = managers(), managers()
    job = await first.submit({"source": driver.source()})
    await until(first, job.id, {JobState.RUNNING})
    await first.cancel(job.id)
    await asyncio.sleep(GRACE * 2)

    if driver.name == "local":
        ended = await until(first, job.id, {JobState.CANCELLED})
        assert ended.state is JobState.CANCELLED
        return
    for _ in range(5):  # both managers watch it, round after round
        await asyncio.gather(first.tick(), second.tick())
    assert driver.cancel_requests(job.id) == 2  # the cancel, then the forced one: once
    assert (await first.get(job.id)).state is JobState.CANCELLING


async def test_a_terminal_state_never_changes(managers, driver):
    manager = managers()
    job = await manager.submit({"source": driver.source()})
    await until(manager, job.id, {JobState.RUNNING})
    driver.finish(job.id, JobState.SUCCEEDED)
    await until(manager, job.id, {JobState.SUCCEEDED})

    with pytest.raises(Exception, match="already ended"):
        await manager.cancel(job.id)
    for _ in range(3):
        await manager.tick()
    assert (await manager.get(job.id)).state is JobState.SUCCEEDED


async def test_a_restarted_manager_goes_on_watching(managers, driver):
    before = managers()
    job = await before.submit({"source": driver.source()})
    await until(before, job.id, {JobState.RUNNING})
    await before.stop()

    after = managers()
    driver.finish(job.id, JobState.SUCCEEDED)
    done = await until(after, job.id, {JobState.SUCCEEDED})

    assert done.state is JobState.SUCCEEDED
    assert driver.created() in (None, [job.id])


async def test_two_managers_start_each_job_once(managers, driver):
    first, second = managers(), managers()
    jobs = [await first.submit({"source": driver.source()}) for _ in range(driver.many)]

    for _ in range(4):
        await asyncio.gather(first.tick(), second.tick())
    for job in jobs:
        await until(first, job.id, {JobState.RUNNING})
        driver.finish(job.id, JobState.SUCCEEDED)
    for job in jobs:
        await until(second, job.id, {JobState.SUCCEEDED})

    created = driver.created()
    assert created is None or sorted(created) == sorted(job.id for job in jobs)


async def test_a_job_on_a_backend_not_installed_fails_naming_it(managers, driver, tmp_path):
    manager = managers()
    job = await manager.submit({"source": driver.source()})
    elsewhere = JobManager(
        JobStore(f"sqlite:///{tmp_path / 'mlp.db'}"),
        {"other": FakeBackend(FakeCloud())},
        root_dir=tmp_path,
        jobs_dir=tmp_path / "jobs",
    )
    try:
        await elsewhere.tick()
        failed = await elsewhere.get(job.id)
    finally:
        await elsewhere.stop()

    assert failed.state is JobState.FAILED
    assert f"backend '{driver.name}' is not installed" in failed.state_message


# ----- what only the fake's far side can show -----


@pytest.fixture
def cloud() -> FakeCloud:
    return FakeCloud()


def fake_manager(tmp_path: Path, cloud: FakeCloud, **kwargs: Any) -> JobManager:
    return JobManager(
        JobStore(f"sqlite:///{tmp_path / 'mlp.db'}"),
        {"fake": FakeBackend(cloud, **kwargs)},
        root_dir=tmp_path,
        jobs_dir=tmp_path / "jobs",
        default_backend="fake",
        poll_interval=0.05,
        cancel_grace_seconds=GRACE,
    )


async def test_a_cancel_does_not_wait_for_a_round_stuck_on_the_backend(tmp_path, cloud):
    manager = fake_manager(tmp_path, cloud)
    job = await manager.submit({"source": {"code": "pass"}})
    await until(manager, job.id, {JobState.RUNNING})
    cloud.hold = asyncio.Event()  # the backend's API stops answering
    stuck = asyncio.ensure_future(manager.tick())
    while cloud.in_flight == 0:
        await asyncio.sleep(0.01)

    cancelled = await asyncio.wait_for(manager.cancel(job.id), timeout=10)

    assert cancelled.state is JobState.CANCELLING
    assert not stuck.done()
    cloud.hold.set()
    await stuck
    await manager.stop()


async def test_per_job_polls_run_concurrently_within_the_backends_bound(tmp_path, cloud):
    manager = fake_manager(tmp_path, cloud, poll_concurrency=3)
    jobs = [await manager.submit({"source": {"code": "pass"}}) for _ in range(10)]
    await manager.tick()  # starts them
    cloud.most_in_flight = 0

    await manager.tick()

    assert cloud.most_in_flight == 3
    assert {(await manager.get(j.id)).state for j in jobs} == {JobState.RUNNING}
    await manager.stop()


async def test_a_backend_that_lists_answers_a_whole_round_with_one_call(tmp_path, cloud):
    manager = fake_manager(tmp_path, cloud, one_list_call=True)
    jobs = [await manager.submit({"source": {"code": "pass"}}) for _ in range(20)]
    await manager.tick()
    cloud.list_calls = 0

    await manager.tick()

    assert cloud.list_calls == 1 and cloud.polls == 0
    assert {(await manager.get(j.id)).backend_state for j in jobs} == {"listed"}
    await manager.stop()


async def test_a_claim_whose_launch_was_never_recorded_finds_the_job_again(tmp_path, cloud):
    manager = fake_manager(tmp_path, cloud)
    job = await manager.submit({"source": {"code": "pass"}})
    # A manager claimed the job and created it on the far side, then died before recording.
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    manager.store.transition(
        job.id, JobState.STARTING, long_ago, "starting", JobState.QUEUED, started_at=long_ago
    )
    cloud.states[job.id] = JobState.RUNNING

    running = await until(manager, job.id, {JobState.RUNNING})

    assert cloud.creates == []  # found by our id, not created a second time
    assert running.backend_job_id == job.id
    await manager.stop()


async def test_logs_are_read_by_the_backends_own_cursor(tmp_path, cloud):
    manager = fake_manager(tmp_path, cloud)
    job = await manager.submit({"source": {"code": "pass"}})
    await until(manager, job.id, {JobState.RUNNING})
    cloud.logs[job.id] = ["one\n", "two\n", "three\n"]
    cloud.finish(job.id, JobState.SUCCEEDED)
    await until(manager, job.id, {JobState.SUCCEEDED})

    pages, cursor = [], None
    while True:
        chunk = await manager.read_log(job.id, cursor=cursor)
        pages.append(chunk["data"])
        cursor = chunk["next_cursor"]
        if chunk["complete"]:
            break

    assert pages == ["one\ntwo\n", "three\n"]
    await manager.stop()
