"""`kill -9` of the server mid-flight, round after round: is every job accounted for once?

Each round starts a real `jupyter server` (on one database and root for all rounds), submits
local jobs (real processes that sleep 0.3-3 s, some exiting 3) and Vertex AI jobs (the stand-in
of `tests/`, spoken to by the real client, whose jobs run 1-4 s and some fail) one after another,
cancels one of each, and kills the server with SIGKILL at a random moment of that, so that jobs
are caught queued, starting (a create on its way), running and ending. A submission whose answer
the kill cut off may or may not have made a job: it must then be there once or not at all. The
next round's server is the restart. At the end, one more server watches until every job ended,
and the script prints what it tried and what was lost:

- lost: a job whose submission was answered that is not listed;
- doubled: a name listed twice, or two CustomJobs for one job;
- left running unwatched: a job ended while its process is alive, or whose CustomJob ended
  otherwise (ran on after our job FAILED or CANCELLED); an ended job with no one terminal state;
- wrong outcome: a local job whose state is not its exit code's (or CANCELLED when cancelled).

Usage: python benchmarks/kill9.py [--rounds N] [--local N] [--vertex N] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import urllib.error
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import HERE, machine

sys.path.insert(0, str(HERE.parent / "tests"))
from fake_storage import StorageEmulator
from fake_vertex import FakeVertexServer
from fake_vertex import JobState as VertexState
from jupyter_processes import TERMINAL, JupyterServer, isolated_env

from jupyter_mlp.backends.local.processes import process_start_ticks

PROJECT = "kill9-project"
BUCKET = "kill9-staging"
ENDED_AT_VERTEX = {
    VertexState.JOB_STATE_SUCCEEDED: "SUCCEEDED",
    VertexState.JOB_STATE_FAILED: "FAILED",
    VertexState.JOB_STATE_CANCELLED: "CANCELLED",
}


@dataclass
class Tried:
    """One submission: what it asked for and what the client heard back."""

    name: str
    backend: str
    exit_code: int = 0
    job_id: str | None = None  # None: the answer was cut off (the job may or may not exist)
    cancelled: bool = False


@dataclass
class Round:
    tried: list[Tried] = field(default_factory=list)
    killed_after: float = 0.0
    seen_at_kill: dict[str, int] = field(default_factory=dict)


def settings(tmp: Path, vertex_endpoint: str) -> list[str]:
    return [
        f"--VertexBackend.project={PROJECT}",
        f"--VertexBackend.staging_bucket=gs://{BUCKET}",
        f"--VertexBackend.api_endpoint={vertex_endpoint}",
        "--VertexBackend.retry_initial_delay=0.05",
        "--VertexBackend.retry_timeout=10",
        "--VertexBackend.log_settle_seconds=0",
        "--VertexBackend.poll_interval=0.2",
        "--VertexBackend.default_image=us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest",
    ]


def drive_vertex(fake: Any, stop: threading.Event, seed: int) -> None:
    """Vertex moves its jobs on, server or none: PENDING, RUNNING for 1-4 s, then SUCCEEDED
    (every fourth FAILED); a cancel ends CANCELLED."""
    rng = random.Random(seed)
    lifetimes: dict[str, float] = {}
    while not stop.wait(0.1):
        now = datetime.now(UTC)
        with fake.lock:
            jobs = [(j.name, j.state, j.create_time) for j in fake.jobs.values()]
        for name, state, created in jobs:
            age = (now - created).total_seconds()
            life = lifetimes.setdefault(name, rng.uniform(1, 4))
            if state == VertexState.JOB_STATE_CANCELLING:
                fake.set_state(name, VertexState.JOB_STATE_CANCELLED)
            elif state == VertexState.JOB_STATE_PENDING and age > 0.5:
                fake.set_state(name, VertexState.JOB_STATE_RUNNING)
            elif state == VertexState.JOB_STATE_RUNNING and age > 0.5 + life:
                if int(name.rsplit("/", 1)[1]) % 4 == 0:
                    fake.set_state(
                        name, VertexState.JOB_STATE_FAILED, error="the stand-in failed it"
                    )
                else:
                    fake.set_state(name, VertexState.JOB_STATE_SUCCEEDED)


def submit_until_killed(
    server: JupyterServer, round_: Round, number: int, local: int, vertex: int, rng: random.Random
) -> None:
    """Submit the round's jobs, then cancel one of each backend; stops at the first request
    the kill cuts off (that submission's outcome is unknown)."""
    plan = [("local", i) for i in range(local)] + [("vertex", i) for i in range(vertex)]
    rng.shuffle(plan)
    try:
        for backend, index in plan:
            tried = Tried(f"r{number}-{backend}-{index}", backend)
            if backend == "local":
                tried.exit_code = 3 if index % 3 == 2 else 0
                code = f"import sys, time; time.sleep({rng.uniform(0.3, 3):.2f}); "
                body = {
                    "name": tried.name,
                    "source": {"code": code + f"sys.exit({tried.exit_code})"},
                }
            else:
                body = {"backend": "vertex", "name": tried.name, "source": {"code": "print(1)"}}
            round_.tried.append(tried)
            tried.job_id = server.call("POST", "mlp/jobs", body)["id"]
            time.sleep(rng.uniform(0, 0.3))
        for backend in ("local", "vertex"):
            target = next(t for t in round_.tried if t.backend == backend and t.job_id)
            target.cancelled = True  # asked: the job may end otherwise if it ended first
            try:
                server.call("POST", f"mlp/jobs/{target.job_id}/cancel", {})
            except urllib.error.HTTPError as exc:
                if exc.code != 409:  # 409: it had ended already
                    raise
    except (urllib.error.URLError, ConnectionError, OSError):
        pass


def one_round(
    server: JupyterServer, number: int, local: int, vertex: int, rng: random.Random
) -> Round:
    round_ = Round()
    submitter = threading.Thread(
        target=submit_until_killed, args=(server, round_, number, local, vertex, rng)
    )
    started = time.monotonic()
    submitter.start()
    time.sleep(rng.uniform(0.1, 4.0))  # while submitting, cancelling, or after
    try:
        for job in server.call("GET", "mlp/jobs?limit=500")["jobs"]:
            round_.seen_at_kill[job["state"]] = round_.seen_at_kill.get(job["state"], 0) + 1
    except (urllib.error.URLError, ConnectionError, OSError):
        pass
    round_.killed_after = time.monotonic() - started
    server.kill()
    submitter.join()
    time.sleep(rng.uniform(0, 1.5))  # jobs go on (and end) while no server runs
    return round_


def all_jobs(server: JupyterServer) -> list[dict[str, Any]]:
    jobs, cursor = [], ""
    while True:
        page = server.call("GET", f"mlp/jobs?limit=200{cursor}")
        jobs += page["jobs"]
        if page["next"] is None:
            return jobs
        cursor = f"&cursor={page['next']}"


def settle(server: JupyterServer, timeout: float = 300) -> list[dict[str, Any]]:
    """Every job once all have ended (or as they are when `timeout` ran out)."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = all_jobs(server)
        if all(job["state"] in TERMINAL for job in jobs) or time.monotonic() > deadline:
            return jobs
        time.sleep(0.5)


def account(
    server: JupyterServer, rounds: list[Round], fake: Any, jobs: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """What was lost, doubled, left running or ended wrongly, each with the jobs it names."""
    found: dict[str, list[str]] = {
        "lost": [],
        "doubled": [],
        "left running unwatched": [],
        "not ended": [],
        "wrong outcome": [],
    }
    by_name: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        by_name.setdefault(job["name"], []).append(job)
    tried = {t.name: t for r in rounds for t in r.tried}
    for name, listed in by_name.items():
        if len(listed) > 1 or name not in tried:
            found["doubled"].append(f"{name} listed {len(listed)}x")
    for name, entry in tried.items():
        if entry.job_id is not None and name not in by_name:
            found["lost"].append(name)
    with fake.lock:
        custom_jobs = [(j.labels.get("mlp-job-id"), j.state) for j in fake.jobs.values()]
    made: dict[str, list[Any]] = {}
    for job_id, state in custom_jobs:
        made.setdefault(job_id, []).append(state)
    ours = {job["id"] for job in jobs}
    for job_id, states in made.items():
        if job_id not in ours:
            found["doubled"].append(f"CustomJob of unknown job {job_id}")
        elif len(states) > 1:
            found["doubled"].append(f"{len(states)} CustomJobs for job {job_id}")
    for job in jobs:
        detail = server.call("GET", f"mlp/jobs/{job['id']}")
        for problem, text in _outcome(job, detail, tried.get(job["name"]), made):
            found[problem].append(text)
    return found


def _outcome(
    job: dict[str, Any], detail: dict[str, Any], attempt: Tried | None, made: dict[str, list[Any]]
) -> list[tuple[str, str]]:
    """What is wrong with how one job ended, as (problem, text) pairs."""
    ended = [t["state"] for t in detail["transitions"] if t["state"] in TERMINAL]
    if job["state"] not in TERMINAL or len(ended) != 1:
        return [("not ended", f"{job['name']} {job['state']} ({ended})")]
    problems: list[tuple[str, str]] = []
    if job["backend"] == "local":
        pid = job["backend_job_id"]
        if pid and process_start_ticks(int(pid)) is not None:
            problems.append(("left running unwatched", f"{job['name']}: pid {pid} alive"))
        if attempt is not None:
            expected = {"SUCCEEDED" if attempt.exit_code == 0 else "FAILED"}
            expected |= {"CANCELLED"} if attempt.cancelled else set()
            if job["state"] not in expected:
                problems.append(("wrong outcome", f"{job['name']}: {job['state']}, not {expected}"))
        return problems
    if not made.get(job["id"]) and not (attempt and attempt.cancelled):
        problems.append(("wrong outcome", f"{job['name']}: {job['state']}, no CustomJob"))
    for state in made.get(job["id"], []):
        if ENDED_AT_VERTEX.get(state) != job["state"]:
            problems.append(
                (
                    "left running unwatched",
                    f"{job['name']}: {job['state']} here, {state.name} at Vertex",
                )
            )
    return problems


def main(rounds: int, local: int, vertex: int, seed: int) -> None:
    print(f"machine: {machine()}")
    rng = random.Random(seed)
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        StorageEmulator(BUCKET) as storage,
        FakeVertexServer() as stand_in,
    ):
        tmp = Path(tmp_name)
        root = tmp / "root"
        root.mkdir()
        env = {**isolated_env(tmp / "jupyter"), "STORAGE_EMULATOR_HOST": storage.endpoint}
        stop = threading.Event()
        driver = threading.Thread(target=drive_vertex, args=(stand_in.fake, stop, seed))
        driver.start()

        def start() -> JupyterServer:
            return JupyterServer(
                root,
                tmp / "mlp.db",
                env,
                tmp / "server.log",
                extra_args=settings(tmp, stand_in.endpoint),
                start_timeout=180,
            )

        done: list[Round] = []
        try:
            for number in range(1, rounds + 1):
                server = start()
                done.append(one_round(server, number, local, vertex, rng))
                r = done[-1]
                cut = [t.name for t in r.tried if t.job_id is None]
                print(
                    f"round {number}: submitted {sum(1 for t in r.tried if t.job_id)} "
                    f"({sum(t.backend == 'local' for t in r.tried)} local, "
                    f"{sum(t.backend == 'vertex' for t in r.tried)} vertex), answer cut off: "
                    f"{cut or 'none'}; cancelled {sum(t.cancelled for t in r.tried)}; "
                    f"killed {r.killed_after:.2f} s in, jobs then: {r.seen_at_kill}",
                    flush=True,
                )
            server = start()
            started = time.monotonic()
            jobs = settle(server)
            print(f"restarted; every job ended {time.monotonic() - started:.1f} s later")
            found = account(server, done, stand_in.fake, jobs)
            server.stop()
        finally:
            stop.set()
            driver.join()
    states: dict[str, int] = {}
    for job in jobs:
        states[job["state"]] = states.get(job["state"], 0) + 1
    print(
        f"{len(jobs)} jobs listed ({states}); "
        f"{stand_in.fake.count('create')} Vertex creates, {len(stand_in.fake.jobs)} CustomJobs"
    )
    cut = [t.name for r in done for t in r.tried if t.job_id is None]
    kept = sorted({job["name"] for job in jobs} & set(cut))
    print(f"submissions whose answer the kill cut off: {len(cut)}, of which stored: {kept}")
    for what, names in found.items():
        print(f"{what}: {len(names)}" + (f"  {names}" if names else ""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--local", type=int, default=6, help="local jobs a round")
    parser.add_argument("--vertex", type=int, default=4, help="Vertex AI jobs a round")
    parser.add_argument("--seed", type=int, default=25)
    options = parser.parse_args()
    main(options.rounds, options.local, options.vertex, options.seed)
