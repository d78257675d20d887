"""Cloud Logging reads a minute for one Vertex AI job followed by 1, 3 and 10 clients, each
polling its log at its real interval (the panel every 1 s, `jupyter mlp logs -f`,
`%mlp_logs --follow` and `job.wait()` every 0.25 s), against the Cloud Logging stand-in of
`tests/fake_logging.py` (its quota of 60 reads a minute per project on) while the job writes a
line every half second. The clients share one Vertex backend, as the panels and CLIs of one
server do (or the kernel of one process without a server).

Side by side: what reading the log once per poll and follower (as before) costs, which is at
least one read per poll. Goal: at most 12 reads a minute with 10 followers, no 429, and every
follower gets every line once.

Usage: python benchmarks/logging_reads.py [--seconds S] [--followers 1,3,10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_logging import FakeLogging, FakeLoggingServer

from jupyter_mlp.backends.base import Tracked
from jupyter_mlp.backends.vertex.backend import VertexBackend, VertexRuntime
from jupyter_mlp.core.models import Job, JobSpec, JobState
from jupyter_mlp.jobfiles.bundle import JobFolder

PANEL, CLI = 1.0, 0.25  # seconds between two polls


def job(number: str, folder: Path) -> Tracked[VertexRuntime]:
    spec = JobSpec.model_validate({"source": {"code": "print('fit')"}})
    now = datetime.now(UTC)
    made = Job(
        id=f"bench{number}",
        name="bench",
        kind=spec.kind,
        backend="vertex",
        state=JobState.RUNNING,
        spec=spec,
        created_at=now,
        started_at=now,
    )
    runtime = VertexRuntime(resource_name=f"projects/1/locations/us-central1/customJobs/{number}")
    return Tracked(job=made, folder=JobFolder(folder), runtime=runtime)


def run(clients: list[float], seconds: float, folder: Path) -> dict[str, Any]:
    """Follow one job with clients polling at `clients` intervals for `seconds`."""
    fake = FakeLogging(project="bench-project")
    with FakeLoggingServer(fake) as server:
        backend = VertexBackend(
            project="bench-project", staging_bucket="gs://b", logging_endpoint=server.endpoint
        )
        number = "4242"
        tracked = job(number, folder)
        stop = threading.Event()
        written: list[str] = []
        texts = ["" for _ in clients]
        polls = [0 for _ in clients]
        notes: set[str] = set()

        def writer() -> None:
            n = 0
            while not stop.is_set():
                fake.add(number, f"line {n}", at=n * 0.5)
                written.append(f"line {n}\n")
                n += 1
                stop.wait(0.5)

        def follower(index: int, interval: float) -> None:
            cursor: str | None = None
            while not stop.is_set():
                chunk = backend._read_log(tracked, cursor, 64 * 1024, None)
                cursor = chunk.next_cursor
                texts[index] += chunk.data
                polls[index] += 1
                notes.update(str(v) for k, v in chunk.extra.items() if k in ("note", "error"))
                stop.wait(interval)

        threads = [threading.Thread(target=writer)]
        threads += [
            threading.Thread(target=follower, args=(i, interval))
            for i, interval in enumerate(clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        stop.wait(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        # Lines written in the last interval may not have been read yet: compare the rest.
        settled = "".join(written[: max(0, len(written) - 12)])
        return {
            "reads": fake.reads(),
            "refused": fake.refused,
            "elapsed": elapsed,
            "polls": sum(polls),
            "complete": all(
                t.startswith(settled) and len(set(t.splitlines())) == len(t.splitlines())
                for t in texts
            ),
            "notes": notes,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per scenario")
    parser.add_argument("--followers", default="1,3,10")
    options = parser.parse_args()
    print(machine())
    print(
        f"one job, {options.seconds:g} s per scenario; clients alternate panel ({PANEL:g} s) "
        f"and CLI ({CLI:g} s), panel first; read interval 5 s, budget 30 reads/min; 'now' "
        "leaves out the job's first read"
    )
    print(
        f"{'followers':>9} {'panels':>6} {'CLIs':>4} | {'before: reads/min (>=)':>22} | "
        f"{'now: reads/min':>14} {'429s':>4} {'polls/min':>9} {'every line once':>15}"
    )
    for count in (int(c) for c in options.followers.split(",")):
        clients = [PANEL if i % 2 == 0 else CLI for i in range(count)]
        before = sum(60.0 / interval for interval in clients)
        with tempfile.TemporaryDirectory() as tmp:
            measured = run(clients, options.seconds, Path(tmp))
        # The job's first read happens once, whenever it is first followed: leave it out.
        per_minute = (measured["reads"] - 1) * 60.0 / measured["elapsed"]
        polls = measured["polls"] * 60.0 / measured["elapsed"]
        print(
            f"{count:>9} {clients.count(PANEL):>6} {clients.count(CLI):>4} | {before:>22.0f} | "
            f"{per_minute:>14.1f} {measured['refused']:>4} {polls:>9.0f} "
            f"{'yes' if measured['complete'] else 'NO':>15}"
        )
        for note in sorted(measured["notes"]):
            print(f"{'':>9} note: {note}")


if __name__ == "__main__":
    main()
