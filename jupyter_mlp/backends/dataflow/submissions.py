"""Following a Dataflow job's submission until Dataflow has the job, or surely has not.

Whenever the outcome of a create is unknown, the job is looked up by its name and label
before anything is decided: a job found is followed. A submission that failed on a rate
limit, a server error or no answer is made again (the look-up found no job); one given up on
while its create may have made the job goes on being looked for a while (a job just made may
not be listed yet), and a job that shows up then is cancelled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...core.models import JobState
from ...jobfiles.etl import Submission
from ..base import Observation, Tracked
from ..gcp.errors import ErrorFacts, explain
from .failures import refusal
from .jobs import console_url
from .submitter import submission_of

if TYPE_CHECKING:
    from .backend import DataflowBackend, DataflowRuntime


class Submissions:
    """The submissions of one backend's jobs, as its watch loop sees them."""

    def __init__(self, backend: DataflowBackend) -> None:
        self.backend = backend

    def follow(
        self, tracked: Tracked[DataflowRuntime], listed: dict[str, Any]
    ) -> DataflowRuntime | Observation:
        """A job not yet known to be at Dataflow: its runtime with the Dataflow id once the
        submission got one, else what to say of the submission.

        Whenever the outcome of a create is unknown, the job is looked up by its name and
        label before anything is decided: a job found is followed. A submission given up on
        while its create may have made the job goes on being looked for a while (a job just
        made may not be listed yet), and a job that shows up then is cancelled."""
        runtime = tracked.runtime
        files = submission_of(tracked.folder)
        reported = files.reported_job()
        if reported:
            return runtime.model_copy(update={"dataflow_job_id": reported})
        named = listed.get(f"name:{runtime.job_name}")
        if runtime.given_up is not None:
            return self._lost(tracked, named)
        if named is not None:  # at Dataflow before the submission said so
            return runtime.model_copy(update={"dataflow_job_id": named.id})
        if self.backend.submitter.alive(runtime.submitter_pid, runtime.submitter_start_ticks):
            started = tracked.job.started_at
            waited = (datetime.now(UTC) - started).total_seconds() if started else 0.0
            timeout = self.backend.submit_timeout
            if waited <= timeout:
                return Observation(backend_state="SUBMITTING")
            self.backend.submitter.stop(
                runtime.submitter_pid, runtime.submitter_start_ticks, wait=True
            )
            found = self.backend._find(runtime, tracked.job.id)  # its create may have been answered
            if found is not None:
                return runtime.model_copy(update={"dataflow_job_id": found.id})
            return self._give_up(
                tracked,
                f"submitting the pipeline took over {timeout:g} s and was stopped; see the log",
            )
        found = self.backend._find(runtime, tracked.job.id)  # a submission that ended unheard
        if found is not None:
            return runtime.model_copy(update={"dataflow_job_id": found.id})
        return self._after(tracked, files)

    def _after(self, tracked: Tracked[DataflowRuntime], files: Submission) -> Observation:
        """A submission that ended without a job at Dataflow: submitted again after an error
        worth retrying, looked for a while if its create may have made the job, else failed."""
        runtime, backend = tracked.runtime, self.backend
        report = files.read(files.report)
        error = report.get("error") or "the submitting process ended silently"
        facts = ErrorFacts.of_record(report.get("create"))
        if facts is None:
            if report:  # it failed before calling Dataflow: nothing was made
                return self._not_submitted(f"the pipeline was not submitted: {error}")
            return self._give_up(tracked, f"the pipeline was not submitted: {error}")
        meant = explain(facts)
        if meant.retry and runtime.submissions < backend.submit_attempts:
            backoff = backend.retry_initial_delay * 2 ** (runtime.submissions - 1)
            if files.seconds_since_report() < (facts.retry_delay or backoff):
                return Observation(backend_state="SUBMITTING")
            # The look-up before found no job: this create makes it, or is answered with it.
            backend.log.info(
                "jupyter-mlp: job %s: submitting again after: %s", tracked.job.id, error
            )
            again = runtime.model_copy(update={"submissions": runtime.submissions + 1})
            backend._submit(tracked.job, tracked.folder, again)
            return Observation(
                backend_state="SUBMITTING",
                message=f"submitting again ({again.submissions} of {backend.submit_attempts}) "
                f"after: {error}",
                runtime=again,
            )
        if meant.kind in ("quota", "permission"):
            return self._not_submitted(refusal(facts, runtime.project or backend._project()))
        if meant.outcome_unknown:
            return self._give_up(tracked, f"the pipeline was not submitted: {error}")
        return self._not_submitted(f"the pipeline was not submitted: {error}")

    def _not_submitted(self, message: str) -> Observation:
        return Observation(JobState.FAILED, backend_state="NOT_SUBMITTED", message=message)

    def _give_up(self, tracked: Tracked[DataflowRuntime], why: str) -> Observation:
        """Stop trying a submission whose create may have made the job: look for the job a
        while longer (`_lost`) before the job fails."""
        if self.backend.lost_job_watch_seconds <= 0 or tracked.job.state is JobState.CANCELLING:
            # Being cancelled: the cancel stopped the submission, then looked the job up.
            return self._not_submitted(why)
        runtime = tracked.runtime.model_copy(
            update={"given_up": why, "given_up_at": datetime.now(UTC), "submitter_pid": None}
        )
        return Observation(
            backend_state="LOOKING_FOR_JOB",
            message=f"{why}; making sure Dataflow did not make the job anyway",
            runtime=runtime,
        )

    def _lost(self, tracked: Tracked[DataflowRuntime], named: Any) -> Observation:
        """A given-up submission's job: cancelled if it shows up at Dataflow, else failed
        once it has been looked for long enough."""
        runtime = tracked.runtime
        assert runtime.given_up is not None and runtime.given_up_at is not None
        found = named or self.backend._find(runtime, tracked.job.id)
        if found is not None:
            place = self.backend._place(runtime.model_copy(update={"dataflow_job_id": found.id}))
            self.backend._request(place, "JOB_STATE_CANCELLED")
            return Observation(
                JobState.FAILED,
                backend_state="NOT_SUBMITTED",
                message=f"{runtime.given_up}; the Dataflow job {found.id} it made anyway "
                "was cancelled",
                backend_job_id=found.id,
                console_url=console_url(place),
            )
        if self.backend._still_looking(runtime.given_up_at, self.backend.lost_job_watch_seconds):
            return Observation(backend_state="LOOKING_FOR_JOB")
        return self._not_submitted(runtime.given_up)
