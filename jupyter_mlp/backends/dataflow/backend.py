"""Dataflow: each ETL job is an Apache Beam pipeline submitted by Beam's own DataflowRunner.

Starting a job runs its pipeline file in a submitting process of its own
(`python -m jupyter_mlp.jobfiles.etl --submit`, see `etl.py`) with the options its spec means on
Dataflow: project, region, locations, a job name made from our job's name and id, our id as a
label, workers and their accelerators, the requirements, and the job's package (the bundle as
an installable package, as for Vertex AI) for the files included next to the pipeline. That
process ends as soon as Dataflow returned the job's id, which it records in the job's folder
next to the record of the process itself, so a restarted server knows where a submission
stands. From then on the backend watches the job (`dataflow_jobs.py`): one ListJobs call per
round for all active jobs, a GetJob only for those not listed (ended, or not listed yet), the
job messages as the job's log after the submission's own output. The job's name ends with our
id and its labels carry it: a job submitted just before a crash is found, never made twice.

Beam and Google's libraries are imported only inside the functions that use them (the
submission runs Beam in its own process); their calls block, so they run in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import cached_property
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from traitlets import Bool, Enum, Float, Int, Unicode, default, observe

from ...catalog.cloud import catalog_view, estimate_hourly_cost
from ...catalog.validation import normalize_cloud_resources
from ...core.models import FieldError, Job, JobKind, JobSpec, JobState
from ...jobfiles import etl, runner
from ...jobfiles.bundle import JobFolder, SourcePlan
from ..base import Backend, BackendStatus, Launch, LogChunk, Observation, Runtime, Tracked
from ..capabilities import Capabilities
from ..gcp.cloud_logging import CloudLogSettings, LogReaders, SharedLogs
from ..gcp.service import GoogleCloud, google_message, local_http, retry
from ..gcp.staging import PACKAGE, VERSION, build_package
from ..local.processes import process_start_ticks
from .jobs import (
    ENDINGS,
    IMPORTANCES,
    STATES,
    CreateFailure,
    DataflowApi,
    JobLog,
    Place,
    console_url,
)

# Seconds the submitting process may take to end by itself once Dataflow has the job.
SUBMITTER_LINGER_SECONDS = 5.0
OUTPUT_FILES_LISTED = 200


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


class DataflowBackend(Backend[DataflowRuntime], CloudLogSettings):
    """Runs ETL jobs (Apache Beam pipelines) on Google Cloud Dataflow."""

    name: ClassVar[str] = "dataflow"
    runtime_model: ClassVar[type[Runtime]] = DataflowRuntime
    capabilities: ClassVar[Capabilities] = Capabilities(
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
        schedules=False,
        job_id_label="Backend id",
        unsupported={
            "train": "Dataflow runs Apache Beam pipelines; training runs on Vertex AI",
            "sweeps": "Dataflow runs pipelines, not searches over parameters; sweep on "
            "Vertex AI or on this machine",
            "schedules": "jobs cannot be scheduled yet",
        },
    )

    project = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Google Cloud project of the jobs (default: Application Default Credentials').",
    )
    region = Unicode("us-central1", config=True, help="Region of jobs whose spec names none.")
    temp_location = Unicode(
        "",
        config=True,
        help="Where pipelines keep temporary files: gs://bucket/path (a local folder only with "
        "a local stand-in of the API). Required.",
    )
    staging_location = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Where the jobs' code and packages are staged (default: the temp location).",
    )
    dataflow_endpoint = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Dataflow API endpoint (default: https://dataflow.googleapis.com). A plain "
        "http://localhost address (a local stand-in) is used without credentials.",
    )
    service_account = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Service account the workers run as unless a spec names one (default: "
        "Compute Engine's default service account).",
    )
    default_machine_type = Unicode(
        "n1-standard-1", config=True, help="Worker machine type of jobs whose spec names none."
    )
    drain_on_cancel = Bool(
        False,
        config=True,
        help="Cancel a streaming job by draining it (it stops reading and finishes what it "
        "read) rather than at once. A drain can take minutes: after cancel_grace_seconds the "
        "job is cancelled at once.",
    )
    log_importance = Enum(
        list(IMPORTANCES),
        "JOB_MESSAGE_BASIC",
        config=True,
        help="The least important job messages shown in a job's log.",
    )
    submit_timeout = Float(
        1800.0,
        config=True,
        help="Seconds a pipeline's submission (building the graph, staging files) may take "
        "before it is stopped and the job fails.",
    )
    retry_timeout = Float(
        60.0, config=True, help="Seconds a call failing with 429 or 5xx is retried for."
    )
    retry_initial_delay = Float(1.0, config=True, help="First wait before a retry (doubles).")
    submit_attempts = Int(
        4,
        config=True,
        help="Submissions of a pipeline in all when Dataflow's answer to its creation is a "
        "rate limit, a server error or none at all (the job is looked up before each).",
    )
    lost_job_watch_seconds = Float(
        120.0,
        config=True,
        help="Seconds a job whose submission was given up on, but whose creation may have "
        "happened, is looked for at Dataflow, to be cancelled if it shows up.",
    )
    log_settle_seconds = Float(
        30.0,
        config=True,
        help="Seconds after a job ends during which its messages may still grow.",
    )
    logging_endpoint = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Cloud Logging API endpoint, where the workers' logs are read (default: "
        "https://logging.googleapis.com; none when the Dataflow endpoint is a local stand-in).",
    )

    @default("poll_interval")
    def _default_poll_interval(self) -> float:
        return 10.0

    @default("max_poll_interval")
    def _default_max_poll_interval(self) -> float:
        return 120.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cloud = GoogleCloud(self.project)
        # Submitting processes this server started, kept to be reaped when they end.
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    @observe("project")
    def _project_changed(self, change: dict[str, Any]) -> None:
        self.cloud = GoogleCloud(change["new"])

    @property
    def api(self) -> DataflowApi:
        # A round's look at the jobs retries briefly: the manager backs off between rounds.
        return DataflowApi(
            self.cloud,
            self.dataflow_endpoint,
            lambda: retry(self.retry_initial_delay, min(self.retry_timeout, 15.0)),
        )

    # ----- what the backend is and offers -----

    def status(self) -> BackendStatus:
        settings: dict[str, Any] = {
            "project": self.project,
            "region": self.region,
            "temp_location": self.temp_location,
            "staging_location": self.staging_location,
            "dataflow_endpoint": self.dataflow_endpoint,
            "service_account": self.service_account,
        }
        if find_spec("apache_beam") is None:
            return BackendStatus(
                name=self.name,
                available=False,
                configured=False,
                reason="Apache Beam is not installed: install jupyter_mlp[dataflow]",
                settings=settings,
                missing=[{"setting": "apache-beam", "message": "install jupyter_mlp[dataflow]"}],
            )
        missing = self._missing()
        if self.temp_location and not any(m["setting"] == "credentials" for m in missing):
            settings["project"] = self.cloud.project()
        return BackendStatus.installed(
            self.name,
            settings,
            missing,
            f"runs pipelines on Dataflow in project {settings['project']}, {self.region}",
        )

    def normalize(self, spec: JobSpec) -> tuple[JobSpec, list[FieldError]]:
        # Options in the args fill their fields first: a default fills only what is left.
        spec, disagreements = etl.adopt_options(spec)
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
        if spec.kind is not JobKind.ETL:
            errors.append(
                FieldError(
                    field="kind",
                    message="Dataflow runs Apache Beam pipelines (kind 'etl'); run training "
                    "on vertex or local",
                    suggestions=["etl"],
                )
            )
        if plan is not None and plan.mode == "notebook":
            errors.append(
                FieldError(
                    field="source.mode",
                    message="a notebook's pipeline is submitted as a script, which takes its "
                    "options from the command line; use mode 'script'",
                    suggestions=["script"],
                )
            )
        if spec.environment and (
            "/" not in spec.environment or spec.environment.startswith(("/", ".", "~"))
        ):
            errors.append(
                FieldError(
                    field="environment",
                    message="on Dataflow the environment is the workers' SDK container image, "
                    f"such as apache/beam_python3.11_sdk:2.77.0; '{spec.environment}' is not one",
                )
            )
        if len(spec.labels) > 62:
            errors.append(FieldError(field="labels", message="Dataflow takes 62 labels at most"))
        return errors

    def catalog(self, region: str | None, active: list[Tracked[DataflowRuntime]]) -> dict[str, Any]:
        return catalog_view(self.name, region)

    def estimate(self, spec: JobSpec) -> dict[str, Any] | None:
        resources = spec.resources.model_dump()
        return estimate_hourly_cost(self.name, resources, spec.region or self.region)

    # ----- the life of jobs -----

    async def start(
        self, job: Job, folder: JobFolder, active: list[Tracked[DataflowRuntime]]
    ) -> Launch:
        try:
            return await asyncio.to_thread(self._start, job, folder)
        except RuntimeError:
            raise
        except Exception as exc:  # an API error met on the way: Google's words, not a trace
            raise RuntimeError(f"Dataflow: {google_message(exc)}") from exc

    def _start(self, job: Job, folder: JobFolder) -> Launch:
        missing = self._missing()
        if missing:
            raise RuntimeError("; ".join(f"{m['setting']}: {m['message']}" for m in missing))
        runtime = DataflowRuntime(
            job_name=etl.dataflow_job_name(job.name, job.id),
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
        if self._alive(submitter.get("pid"), submitter.get("start_ticks")):
            runtime.submitter_pid = submitter["pid"]
            runtime.submitter_start_ticks = submitter["start_ticks"]
            return Launch(runtime=runtime)
        return self._submit(job, folder, runtime)

    def _submit(self, job: Job, folder: JobFolder, runtime: DataflowRuntime) -> Launch:
        """Start the process that submits the job's pipeline, and record it."""
        files = submission_of(folder)
        files.dir.mkdir(parents=True, exist_ok=True)
        files.report.unlink(missing_ok=True)
        package = files.dir / f"{PACKAGE}-{VERSION}.tar.gz"
        package.write_bytes(build_package(folder.bundle).data)
        manifest = json.loads((folder.bundle / "manifest.json").read_text(encoding="utf-8"))
        # Beam gives each job a folder of its own under gs:// locations; in a local folder (a
        # local stand-in's) it stages into the folder as it is, so the job's folder is named.
        temp, staging = (
            str(Path(location) / (runtime.job_name or job.id))
            if location and "://" not in location
            else location
            for location in (self.temp_location, self.staging_location)
        )
        for location in (temp, staging):
            if location and "://" not in location:
                os.makedirs(location, exist_ok=True)
        target = etl.DataflowTarget(
            project=runtime.project or "",
            region=runtime.region or self.region,
            temp_location=temp or "",
            staging_location=staging,
            endpoint=self.dataflow_endpoint,
            no_auth=local_http(self.dataflow_endpoint),
            service_account=self.service_account,
        )
        options = etl.pipeline_args(
            job.spec,
            where="dataflow",
            job_id=job.id,
            job_name=job.name,
            target=target,
            requirements_file=(
                str(folder.bundle / "requirements.txt") if manifest["requirements"] else None
            ),
            extra_package=str(package),
        )
        # As for a local job: helper modules next to the pipeline import as they did there.
        env = runner.job_env(
            {**os.environ, "MLP_JOB_ID": job.id, "PYTHONUNBUFFERED": "1"}, manifest, folder.bundle
        )
        command = [sys.executable, "-u", "-m", "jupyter_mlp.jobfiles.etl", "--submit"]
        command += [str(files.report), str(folder.bundle), *options]
        with open(folder.log, "ab") as log:
            log.write(f"[mlp] submitting the pipeline to Dataflow as {runtime.job_name}\n".encode())
            log.flush()
            child = subprocess.Popen(
                command,
                cwd=folder.path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # it outlives this server; stopped as a group
            )
        self._children[child.pid] = child
        runtime.submitter_pid = child.pid
        runtime.submitter_start_ticks = process_start_ticks(child.pid)
        etl.write_json(
            files.submitter, {"pid": child.pid, "start_ticks": runtime.submitter_start_ticks}
        )
        return Launch(runtime=runtime)

    def _launch(self, runtime: DataflowRuntime, dataflow_id: str) -> Launch:
        runtime.dataflow_job_id = dataflow_id
        return Launch(
            runtime=runtime,
            backend_job_id=dataflow_id,
            console_url=console_url(self._place(runtime)),
        )

    async def poll(self, tracked: Tracked[DataflowRuntime]) -> Observation:
        seen = (await self.poll_many([tracked]))[tracked.job.id]
        if isinstance(seen, Exception):
            raise seen
        return seen

    async def poll_many(
        self, tracked: list[Tracked[DataflowRuntime]]
    ) -> dict[str, Observation | Exception]:
        return await asyncio.to_thread(self._poll_many, tracked)

    def _poll_many(
        self, tracked: list[Tracked[DataflowRuntime]]
    ) -> dict[str, Observation | Exception]:
        self._reap()
        by_region: dict[tuple[str, str], list[Tracked[DataflowRuntime]]] = {}
        for item in tracked:
            place = self._place(item.runtime, item.job)
            by_region.setdefault((place.project, place.region), []).append(item)
        seen: dict[str, Observation | Exception] = {}
        for (project, region), items in by_region.items():
            try:
                listed = self.api.list_active(project, region)
            except Exception as exc:
                seen.update({item.job.id: exc for item in items})
                continue
            for item in items:
                try:
                    seen[item.job.id] = self._observe(item, listed)
                except Exception as exc:
                    seen[item.job.id] = exc
        return seen

    def _observe(self, tracked: Tracked[DataflowRuntime], listed: dict[str, Any]) -> Observation:
        """What Dataflow says of a job; for one still being submitted, how that goes."""
        from google.api_core import exceptions
        from google.cloud import dataflow_v1beta3 as dataflow

        runtime = tracked.runtime
        if runtime.dataflow_job_id is None:
            submitted = self._submission(tracked, listed)
            if isinstance(submitted, Observation):
                return submitted
            runtime = submitted
        if runtime.submitter_pid is not None:
            # Dataflow has the job: the submitting process ends by itself; what is left of it
            # a while later is stopped.
            if not self._alive(runtime.submitter_pid, runtime.submitter_start_ticks):
                runtime = runtime.model_copy(update={"submitter_pid": None})
            elif submission_of(tracked.folder).seconds_since_report() > SUBMITTER_LINGER_SECONDS:
                self._stop_submitter(runtime)
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

    def _submission(
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
        if self._alive(runtime.submitter_pid, runtime.submitter_start_ticks):
            started = tracked.job.started_at
            waited = (datetime.now(UTC) - started).total_seconds() if started else 0.0
            if waited <= self.submit_timeout:
                return Observation(backend_state="SUBMITTING")
            self._stop_submitter(runtime, wait=True)
            found = self._find(runtime, tracked.job.id)  # its create may have been answered
            if found is not None:
                return runtime.model_copy(update={"dataflow_job_id": found.id})
            return self._give_up(
                tracked,
                f"submitting the pipeline took over {self.submit_timeout:g} s and was stopped; "
                "see the log",
            )
        found = self._find(runtime, tracked.job.id)  # a submission that ended unheard
        if found is not None:
            return runtime.model_copy(update={"dataflow_job_id": found.id})
        report = files.read(files.report)
        error = report.get("error") or "the submitting process ended silently"
        failure = CreateFailure.of(report.get("create"))
        if failure is None:
            if report:  # it failed before calling Dataflow: nothing was made
                return self._not_submitted(f"the pipeline was not submitted: {error}")
            return self._give_up(tracked, f"the pipeline was not submitted: {error}")
        if failure.retryable and runtime.submissions < self.submit_attempts:
            delay = failure.retry_delay or self.retry_initial_delay * 2 ** (runtime.submissions - 1)
            if files.seconds_since_report() < delay:
                return Observation(backend_state="SUBMITTING")
            # The look-up above found no job: this create makes it, or is answered with it.
            self.log.info("jupyter-mlp: job %s: submitting again after: %s", tracked.job.id, error)
            again = runtime.model_copy(update={"submissions": runtime.submissions + 1})
            self._submit(tracked.job, tracked.folder, again)
            return Observation(
                backend_state="SUBMITTING",
                message=f"submitting again ({again.submissions} of {self.submit_attempts}) "
                f"after: {error}",
                runtime=again,
            )
        if failure.kind in ("quota", "permission"):
            return self._not_submitted(failure.explain(runtime.project or self._project()))
        if failure.may_have_made_the_job:
            return self._give_up(tracked, f"the pipeline was not submitted: {error}")
        return self._not_submitted(f"the pipeline was not submitted: {error}")

    def _not_submitted(self, message: str) -> Observation:
        return Observation(JobState.FAILED, backend_state="NOT_SUBMITTED", message=message)

    def _give_up(self, tracked: Tracked[DataflowRuntime], why: str) -> Observation:
        """Stop trying a submission whose create may have made the job: look for the job a
        while longer (`_lost`) before the job fails."""
        if self.lost_job_watch_seconds <= 0 or tracked.job.state is JobState.CANCELLING:
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
        found = named or self._find(runtime, tracked.job.id)
        if found is not None:
            place = self._place(runtime.model_copy(update={"dataflow_job_id": found.id}))
            self._request(place, "JOB_STATE_CANCELLED")
            return Observation(
                JobState.FAILED,
                backend_state="NOT_SUBMITTED",
                message=f"{runtime.given_up}; the Dataflow job {found.id} it made anyway "
                "was cancelled",
                backend_job_id=found.id,
                console_url=console_url(place),
            )
        waited = (datetime.now(UTC) - runtime.given_up_at).total_seconds()
        if waited < self.lost_job_watch_seconds:
            return Observation(backend_state="LOOKING_FOR_JOB")
        return self._not_submitted(runtime.given_up)

    async def cancel(self, tracked: Tracked[DataflowRuntime], force: bool = False) -> None:
        await asyncio.to_thread(self._cancel, tracked, force)

    def _cancel(self, tracked: Tracked[DataflowRuntime], force: bool) -> None:
        runtime = tracked.runtime
        dataflow_id = runtime.dataflow_job_id
        if dataflow_id is None:  # still submitting: stop that, and the job if it was made
            self._stop_submitter(runtime, wait=True)
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

    @cached_property
    def _log_readers(self) -> LogReaders:
        # One per backend: its jobs' followers (panels, CLIs, magics) share what it read.
        return LogReaders()

    async def read_log(
        self,
        tracked: Tracked[DataflowRuntime],
        cursor: str | None,
        limit: int,
        tail: int | None = None,
    ) -> LogChunk:
        return await asyncio.to_thread(self._read_log, tracked, cursor, limit, tail)

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
        ended_at = tracked.job.ended_at
        settled_at = ended_at + timedelta(seconds=self.log_settle_seconds) if ended_at else None
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
        outputs: list[dict[str, Any]] = []
        if tracked.runtime.dataflow_job_id is not None:
            place = self._place(tracked.runtime, tracked.job)
            outputs.append(
                {"name": "dataflow_job", "uri": console_url(place), "type": "link", "exists": True}
            )
        for name, value in etl.output_args(tracked.job.spec.args):
            if "://" in value:  # written by the workers; listing it would need credentials
                outputs.append({"name": name, "uri": value, "type": "prefix", "exists": None})
                continue
            path = tracked.folder.path / value
            found = sorted(path.parent.glob(path.name + "*")) if path.parent.is_dir() else []
            outputs.append(
                {
                    "name": name,
                    "path": str(path),
                    "type": "prefix",
                    "exists": bool(found),
                    "files": [p.name for p in found[:OUTPUT_FILES_LISTED]],
                }
            )
        return outputs

    async def progress(self, tracked: Tracked[DataflowRuntime]) -> list[dict[str, Any]]:
        """Elements each step of the pipeline put out so far: [{step, elements}]."""
        if tracked.runtime.dataflow_job_id is None:
            return []
        place = self._place(tracked.runtime, tracked.job)
        return await asyncio.to_thread(self.api.progress, place)

    def close(self) -> None:
        self._reap()

    # ----- internals -----

    def _missing(self) -> list[dict[str, str]]:
        """Every setting still needed before jobs can run, all at once: [{setting, message}].

        Until a temp location says the backend is meant to be used, credentials are judged
        without the network (looking for them may ask the Compute Engine metadata server)."""
        missing = []
        if not self.temp_location:
            missing.append(
                {
                    "setting": "DataflowBackend.temp_location",
                    "message": "set where pipelines keep temporary files, e.g. "
                    "c.DataflowBackend.temp_location = 'gs://my-bucket/tmp'",
                }
            )
        if not self.region:
            missing.append(
                {
                    "setting": "DataflowBackend.region",
                    "message": "set the region of pipelines whose spec names none, "
                    "e.g. c.DataflowBackend.region = 'us-central1'",
                }
            )
        local = local_http(self.dataflow_endpoint)
        if local and urlsplit(self.dataflow_endpoint or "").hostname != "localhost":
            missing.append(
                {
                    "setting": "DataflowBackend.dataflow_endpoint",
                    "message": "Beam's DataflowRunner speaks plain REST only to a host named "
                    "localhost: give http://localhost:PORT",
                }
            )
        for setting in ("temp_location", "staging_location"):
            value = getattr(self, setting)
            if value and not local and not value.startswith("gs://"):
                missing.append(
                    {
                        "setting": f"DataflowBackend.{setting}",
                        "message": f"'{value}' is not a Cloud Storage path, which Dataflow's "
                        "workers need: give gs://bucket/path",
                    }
                )
        # Google's libraries look only where credentials may be: no metadata server elsewhere.
        may_look = bool(self.temp_location) or self.cloud.credentials_may_exist()
        credentials = local or (may_look and self.cloud.has_credentials())
        if not credentials:
            missing.append(
                {
                    "setting": "credentials",
                    "message": "no Application Default Credentials: run `gcloud auth "
                    "application-default login` or set GOOGLE_APPLICATION_CREDENTIALS to a key "
                    "file (they are looked for again when needed: no restart)",
                }
            )
        if not self.project and not (credentials and may_look and self.cloud.project()):
            missing.append(
                {
                    "setting": "DataflowBackend.project",
                    "message": "set the Google Cloud project, e.g. c.DataflowBackend.project = "
                    "'my-project' (or GOOGLE_CLOUD_PROJECT): "
                    + ("the credentials name none" if credentials else "no credentials name one"),
                }
            )
        return missing

    def _project(self) -> str:
        project = self.cloud.project()
        if not project:
            raise RuntimeError("DataflowBackend.project is not set and the credentials name none")
        return project

    def _job_project(self, spec: JobSpec) -> str:
        """The project a job runs in: the one its args name (the user's choice), else ours."""
        given = etl.option_value(spec.args, "project")
        return given[1] if given and given[1] else self._project()

    def _place(self, runtime: DataflowRuntime, job: Job | None = None) -> Place:
        region = runtime.region or (job.spec.region if job else None) or self.region
        return Place(runtime.project or self._project(), region, runtime.dataflow_job_id or "")

    def _find(self, runtime: DataflowRuntime, job_id: str) -> Any:
        """Our job's Dataflow job (found by its name, checked by its label), or None."""
        assert runtime.job_name is not None
        return self.api.find(self._place(runtime), runtime.job_name, etl.label(job_id))

    def _failure_message(self, place: Place) -> str:
        try:
            told = self.api.failure(place)
        except Exception as exc:  # the state is what matters; say why there are no words
            return f"the job failed at Dataflow (its messages could not be read: {exc})"
        return told or "the job failed at Dataflow"

    def _alive(self, pid: Any, start_ticks: Any) -> bool:
        if not isinstance(pid, int):
            return False
        child = self._children.get(pid)
        if child is not None:
            return child.poll() is None
        ticks = process_start_ticks(pid)
        return ticks is not None and ticks == start_ticks

    def _stop_submitter(self, runtime: DataflowRuntime, wait: bool = False) -> None:
        """End the submitting process and what it started (its own process group); with
        `wait`, until it has ended (so it makes no create after this), for a few seconds."""
        pid = runtime.submitter_pid
        if pid is None or not self._alive(pid, runtime.submitter_start_ticks):
            return
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + SUBMITTER_LINGER_SECONDS
        while wait and self._alive(pid, runtime.submitter_start_ticks):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                break
            time.sleep(0.05)

    def _reap(self) -> None:
        for pid, child in list(self._children.items()):
            if child.poll() is not None:
                del self._children[pid]


def submission_of(folder: JobFolder) -> etl.Submission:
    return etl.Submission(folder.meta / "dataflow")
