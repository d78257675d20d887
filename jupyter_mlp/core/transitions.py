"""How a job's state changes: the one place it does, and how what a backend saw moves a job.

Every move is guarded by the state it was decided from (compare-and-set in the store), is
stored with its time and message, and is told to the listeners (the server's event bus).
Backends only report what they observe; `decide` says where that takes a job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from itertools import pairwise
from typing import Any

from ..backends.base import Observation
from .models import Attempt, Job, JobState
from .offload import Offload
from .store import ActiveJob, JobStore

StateListener = Callable[[Job, JobState | None], None]

# Who a cancel through the API, the CLI or a magic is from (a cost cap would be another).
BY_YOU = "you"
# Times a round decides a job's move again after losing a race for it; a job changes state a
# few times in its life, so losing more often means the next round decides.
MOVE_TRIES = 4


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def clock(at: datetime) -> str:
    """A time as the server's clock shows it (10:42): the machine the CLI and kernels run on."""
    return at.astimezone().strftime("%H:%M")


def cancelled_by(by: str, at: datetime) -> str:
    """What a job cancelled by `by` at `at` says it ended with."""
    return f"Cancelled by {by} at {clock(at)}"


class Transitions:
    """Moves jobs from state to state, stores what backends report, and tells listeners."""

    def __init__(
        self,
        store: JobStore,
        offload: Offload,
        on_change: StateListener | None,
        log: logging.Logger,
    ):
        self.store = store
        self.offload = offload
        self.on_change = on_change
        self.log = log

    async def move(
        self,
        job: Job,
        state: JobState,
        message: str,
        *,
        expected: JobState,
        **fields: Any,
    ) -> bool:
        """The single place a job's state changes; terminal states never change again.

        The move happens only from `expected`, the state it was decided from (compare-and-set
        in the store). True when the job moved; False when it is in another state by now.
        """
        now = utcnow()
        if state.terminal:
            fields.setdefault("ended_at", now)

        def move() -> Job | None:
            if not self.store.transition(job.id, state, now, message, expected, **fields):
                return None
            return self.store.get(job.id)

        updated = await self.offload.run(move)
        if updated is None:
            return False
        self.notify(updated, job.state)
        return True

    async def observe(self, stored: ActiveJob, seen: Observation) -> ActiveJob | None:
        """Store what a backend saw of a started job (its typed updates), then move the job as
        it says. The job as it is after that (None once it ended)."""
        updates = seen.updates()
        if seen.backend_state == stored.job.backend_state:
            updates.pop("backend_state", None)
        if updates:  # not the state: those fields are right whatever state the job is in
            await self.offload.run(partial(self.store.set_fields, stored.job.id, **updates))
        notes = attempt_notes(stored.job.attempts, seen.attempts or [])
        if notes:
            found = await self._next_attempt(stored, notes)
            if found is None:
                return None
            stored = found
        return await self.settle(stored, seen)

    async def _next_attempt(self, stored: ActiveJob, notes: list[str]) -> ActiveJob | None:
        """A job that goes on as a new attempt starts again: the timeline says how each attempt
        before it ended and what comes next. A job being cancelled stays as it is."""
        job = stored.job
        if job.state in (JobState.STARTING, JobState.RUNNING):
            for note in notes:
                await self.move(job, JobState.STARTING, note, expected=job.state)
                job = job.model_copy(update={"state": JobState.STARTING})
        found = await self.offload.run(self.store.active, job.backend, job.id)
        return found[0] if found else None

    async def settle(self, stored: ActiveJob, seen: Observation) -> ActiveJob | None:
        """Move a started job as what its backend saw says, from the state it is in: the move
        is guarded by the state it was decided from, and a move that lost a race (a cancel
        came first) is decided again from the job as it is now, never applied over it.
        The job as it is after the move (None once it ended)."""
        current: ActiveJob | None = stored
        for _ in range(MOVE_TRIES):
            assert current is not None
            decided = decide(current, seen)
            if decided is None:
                return current
            target, message = decided
            job = current.job
            moved = await self.move(
                job, target, message, expected=job.state, backend_state=seen.backend_state
            )
            found = await self.offload.run(self.store.active, job.backend, job.id)
            current = found[0] if found else None
            if current is None:  # ended, by this move or by another's
                return None
            if moved:
                return current
        self.log.info("jupyter-mlp: job %s changed under every try; next round", stored.job.id)
        return current

    def notify(self, job: Job, previous: JobState | None) -> None:
        """Tell the listener a job changed, on the manager's loop (from whichever thread)."""
        if self.on_change is not None:
            self.offload.on_loop(self._call_listener, job, previous)

    def _call_listener(self, job: Job, previous: JobState | None) -> None:
        assert self.on_change is not None
        try:
            self.on_change(job, previous)
        except Exception:
            self.log.exception("jupyter-mlp: a job state listener failed")


def attempt_notes(before: list[Attempt], now: list[Attempt]) -> list[str]:
    """What the timeline says of each attempt that ended since `before` and was followed by
    another: how it ended and what was tried next."""
    known = {a.number for a in before if a.ended_at is not None}
    return [
        f"{ended.describe()} ended: {ended.message}; trying {after.region} ({after.hardware()})"
        for ended, after in pairwise(now)
        if ended.number not in known and ended.ended_at is not None
    ]


def decide(current: ActiveJob, seen: Observation) -> tuple[JobState, str] | None:
    """The state (and message) a started job moves to, from the state it is in now and what
    its backend saw; None when it stays. A cancel is never undone: a job CANCELLING goes on
    only to CANCELLED, or to SUCCEEDED when it finished before the cancel reached it."""
    state, target, message = current.job.state, seen.state, seen.message
    if target is None or target is state:
        return None
    if state is not JobState.CANCELLING:
        return target, message
    if not target.terminal:  # a look taken before the cancel, answered after it
        return None
    requested = current.cancel_requested_at
    by = current.cancelled_by or BY_YOU
    if target is JobState.SUCCEEDED:
        if requested is None:  # a drained pipeline that finished its input
            return target, message
        return target, f"finished before the cancel by {by} at {clock(requested)} took effect"
    if requested is None:  # a drain: ended as the backend says
        return JobState.CANCELLED, message or "cancelled"
    if target is JobState.CANCELLED and message and not message.lower().startswith("cancel"):
        # How the backend stopped it (a drain) says more than that it was cancelled.
        return target, f"{cancelled_by(by, requested)} ({message})"
    # A job killed by the cancel's signal (or whose kernel died of it) was cancelled, not failed:
    # the backend's words ("killed by signal 15") stay in its backend_state.
    return JobState.CANCELLED, cancelled_by(by, requested)
