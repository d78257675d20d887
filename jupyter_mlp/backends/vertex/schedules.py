"""Schedules that run in Google Cloud (`runs_in: "cloud"`): each is a Cloud Scheduler job whose
HTTP target calls Vertex AI's `customJobs.create` in the job's region with the schedule's
CustomJob, authenticated with an OAuth token of a service account, so it fires with JupyterLab
and the server closed.

The package is staged once, by content hash, from the schedule's source snapshot. The CustomJob
body is the same at every fire: it carries the schedule's label (not a job id), and each run
writes under `runs/<its Vertex job id>/` of the schedule's output folder (the runner does that).
`retry_count` is 0: a create whose answer timed out is never sent twice. The server finds the
runs by the schedule's label when it runs (`runs`).

What needs a server watching the runs cannot be scheduled this way (`schedule_errors`).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...core.models import FieldError, Job, JobState
from ...core.schedule_models import DEFAULT_CATCHUP_SECONDS, Schedule
from ...jobfiles.bundle import JobFolder, build_bundle, plan_source
from ..cloud_schedules import CloudRun
from ..gcp.errors import google_message
from ..gcp.service import local_http
from .jobs import LABEL_SCHEDULE_ID, STATES, console_url, label, scheduled_custom_job

if TYPE_CHECKING:
    from .backend import VertexBackend

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JOB_PREFIX = "mlp-"
_JOB_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")
# A run Vertex AI has not started yet (queued, pending) is starting, as our jobs are.
_NOT_STARTED = JobState.STARTING
NO_ACCOUNT = (
    "set the service account Cloud Scheduler mints the OAuth token for when the schedule fires "
    "(or VertexBackend.service_account, or the job's scheduling.service_account)"
)
SERVER_ONLY = "needs the server watching each run, and a cloud schedule runs with it closed"


@cache
def scheduler_locations() -> frozenset[str]:
    """The regions Cloud Scheduler runs in (`data/scheduler.json`)."""
    text = resources.files(__package__ or "").joinpath("data", "scheduler.json")
    return frozenset(json.loads(text.read_text("utf-8"))["locations"])


def schedule_folder(schedule_id: str) -> str:
    """The schedule's output folder under the staging bucket's `mlp/`: its runs are in
    `runs/<Vertex job id>/` there."""
    return f"schedules/{_JOB_ID_CHARS.sub('-', schedule_id)}"


@dataclass(frozen=True)
class VertexSchedules:
    """The Vertex backend's `CloudScheduler`: Cloud Scheduler jobs that create CustomJobs.
    Every method blocks."""

    backend: VertexBackend

    # ----- what cannot run in the cloud -----

    def schedule_errors(self, schedule: Schedule) -> list[FieldError]:
        """Fields that need a running server, and settings still missing, each by its field."""
        spec, errors = schedule.spec, []
        if schedule.overlap != "allow":
            errors.append(
                FieldError(
                    field="overlap",
                    message="a schedule that runs in Google Cloud cannot see whether its last "
                    "run still runs: it takes 'allow' only",
                    suggestions=["allow"],
                )
            )
        if schedule.catchup_seconds != DEFAULT_CATCHUP_SECONDS:
            errors.append(
                FieldError(
                    field="catchup_seconds",
                    message="Cloud Scheduler fires on time or not at all: a schedule that runs "
                    "in Google Cloud has no catch-up; leave it unset",
                )
            )
        server_only = {
            "spec.sweep": spec.sweep is not None,
            "spec.scheduling.fallbacks": bool(spec.scheduling.fallbacks),
            "spec.scheduling.max_cost_usd": spec.scheduling.max_cost_usd is not None,
            "spec.scheduling.max_preemptions": spec.scheduling.strategy == "spot"
            and spec.scheduling.max_preemptions != 0,
        }
        for field, set_ in server_only.items():
            if set_:
                errors.append(FieldError(field=field, message=_server_only(field)))
        return errors + self._settings_errors(schedule)

    def _settings_errors(self, schedule: Schedule) -> list[FieldError]:
        """The settings a cloud schedule still needs, as one error on `runs_in`."""
        missing = self.backend._missing()
        if not self._service_account(schedule):
            missing.append(
                {"setting": "VertexBackend.scheduler_service_account", "message": NO_ACCOUNT}
            )
        if not missing:
            return []
        told = "; ".join(f"{m['setting']}: {m['message']}" for m in missing)
        return [FieldError(field="runs_in", message=told, suggestions=["server"])]

    # ----- the Cloud Scheduler job -----

    def create(self, schedule: Schedule) -> str:
        """Stage the package, then create the Cloud Scheduler job (paused if the schedule is);
        one left by an earlier try is brought up to date instead. Its resource name."""
        from google.api_core import exceptions

        job = self._scheduler_job(schedule)
        parent = job.name.rsplit("/jobs/", 1)[0]
        try:
            made = self._client().create_job(parent=parent, job=job)
        except exceptions.Conflict:  # ALREADY_EXISTS (409): made by an earlier try
            made = self._patch(job)
        except Exception as exc:
            raise RuntimeError(_refused("create", exc)) from exc
        self._pause_or_resume(made, schedule.paused)
        return str(job.name)

    def update(self, schedule: Schedule) -> None:
        """Make the Cloud Scheduler job's cron, time zone and CustomJob the schedule's, then
        pause or resume it."""
        self._pause_or_resume(self._patch(self._scheduler_job(schedule)), schedule.paused)

    def run_now(self, schedule: Schedule) -> None:
        """Have Cloud Scheduler fire the job now."""
        try:
            self._client().run_job(name=self._name(schedule))
        except Exception as exc:
            raise RuntimeError(_refused("run", exc)) from exc

    def delete(self, schedule: Schedule) -> None:
        """Delete the Cloud Scheduler job; one already gone is left be. Its runs stay."""
        from google.api_core import exceptions

        try:
            self._client().delete_job(name=self._name(schedule))
        except exceptions.NotFound:
            pass
        except Exception as exc:
            raise RuntimeError(_refused("delete", exc)) from exc

    # ----- its runs -----

    def runs(self, schedule: Schedule, known: set[str]) -> list[CloudRun]:
        """The CustomJobs labelled with the schedule's id in its region, but those `known`."""
        api = self.backend.api
        location = self._region(schedule)
        request = {
            "parent": api.parent(location),
            "filter": f'labels.{LABEL_SCHEDULE_ID}="{label(schedule.id)}"',
        }
        listed = api.jobs(location).list_custom_jobs(
            request=request, retry=api.retry(), timeout=self.backend.request_timeout
        )
        return [
            self._run(vertex_job, location) for vertex_job in listed if vertex_job.name not in known
        ]

    def _run(self, vertex_job: Any, location: str) -> CloudRun:
        """A CustomJob a fire made, as a run the watch loop follows (its outputs: its own
        folder, `runs/<its id>/`)."""
        from google.cloud.aiplatform_v1 import types

        from .backend import VertexRuntime
        from .jobs import image_and_package

        raw = types.JobState(vertex_job.state).name
        state = STATES.get(raw) or _NOT_STARTED
        folder = vertex_job.job_spec.base_output_directory.output_uri_prefix
        run_dir = f"{folder}runs/{vertex_job.name.rsplit('/', 1)[1]}/"
        image, package_uri = image_and_package(vertex_job)
        runtime = VertexRuntime(
            resource_name=vertex_job.name,
            location=location,
            package_uri=package_uri,
            executor_image=image,
            executor_image_reason="the schedule's, as Cloud Scheduler created it",
            output_dir=run_dir,
        )
        return CloudRun(
            backend_job_id=vertex_job.name,
            created_at=_when(vertex_job.create_time) or datetime.now().astimezone(),
            state=state,
            console_url=console_url(vertex_job.name, self.backend._project()),
            state_message=vertex_job.error.message if state.terminal else "",
            started_at=_when(vertex_job.start_time),
            ended_at=_when(vertex_job.end_time),
            outputs={"output_dir": run_dir, "model_dir": f"{run_dir}model/"},
            runtime=runtime.model_dump(mode="json"),
        )

    # ----- how -----

    def _scheduler_job(self, schedule: Schedule) -> Any:
        """The Cloud Scheduler `Job` of the schedule, its package staged."""
        from google.cloud import scheduler_v1

        self.backend._require_settings()
        account = self._service_account(schedule)
        if not account:
            raise RuntimeError(f"VertexBackend.scheduler_service_account: {NO_ACCOUNT}")
        region = self._region(schedule)
        custom = self._custom_job(schedule, region)
        # Only the fields set: the JSON Vertex AI's customJobs.create takes, as a client sends it.
        body = type(custom).to_json(
            custom,
            use_integers_for_enums=False,
            indent=None,
            always_print_fields_with_no_presence=False,
        )
        return scheduler_v1.Job(
            name=self._name(schedule),
            description=f"jupyter-mlp schedule {schedule.name}"[:500],
            schedule=schedule.cron,
            time_zone=schedule.timezone,
            http_target=scheduler_v1.HttpTarget(
                uri=f"{self._vertex_base(region)}/v1/{self.backend.api.parent(region)}/customJobs",
                http_method=scheduler_v1.HttpMethod.POST,
                headers={"Content-Type": "application/json"},
                body=body.encode("utf-8"),
                oauth_token=scheduler_v1.OAuthToken(service_account_email=account, scope=SCOPE),
            ),
            retry_config=scheduler_v1.RetryConfig(retry_count=0),
        )

    def _custom_job(self, schedule: Schedule, region: str) -> Any:
        """The CustomJob of the schedule's spec and source snapshot, its package staged once
        by content hash."""
        from .backend import VertexRuntime

        spec = schedule.spec.model_copy(update={"region": region})
        runs = Job(
            id=schedule_folder(schedule.id),
            name=schedule.name,
            kind=spec.kind,
            backend=self.backend.name,
            state=JobState.QUEUED,
            spec=spec,
            created_at=schedule.created_at,
            schedule_id=schedule.id,
        )
        with tempfile.TemporaryDirectory(prefix="mlp-schedule-") as tmp:
            folder = JobFolder(Path(tmp))
            plan = plan_source(spec, self.backend.root_dir)
            build_bundle(spec, plan, folder.bundle, self.backend.bundle_args(spec))
            staged = self.backend._stage(runs, folder, region, VertexRuntime())
        assert staged.package_uri is not None and staged.executor_image is not None
        return scheduled_custom_job(
            runs,
            schedule.id,
            staged.package_uri,
            staged.executor_image,
            self.backend._bucket_path(),
            self.backend.service_account,
        )

    def _patch(self, job: Any) -> Any:
        """Update the job's cron, time zone and target; the job as Cloud Scheduler has it."""
        try:
            return self._client().update_job(
                job=job, update_mask={"paths": ["schedule", "time_zone", "http_target"]}
            )
        except Exception as exc:
            raise RuntimeError(_refused("update", exc)) from exc

    def _pause_or_resume(self, job: Any, paused: bool) -> None:
        """Pause or resume the job unless it is so already (Cloud Scheduler pauses only an
        enabled job, and resumes only a paused one)."""
        from google.cloud import scheduler_v1

        state = scheduler_v1.Job.State
        if job.state == (state.PAUSED if paused else state.ENABLED):
            return
        client = self._client()
        try:
            (client.pause_job if paused else client.resume_job)(name=job.name)
        except Exception as exc:
            raise RuntimeError(_refused("pause" if paused else "resume", exc)) from exc

    def _client(self) -> Any:
        """Cloud Scheduler's client at the configured endpoint (made once)."""
        endpoint = self.backend.scheduler_endpoint

        def make() -> Any:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import scheduler_v1

            local = local_http(endpoint)
            return scheduler_v1.CloudSchedulerClient(
                credentials=AnonymousCredentials() if local else self.backend.cloud.credentials(),
                transport="rest",
                client_options=ClientOptions(api_endpoint=endpoint),
            )

        return self.backend.cloud.client(f"scheduler {endpoint}", make)

    def _name(self, schedule: Schedule) -> str:
        """The Cloud Scheduler job's resource name: the one made, else where it goes."""
        if schedule.cloud_job:
            return schedule.cloud_job
        region = self._region(schedule)
        location = region if region in scheduler_locations() else self.backend.scheduler_location
        job_id = JOB_PREFIX + _JOB_ID_CHARS.sub("-", schedule.id)
        return f"projects/{self.backend._project()}/locations/{location}/jobs/{job_id}"

    def _region(self, schedule: Schedule) -> str:
        return schedule.spec.region or self.backend.location

    def _vertex_base(self, region: str) -> str:
        """Vertex AI's endpoint for the region, as a URL: the configured one when set."""
        endpoint = self.backend.api_endpoint or f"{region}-aiplatform.googleapis.com"
        return (endpoint if "://" in endpoint else f"https://{endpoint}").rstrip("/")

    def _service_account(self, schedule: Schedule) -> str | None:
        return (
            self.backend.scheduler_service_account
            or schedule.spec.scheduling.service_account
            or self.backend.service_account
        )


def _server_only(field: str) -> str:
    what = {
        "spec.sweep": "a sweep in a schedule that runs in Google Cloud is not supported: run "
        "its schedule in the server (runs_in 'server')",
        "spec.scheduling.fallbacks": "trying the fallbacks after a refusal",
        "spec.scheduling.max_cost_usd": "stopping a run at its cost cap",
        "spec.scheduling.max_preemptions": "trying a Spot run again after a preemption (set it "
        "to 0 for a cloud schedule)",
    }[field]
    if field == "spec.sweep":
        return what
    return f"{what} {SERVER_ONLY}: remove it, or run the schedule in the server (runs_in 'server')"


def _refused(what: str, exc: Exception) -> str:
    return f"Cloud Scheduler did not {what} the schedule's job: {google_message(exc)}"


def _when(stamp: datetime | None) -> datetime | None:
    """A CustomJob's time (proto-plus gives an aware datetime); None when unset."""
    return stamp or None
