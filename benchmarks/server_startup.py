"""Jupyter server start-up until `GET /api/status` answers, with jupyter-mlp on and off.

Both start as a fresh `jupyter server` process on an empty root, interleaved run by run so that
drift on the machine hits both alike. Goal: with the extension at most 1.05x without.

Usage: python benchmarks/server_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from _common import Server, machine, summary


async def start_seconds(root: Path, mlp: bool) -> float:
    server = Server(root, mlp=mlp)
    try:
        return await server.ready()
    finally:
        server.stop()


async def main(runs: int) -> None:
    print(f"machine: {machine()}")
    on, off = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            off.append(await start_seconds(Path(tmp) / f"off-{run}", mlp=False))
            on.append(await start_seconds(Path(tmp) / f"on-{run}", mlp=True))
    print(summary("start-up, jupyter-mlp off", off))
    print(summary("start-up, jupyter-mlp on", on))
    ratio = statistics.median(on) / statistics.median(off)
    print(f"ratio on / off {ratio:.3f}  (goal: at most 1.05)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    asyncio.run(main(parser.parse_args().runs))
