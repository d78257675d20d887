"""Does a busy jupyter-mlp slow the Jupyter server down? Measured on a real `jupyter server`.

1. Volume: 1,000 queued and 100 running jobs on a backend whose every call takes 50 ms, while
   rounds run: latency of `GET /api/status` (Jupyter's own) and `GET /mlp/jobs?limit=50`
   (p50/p99), side by side with the same requests on the idle server; and how long a cancel
   takes to show as CANCELLED, next to the length of one watch round.
2. Heavy requests: the most a concurrent `GET /api/status` waits while each of these runs,
   next to the same request on the idle server: validate with `include: ["**/*"]` over a large
   folder, the outputs of a job folder with 120,000 files, convert with a 90 MB include, and
   deleting that job folder.
3. Queue: 1,000 queued jobs on the local backend (real processes, each sleeping 2 s, two at a
   time): the same latencies while the queue drains, with the CPU the server spent meanwhile.

`--baseline DIR` runs volume and queue on another checkout's jupyter-mlp too, taking turns with
this one (`--runs` times each), so before and after are measured under the same load.

Usage: python benchmarks/server_busy.py [--part volume|heavy|queue|all] [--baseline DIR]
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


ROOT = HERE.parent


def busy_server(root: Path, code: Path = ROOT) -> Server:
    """jupyter-mlp as `code` (a checkout's root) has it, with the slow backend
    (`slow_backend.BusyManager`, importable from here)."""
    path = os.pathsep.join((str(HERE), str(code), os.environ.get("PYTHONPATH", "")))
    return Server(
        root,
        env={"PYTHONPATH": path},
        extra_args=["--MLPExtension.manager_class=slow_backend.BusyManager"],
    )


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


async def volume(server: Server) -> dict[str, float]:
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
    submitted = time.perf_counter() - started
    while True:
        _, page, _ = await server.call("GET", "mlp/jobs?limit=500&state=RUNNING")
        if len(page["jobs"]) >= 100:
            break
        await asyncio.sleep(0.5)
    figures = await busy_figures(server, idle_status, idle_list)
    # One round looks at 100 jobs, 8 at a time, 50 ms each: about 0.62 s.
    _, page, _ = await server.call("GET", "mlp/jobs?limit=1&state=RUNNING")
    target = page["jobs"][0]["id"]
    started = time.perf_counter()
    _, job, answered = await server.call("POST", f"mlp/jobs/{target}/cancel")
    while job["state"] != "CANCELLED":
        await asyncio.sleep(0.02)
        _, job, _ = await server.call("GET", f"mlp/jobs/{target}")
    figures["cancel answered"] = answered * 1000
    figures["cancel shown (s)"] = time.perf_counter() - started
    figures["submit 1,100 (s)"] = submitted
    return figures


async def queue(server: Server) -> dict[str, float]:
    idle_status = await latencies(server, "api/status", 3)
    idle_list = await latencies(server, "mlp/jobs?limit=50", 3)
    started = time.perf_counter()
    for index in range(1000):
        code, job, _ = await server.call(
            "POST",
            "mlp/jobs",
            {"name": f"queued-{index}", "source": {"code": "import time; time.sleep(2)"}},
        )
        assert code == 201, job
    figures = await busy_figures(server, idle_status, idle_list)
    figures["submit 1,000 (s)"] = time.perf_counter() - started
    return figures


async def busy_figures(
    server: Server, idle_status: list[float], idle_list: list[float]
) -> dict[str, float]:
    """p50/p99 of both requests, idle (given) and now (10 s each), and the server's CPU."""
    spent = cpu_seconds(server.process.pid)
    busy_status = await latencies(server, "api/status", 10)
    busy_list = await latencies(server, "mlp/jobs?limit=50", 10)
    figures = {"server CPU in 20 s (s)": cpu_seconds(server.process.pid) - spent}
    for label, idle, busy in (
        ("/api/status", idle_status, busy_status),
        ("/mlp/jobs", idle_list, busy_list),
    ):
        figures[f"{label} idle p50"] = p(idle, 0.5)
        figures[f"{label} idle p99"] = p(idle, 0.99)
        figures[f"{label} busy p50"] = p(busy, 0.5)
        figures[f"{label} busy p99"] = p(busy, 0.99)
        figures[f"{label} busy max"] = max(busy) * 1000
    return figures


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


async def measured(part: str, code: Path) -> dict[str, float]:
    """One run of a part on a fresh server running `code`'s jupyter-mlp."""
    # Local jobs outlive the server: a runner may still be writing its folder at cleanup.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        server = busy_server(Path(tmp), code)
        try:
            await server.ready()
            return await {"volume": volume, "queue": queue}[part](server)
        finally:
            server.stop()


async def compared(part: str, baseline: Path | None, runs: int) -> None:
    """A part on this checkout (and the baseline's, taking turns), one column a run."""
    columns: list[tuple[str, dict[str, float]]] = []
    for run in range(runs):
        for label, code in (("before", baseline), ("after", ROOT)):
            if code is None:
                continue
            load = os.getloadavg()[0]
            figures = await measured(part, code)
            figures["load average (1 min)"] = load
            columns.append((f"{label} {run + 1}" if baseline else f"run {run + 1}", figures))
    print(f"--- {part} (ms unless said)")
    print(f"{'':<26}" + "".join(f"{label:>11}" for label, _ in columns))
    for key in columns[0][1]:
        print(f"{key:<26}" + "".join(f"{figures[key]:>11.1f}" for _, figures in columns))


async def main(part: str, baseline: Path | None, runs: int) -> None:
    print(f"machine: {machine()}")
    if baseline is not None:
        print(f"before: {baseline}; after: {ROOT}")
    for name in ("volume", "queue"):
        if part in (name, "all"):
            await compared(name, baseline, runs)
    if part in ("heavy", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            server = busy_server(Path(tmp))
            try:
                await server.ready()
                print("--- heavy")
                await heavy(server)
            finally:
                server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["volume", "heavy", "queue", "all"], default="all")
    parser.add_argument("--baseline", type=Path, help="another checkout's root, measured too")
    parser.add_argument("--runs", type=int, default=1, help="runs of each checkout, alternating")
    options = parser.parse_args()
    asyncio.run(main(options.part, options.baseline, options.runs))
