"""The CPU one watch round costs with a long queue: 1,000 queued and 100 running jobs on a
backend that answers at once (`slow_backend.SlowBackend` with no delay), through the server's
own `JobManager` and store on SQLite. A round's CPU is taken from the server's event loop and
its other threads alike (one interpreter lock), so it is what a long queue costs every other
request, whatever the machine's load (process CPU time, not wall time).

`--baseline DIR` measures another checkout's jupyter-mlp in the same run, taking turns.

Usage: python benchmarks/watch_round.py [--rounds N] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _common import HERE, machine

ROOT = HERE.parent

MEASURE = """
import asyncio, json, statistics, sys, tempfile, time
from datetime import UTC, datetime
from pathlib import Path
import slow_backend
try:
    from jupyter_mlp.core.manager import JobManager
    from jupyter_mlp.core.models import Job, JobSpec, JobState, Transition
    from jupyter_mlp.core.store import JobStore
except ImportError:  # a checkout from before the core/ package (a --baseline)
    from jupyter_mlp.manager import JobManager
    from jupyter_mlp.models import Job, JobSpec, JobState, Transition
    from jupyter_mlp.store import JobStore

slow_backend.CALL_SECONDS = 0
rounds = int(sys.argv[1])
tmp = Path(tempfile.mkdtemp())
store = JobStore(f"sqlite:///{tmp / 'mlp.db'}")
spec = JobSpec.model_validate({"backend": "slow", "source": {"code": "pass"}})
now = datetime.now(UTC)
for index in range(1100):
    running = index < 100
    job = Job(id=f"{index:012x}", name=f"bulk-{index}", kind=spec.kind, backend="slow",
              state=JobState.RUNNING if running else JobState.QUEUED, spec=spec, created_at=now,
              started_at=now if running else None,
              transitions=[Transition(state=JobState.QUEUED, at=now)])
    store.add(job, folder=str(tmp / job.id))
    if running:
        store.record_launch(job.id, {}, now)


async def main():
    backend = slow_backend.SlowBackend()
    manager = JobManager(store, {"slow": backend}, root_dir=tmp, jobs_dir=tmp / "jobs")
    watch = manager.watcher.round if hasattr(manager, "watcher") else manager._round
    await watch("slow", backend)  # the first: imports and caches
    spent = []
    for _ in range(rounds):
        cpu = time.process_time()
        await watch("slow", backend)
        spent.append(time.process_time() - cpu)
    print(json.dumps(spent))


asyncio.run(main())
"""


def rounds_cpu(code: Path, rounds: int) -> list[float]:
    # Each checkout's own stand-in backend, written against its own contract.
    helpers = code / "benchmarks"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join((str(helpers), str(code), os.environ.get("PYTHONPATH", ""))),
    }
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(rounds)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=helpers,  # not the checkout's root: `-c` puts the working folder first on the path
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def main(rounds: int, baseline: Path | None) -> None:
    print(f"machine: {machine()}")
    found: dict[str, list[float]] = {}
    for _ in range(3):  # taking turns
        for label, code in (("before", baseline), ("after", ROOT)):
            if code is not None:
                found.setdefault(f"{label} ({code})", []).extend(rounds_cpu(code, rounds))
    for label, spent in found.items():
        ordered = sorted(spent)
        print(
            f"{label}: CPU a round median {ordered[len(ordered) // 2] * 1000:.1f} ms "
            f"(min {ordered[0] * 1000:.1f}, max {ordered[-1] * 1000:.1f}, n={len(ordered)})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--baseline", type=Path, help="another checkout's root, measured too")
    options = parser.parse_args()
    main(options.rounds, options.baseline)
