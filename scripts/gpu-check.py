"""Check local GPU detection and assignment on a machine with NVIDIA GPUs.

Runs the real JobManager and LocalBackend (no Jupyter server needed) on a temporary database:
prints the NVML inventory, then runs a CUDA program (PyTorch) as a job asking for one GPU and
one asking for none, and shows what each saw. Usage: python scripts/gpu-check.py
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from jupyter_mlp.backends.local.backend import LocalBackend
from jupyter_mlp.backends.local.gpus import detect_gpus
from jupyter_mlp.core.manager import JobManager
from jupyter_mlp.core.models import MLPError
from jupyter_mlp.core.store import JobStore

CUDA_PROGRAM = """
import json, os, torch
report = {"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
          "cuda_available": torch.cuda.is_available(),
          "device_count": torch.cuda.device_count()}
if torch.cuda.is_available():
    a = torch.randn(4096, 4096, device="cuda")
    report["device_name"] = torch.cuda.get_device_name(0)
    report["matmul_checksum_finite"] = bool(torch.isfinite((a @ a).sum()).item())
print("REPORT " + json.dumps(report))
"""


async def main() -> None:
    gpus, how = detect_gpus()
    print("NVML:", how)
    for gpu in gpus:
        print("  ", json.dumps(gpu.to_json()))
    if not gpus:
        print("no GPUs here: nothing more to check")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        manager = JobManager(
            JobStore(f"sqlite:///{root / 'mlp.db'}"),
            {"local": LocalBackend()},
            root_dir=root,
            jobs_dir=root / "mlp-jobs",
            poll_interval=0.2,
        )
        manager.start()
        print("local catalog:", json.dumps(manager.catalog("local")))
        jobs = {
            "one GPU": await manager.submit(
                {"source": {"code": CUDA_PROGRAM}, "resources": {"accelerator_count": 1}}
            ),
            "no GPU": await manager.submit({"source": {"code": CUDA_PROGRAM}}),
        }
        try:
            await manager.submit(
                {"source": {"code": "pass"}, "resources": {"accelerator_count": len(gpus) + 1}}
            )
        except MLPError as exc:
            print(f"asking for {len(gpus) + 1} GPUs:", exc.status, exc.message)
        for label, job in jobs.items():
            while not manager.get(job.id).state.terminal:
                await asyncio.sleep(0.2)
            done = manager.get(job.id)
            log = manager.read_log(job.id)["data"]
            report = next(
                (line for line in log.splitlines() if line.startswith("REPORT ")), log[-2000:]
            )
            print(f"job with {label}: {done.state.value} {done.state_message!r} {report}")
        await manager.stop()


if __name__ == "__main__":
    asyncio.run(main())
