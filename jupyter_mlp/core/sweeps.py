"""Local sweeps: a sweep job whose trials are jobs of their own, driven through `SweepPort`.

A backend either runs a whole sweep itself (Vertex AI: one HyperparameterTuningJob, watched like
any job) or has its sweeps driven here as trial jobs ("trials": the local backend). A driven
sweep job runs no process. On each watch round of its backend the driver looks at the sweep's
trial jobs, reads each one's metric from the file cloudml-hypertune writes in its folder, and
keeps up to `parallel_trials` trials unfinished, asking the search for the next parameters.
Everything it knows comes from the store, so a restarted server goes on with the sweep.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .models import FieldError, JobSpec, JobState, MLPError, SweepSpec, Trial, best_trial
from .store import TrialTaken
from .sweep_search import grid_size, next_parameters, planned_parallel, planned_trials

if TYPE_CHECKING:
    from ..backends.capabilities import SweepSupport
    from .installed import InstalledBackends
    from .models import Job

T = TypeVar("T")

#: Where a local job's cloudml-hypertune reports go, relative to its folder
#: (the local backend points CLOUD_ML_HP_METRIC_FILE there).
METRIC_FILE = "hypertune/output.metric"

log = logging.getLogger(__name__)


class SweepPort(Protocol):
    """What the sweep driver may do to jobs: the narrow port the state machine offers it."""

    def sweeps_as(self, backend: str) -> SweepSupport | None:
        """How the backend of that name runs sweeps (None: it does not, or is unknown)."""

    async def run_blocking(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (the store, a file) off the event loop."""

    async def list_sweeps(self, backend: str) -> list[Job]:
        """The backend's unfinished sweep jobs."""

    def trial_states(self, sweep_id: str) -> list[tuple[str, JobState]]:
        """Each trial job of the sweep and its state, in trial order (blocking)."""

    def trial_jobs(self, sweep_id: str, ids: list[str]) -> list[tuple[Job, str | None]]:
        """Those trial jobs of the sweep, with their folders (blocking)."""

    async def move_sweep(
        self, sweep: Job, state: JobState, message: str, *, expected: JobState, **fields: Any
    ) -> bool:
        """Move a sweep job from `expected` (False when it is in another state by now)."""

    async def set_trials(self, sweep_id: str, trials: list[Trial]) -> None:
        """Store the sweep's trials as they are now."""

    def submit_trial(self, spec: JobSpec, sweep_id: str, number: int) -> Job:
        """Queue trial `number` of the sweep (blocking); TrialTaken when another did."""

    async def cancel(self, job_id: str) -> Job:
        """Cancel a trial job."""


def sweep_errors(spec: JobSpec, installed: InstalledBackends) -> list[FieldError]:
    """A sweep on a backend that cannot run one (installed or not) is a mistake in `sweep`."""
    if spec.sweep is None:
        return []
    assert spec.backend is not None
    capabilities = installed.capabilities(spec.backend)
    if capabilities is None or capabilities.sweeps is not None:
        return []  # an unknown backend is refused as such
    can = sorted(
        name for name, b in installed.backends.items() if b.capabilities.sweeps is not None
    )
    return [
        FieldError(
            field="sweep",
            message=f"backend '{spec.backend}' cannot run sweeps; "
            f"backends that can: {', '.join(can) or 'none installed'}",
            suggestions=can,
        )
    ]


def grid_warnings(spec: JobSpec) -> list[FieldError]:
    """A grid with fewer points than `max_trials` runs one trial a point: a warning on
    `sweep.max_trials` saying how many run (the spec keeps the number given)."""
    sweep = spec.sweep
    if sweep is None or sweep.algorithm != "grid":
        return []
    size = grid_size(sweep)
    if sweep.max_trials <= size:
        return []
    points = f"{size} point{'s' if size != 1 else ''}"
    runs = f"{size} trial{'s run' if size != 1 else ' runs'}"
    at_once = f", {size} at once" if sweep.parallel_trials > size else ""
    return [
        FieldError(
            field="sweep.max_trials",
            message=f"the grid has {points}: {runs}{at_once}",
            suggestions=[str(size)],
            severity="warning",
        )
    ]


def read_metric(path: Path, tag: str) -> float | None:
    """The last value reported for `tag` in a cloudml-hypertune metric file (JSON lines)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in reversed(lines):
        try:
            value = float(json.loads(line)[tag])
        except (ValueError, KeyError, TypeError):
            continue
        return value if math.isfinite(value) else None
    return None


def trial_of(number: int, job: Job, folder: str | None, sweep: SweepSpec) -> Trial:
    """A trial as its job is now, with the metric its folder holds."""
    metric = read_metric(Path(folder) / METRIC_FILE, sweep.metric.name) if folder else None
    return Trial(
        id=str(number),
        job_id=job.id,
        state=job.state,
        parameters={p.name: job.spec.parameters[p.name] for p in sweep.parameters},
        metric=metric,
        started_at=job.started_at,
        ended_at=job.ended_at,
        message=job.state_message,
    )


class SweepDriver:
    """Drives the sweeps run as trial jobs, one step per watch round of their backend."""

    def __init__(self, port: SweepPort):
        self.port = port

    def drives(self, job: Job) -> bool:
        """A sweep job driven here (it runs no process of its own)."""
        return (
            job.spec.sweep is not None
            and job.sweep_id is None
            and self.port.sweeps_as(job.backend) == "trials"
        )

    async def round(self, backend: str) -> None:
        """One step of each of the backend's unfinished sweeps."""
        for sweep in await self.port.list_sweeps(backend):
            if not self.drives(sweep):
                continue
            try:
                await self._step(sweep)
            except Exception:  # one broken sweep must not stop the others (or the round)
                log.exception("jupyter-mlp: driving sweep %s failed", sweep.id)

    async def _step(self, sweep: Job) -> None:
        port = self.port
        spec = sweep.spec.sweep
        assert spec is not None
        if sweep.state is JobState.QUEUED:
            started = await port.move_sweep(
                sweep,
                JobState.RUNNING,
                f"running up to {planned_trials(spec)} trials",
                expected=JobState.QUEUED,
                started_at=datetime.now(UTC),
            )
            if not started:
                return
            sweep = sweep.model_copy(update={"state": JobState.RUNNING})
        trials = await port.run_blocking(self._trials, sweep)
        unfinished = [t for t in trials if not t.state.terminal]
        failed = sum(t.state is JobState.FAILED for t in trials)
        planned = planned_trials(spec)
        limit = planned if spec.max_failed_trials is None else spec.max_failed_trials
        stopping = sweep.state is JobState.CANCELLING or (failed > 0 and failed >= limit)
        if stopping:
            await self._cancel_trials(unfinished)
        elif len(trials) < planned:
            try:
                await self._add_trials(sweep, spec, trials)
            except MLPError as exc:  # the source is gone or no longer valid
                await self._cancel_trials([t for t in trials if not t.state.terminal])
                message = f"trial {len(trials) + 1} could not be submitted: {exc.message}"
                await port.move_sweep(
                    sweep, JobState.FAILED, message, expected=sweep.state, trials=trials
                )
                return
            unfinished = [t for t in trials if not t.state.terminal]
        if unfinished or not (stopping or len(trials) >= planned):
            if trials != sweep.trials:
                await port.set_trials(sweep.id, trials)
            return
        state, message = self._outcome(sweep, spec, trials, failed, limit)
        # Only from the state this step saw: a cancel meanwhile is decided by the next step.
        await port.move_sweep(sweep, state, message, expected=sweep.state, trials=trials)

    @staticmethod
    def _outcome(
        sweep: Job, spec: SweepSpec, trials: Sequence[Trial], failed: int, limit: int
    ) -> tuple[JobState, str]:
        succeeded = sum(t.state is JobState.SUCCEEDED for t in trials)
        if sweep.state is JobState.CANCELLING:
            return JobState.CANCELLED, f"cancelled after {len(trials)} trials"
        if failed > 0 and failed >= limit:
            return (
                JobState.FAILED,
                f"{failed} trials failed (max_failed_trials is {limit}); the others were stopped",
            )
        if not succeeded:
            return JobState.FAILED, f"none of the {len(trials)} trials succeeded"
        best = best_trial(trials, spec.metric.goal)
        if best is None:
            return (
                JobState.SUCCEEDED,
                f"{succeeded} of {len(trials)} trials succeeded; none reported "
                f"'{spec.metric.name}'",
            )
        return (
            JobState.SUCCEEDED,
            f"{succeeded} of {len(trials)} trials succeeded; best: trial {best.id} "
            f"({spec.metric.name} {best.metric:g})",
        )

    def _trials(self, sweep: Job) -> list[Trial]:
        """The sweep's trials as their jobs are now (blocking: the store, the metric files).

        A trial that had ended when it was last read is final (its metric file too): only the
        others' jobs are read again, so a round of a sweep of 1,000 trials reads a handful."""
        spec = sweep.spec.sweep
        assert spec is not None
        known = {t.job_id: t for t in sweep.trials}
        states = self.port.trial_states(sweep.id)
        final = {
            job_id
            for job_id, state in states
            if job_id in known and known[job_id].state.terminal and known[job_id].state is state
        }
        unread = [job_id for job_id, _ in states if job_id not in final]
        fresh = (
            {job.id: (job, folder) for job, folder in self.port.trial_jobs(sweep.id, unread)}
            if unread
            else {}
        )
        trials = []
        for number, (job_id, _) in enumerate(states, 1):
            if job_id in final:
                trials.append(known[job_id])
            elif job_id in fresh:  # (not deleted between the two reads)
                trials.append(trial_of(number, *fresh[job_id], spec))
        return trials

    async def _add_trials(self, sweep: Job, spec: SweepSpec, trials: list[Trial]) -> None:
        """Submit trials (appended to `trials`) until `parallel_trials` are unfinished."""
        while sum(not t.state.terminal for t in trials) < planned_parallel(spec):
            number = len(trials) + 1
            if number > planned_trials(spec):
                return
            searched = await self.port.run_blocking(next_parameters, spec, sweep.id, number, trials)
            if searched is None:  # the grid is done
                return
            suffix = f"-trial-{number}"
            trial_spec = sweep.spec.model_copy(
                update={
                    "sweep": None,
                    "name": f"{sweep.name[: 128 - len(suffix)]}{suffix}",
                    "parameters": {**sweep.spec.parameters, **searched},
                }
            )
            try:
                job = await self.port.run_blocking(
                    self.port.submit_trial, trial_spec, sweep.id, number
                )
            except TrialTaken:  # another manager drives this sweep too; its next step sees it
                return
            trials.append(trial_of(number, job, None, spec))

    async def _cancel_trials(self, trials: Sequence[Trial]) -> None:
        for trial in trials:
            if trial.job_id is None or trial.state is JobState.CANCELLING:
                continue
            try:
                await self.port.cancel(trial.job_id)
            except MLPError:  # it ended (or was deleted) meanwhile
                continue
