"""Check local GPU detection and assignment on a machine with NVIDIA GPUs.

Runs the real JobManager and LocalBackend (no Jupyter server needed) on a temporary database:
prints the NVML inventory, then runs a CUDA program (PyTorch) as a job asking for one GPU and
one asking for none, and shows which GPUs each was given and what it saw. Without a GPU it says
so and exits 0 (CI runs it on machines without one). Usage: python scripts/gpu-check.py
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from jupyter_mlp.backends.local.backend import LocalBackend
from jupyter_mlp.backends.local.gpus import detect_gpus
from jupyter_mlp.core.manager import JobManager
from jupyter_mlp.core.models import Job, MLPError
from jupyter_mlp.core.store import JobStore

CUDA_PROGRAM = """
import json, os
report = {"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES")}
try:
    import torch
except ImportError:
    report["torch"] = "not installed in the job's environment: CUDA not tried"
else:
    report["cuda_available"] = torch.cuda.is_available()
    report["device_count"] = torch.cuda.device_count()
    if torch.cuda.is_available():
        a = torch.randn(4096, 4096, device="cuda")
        report["device_name"] = torch.cuda.get_device_name(0)
        report["matmul_checksum_finite"] = bool(torch.isfinite((a @ a).sum()).item())
print("REPORT " + json.dumps(report))
"""

#: How long a job may take before the check gives up on it.
JOB_SECONDS = 300


async def report(manager: JobManager, label: str, job: Job) -> None:
    """Wait for the job to end, then print its state and what its program saw."""
    deadline = time.monotonic() + JOB_SECONDS
    while not (done := await manager.get(job.id)).state.terminal:
        if time.monotonic() > deadline:
            print(f"job with {label}: still {done.state.value} after {JOB_SECONDS} s")
            await manager.cancel(job.id)
            return
        await asyncio.sleep(0.2)
    log = (await manager.read_log(job.id, tail=100_000))["data"]
    seen = next((line for line in log.splitlines() if line.startswith("REPORT ")), log[-2000:])
    print(f"job with {label}: {done.state.value} {done.state_message!r} {seen}")


async def check_jobs(root: Path, gpus: int) -> None:
    """Run the CUDA program with one GPU and with none, and ask for one GPU too many."""
    backend = LocalBackend()
    manager = JobManager(
        JobStore(f"sqlite:///{root / 'mlp.db'}"),
        {"local": backend},
        root_dir=root,
        jobs_dir=root / "mlp-jobs",
        poll_interval=0.2,
    )
    manager.start()
    try:
        print("local catalog:", json.dumps(await manager.catalog("local")))
        jobs = {
            "one GPU": await manager.submit(
                {"source": {"code": CUDA_PROGRAM}, "resources": {"accelerator_count": 1}}
            ),
            "no GPU": await manager.submit({"source": {"code": CUDA_PROGRAM}}),
        }
        try:
            await manager.submit(
                {"source": {"code": "pass"}, "resources": {"accelerator_count": gpus + 1}}
            )
        except MLPError as exc:
            print(f"asking for {gpus + 1} GPUs:", exc.status, exc.message)
        for label, job in jobs.items():
            await report(manager, label, job)
    finally:
        await manager.stop()


async def main() -> None:
    gpus, how = detect_gpus()
    print("NVML:", how)
    for gpu in gpus:
        print("  ", json.dumps(gpu.to_json()))
    if not gpus:
        print("no GPU here: nothing more to check")
        return
    with tempfile.TemporaryDirectory() as tmp:
        await check_jobs(Path(tmp), len(gpus))


if __name__ == "__main__":
    asyncio.run(main())
