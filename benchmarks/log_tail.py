"""The tail of a 1 GB job log through `GET /mlp/jobs/{id}/logs?tail=...`: how much the server's
memory (RSS) grows and how soon the first byte of the answer arrives.

A real local job writes the 1 GB log (64-byte lines) on a real `jupyter server`; then the tail is
asked for several times. Goals: RSS growth under 50 MB, first byte under 100 ms.

Usage: python benchmarks/log_tail.py [--gigabytes G] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from _common import TOKEN, Server, machine, summary
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

WRITER = """\
import sys
line = b"x" * 63 + b"\\n"
block = line * 16384  # 1 MiB
for _ in range({mib}):
    sys.stdout.buffer.write(block)
sys.stdout.buffer.write(b"the last line\\n")
"""


async def first_byte_seconds(server: Server, path: str) -> tuple[float, int]:
    """(seconds to the first byte of the body, bytes received)."""
    first: list[float] = []
    size = 0

    def chunk(data: bytes) -> None:
        nonlocal size
        if not first:
            first.append(time.perf_counter())
        size += len(data)

    started = time.perf_counter()
    await AsyncHTTPClient().fetch(
        HTTPRequest(
            f"http://127.0.0.1:{server.port}/{path}",
            headers={"Authorization": f"token {TOKEN}"},
            streaming_callback=chunk,
            request_timeout=600,
        )
    )
    return first[0] - started, size


async def main(gigabytes: float, runs: int) -> None:
    print(f"machine: {machine()}")
    mib = int(gigabytes * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            await server.ready("mlp/backends")
            _, job, _ = await server.call(
                "POST", "mlp/jobs", {"name": "big-log", "source": {"code": WRITER.format(mib=mib)}}
            )
            while job["state"] not in ("SUCCEEDED", "FAILED"):
                await asyncio.sleep(0.5)
                _, job, _ = await server.call("GET", f"mlp/jobs/{job['id']}")
            assert job["state"] == "SUCCEEDED", job
            log = server.root / job["outputs"]["log"]
            print(f"log: {log.stat().st_size / 2**30:.2f} GiB")
            path = f"mlp/jobs/{job['id']}/logs?tail=65536"
            await server.call("GET", "mlp/jobs?limit=50")  # warm the handlers up
            before = server.rss_bytes()
            firsts, peak = [], before
            for _ in range(runs):
                seconds, size = await first_byte_seconds(server, path)
                firsts.append(seconds)
                peak = max(peak, server.rss_bytes())
            _, chunk, _ = await server.call("GET", path)
            assert chunk["data"].endswith("the last line\n"), chunk["data"][-100:]
        finally:
            server.stop()
    print(f"answer: {size:,} bytes of JSON for a 64 KiB tail")
    print(summary("first byte of the tail", firsts, "ms", 1000))
    print(
        f"server RSS before {before / 2**20:.1f} MiB, highest after {peak / 2**20:.1f} MiB: "
        f"growth {(peak - before) / 2**20:.1f} MiB  (goal: under 50 MB)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    asyncio.run(main(options.gigabytes, options.runs))
