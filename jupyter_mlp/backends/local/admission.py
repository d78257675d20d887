"""Which jobs this machine can take: asks checked against it, queued jobs admitted, GPUs handed out.

Jobs wait in QUEUED until a concurrency slot and the GPUs they ask for are free. A GPU is free
when no running job holds it and nothing an ended job left running still does.
"""

from __future__ import annotations

from ...core.models import FieldError, Job, JobSpec
from .gpus import LocalGpu


def resource_errors(spec: JobSpec, gpus: list[LocalGpu]) -> list[FieldError]:
    """What the spec's resources ask that this machine cannot give."""
    errors = []
    wanted = spec.resources.accelerator_count
    if wanted > len(gpus):
        have = ", ".join(f"{g.id} {g.name}".strip() for g in gpus) or "none"
        errors.append(
            FieldError(
                field="resources.accelerator_count",
                message=f"asks for {wanted} GPU(s) but this machine has {len(gpus)} ({have})",
                suggestions=[str(n) for n in range(len(gpus) + 1)],
            )
        )
    if spec.resources.replica_count > 1:
        errors.append(
            FieldError(
                field="resources.replica_count",
                message="the local backend runs one replica; use vertex to distribute",
                suggestions=["1"],
            )
        )
    return errors


def free_gpus(gpus: list[LocalGpu], held: set[str]) -> list[str]:
    """Ids of the GPUs that nothing `held` (by running jobs or what ended ones left)."""
    return [gpu.id for gpu in gpus if gpu.id not in held]


def first_come_first_served(queued: list[Job], slots: int, free: int) -> list[Job]:
    """The queued jobs to start now, given `slots` free for jobs and `free` GPUs.

    A job that does not fit blocks the GPU jobs behind it, so a job asking for many GPUs is
    never starved by a stream of small ones. Jobs that need no GPU only wait for a slot."""
    admitted: list[Job] = []
    gpu_queue_blocked = False
    for job in queued:
        if slots <= 0:
            break
        wanted = job.spec.resources.accelerator_count
        if wanted and (gpu_queue_blocked or wanted > free):
            gpu_queue_blocked = True
            continue
        admitted.append(job)
        slots -= 1
        free -= wanted
    return admitted
