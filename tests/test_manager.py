"""The JobManager without a server: several managers on one database (a server and a kernel)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from jupyter_mlp.backends.base import CannotDo
from jupyter_mlp.backends.local.backend import LocalBackend
from jupyter_mlp.core.manager import JobManager
from jupyter_mlp.core.models import MLPError
from jupyter_mlp.core.store import JobStore


def make_manager(root: Path) -> JobManager:
    return JobManager(
        JobStore(f"sqlite:///{root / 'mlp.db'}"),
        {"local": LocalBackend(max_concurrent_jobs=50, gpu_ids=[], warm_runners=0)},
        root_dir=root,
        jobs_dir=root / "mlp-jobs",
    )


def drive(manager: JobManager, job_ids: list[str], seconds: float = 120) -> None:
    """Run the manager's rounds as fast as it can, in this thread's own event loop, until
    every job has ended (or a generous deadline on a loaded machine)."""

    def ended() -> bool:
        jobs = [manager.store.get(job_id) for job_id in job_ids]
        return all(job is not None and job.state.terminal for job in jobs)

    async def rounds() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not ended():
            await manager.tick()

    asyncio.run(rounds())


async def test_two_managers_on_one_database_start_each_job_once(tmp_path):
    runs = tmp_path / "runs.txt"
    first, second = make_manager(tmp_path), make_manager(tmp_path)
    code = (
        f"import os\nwith open({str(runs)!r}, 'a') as f:\n"
        "    f.write(os.environ['MLP_JOB_ID'] + ' ')\n"
    )
    jobs = [await first.submit({"source": {"code": code}}) for _ in range(20)]

    ids = [job.id for job in jobs]
    threads = [threading.Thread(target=drive, args=(m, ids)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    started = runs.read_text().split()
    assert sorted(started) == sorted(job.id for job in jobs)
    assert {(await first.get(job.id)).state.value for job in jobs} == {"SUCCEEDED"}


async def test_a_job_submitted_without_a_server_is_seen_and_finished_by_another_manager(tmp_path):
    kernel_side = make_manager(tmp_path)
    job = await kernel_side.submit({"name": "from-a-kernel", "source": {"code": "print('hi')"}})

    server_side = make_manager(tmp_path)
    deadline = time.monotonic() + 30
    while not (await server_side.get(job.id)).state.terminal and time.monotonic() < deadline:
        await server_side.tick()
        await asyncio.sleep(0.05)

    assert (await server_side.get(job.id)).state.value == "SUCCEEDED"
    assert [json.loads(j)["name"] for j in (await server_side.list_jobs())[0]] == ["from-a-kernel"]


def test_two_managers_driving_one_sweep_add_each_trial_once(tmp_path):
    first, second = make_manager(tmp_path), make_manager(tmp_path)
    values = [1, 2, 3, 4, 5, 6]
    sweep = asyncio.run(
        first.submit(
            {
                "name": "shared",
                "source": {"code": "print(x)"},
                "sweep": {
                    "metric": {"name": "score"},
                    "parameters": [{"name": "x", "type": "discrete", "values": values}],
                    "algorithm": "grid",
                    "max_trials": 6,
                    "parallel_trials": 3,
                },
            }
        )
    )

    threads = [threading.Thread(target=drive, args=(m, [sweep.id])) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    trials = first.store.trial_jobs(sweep.id)
    assert sorted(job.name for job, _ in trials) == [f"shared-trial-{n}" for n in range(1, 7)]
    assert sorted(job.spec.parameters["x"] for job, _ in trials) == values
    assert first.store.get(sweep.id).state.value == "SUCCEEDED"


async def test_a_backend_without_drain_or_progress_says_so_whoever_asks(tmp_path):
    manager = make_manager(tmp_path)
    job = await manager.submit({"source": {"code": "pass"}})
    try:
        await manager.drain(job.id)
    except MLPError as exc:
        assert exc.status == 409 and "runs on 'local': cancel it" in exc.message
    else:
        raise AssertionError("a local job drained")
    progress = await manager.progress(job.id)
    assert progress["steps"] == [] and "reports no progress" in progress["note"]
    backend = manager.backends["local"]
    for feature, ability in (("drain", backend.drain), ("progress", backend.progress)):
        with pytest.raises(CannotDo, match="local backend") as raised:
            await ability(None)  # refused before it looks at the job
        assert backend.capabilities.why_not(feature) in str(raised.value)
    await manager.cancel(job.id)
    await manager.stop()
