"""Dataflow: each ETL job is an Apache Beam pipeline submitted by Beam's own DataflowRunner.

Starting a job runs its pipeline file in a submitting process of its own (`submitter.py`) with
the options its spec means on Dataflow: project, region, locations, a job name made from our
job's name and id, our id as a label, workers and their accelerators, the requirements, and
the job's package (the bundle as an installable package, as for Vertex AI) for the files
included next to the pipeline. That process ends as soon as Dataflow returned the job's id,
which it records in the job's folder, so a restarted server knows where a submission stands
(`submissions.py` follows it until then). From then on the backend watches the job
(`jobs.py`): one ListJobs call per round for all active jobs, a GetJob only for those not
listed (ended, or not listed yet), the job messages as the job's log after the submission's
own output. The job's name ends with our id and its labels carry it: a job submitted just
before a crash is found, never made twice.

What Dataflow shares with Vertex AI (settings, grouped polling, threads, Google's words) is
`gcp/job_service.py`'s. Beam and Google's libraries are imported only inside the functions
that use them (the submission runs Beam in its own process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from datetime import datetime
from typing import Any, ClassVar

from ...catalog.cloud import catalog_view, estimate_hourly_cost
from ...catalog.validation import normalize_cloud_resources
from ...core.models import FieldError, Job, JobKind, JobSpec, JobState
from ...jobfiles import etl
from ...jobfiles.bundle import JobFolder, SourcePlan
from ..base import Launch, LogChunk, Observation, PreflightCheck, Runtime, Tracked
from ..capabilities import Capabilities
from ..gcp.cloud_logging import SharedLogs
from ..gcp.errors import google_message, retry
from ..gcp.job_service import GoogleCloudJobService
from ..gcp.service import local_http
from . import options as dataflow_options
from .checks import spec_errors
from .jobs import (
    ENDINGS,
    STATES,
    DataflowApi,
    JobLog,
    Place,
    console_url,
)
from .outputs import outputs_of
from .preflight import dataflow_preflight
from .settings import DataflowSettings
from .submissions import Submissions
from .submitter import SUBMITTER_LINGER_SECONDS, Submitter, Where, submission_of


class DataflowRuntime(Runtime):
    """What the backend keeps about one job, next to the manager's fields."""

    dataflow_job_id: str | None = None
    job_name: str | None = None  # ends with our job id: Dataflow finds the job by it
    project: str | None = None
    region: str | None = None
    streaming: bool = False
    submitter_pid: int | None = None  # the submitting process, until Dataflow has the job
    submitter_start_ticks: int | None = None
    submissions: int = 1  # submitting processes started: one more after each retryable error
    # Given up on a submission whose create may have made the job: why, and since when the
    # job is looked for, to be cancelled if it shows up.
    given_up: str | None = None
    given_up_at: datetime | None = None


CAPABILITIES = Capabilities(
    kinds=(JobKind.ETL,),
    remote=True,
    resource_fields=(
        "machine_type",
        "accelerator_type",
        "accelerator_count",
        "max_workers",
        "region",
    ),
    sweeps=None,
    drain=True,
    progress=True,
    priced=True,
    schedules=True,
    options=(
        "scheduling.timeout_seconds",
        "scheduling.service_account",
        "scheduling.max_cost_usd",
        "resources.boot_disk_size_gb",
        "encryption_key",
        "dataflow.network",
        "dataflow.subnetwork",
        "dataflow.no_public_ips",
        "dataflow.flexrs",
        "dataflow.prime",
    ),
    job_id_label="Backend id",
    service="Dataflow",
    unsupported={
        "train": "Dataflow runs Apache Beam pipelines; training runs on Vertex AI",
        "sweeps": "Dataflow runs pipelines, not searches over parameters; sweep on "
        "Vertex AI or on this machine",
    },
)


class DataflowBackend(DataflowSettings, GoogleCloudJobService[DataflowRuntime]):
    """Runs ETL jobs (Apache Beam pipelines) on Google Cloud Dataflow (its settings:
    `DataflowSettings`)."""

    name: ClassVar[str] = "dataflow"
    runtime_model: ClassVar[type[Runtime]] = DataflowRuntime
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    library: ClassVar[str] = "apache_beam"
    not_installed: ClassVar[str] = "Apache Beam is not installed: install jupyter_mlp[dataflow]"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.submitter = Submitter()
        self.submissions = Submissions(self)

    @property
    def api(self) -> DataflowApi:
        # A round's look at the jobs retries briefly: the manager backs off between rounds.
        return DataflowApi(
            self.cloud,
            self.dataflow_endpoint,
            lambda: retry(self.retry_initial_delay, min(self.retry_timeout, 15.0)),
        )

    # ----- what the backend is and offers -----

    def _not_installed_missing(self) -> list[dict[str, str]]:
        return [{"setting": "apache-beam", "message": "install jupyter_mlp[dataflow]"}]

    def _describe(self, project: str | None) -> str:
        return f"runs pipelines on Dataflow in project {project}, {self.region}"

    def normalize(self, spec: JobSpec) -> tuple[JobSpec, list[FieldError]]:
        # Options in the args fill their fields first: a default fills only what is left.
        spec, disagreements = dataflow_options.adopt_options(spec)
        resources = spec.resources
        if not resources.machine_type:
            resources = resources.model_copy(update={"machine_type": self.default_machine_type})
        update: dict[str, Any] = {"backend": self.name, "region": spec.region or self.region}
        if "kind" not in spec.model_fields_set:  # every job on Dataflow is a pipeline
            update["kind"] = JobKind.ETL
        spec = spec.model_copy(update={**update, "resources": resources})
        spec, errors = normalize_cloud_resources(spec)
        return spec, disagreements + errors

    def validate(self, spec: JobSpec, plan: SourcePlan | None) -> list[FieldError]:
        errors = [
            FieldError(field="backend", message=f"{m['setting']}: {m['message']}")
            for m in self._missing()
        ]
        return errors + spec_errors(spec, plan)

    def preflight(self, spec: JobSpec) -> list[PreflightCheck]:
        return dataflow_preflight(self, spec)

    def catalog(self, region: str | None, active: list[Tracked[DataflowRuntime]]) -> dict[str, Any]:
        return catalog_view(self.name, region)

    def estimate(self, spec: JobSpec) -> dict[str, Any] | None:
        resources = spec.resources.model_dump()
        strategy = "flexrs" if spec.dataflow.flexrs else "standard"
        return estimate_hourly_cost(self.name, resources, spec.region or self.region, strategy)

    # ----- the life of jobs -----

    def _start(self, job: Job, folder: JobFolder) -> Launch:
        self._require_settings()
        runtime = DataflowRuntime(
            job_name=dataflow_options.dataflow_job_name(job.name, job.id),
            project=self._job_project(job.spec),
            region=job.spec.region or self.region,
            streaming=etl.is_streaming(job.spec),
        )
        # Idempotent on our id: a job Dataflow already has, or a submission under way (both
        # started before a crash), is taken up rather than submitted again.
        found = self._find(runtime, job.id)
        if found is not None:
            self.log.info("jupyter-mlp: job %s is already Dataflow job %s", job.id, found.id)
            return self._launch(runtime, found.id)
        files = submission_of(folder)
        reported = files.reported_job()
        if reported:
            return self._launch(runtime, reported)
        submitter = files.read(files.submitter)
        if self.submitter.alive(submitter.get("pid"), submitter.get("start_ticks")):
            runtime.submitter_pid = submitter["pid"]
            runtime.submitter_start_ticks = submitter["start_ticks"]
            return Launch(runtime=runtime)
        return self._submit(job, folder, runtime)

    def _submit(self, job: Job, folder: JobFolder, runtime: DataflowRuntime) -> Launch:
        """Start the process that submits the job's pipeline, and record it."""
        where = Where(
            job_name=runtime.job_name or job.id,
            project=runtime.project or "",
            region=runtime.region or self.region,
            temp_location=self.temp_location,
            staging_location=self.staging_location,
            endpoint=self.dataflow_endpoint,
            service_account=self.service_account,
        )
        runtime.submitter_pid, runtime.submitter_start_ticks = self.submitter.start(
            job, folder, where
        )
        return Launch(runtime=runtime)

    def _launch(self, runtime: DataflowRuntime, dataflow_id: str) -> Launch:
        runtime.dataflow_job_id = dataflow_id
        return Launch(
            runtime=runtime,
            backend_job_id=dataflow_id,
            console_url=console_url(self._place(runtime)),
        )

    def _poll_many(
        self, tracked: list[Tracked[DataflowRuntime]]
    ) -> dict[str, Observation | Exception]:
        self.submitter.reap()  # the submitting processes that ended, once a round
        return super()._poll_many(tracked)

    def _group(self, tracked: Tracked[DataflowRuntime]) -> Hashable:
        place = self._place(tracked.runtime, tracked.job)
        return (place.project, place.region)

    def _list_group(self, group: Any) -> dict[str, Any]:
        project, region = group
        return self.api.list_active(project, region)

    def _observe(self, tracked: Tracked[DataflowRuntime], listed: dict[str, Any]) -> Observation:
        """What Dataflow says of a job; for one still being submitted, how that goes."""
        from google.api_core import exceptions
        from google.cloud import dataflow_v1beta3 as dataflow

        runtime = tracked.runtime
        if runtime.dataflow_job_id is None:
            submitted = self.submissions.follow(tracked, listed)
            if isinstance(submitted, Observation):
                return submitted
            runtime = submitted
        if runtime.submitter_pid is not None:
            # Dataflow has the job: the submitting process ends by itself; what is left of it
            # a while later is stopped.
            if not self.submitter.alive(runtime.submitter_pid, runtime.submitter_start_ticks):
                runtime = runtime.model_copy(update={"submitter_pid": None})
            elif submission_of(tracked.folder).seconds_since_report() > SUBMITTER_LINGER_SECONDS:
                self.submitter.stop(runtime.submitter_pid, runtime.submitter_start_ticks)
        place = self._place(runtime, tracked.job)
        named: dict[str, Any] = {}
        if tracked.job.backend_job_id != place.job_id:
            named = {"backend_job_id": place.job_id, "console_url": console_url(place)}
        changed = runtime if runtime != tracked.runtime else None
        job = listed.get(place.job_id)
        if job is None:  # not active: it ended, or is not listed yet
            try:
                job = self.api.get(place)
            except exceptions.NotFound:
                return Observation(
                    JobState.FAILED,
                    backend_state="NOT_FOUND",
                    message="Dataflow no longer knows this job (deleted?)",
                    runtime=changed,
                    **named,
                )
        raw = dataflow.JobState(job.current_state).name
        state = STATES.get(raw)
        message = ""
        if state is JobState.FAILED:
            message = self._failure_message(place)
        elif state is not None and state.terminal:
            message = ENDINGS.get(raw, "")
        return Observation(
            state=state, backend_state=raw, message=message, runtime=changed, **named
        )

    def _cancel(self, tracked: Tracked[DataflowRuntime], force: bool) -> None:
        runtime = tracked.runtime
        dataflow_id = runtime.dataflow_job_id
        if dataflow_id is None:  # still submitting: stop that, and the job if it was made
            self.submitter.stop(runtime.submitter_pid, runtime.submitter_start_ticks, wait=True)
            dataflow_id = submission_of(tracked.folder).reported_job()
            if dataflow_id is None:
                found = self._find(runtime, tracked.job.id)
                if found is None:
                    return
                dataflow_id = found.id
        drain = runtime.streaming and self.drain_on_cancel and not force
        place = self._place(runtime.model_copy(update={"dataflow_job_id": dataflow_id}))
        self._request(place, "JOB_STATE_DRAINING" if drain else "JOB_STATE_CANCELLED")

    async def drain(self, tracked: Tracked[DataflowRuntime]) -> None:
        """Ask a streaming job to drain: stop reading its input and finish what it read."""
        if not tracked.runtime.streaming:
            raise RuntimeError("only a streaming pipeline drains; cancel a batch pipeline")
        if tracked.runtime.dataflow_job_id is None:
            raise RuntimeError("the job is not at Dataflow yet; cancel it instead")
        place = self._place(tracked.runtime, tracked.job)
        await asyncio.to_thread(self._request, place, "JOB_STATE_DRAINING")

    def _request(self, place: Place, state: str) -> None:
        from google.api_core import exceptions

        try:
            self.api.request_state(place, state)
        except (exceptions.FailedPrecondition, exceptions.BadRequest, exceptions.NotFound) as exc:
            # It ended, or went away, meanwhile: nothing to stop.
            self.log.info("jupyter-mlp: %s of %s: %s", state, place.job_id, google_message(exc))

    # ----- what jobs leave -----

    def _read_log(
        self, tracked: Tracked[DataflowRuntime], cursor: str | None, limit: int, tail: int | None
    ) -> LogChunk:
        at = cursor or ""
        extra = {"source": "dataflow-messages"}
        runtime = tracked.runtime
        try:
            place = self._place(runtime, tracked.job) if runtime.dataflow_job_id else None
            reader = self._logs() if place is not None else None
            log = JobLog(self.api, place, tracked.folder.log, self.log_importance, reader)
        except RuntimeError as exc:  # no project
            return LogChunk("", at, at, False, {**extra, "error": str(exc)})
        if tail is not None:
            text, following, notes = log.tail(tail)
            return LogChunk(text, at, following, False, {**extra, **notes})
        settled_at = self._settled_at(tracked.job, self.log_settle_seconds)
        text, following, at_end, notes = log.read(cursor, limit, settled_at)
        if place is None:  # never reached Dataflow: the submission's output is all there is
            at_end = at_end and tracked.job.state.terminal
        return LogChunk(text, at, following, at_end, {**extra, **notes})

    def _logs(self) -> SharedLogs:
        """The reader of the project's job logs: workers' logs in Cloud Logging (without its
        copy of the job messages, which come from Dataflow's API)."""
        project = self._project()
        endpoint = self.logging_endpoint
        if endpoint is None and not local_http(self.dataflow_endpoint):
            endpoint = "https://logging.googleapis.com"
        job_messages = f"projects/{project}/logs/dataflow.googleapis.com%2Fjob-message"
        return self._log_readers.of(
            self.cloud.post_json,
            endpoint,
            project,
            f'resource.type="dataflow_step" AND NOT logName="{job_messages}"',
            self.log_reading(),
        )

    async def list_outputs(self, tracked: Tracked[DataflowRuntime]) -> list[dict[str, Any]]:
        """The job's page in the Cloud console, and what its args name as its outputs."""
        at_dataflow = tracked.runtime.dataflow_job_id is not None
        page = console_url(self._place(tracked.runtime, tracked.job)) if at_dataflow else None
        return outputs_of(tracked.job.spec.args, tracked.folder.path, page)

    async def progress(self, tracked: Tracked[DataflowRuntime]) -> list[dict[str, Any]]:
        """Elements each step of the pipeline put out so far: [{step, elements}]."""
        if tracked.runtime.dataflow_job_id is None:
            return []
        place = self._place(tracked.runtime, tracked.job)
        return await asyncio.to_thread(self.api.progress, place)

    def close(self) -> None:
        self.submitter.reap()

    # ----- internals -----

    def _job_project(self, spec: JobSpec) -> str:
        """The project a job runs in: the one its args name (the user's choice), else ours."""
        given = dataflow_options.option_value(spec.args, "project")
        return given[1] if given and given[1] else self._project()

    def _place(self, runtime: DataflowRuntime, job: Job | None = None) -> Place:
        region = runtime.region or (job.spec.region if job else None) or self.region
        return Place(runtime.project or self._project(), region, runtime.dataflow_job_id or "")

    def _find(self, runtime: DataflowRuntime, job_id: str) -> Any:
        """Our job's Dataflow job (found by its name, checked by its label), or None."""
        assert runtime.job_name is not None
        return self.api.find(self._place(runtime), runtime.job_name, dataflow_options.label(job_id))

    def _failure_message(self, place: Place) -> str:
        try:
            told = self.api.failure(place)
        except Exception as exc:  # the state is what matters; say why there are no words
            return f"the job failed at Dataflow (its messages could not be read: {exc})"
        return told or "the job failed at Dataflow"
