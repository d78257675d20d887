"""A Vertex AI job's attempts: when an ended CustomJob means "try again", and what comes next.

Vertex AI ends a job for lack of capacity in words, not in a state: a create refused with
RESOURCE_EXHAUSTED (an allocation quota used up), or a CustomJob FAILED with "Resources are
insufficient in region", a zone's ZONE_RESOURCE_POOL_EXHAUSTED or a STOCKOUT. A Spot job is
restarted by Vertex AI itself when preempted, up to six times; then it fails with a STOCKOUT
too ("Use Spot VMs with training", read 2026-12-06). Such an end is not the job's: the same job
goes on as a new attempt, a new CustomJob with the same job id label (and its attempt number as
another) and the same output folder, which is keyed by our job id, so AIP_CHECKPOINT_DIR is the
same and a script that saves checkpoints resumes. A preempted Spot attempt is tried again as it
was, up to `scheduling.max_preemptions` times; a capacity or quota end moves on to the next
alternative (`fallbacks.py`). When none is left, the job fails naming every attempt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...core.models import Attempt, Job, JobSpec, JobState
from ...jobfiles.bundle import JobFolder
from ..base import Launch, Observation, Tracked
from ..gcp.errors import ErrorFacts
from .fallbacks import alternative_spec, alternatives

if TYPE_CHECKING:
    from .backend import VertexRuntime

LABEL_ATTEMPT = "mlp-attempt"
# google.rpc.Code of a job Vertex AI ended for want of resources.
RESOURCE_EXHAUSTED = 8
CAPACITY_WORDS = re.compile(
    r"resources? (?:are|is) insufficient|ZONE_RESOURCE_POOL_EXHAUSTED|STOCKOUT|"
    r"does not have enough resources|RESOURCE_EXHAUSTED",
    re.IGNORECASE,
)
PREEMPTION_WORDS = re.compile(r"preempt|STOCKOUT", re.IGNORECASE)
# Vertex's states of a later attempt that a cancel has not reached yet.
UNSTOPPED = ("JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING")

Create = Callable[[Job, JobFolder, "VertexRuntime"], Launch]
# How the job fails when no attempt is left, given why (the backend adds what it knows).
Fail = Callable[[str], Observation]


@dataclass(frozen=True)
class Ending:
    """Why an attempt ended that the job may go on from: Vertex's words, and whether it was a
    Spot preemption (else capacity or quota)."""

    reason: str
    preempted: bool = False


def ending_of(tracked: Tracked[VertexRuntime], vertex_job: Any) -> Ending | None:
    """How a FAILED CustomJob ended when it was for capacity, quota or a Spot preemption; None
    for any other end (the job's own failure, success, a cancel)."""
    from google.cloud.aiplatform_v1 import types

    if vertex_job.state != types.JobState.JOB_STATE_FAILED:
        return None
    said = vertex_job.error.message or ""
    capacity = vertex_job.error.code == RESOURCE_EXHAUSTED or bool(CAPACITY_WORDS.search(said))
    spot = attempt_spec(tracked.job.spec, tracked.runtime).scheduling.strategy == "spot"
    # Only a Spot job that ran was preempted; one that never got a machine found no capacity.
    if spot and vertex_job.start_time and (capacity or PREEMPTION_WORDS.search(said)):
        return Ending(said or "preempted", preempted=True)
    return Ending(said) if capacity else None


def refused_for_capacity(exc: BaseException) -> bool:
    """Whether a create was refused for an allocation quota or for capacity (so another
    alternative may fare better), not for anything the job itself got wrong."""
    cause = exc.__cause__ or exc
    return ErrorFacts.of(cause).kind == "quota" or bool(CAPACITY_WORDS.search(str(exc)))


def may_go_on(spec: JobSpec, runtime: VertexRuntime) -> bool:
    """Whether a job has an alternative after the one its attempt runs."""
    return runtime.alternative + 1 < alternatives(spec)


def attempt_spec(spec: JobSpec, runtime: VertexRuntime) -> JobSpec:
    """What the job's current attempt runs: its alternative of the spec."""
    return alternative_spec(spec, runtime.alternative)


def current(
    job: Job, runtime: VertexRuntime, ended_at: datetime | None = None, message: str = ""
) -> Attempt:
    """The attempt a job's runtime says it is on."""
    spec = attempt_spec(job.spec, runtime)
    return Attempt(
        number=runtime.attempt,
        region=runtime.location or spec.region,
        machine_type=spec.resources.machine_type,
        accelerator_type=spec.resources.accelerator_type,
        accelerator_count=spec.resources.accelerator_count,
        strategy=spec.scheduling.strategy,
        backend_job_id=runtime.resource_name,
        started_at=runtime.attempt_started_at,
        ended_at=ended_at,
        message=message,
    )


def noted(
    tracked: Tracked[VertexRuntime], vertex_job: Any, seen: Observation
) -> list[Attempt] | None:
    """The job's attempts with what its CustomJob says of the current one (its end, once it
    ended); None when they are as stored."""
    job, ended = tracked.job, seen.state is not None and seen.state.terminal
    end = (vertex_job.end_time or datetime.now(UTC)) if ended else None
    now = current(job, tracked.runtime, end, seen.message if ended else "")
    listed = recorded(job, now)
    return None if listed == job.attempts else listed


def recorded(job: Job, now: Attempt) -> list[Attempt]:
    """The job's attempts with `now` in its place (the last, or a new last)."""
    return [a for a in job.attempts if a.number != now.number] + [now]


def go_on(
    tracked: Tracked[VertexRuntime], ending: Ending, create: Create, fail: Fail
) -> Observation:
    """The job after its attempt ended as `ending` says: the next attempt created (a create
    refused for capacity or quota moves on to the one after), or, with none left or the job
    being cancelled, the job failed as `fail` says, with every attempt named."""
    job, runtime, now = tracked.job, tracked.runtime, datetime.now(UTC)
    tried = recorded(job, current(job, runtime, now, ending.reason))
    step = _next(job.spec, runtime, ending.preempted)
    while step is not None and job.state is not JobState.CANCELLING:
        alternative, preemption = step
        runtime = runtime.model_copy(
            update={
                "attempt": runtime.attempt + 1,
                "alternative": alternative,
                "preemptions": runtime.preemptions + int(preemption),
                "attempt_started_at": now,
                "resource_name": None,
                "location": None,
                "unconfirmed": None,
                "refused": None,
            }
        )
        try:
            launch = create(job, tracked.folder, runtime)
        except RuntimeError as exc:
            tried.append(current(job, runtime, now, str(exc)))
            if not refused_for_capacity(exc):
                return _failed(fail, tried, f"attempt {runtime.attempt} could not start: {exc}")
            step = _next(job.spec, runtime, False)
            continue
        started: Any = launch.runtime
        return Observation(
            runtime=started,
            backend_job_id=launch.backend_job_id,
            console_url=launch.console_url,
            attempts=[*tried, current(job, started)],
        )
    return _failed(fail, tried, given_up(tried))


def _next(spec: JobSpec, runtime: VertexRuntime, preempted: bool) -> tuple[int, bool] | None:
    """(alternative, whether it retries a preemption) of the next attempt; None: none left.
    A preempted attempt runs again as it was while preemptions are left, then moves on."""
    if preempted and runtime.preemptions < spec.scheduling.max_preemptions:
        return runtime.alternative, True
    if may_go_on(spec, runtime):
        return runtime.alternative + 1, False
    return None


def _failed(fail: Fail, tried: list[Attempt], message: str) -> Observation:
    failed = fail(message)
    failed.attempts = tried
    return failed


def not_created(message: str) -> Observation:
    """A job whose last attempt was never created: FAILED, saying why."""
    return Observation(JobState.FAILED, backend_state="NOT_CREATED", message=message)


def cancel_unheard(tracked: Tracked[VertexRuntime], raw_state: str) -> bool:
    """Whether a job being cancelled runs a later attempt the cancel has not reached (it was
    created while the cancel was on its way to the attempt before)."""
    cancelling = tracked.job.state is JobState.CANCELLING
    return cancelling and tracked.runtime.attempt > 1 and raw_state in UNSTOPPED


def given_up(tried: list[Attempt]) -> str:
    """Why a job failed after its last attempt: that attempt's words, and with several, how
    each one ended."""
    last = tried[-1].message
    if len(tried) == 1:
        return last
    each = "; ".join(f"{a.describe()} ended: {a.message}" for a in tried)
    return f"{last} (no alternative left after {len(tried)} attempts: {each})"


def attempt_labels(labels: dict[str, str], attempt: int) -> dict[str, str]:
    """A CustomJob's labels for `attempt`: the first carries none more, as jobs did before
    attempts; a later one its number."""
    return labels if attempt == 1 else {**labels, LABEL_ATTEMPT: str(attempt)}
