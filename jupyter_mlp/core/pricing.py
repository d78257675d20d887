"""What jobs cost by list prices: an hourly estimate of a spec, and each job's cost so far.

Only backends whose capabilities say `priced` have prices; a priced backend that is not set up
here is still estimated from the catalog, so its jobs keep their cost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..catalog.cloud import estimate_hourly_cost
from .installed import InstalledBackends
from .models import Cost, Job, JobSpec, Trial
from .store import STORED, Listed, summary_of
from .transitions import utcnow


def _times(job: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """When a listed job (JSON) started and ended."""
    return tuple(  # type: ignore[return-value]
        None if job[key] is None else datetime.fromisoformat(job[key])
        for key in ("started_at", "ended_at")
    )


class Pricing:
    """Estimates and costs of jobs, on the backends that have list prices."""

    def __init__(self, installed: InstalledBackends, default_backend: str):
        self.installed = installed
        self.default_backend = default_backend

    def priced(self, backend_name: str) -> bool:
        """Whether jobs on this backend have list prices (set up here or not)."""
        capabilities = self.installed.capabilities(backend_name)
        return capabilities is not None and capabilities.priced

    def estimate(self, spec: JobSpec) -> dict[str, Any] | None:
        """Estimated hourly cost of a job by list prices; None without prices or when unknown."""
        name = spec.backend or self.default_backend
        backend = self.installed.get(name)
        if backend is not None:
            return backend.estimate(spec)
        if self.priced(name):
            resources = spec.resources.model_dump()
            return estimate_hourly_cost(name, resources, spec.region, spec.scheduling.strategy)
        return None

    def with_cost(self, job: Job) -> Job:
        """The job with its estimated cost, for jobs on a backend with list prices."""
        if not self.priced(job.backend):
            return job
        spec = job.spec
        if job.attempts:  # priced as what finally ran (its last attempt), as the job list is
            spec = JobSpec.model_validate(summary_of(job.spec, job.attempts), context=STORED)
        cost = self.cost(spec, job.backend, job.started_at, job.ended_at, job.trials)
        return job if cost is None else job.model_copy(update={"cost": cost})

    def listed_cost(self, listed: Listed) -> str:
        """A listed job (JSON text), with its cost if its backend has prices."""
        if not self.priced(listed.backend):
            return listed.json
        job = json.loads(listed.json)
        spec = JobSpec.model_validate(job["spec"], context=STORED)
        trials = [Trial.model_validate(t) for t in job.get("trials") or []]
        cost = self.cost(spec, listed.backend, *_times(job), trials)
        job["cost"] = None if cost is None else cost.model_dump(mode="json")
        return json.dumps(job)

    def cost(
        self,
        spec: JobSpec,
        backend_name: str,
        started_at: datetime | None,
        ended_at: datetime | None,
        trials: Sequence[Trial] = (),
    ) -> Cost | None:
        """What a job of `spec` on that backend costs per hour, so far, and in all once ended.

        A sweep whose backend prices it per trial (`usd_per_trial_hour`: Vertex AI's tuning
        jobs) costs the sum of its trials, each over its own run time."""
        estimate = self.estimate(spec.model_copy(update={"backend": backend_name}))
        if estimate is None:
            return None
        now = utcnow()
        hours = _hours(started_at, ended_at, now)
        per_trial = estimate.get("usd_per_trial_hour")
        if per_trial is not None and trials:
            trial_hours = sum(_hours(t.started_at, t.ended_at or ended_at, now) for t in trials)
            so_far = per_trial * trial_hours
        else:
            so_far = estimate["usd_per_hour"] * hours
        ended = ended_at is not None
        return Cost(
            usd_per_hour=estimate["usd_per_hour"],
            usd_so_far=round(so_far, 4),
            prices_as_of=estimate["as_of"],
            hours=round(hours, 6),
            ended=ended,
            usd_total=round(so_far, 4) if ended else None,
        )


def _hours(started_at: datetime | None, ended_at: datetime | None, now: datetime) -> float:
    """Hours from a start to an end (or now); none before it started."""
    if started_at is None:
        return 0.0
    return max(0.0, ((ended_at or now) - started_at).total_seconds() / 3600)
