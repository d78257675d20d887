"""Does a busy jupyter-mlp slow the Jupyter server down? Measured on a real `jupyter server`.

1. Volume: 1,000 queued and 100 running jobs on a backend whose every call takes 50 ms, while
   rounds run: latency of `GET /api/status` (Jupyter's own) and `GET /mlp/jobs?limit=50`
   (p50/p99), side by side with the same requests on the idle server; and how long a cancel
   takes to show as CANCELLED, next to the length of one watch round.
2. Heavy requests: the most a concurrent `GET /api/status` waits while each of these runs,
   next to the same request on the idle server: validate with `include: ["**/*"]` over a large
   folder, the outputs of a job folder with 120,000 files, convert with a 90 MB include, and
   deleting that job folder.

Usage: python benchmarks/server_busy.py [--part volume|heavy|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Server, machine

HERE = Path(__file__).resolve().parent


def busy_server(root: Path) -> Server:
    """jupyter-mlp with the slow backend (`slow_backend.BusyManager`, importable from here)."""
    path = f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    return Server(
        root,
        env={"PYTHONPATH": path},
        extra_args=["--MLPExtension.manager_class=slow_backend.BusyManager"],
    )


async def latencies(server: Server, path: str, seconds: float) -> list[float]:
    """Request `path` one after another for `seconds`; each request's latency."""
    found = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        code, _, elapsed = await server.call("GET", path)
        assert code == 200, (path, code)
        found.append(elapsed)
    return found


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def worst_wait_during(server: Server, operation: Any) -> tuple[float, float]:
    """Run `operation` while `GET /api/status` is asked every 20 ms; (its time, worst wait)."""
    waits: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            waits.append((await server.call("GET", "api/status"))[2])
            await asyncio.sleep(0.02)

    prober = asyncio.ensure_future(probe())
    started = time.perf_counter()
    await operation()
    took = time.perf_counter() - started
    done.set()
    await prober
    return took, max(waits) * 1000


async def volume(server: Server) -> None:
    idle_status = await latencies(server, "api/status", 3)
    idle_list = await latencies(server, "mlp/jobs?limit=50", 3)
    started = time.perf_counter()
    for index in range(1100):
        code, job, _ = await server.call(
            "POST",
            "mlp/jobs",
            {"backend": "slow", "name": f"bulk-{index}", "source": {"code": "pass"}},
        )
        assert code == 201, job
    print(f"submitted 1,100 jobs in {time.perf_counter() - started:.1f} s")
    while True:
        _, page, _ = await server.call("GET", "mlp/jobs?limit=500&state=RUNNING")
        if len(page["jobs"]) >= 100:
            break
        await asyncio.sleep(0.5)
    busy_status = await latencies(server, "api/status", 10)
    busy_list = await latencies(server, "mlp/jobs?limit=50", 10)
    print(f"{'request':<26}{'idle p50':>10}{'idle p99':>10}{'busy p50':>10}{'busy p99':>10}  (ms)")
    for label, idle, busy in (
        ("GET /api/status", idle_status, busy_status),
        ("GET /mlp/jobs?limit=50", idle_list, busy_list),
    ):
        print(
            f"{label:<26}{p(idle, 0.5):>10.1f}{p(idle, 0.99):>10.1f}"
            f"{p(busy, 0.5):>10.1f}{p(busy, 0.99):>10.1f}"
        )
    # One round looks at 100 jobs, 8 at a time, 50 ms each.
    _, page, _ = await server.call("GET", "mlp/jobs?limit=1&state=RUNNING")
    target = page["jobs"][0]["id"]
    started = time.perf_counter()
    code, job, answered = await server.call("POST", f"mlp/jobs/{target}/cancel")
    while job["state"] != "CANCELLED":
        await asyncio.sleep(0.02)
        _, job, _ = await server.call("GET", f"mlp/jobs/{target}")
    print(
        f"cancel answered in {answered * 1000:.0f} ms, CANCELLED after "
        f"{time.perf_counter() - started:.2f} s; one round of 100 jobs at 8 x 50 ms is about "
        f"{100 / 8 * 0.05:.2f} s"
    )


async def heavy(server: Server) -> None:
    root = server.root
    big = root / "big"
    for folder in range(120):
        (big / f"d{folder}").mkdir(parents=True)
        for index in range(1000):
            (big / f"d{folder}" / f"f{index}").write_bytes(b"")
    (root / "train.py").write_text("print('hi')\n")
    data = root / "data"
    data.mkdir()
    for index in range(9):
        (data / f"part{index}.bin").write_bytes(os.urandom(10 * 2**20))
    _, job, _ = await server.call(
        "POST",
        "mlp/jobs",
        {
            "source": {
                "code": "import os, shutil\n"
                f"shutil.copytree({str(big)!r}, "
                "os.path.join(os.environ['AIP_MODEL_DIR'], 'many'))\n"
            }
        },
    )
    while job["state"] not in ("SUCCEEDED", "FAILED"):
        await asyncio.sleep(0.5)
        _, job, _ = await server.call("GET", f"mlp/jobs/{job['id']}")
    assert job["state"] == "SUCCEEDED", job
    idle = await latencies(server, "api/status", 3)
    print(f"idle GET /api/status: p50 {p(idle, 0.5):.1f} ms, worst {max(idle) * 1000:.1f} ms")
    cases = {
        "validate include **/* (120,000 files)": lambda: server.call(
            "POST", "mlp/validate", {"source": {"path": "train.py", "include": ["**/*"]}}
        ),
        "outputs of a job with 120,000 files": lambda: server.call(
            "GET", f"mlp/jobs/{job['id']}/outputs"
        ),
        "convert with a 90 MB include": lambda: server.call(
            "POST", "mlp/convert", {"source": {"path": "train.py", "include": ["data/*"]}}
        ),
        "delete that job (120,000 files)": lambda: server.call("DELETE", f"mlp/jobs/{job['id']}"),
    }
    print(f"{'while':<42}{'took':>10}{'worst /api/status wait':>26}")
    for label, operation in cases.items():
        took, worst = await worst_wait_during(server, operation)
        print(f"{label:<42}{took:>9.2f}s{worst:>23.1f} ms")


async def main(part: str) -> None:
    print(f"machine: {machine()}")
    for name, run in (("volume", volume), ("heavy", heavy)):
        if part not in (name, "both"):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            server = busy_server(Path(tmp))
            try:
                await server.ready()
                print(f"--- {name}")
                await run(server)
            finally:
                server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["volume", "heavy", "both"], default="both")
    asyncio.run(main(parser.parse_args().part))
