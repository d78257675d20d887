"""Schema-driven fuzzing of the /mlp REST API for a fixed time budget, on a real `jupyter server`.

Schemathesis reads the OpenAPI document the server serves and runs every check it has
(no 5xx; status codes, content types, headers and bodies as documented; schema-valid requests
accepted; schema-invalid ones refused; 405s with `Allow`; ...) through all its phases until the
budget is spent, with the rules of tests/schemathesis.toml. Printed: the requests it made per
operation and status, what failed (nothing, when the document and the server agree), and any
traceback the server logged meanwhile.

Usage: python benchmarks/api_fuzzing.py [--seconds 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import TOKEN, Server, machine

from jupyter_mlp.server.openapi import OPERATION_IDS

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parent / "tests" / "schemathesis.toml"
# A job id in a path, as the operation's template names it.
TEMPLATES = [
    (
        re.compile(r"^/mlp/jobs/[^/]+/(cancel|rerun|logs|outputs|progress)/?$"),
        r"/mlp/jobs/{job_id}/\1",
    ),
    (re.compile(r"^/mlp/jobs/[^/]+/?$"), "/mlp/jobs/{job_id}"),
]
DOCUMENTED = {f"{method.upper()} {path}" for path, method in OPERATION_IDS}


def operation(method: str, url: str) -> str:
    path = "/" + url.split("/", 3)[3].split("?", 1)[0]
    for pattern, template in TEMPLATES:
        if pattern.match(path):
            path = pattern.sub(template, path)
            break
    return f"{method} {path}"


def tried(har: Path) -> dict[str, collections.Counter[int]]:
    """Requests by operation, each with its count by status; methods the document does not
    have (PUT, TRACE... on every path) together."""
    counts: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for entry in json.loads(har.read_text())["log"]["entries"]:
        request = entry["request"]
        name = operation(request["method"], request["url"])
        counts[name if name in DOCUMENTED else "(undocumented methods)"][
            entry["response"]["status"]
        ] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300, help="the time budget")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="mlp-fuzz-") as folder:
        root = Path(folder)
        server = Server(root, extra_args=["--MLPExtension.cancel_grace_seconds=3"])
        (server.root / "train.py").write_text("print('hi')\n")
        try:
            asyncio.run(server.ready("mlp/backends"))
            started = time.perf_counter()
            run = subprocess.run(
                [
                    str(Path(sys.executable).parent / "st"),
                    "--config-file",
                    str(CONFIG),
                    "run",
                    f"http://127.0.0.1:{server.port}/mlp/openapi.json",
                    "--header",
                    f"Authorization: token {TOKEN}",
                    "--checks",
                    "all",
                    "--max-time",
                    str(options.seconds),
                    "--seed",
                    str(options.seed),
                    "--continue-on-failure",
                    "--request-timeout",
                    "30",
                    "--report",
                    "har",
                    "--report-har-path",
                    str(root / "requests.har"),
                ],
                capture_output=True,
                text=True,
                cwd=root,
                env={**os.environ, "NO_COLOR": "1"},
            )
            elapsed = time.perf_counter() - started
        finally:
            server.stop()
        if not (root / "requests.har").exists():
            sys.exit(f"Schemathesis did not run:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
        counts = tried(root / "requests.har")
        print(f"\nSchemathesis, all checks, {options.seconds} s budget, seed {options.seed}:")
        print(f"{'operation':<34} {'requests':>8}  by status")
        for name in sorted(counts):
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(counts[name].items()))
            print(f"{name:<34} {sum(counts[name].values()):>8}  {statuses}")
        total = sum(sum(c.values()) for c in counts.values())
        print(f"{'all':<34} {total:>8}  in {elapsed:.0f} s")
        summary = run.stdout[run.stdout.rfind("SUMMARY") :] if "SUMMARY" in run.stdout else ""
        failures = run.stdout[run.stdout.find("FAILURES") : run.stdout.rfind("SUMMARY")]
        print("\nFailures:" if "FAILURES" in run.stdout else "\nFailures: none")
        if "FAILURES" in run.stdout:
            print(failures.strip())
        print(summary.strip() or run.stdout[-3000:] + run.stderr[-2000:])
        log = (root / "server.log").read_text(errors="replace")
        print(f"\nTracebacks in the server's log: {log.count('Traceback (most recent call last)')}")
        sys.exit(run.returncode)


if __name__ == "__main__":
    main()
