"""Cost caps: a job (a sweep with all its trials) whose running estimate reaches its
`scheduling.max_cost_usd` is cancelled through the normal cancel path.

The watch rounds hand over the running jobs they already hold, so a check makes no cloud call:
the estimate comes from list prices and the time run. The cap acts on that estimate; billing
lags it, and a cancel takes a little while to stop the machines.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from .models import Job, JobState, MLPError
from .pricing import Pricing

#: The states in which a job runs up cost; a cancelling job already stops.
COSTING_STATES = frozenset({JobState.STARTING, JobState.RUNNING})


def capped_by(usd_so_far: float, cap: float) -> str:
    """Who cancelled a capped job, as its state message names it."""
    return f"its cost cap: ≈ {_usd(usd_so_far)} reached the {_usd(cap)} cap"


def _usd(amount: float) -> str:
    # Cents, unless that would show a cap under a cent as $0.00.
    return f"${amount:.2f}" if amount >= 0.01 else f"${amount:.4f}"


class CostCaps:
    """Cancels the running jobs whose estimated cost so far reached their cap."""

    def __init__(
        self,
        pricing: Pricing,
        cancel: Callable[[str, str], Awaitable[Job]],
        log: logging.Logger,
    ):
        """`cancel(job_id, by)`: the manager's cancel, which asks the job's backend to stop."""
        self.pricing = pricing
        self.cancel = cancel
        self.log = log

    async def check(self, jobs: Iterable[Job]) -> list[str]:
        """Cancel each of `jobs` that reached its cap; the ids of those cancelled."""
        cancelled = []
        for job in jobs:
            reached = self.reached(job)
            if reached is None:
                continue
            try:
                await self.cancel(job.id, reached)
            except MLPError:  # it ended meanwhile: nothing left to stop
                continue
            self.log.info("jupyter-mlp: job %s cancelled by %s", job.id, reached)
            cancelled.append(job.id)
        return cancelled

    def reached(self, job: Job) -> str | None:
        """Who cancels `job` when its estimate reached its cap (see `capped_by`); else None."""
        cap = job.spec.scheduling.max_cost_usd
        if cap is None or job.state not in COSTING_STATES:
            return None
        cost = self.pricing.cost(job.spec, job.backend, job.started_at, None, job.trials)
        if cost is None or cost.usd_so_far < cap:
            return None
        return capped_by(cost.usd_so_far, cap)
