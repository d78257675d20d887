"""200 submissions at once to a real `jupyter server`: all recorded, none answered 5xx, and
how many submissions per second the server takes.

Usage: python benchmarks/concurrent_submissions.py [--jobs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import Server, machine, summary


async def main(count: int) -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        # Jobs queue behind one running job: the figure is the API's, not the machine's.
        server = Server(Path(tmp), extra_args=["--LocalBackend.max_concurrent_jobs=1"])
        try:
            await server.ready("mlp/backends")
            started = time.perf_counter()
            answers = await asyncio.gather(
                *(
                    server.call(
                        "POST",
                        "mlp/jobs",
                        {"name": f"burst-{i}", "source": {"code": "pass"}},
                    )
                    for i in range(count)
                )
            )
            took = time.perf_counter() - started
            codes = Counter(code for code, _, _ in answers)
            ids = {job["id"] for code, job, _ in answers if code == 201}
            _, page, _ = await server.call("GET", f"mlp/jobs?limit={count + 50}")
            recorded = {job["id"] for job in page["jobs"]}
        finally:
            server.stop()
    print(f"answers: {dict(codes)}; 5xx: {sum(n for c, n in codes.items() if c >= 500)}")
    print(f"recorded: {len(recorded & ids)} of {count} (listed {len(recorded)})")
    print(summary("one submission's answer", [e for _, _, e in answers], "ms", 1000))
    print(
        f"{count} submissions in {took:.2f} s: {count / took:.1f} submissions/s "
        f"(median answer {statistics.median(e for _, _, e in answers) * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    asyncio.run(main(parser.parse_args().jobs))
