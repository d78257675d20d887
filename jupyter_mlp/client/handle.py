"""A submitted job as Python sees it: `job.state`, `job.wait()`, `job.logs()`, `job.cancel()`,
and a small summary that keeps itself up to date in a notebook until the job ends."""

from __future__ import annotations

import html
import json
import threading
import time
import uuid
from typing import TextIO

from ..core.models import Job, JobState, JobSummary
from .connection import Client

PANEL_COMMAND = "mlp:open-panel"
WATCH_INTERVAL = 1.0
_STATE_COLOURS = {
    JobState.SUCCEEDED: "var(--jp-success-color1, green)",
    JobState.FAILED: "var(--jp-error-color1, red)",
    JobState.CANCELLED: "var(--jp-warn-color1, orange)",
}


class JobFailed(RuntimeError):
    """A waited-for job ended FAILED or CANCELLED."""

    def __init__(self, job: Job):
        detail = f": {job.state_message}" if job.state_message else ""
        super().__init__(f"job {job.name} ({job.id}) {job.state.value}{detail}")
        self.job = job

    def _render_traceback_(self) -> list[str]:
        # In a notebook, one line says it all; the magic's own frames would only be noise.
        return [f"JobFailed: {self}"]


class JobHandle:
    """A job submitted through a client; every question asks the client (no stale copy)."""

    def __init__(
        self, client: Client, job: Job, poll_interval: float = 0.25, log_patience: float = 30.0
    ):
        self.client = client
        self.job = job  # the last answer, kept for the summary only
        self.poll_interval = poll_interval
        # Seconds an ended job's log may stay incomplete with nothing new before `wait`
        # stops following it (a cloud log can arrive after its job ended).
        self.log_patience = log_patience
        self._display_ids: list[str] = []
        self._watcher: threading.Thread | None = None

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def state(self) -> JobState:
        """The job's state now."""
        return self.refresh().job.state

    def refresh(self) -> JobHandle:
        self.job = self.client.get(self.job.id)
        return self

    def logs(self) -> str:
        """The whole log so far."""
        return "".join(read.text for read in self.client.log_reads(self.id))

    def print_logs(self, stream: TextIO) -> None:
        """Write the whole log so far to `stream`, read by read."""
        for read in self.client.log_reads(self.id):
            _write(stream, read.text)
        stream.flush()

    def cancel(self) -> JobHandle:
        self.job = self.client.cancel(self.id)
        return self

    def wait(
        self,
        timeout: float | None = None,
        *,
        stream: TextIO | None = None,
        raise_on_failure: bool = True,
    ) -> Job:
        """Block until the job ends, writing its log to `stream` as it grows (when given).

        Raises `JobFailed` when it ends FAILED or CANCELLED (unless told not to), and
        `TimeoutError` when `timeout` seconds pass first (the job keeps running)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        cursor, complete, news_at = "", stream is None, time.monotonic()
        while True:
            job = self.refresh().job
            if stream is not None and not complete:
                # The log is read after the state: once the job is seen ended, this read
                # reaches the end of its log (or, for a cloud log, what has arrived of it).
                for read in self.client.log_reads(self.id, cursor):
                    cursor, complete = read.next_cursor, read.complete
                    if read.text:
                        news_at = time.monotonic()
                        _write(stream, read.text)
                stream.flush()
            gave_up = time.monotonic() - news_at > self.log_patience
            if job.state.terminal and (complete or gave_up):
                self._update_displays()
                if raise_on_failure and job.state is not JobState.SUCCEEDED:
                    raise JobFailed(job)
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job.name} ({job.id}) is still {job.state.value}")
            time.sleep(self.poll_interval)

    # ----- how it looks -----

    def __repr__(self) -> str:
        job = self.job
        message = f" - {job.state_message}" if job.state_message else ""
        where = f"{job.kind.value} job {job.name} ({job.id}) on {job.backend}"
        return f"<{where}: {job.state.value}{message}>"

    def _repr_html_(self) -> str:
        job = self.job
        colour = _STATE_COLOURS.get(job.state, "inherit")
        message = f" &ndash; {html.escape(job.state_message)}" if job.state_message else ""
        return (
            '<div class="jp-mlp-JobSummary">'
            f"<b>{html.escape(job.name)}</b> <code>{html.escape(job.id)}</code> "
            f"{html.escape(job.kind.value)} job on {html.escape(job.backend)}: "
            f'<b style="color: {colour}">{job.state.value}</b>{message} '
            + _open_button(job, "open in panel", "Open this job in the ML Jobs panel")
            + "</div>"
        )

    def _ipython_display_(self) -> None:
        """Show the summary; in a kernel, keep it up to date until the job ends."""
        from IPython.display import display

        if not _in_kernel():
            print(repr(self))
            return
        display_id = uuid.uuid4().hex
        self._display_ids.append(display_id)
        display(self._bundle(), raw=True, display_id=display_id)
        if not self.job.state.terminal and self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, daemon=True, name="mlp-job-watch")
            self._watcher.start()

    def _bundle(self) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def _update_displays(self) -> None:
        if not self._display_ids:
            return
        from IPython.display import update_display

        for display_id in self._display_ids:
            update_display(self._bundle(), raw=True, display_id=display_id)

    def _watch(self) -> None:
        shown = self.job.state
        while True:
            time.sleep(WATCH_INTERVAL)
            try:
                job = self.client.get(self.id)
            except Exception:  # the client went away (kernel shutting down): stop watching
                break
            self.job = job
            if job.state is not shown:
                shown = job.state
                self._update_displays()
            if job.state.terminal:
                break
        self._watcher = None


def _write(stream: TextIO, text: str) -> None:
    """Write log text as it is; what the stream's encoding cannot show is replaced, never lost
    with the rest of the log."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, errors="replace").decode(encoding))


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class JobList:
    """Jobs as a table: HTML in a notebook, aligned text in a terminal. Times are local and
    durations written as in the panel; in a notebook each id opens its job in the panel."""

    COLUMNS = ("id", "name", "kind", "backend", "state", "created", "duration", "message")

    def __init__(self, jobs: list[JobSummary]):
        self.jobs = jobs

    def rows(self) -> list[tuple[str, ...]]:
        now = time.time()
        return [
            (
                job.id,
                job.name,
                job.kind.value,
                job.backend,
                job.state.value,
                job.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                _duration(job, now),
                job.state_message,
            )
            for job in self.jobs
        ]

    def text(self) -> str:
        rows = [self.COLUMNS, *self.rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(self.COLUMNS) - 1)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[-1]
            for row in rows
        ]
        return "\n".join(line.rstrip() for line in lines)

    def __repr__(self) -> str:
        return self.text() if self.jobs else "no jobs"

    def _repr_html_(self) -> str:
        if not self.jobs:
            return "<i>no jobs</i>"
        head = "".join(f"<th>{c}</th>" for c in self.COLUMNS)
        body = "".join(
            "<tr><td>"
            + _open_button(job, html.escape(row[0]), f"Open {job.name} in the ML Jobs panel")
            + "</td>"
            + "".join(f"<td>{html.escape(cell)}</td>" for cell in row[1:])
            + "</tr>"
            for job, row in zip(self.jobs, self.rows(), strict=True)
        )
        return f'<table class="jp-mlp-JobList"><tr>{head}</tr>{body}</table>'


def _open_button(job: Job | JobSummary, label: str, title: str) -> str:
    """A button that opens the job in the panel: JupyterLab's command linker runs the command
    on click, and the sanitizer keeps these attributes on a <button> in any notebook output."""
    args = html.escape(json.dumps({"id": job.id, "name": job.name}), quote=True)
    return (
        f'<button class="jp-mlp-OpenJob" data-commandlinker-command="{PANEL_COMMAND}" '
        f'data-commandlinker-args="{args}" title="{html.escape(title, quote=True)}">'
        f"{label}</button>"
    )


def _duration(job: JobSummary, now: float) -> str:
    """How long the job ran (so far), as the panel writes it: `1h 05m`, `2m 03s`, `4s`."""
    if job.started_at is None:
        return "-"
    end = job.ended_at.timestamp() if job.ended_at else now
    seconds = max(0, int(end - job.started_at.timestamp()))
    days, hours = seconds // 86400, seconds % 86400 // 3600
    minutes, secs = seconds % 3600 // 60, seconds % 60
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s" if seconds else "<1s"
