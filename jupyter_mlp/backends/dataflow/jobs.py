"""Dataflow's v1b3 API as the Dataflow backend speaks it: its jobs' states in our words, the
calls it makes (through `google-cloud-dataflow-client`, REST transport), a job's log (the
submission's output, then the job's messages and its workers' logs, gathered once for all its
followers) read by cursor, and its progress from its metrics.

Google's libraries are imported inside the functions that use them.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ...core.models import JobState
from ..gcp.cloud_logging import Gathered, LogPiece, SharedLogs
from ..gcp.errors import google_message
from ..gcp.service import GoogleCloud, local_http
from .options import LABEL_JOB_ID

CONSOLE = "https://console.cloud.google.com"
API = "dataflow.googleapis.com"
LIST_PAGE_SIZE = 500
MESSAGE_PAGE_MAX = 1000
TAIL_PAGES_MAX = 50
ERROR_PAGES_MAX = 50
# Dataflow's generic word on a failed job, which only points at the work items' own errors.
GENERIC_FAILURE = re.compile(r"work item (was attempted|has failed|failed)", re.IGNORECASE)

# Dataflow's JobState -> ours. None: nothing to change (pending, queued or stopped at Dataflow
# is our STARTING, which a started job already is; paused or cleaning up keeps what it was).
STATES: dict[str, JobState | None] = {
    "JOB_STATE_UNKNOWN": None,
    "JOB_STATE_STOPPED": None,
    "JOB_STATE_PENDING": None,
    "JOB_STATE_QUEUED": None,
    "JOB_STATE_RUNNING": JobState.RUNNING,
    "JOB_STATE_RESOURCE_CLEANING_UP": None,
    "JOB_STATE_PAUSING": None,
    "JOB_STATE_PAUSED": None,
    "JOB_STATE_CANCELLING": JobState.CANCELLING,
    "JOB_STATE_DRAINING": JobState.CANCELLING,
    "JOB_STATE_DONE": JobState.SUCCEEDED,
    "JOB_STATE_FAILED": JobState.FAILED,
    "JOB_STATE_CANCELLED": JobState.CANCELLED,
    "JOB_STATE_DRAINED": JobState.CANCELLED,
    "JOB_STATE_UPDATED": JobState.CANCELLED,
}
# Why a job ended, in words, where the state alone does not say it.
ENDINGS = {
    "JOB_STATE_DRAINED": "drained: it stopped reading its input and finished what it had read",
    "JOB_STATE_UPDATED": "replaced by an updated job at Dataflow",
}
IMPORTANCES = {
    "JOB_MESSAGE_DEBUG": "DEBUG",
    "JOB_MESSAGE_DETAILED": "DETAIL",
    "JOB_MESSAGE_BASIC": "INFO",
    "JOB_MESSAGE_WARNING": "WARNING",
    "JOB_MESSAGE_ERROR": "ERROR",
}


def error_rank(text: str) -> int:
    """How telling an error message is: 1 with a traceback (the user's code failing), -1 for
    the generic work-item failure that only points at the others, 0 otherwise."""
    if GENERIC_FAILURE.search(text):
        return -1
    return 1 if "Traceback" in text else 0


@dataclass(frozen=True)
class Place:
    """Where a Dataflow job is: its project and region (and its id, once known)."""

    project: str
    region: str
    job_id: str = ""


def console_url(place: Place) -> str:
    """The Cloud console page of a Dataflow job, as Beam's DataflowRunner gives it."""
    return f"{CONSOLE}/dataflow/jobs/{place.region}/{place.job_id}?project={place.project}"


class DataflowApi:
    """The jobs, messages and metrics services of one endpoint, made once, retried briefly."""

    def __init__(self, cloud: GoogleCloud, endpoint: str | None, retry: Callable[[], Any]):
        self.cloud, self.endpoint, self.retry = cloud, endpoint, retry

    def list_active(self, project: str, region: str) -> dict[str, Any]:
        """The active jobs of a project's region (summaries), by Dataflow id and by name."""
        from google.cloud import dataflow_v1beta3 as dataflow

        request = dataflow.ListJobsRequest(
            project_id=project,
            location=region,
            filter=dataflow.ListJobsRequest.Filter.ACTIVE,
            page_size=LIST_PAGE_SIZE,
        )
        listed: dict[str, Any] = {}
        for job in self._client("jobs").list_jobs(request=request, retry=self.retry(), timeout=60):
            listed[job.id] = job
            listed[f"name:{job.name}"] = job
        return listed

    def find(self, place: Place, job_name: str, label: str) -> Any:
        """The job named `job_name` whose `mlp-job-id` label is `label`, or None."""
        from google.cloud import dataflow_v1beta3 as dataflow

        request = dataflow.ListJobsRequest(
            project_id=place.project,
            location=place.region,
            filter=dataflow.ListJobsRequest.Filter.ALL,
            name=job_name,
            page_size=10,
        )
        for listed in self._client("jobs").list_jobs(
            request=request, retry=self.retry(), timeout=60
        ):
            if listed.name != job_name:
                continue
            described = self.get(Place(place.project, place.region, listed.id), full=True)
            if described.labels.get(LABEL_JOB_ID) == label:
                return described
        return None

    def get(self, place: Place, full: bool = False) -> Any:
        """A job: its summary, or (`full`) with its labels and environment."""
        from google.cloud import dataflow_v1beta3 as dataflow

        view = dataflow.JobView.JOB_VIEW_DESCRIPTION if full else dataflow.JobView.JOB_VIEW_SUMMARY
        request = dataflow.GetJobRequest(
            project_id=place.project, location=place.region, job_id=place.job_id, view=view
        )
        return self._client("jobs").get_job(request=request, retry=self.retry(), timeout=60)

    def request_state(self, place: Place, state: str) -> None:
        """Ask for JOB_STATE_CANCELLED or JOB_STATE_DRAINING, as Beam's `cancel` does."""
        from google.cloud import dataflow_v1beta3 as dataflow

        request = dataflow.UpdateJobRequest(
            project_id=place.project,
            location=place.region,
            job_id=place.job_id,
            job=dataflow.Job(requested_state=getattr(dataflow.JobState, state)),
        )
        self._client("jobs").update_job(request=request, retry=self.retry(), timeout=60)

    def messages(
        self, place: Place, importance: str, since: str | None, token: str | None, size: int
    ) -> Any:
        """One page (a ListJobMessagesResponse) of a job's messages from `since`, oldest
        first, of `importance` or more."""
        from google.cloud import dataflow_v1beta3 as dataflow

        request: dict[str, Any] = {
            "project_id": place.project,
            "location": place.region,
            "job_id": place.job_id,
            "minimum_importance": getattr(dataflow.JobMessageImportance, importance),
            "page_size": size,
        }
        if since:
            request["start_time"] = datetime.fromisoformat(since.replace("Z", "+00:00"))
        if token:
            request["page_token"] = token
        pages = self._client("messages").list_job_messages(
            request=request, retry=self.retry(), timeout=60
        )
        return next(iter(pages.pages))

    def failure(self, place: Place) -> str:
        """A failed job's most telling error message (the job itself carries none), from all
        pages of its error messages: ranked as Beam ranks them, one with a traceback first,
        Dataflow's generic "a work item failed N times" last, the latest of a rank."""
        best, rank, token = "", -2, None
        for _ in range(ERROR_PAGES_MAX):
            page = self.messages(place, "JOB_MESSAGE_ERROR", None, token, MESSAGE_PAGE_MAX)
            for message in page.job_messages:
                text = str(message.message_text).strip()
                if text and error_rank(text) >= rank:
                    best, rank = text, error_rank(text)
            token = page.next_page_token or None
            if not token:
                break
        return best[:4000]

    def progress(self, place: Place) -> list[dict[str, Any]]:
        """Elements each step put out so far: [{step, elements}], in the order of the steps'
        first metric, committed values only (not tentative ones)."""
        metrics = self._client("metrics").get_job_metrics(
            request={"project_id": place.project, "location": place.region, "job_id": place.job_id},
            retry=self.retry(),
            timeout=60,
        )
        steps: dict[str, int] = {}
        for update in metrics.metrics:
            context = dict(update.name.context)
            if update.name.name != "ElementCount" or context.get("tentative") == "true":
                continue
            step = context.get("output_user_name") or context.get("original_name") or "?"
            steps[step] = int(update.scalar or 0)
        return [{"step": step, "elements": count} for step, count in steps.items()]

    def _client(self, kind: str) -> Any:
        """The jobs, messages or metrics client (made once), REST transport; anonymous for a
        local stand-in."""
        endpoint = self.endpoint

        def make() -> Any:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import dataflow_v1beta3 as dataflow

            made = {
                "jobs": dataflow.JobsV1Beta3Client,
                "messages": dataflow.MessagesV1Beta3Client,
                "metrics": dataflow.MetricsV1Beta3Client,
            }[kind]
            if local_http(endpoint):
                credentials = AnonymousCredentials()
            else:
                credentials = self.cloud.credentials()
                if isinstance(credentials, Exception):
                    raise credentials
            options = ClientOptions(api_endpoint=endpoint) if endpoint else None
            return made(credentials=credentials, transport="rest", client_options=options)

        return self.cloud.client(f"dataflow {kind} {endpoint}", make)


# ----- the job's log -----


@dataclass
class LogCursor:
    """Where a reader of a job's log is: bytes of the local log (the submission's output)
    read, then its place in what was gathered of the job at Dataflow (`cloud_logging`)."""

    offset: int = 0
    gathered: str | None = None

    def encode(self) -> str:
        raw = json.dumps(asdict(self), separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> LogCursor:
        """The cursor in `text`; the beginning for none, or for one this module did not write."""
        if not text:
            return cls()
        try:
            return cls(**json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))))
        except (ValueError, TypeError):
            return cls()


class JobLog:
    """A job's log: the submission's output (the job's local log file), then, once the job is
    at Dataflow, its job messages (of `importance` or more) and its workers' logs, as `reader`
    gathered them for all the job's followers.

    Job messages are taken from Dataflow's messages API only: Cloud Logging's copy of them (the
    `job-message` log) is left out of the workers' logs read there. The API is Dataflow's own
    record of the job, kept with it even where a project's Logging exclusions or retention drop
    that log, it is not counted in Logging's read quota, and it is what the failure message
    reads too."""

    def __init__(
        self,
        api: DataflowApi,
        place: Place | None,
        path: Path,
        importance: str,
        reader: SharedLogs | None,
    ):
        self.api, self.place, self.path, self.importance = api, place, path, importance
        self.reader = reader

    def read(
        self, cursor: str | None, limit: int, settled_at: datetime | None
    ) -> tuple[str, str, bool, dict[str, str]]:
        """Up to about `limit` bytes after `cursor`: (text, next cursor, nothing more now and
        read after `settled_at`, notes)."""
        state = LogCursor.decode(cursor)
        local = self._local(state.offset, limit)
        state.offset += len(local)
        text = local.decode(errors="replace")
        room = limit - len(local)
        if self.place is None or room <= 0:
            return text, state.encode(), room > 0, {}
        piece = self._gathered(state.gathered, room, None, settled_at)
        state.gathered = piece.next_cursor
        return text + piece.text, state.encode(), piece.at_end, piece.notes

    def tail(self, tail: int) -> tuple[str, str, dict[str, str]]:
        """About the last `tail` bytes: the newest lines gathered that fit, after the end of
        the submission's output if there is room left; the cursor after them; notes."""
        state, text, notes = LogCursor(), "", {}
        if self.place is not None:
            piece = self._gathered(None, tail, tail, None)
            text, state.gathered, notes = piece.text, piece.next_cursor, piece.notes
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        state.offset = size
        room = tail - len(text.encode())
        if room > 0 and size:
            text = self._local(max(0, size - room), room).decode(errors="replace") + text
        return text, state.encode(), notes

    def _gathered(
        self, cursor: str | None, limit: int, tail: int | None, settled_at: datetime | None
    ) -> LogPiece:
        assert self.place is not None and self.reader is not None
        return self.reader.read(
            self.place.job_id,
            cursor,
            limit,
            tail,
            worker_label,
            self._messages_since,
            settled_at,
        )

    def _local(self, offset: int, limit: int) -> bytes:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                return handle.read(max(0, limit))
        except OSError:
            return b""

    def _messages_since(self, since: str | None) -> list[Gathered]:
        """The job's messages from `since` on, oldest first, as gathered lines."""
        assert self.place is not None
        gathered: list[Gathered] = []
        token: str | None = None
        for _ in range(TAIL_PAGES_MAX):
            try:
                page = self.api.messages(
                    self.place, self.importance, since, token, MESSAGE_PAGE_MAX
                )
            except Exception as exc:  # the API's errors, said in Google's words
                problem = f"Dataflow's job messages could not be read: {google_message(exc)}"
                raise RuntimeError(problem) from exc
            for message in page.job_messages:
                stamp = message_stamp(message)
                key = ("job-message", stamp, str(message.id))
                gathered.append(Gathered(key, stamp, message_line(message)))
            token = page.next_page_token or None
            if not token:
                break
        return gathered


def worker_label(entry: dict[str, Any]) -> str:
    """A worker's line begins with its time, severity and step, as a job message does."""
    step = entry.get("resource", {}).get("labels", {}).get("step_id")
    shown = f" [{step}]" if step else ""
    return f"{entry.get('timestamp', '')} {entry.get('severity', 'DEFAULT')}{shown} "


def message_line(message: Any) -> str:
    """A job message as one log line: its time, importance and text."""
    from google.cloud import dataflow_v1beta3 as dataflow

    importance = dataflow.JobMessageImportance(message.message_importance).name
    text = str(message.message_text).rstrip("\n")
    return f"{message_stamp(message)} {IMPORTANCES.get(importance, importance)} {text}\n"


def message_stamp(message: Any) -> str:
    """A message's time as RFC 3339 with microseconds: stamps compare as text."""
    return str(message.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")) if message.time else ""
