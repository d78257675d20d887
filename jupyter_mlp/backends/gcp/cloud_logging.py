"""Cloud jobs' logs read from Cloud Logging once for all their followers, within the quota.

Cloud Logging's `entries:list` is limited to 60 requests a minute per project, shared by every
tool of the project, and it does not ingest in order: an entry can become visible after entries
with later timestamps. So a backend does not read a job's log for each follower. Its
`SharedLogs` gathers each followed job's entries into memory, at most one read per job every
`interval` seconds, several followed jobs in one request (`job_id="a" OR job_id="b"`), within a
read budget per project and minute that counts every page; it backs off after a 429, waiting at
least what the error's `RetryInfo` asks. Each read goes back over a trailing window (Logging's
ingestion delay) and drops the entries already gathered, keyed by (logName, timestamp, insertId),
so an entry ingested late is gathered once, after the ones learnt before it.

A follower's opaque cursor is a position in what was gathered for the job, in the order it was
learnt: a late entry reaches every follower exactly once. A job's first read takes its newest
page of entries; a follower starting from the beginning of a longer log first reads what lies
before that page directly (`read_entries`, each page counted in the budget), then goes on in
what was gathered. What is kept per job is capped, and jobs nobody followed for a while are
forgotten; a follower whose position is no longer kept is told so in a note and goes on from the
oldest line kept. A CLI or kernel without a server runs the same code in its own process.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from traitlets import Float, Int
from traitlets.config import LoggingConfigurable

MAX_PAGE_SIZE = 1000  # the API's limit
BATCH_JOBS = 20  # jobs read in one request (a filter is at most 20,000 characters)
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_FRACTION = re.compile(r"\.(\d+)Z$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


class LogsUnavailable(Exception):
    """Cloud Logging could not be asked, or refused; the message says why."""

    def __init__(self, message: str, status: int = 0, retry_after: float | None = None):
        super().__init__(message)
        self.status, self.retry_after = status, retry_after

    @property
    def rate_limited(self) -> bool:
        return self.status == 429


# (url, JSON body) -> (HTTP status, JSON answer); raises for a network failure.
Post = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]
# An entry -> the prefix of its line (which replica or trial wrote it).
Label = Callable[[dict[str, Any]], str]


@dataclass
class LogReading:
    """How a backend reads Cloud Logging (its settings)."""

    interval: float = 5.0  # seconds between two reads of one job's log
    budget: int = 30  # reads a minute for the whole project, every page counted
    ingestion_delay: float = 60.0  # seconds each read goes back over, for entries ingested late
    lines_kept: int = 20_000  # per job
    forget_after: float = 600.0  # seconds a job nobody follows stays in memory
    backoff: float = 2.0  # first wait after a refused read (doubles, with jitter)
    max_backoff: float = 300.0


class CloudLogSettings(LoggingConfigurable):
    """The settings of a backend whose jobs log to Cloud Logging (each backend has its own:
    `c.VertexBackend.log_read_interval`, `c.DataflowBackend.log_read_interval`)."""

    log_read_interval = Float(
        5.0,
        config=True,
        help="Seconds between two reads of a job's log (on Dataflow also its job messages), "
        "however many panels, CLIs and magics follow it (they are served from what the server "
        "read).",
    )
    log_reads_per_minute = Int(
        30,
        config=True,
        help="Cloud Logging reads a minute for all the jobs of the project, every page counted "
        "(Logging allows 60 a minute per project, shared by every tool of the project).",
    )
    log_ingestion_delay = Float(
        60.0,
        config=True,
        help="Seconds each Cloud Logging read goes back over, for the entries it ingests late.",
    )
    log_lines_kept = Int(20_000, config=True, help="Lines of a followed job's log kept in memory.")

    def log_reading(self) -> LogReading:
        """These settings, as the shared reader takes them."""
        return LogReading(
            interval=self.log_read_interval,
            budget=self.log_reads_per_minute,
            ingestion_delay=self.log_ingestion_delay,
            lines_kept=self.log_lines_kept,
        )


@dataclass
class Gathered:
    """One entry gathered for a job: its dedupe key, time and line of text."""

    key: tuple[str, str, str]
    stamp: str
    line: str


@dataclass
class LogPiece:
    text: str
    next_cursor: str
    at_end: bool  # nothing more was there to read when this was read
    notes: dict[str, str] = field(default_factory=dict)  # "note" and "error", for the chunk


# ----- the budget and the backoff, per project -----


class ReadBudget:
    """Reads allowed per minute, shared by every reader of one project in this process."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._times: deque[float] = deque()
        self._lock = threading.Lock()
        self.blocked_until = 0.0  # after a 429: no read of this project before then
        self.refusals = 0

    def take(self, now: float) -> bool:
        """Spend one read now if the budget and the backoff allow it."""
        with self._lock:
            if now < self.blocked_until:
                return False
            while self._times and now - self._times[0] >= 60.0:
                self._times.popleft()
            if len(self._times) >= self.per_minute:
                return False
            self._times.append(now)
            return True

    def refused(self, now: float, asked: float | None, first: float, most: float) -> float:
        """Back off after a refusal: exponentially with jitter, and never less than the wait
        the service asked for. Returns the seconds until the next read."""
        with self._lock:
            self.refusals += 1
            wait = min(most, first * 2 ** (self.refusals - 1))
            wait = max(wait * random.uniform(0.5, 1.0), asked or 0.0)
            self.blocked_until = now + wait
            return wait

    def answered(self) -> None:
        with self._lock:
            self.refusals = 0


_BUDGETS: dict[tuple[str, str], ReadBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def project_budget(endpoint: str, project: str, per_minute: int) -> ReadBudget:
    """The read budget of `project` at `endpoint` in this process (the smallest one asked for)."""
    with _BUDGETS_LOCK:
        budget = _BUDGETS.setdefault((endpoint, project), ReadBudget(per_minute))
        budget.per_minute = min(budget.per_minute, per_minute)
        return budget


class LogReaders:
    """A backend's readers, one per project and filter, made when first needed."""

    def __init__(self) -> None:
        self._readers: dict[tuple[str, str, str], SharedLogs] = {}
        self._lock = threading.Lock()

    def of(
        self,
        post: Post,
        endpoint: str | None,
        project: str,
        base_filter: str,
        settings: LogReading,
    ) -> SharedLogs:
        """The reader of `project`'s entries under `base_filter`, with the latest settings."""
        with self._lock:
            key = (endpoint or "", project, base_filter)
            reader = self._readers.get(key)
            if reader is None:
                reader = SharedLogs(post, endpoint, project, base_filter, settings)
                self._readers[key] = reader
            reader.post, reader.settings = post, settings
            return reader


# ----- the shared reader -----


@dataclass(eq=False)
class _Job:
    """What was gathered of one job's log."""

    key: str
    label: Label
    extra: Callable[[str | None], list[Gathered]] | None
    # Names this gathering in cursors: another process's, or an earlier one forgotten, differs.
    generation: str = field(default_factory=lambda: f"{random.getrandbits(32):08x}")
    lines: deque[tuple[str, str]] = field(default_factory=deque)  # (stamp, line), learnt order
    first: int = 0  # position of lines[0]: lines before it are no longer kept
    seeded: bool = False
    # Gathered: every entry after this time (None: all of them); the rest is read directly.
    origin: str | None = None
    newest: str | None = None  # the newest timestamp gathered
    seen: dict[tuple[str, str, str], str] = field(default_factory=dict)  # key -> stamp
    extra_newest: str | None = None
    extra_read_at: float = float("-inf")
    extra_wall: datetime | None = None
    extra_problem: str = ""
    read_at: float = float("-inf")  # monotonic time of the last read
    read_wall: datetime | None = None  # wall time at which the last successful read began
    followed_at: float = 0.0
    pending: bool = False  # a read of it has more pages
    problem: str = ""  # why the last read failed

    def add(self, entries: list[dict[str, Any]], lines_kept: int, delay: float) -> None:
        """Keep Cloud Logging's entries not gathered yet (nor read directly)."""
        low = _order(self.origin) if self.origin else None
        for entry in entries:
            stamp = entry.get("timestamp", "")
            key = (entry.get("logName", ""), stamp, entry.get("insertId", ""))
            if key in self.seen or (low is not None and _order(stamp) <= low):
                continue  # gathered by an earlier read of the window, or read directly
            self.seen[key] = stamp
            self.keep(stamp, self.label(entry) + entry_text(entry), lines_kept)
            if self.newest is None or _order(stamp) > _order(self.newest):
                self.newest = stamp
        self.prune(delay)

    def add_gathered(self, gathered: list[Gathered], lines_kept: int, delay: float) -> None:
        """Keep the other source's entries not gathered yet."""
        for item in gathered:
            if item.key not in self.seen:
                self.seen[item.key] = item.stamp
                self.keep(item.stamp, item.line, lines_kept)
            if self.extra_newest is None or _order(item.stamp) > _order(self.extra_newest):
                self.extra_newest = item.stamp
        self.prune(delay)

    def keep(self, stamp: str, line: str, lines_kept: int) -> None:
        self.lines.append((stamp, line))
        while len(self.lines) > lines_kept:
            self.lines.popleft()
            self.first += 1

    def prune(self, delay: float) -> None:
        """Forget the keys older than any later read goes back to."""
        # The source furthest behind decides: its next read goes back furthest.
        newest = min((s for s in (self.newest, self.extra_newest) if s), key=_order, default=None)
        floor = _minus(newest, delay)
        if floor is not None:
            low = _order(floor)
            self.seen = {k: s for k, s in self.seen.items() if _order(s) >= low}

    def finish_read(self, now: float, wall: datetime) -> None:
        self.read_at, self.read_wall, self.problem = now, wall, ""

    def since(self, delay: float) -> str | None:
        """From when the next read asks for entries: back over the ingestion delay."""
        since = _minus(self.newest, delay)
        if self.origin is not None and (since is None or _order(since) < _order(self.origin)):
            return self.origin
        return since

    def page(self, position: int, limit: int) -> list[str]:
        """The lines from `position` on, about `limit` bytes of them (one at least)."""
        lines: list[str] = []
        size = 0
        for _, line in _from(self.lines, position - self.first):
            if lines and size + len(line.encode()) > limit:
                break
            lines.append(line)
            size += len(line.encode())
        return lines

    def last(self, tail: int) -> list[str]:
        """The last lines, about `tail` bytes of them (one at least)."""
        lines: list[str] = []
        size = 0
        for _, line in reversed(self.lines):
            if lines and size + len(line.encode()) > tail:
                break
            lines.append(line)
            size += len(line.encode())
        return list(reversed(lines))

    def placed(self, state: _Position, notes: dict[str, str]) -> _Position:
        """Where a cursor of another process (or none) goes on in what this one gathered: from
        the beginning of the log, or after the newest time it had read."""
        if state.after is None:
            if self.origin is None:
                return _Position(self.generation, 0, None)
            return _Position(self.generation, 0, None, history=Cursor().encode())
        after = _order(state.after)
        index = next(
            (i for i, (stamp, _) in enumerate(self.lines) if _order(stamp) > after),
            len(self.lines),
        )
        if self.origin is not None and _order(state.after) < _order(self.origin):
            notes["note"] = _joined(
                notes.get("note"),
                "the server restarted since your last read: lines written between then "
                "and its first read may be missing here",
            )
        return _Position(self.generation, self.first + index, state.after)

    def stamp_before(self, position: int) -> str | None:
        """The newest time among the lines before `position` that are still kept."""
        index = min(position - self.first, len(self.lines))
        stamps = [self.lines[i][0] for i in range(max(0, index - 200), index)]
        return max(stamps, key=_order, default=None)


class SharedLogs:
    """The Cloud Logging entries of one project's jobs (under `base_filter`, one job's entries
    being those whose `resource.labels.job_id` is its key), gathered once for all followers."""

    def __init__(
        self,
        post: Post,
        endpoint: str | None,
        project: str,
        base_filter: str,
        settings: LogReading,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.post, self.endpoint, self.project = post, endpoint or "", project
        self.base_filter, self.settings, self.clock = base_filter, settings, clock
        self.budget = project_budget(self.endpoint, project, settings.budget)
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()  # guards _jobs
        self._gate = threading.Lock()  # one request at a time
        self._continuation: tuple[dict[str, Any], list[str]] | None = None
        self._note = ""

    def read(
        self,
        key: str,
        cursor: str | None,
        limit: int,
        tail: int | None = None,
        label: Label = lambda entry: "",
        extra: Callable[[str | None], list[Gathered]] | None = None,
        settled_at: datetime | None = None,
    ) -> LogPiece:
        """Up to about `limit` bytes of job `key`'s log after `cursor` (or about the last `tail`
        bytes). `at_end` once the follower has all that was gathered by a read begun after
        `settled_at`. `extra` adds entries from another source (read with the job's entries,
        from the time given on: the newest it gave, less the ingestion delay)."""
        now = self.clock()
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                job = self._jobs[key] = _Job(key=key, label=label, extra=extra)
            job.label, job.extra, job.followed_at = label, extra, now
            self._forget(now)
        self._gather(key, job, wait=not job.seeded)
        state = _Position.decode(cursor)
        notes: dict[str, str] = {}
        if self._note:
            notes["note"] = self._note
        problems = [p for p in (job.problem, job.extra_problem) if p]
        if problems:
            notes["error"] = "; ".join(problems)
        if tail is not None:
            return self._tail(job, tail, notes)
        if state.generation != job.generation and state.history is None:
            with self._lock:
                state = job.placed(state, notes)
        if state.history is not None:
            return self._read_history(key, job, state, limit, notes)
        return self._served(job, state.position, limit, settled_at, notes, cursor)

    # ----- serving what was gathered -----

    def _served(
        self,
        job: _Job,
        position: int,
        limit: int,
        settled_at: datetime | None,
        notes: dict[str, str],
        cursor: str | None,
    ) -> LogPiece:
        with self._lock:
            if position < job.first:
                notes["note"] = _joined(
                    notes.get("note"),
                    f"{job.first - position} line(s) of this log were no longer kept by the "
                    "server when you read on (it keeps the newest "
                    f"{self.settings.lines_kept}); read them in the Cloud console",
                )
                position = job.first
            lines = job.page(position, limit)
            position += len(lines)
            caught_up = position == job.first + len(job.lines) and not job.pending
            read_after = settled_at is not None and all(
                wall is not None and wall >= settled_at
                for wall in [job.read_wall] + ([job.extra_wall] if job.extra else [])
            )
        if not lines and "error" in notes and cursor:
            return LogPiece("", cursor, False, notes)  # keep the follower's cursor as it was
        following = _Position(job.generation, position, job.stamp_before(position))
        return LogPiece("".join(lines), following.encode(), caught_up and read_after, notes)

    def _tail(self, job: _Job, tail: int, notes: dict[str, str]) -> LogPiece:
        with self._lock:
            lines = job.last(tail)
            end = job.first + len(job.lines)
            following = _Position(job.generation, end, job.stamp_before(end))
        return LogPiece("".join(lines), following.encode(), False, notes)

    def _read_history(
        self, key: str, job: _Job, state: _Position, limit: int, notes: dict[str, str]
    ) -> LogPiece:
        """The part of the log before what was gathered, read directly, page by page."""
        origin = job.origin
        if origin is None or not self.budget.take(self.clock()):
            if origin is None:  # nothing lies before what was gathered
                return self._served(job, 0, limit, None, notes, None)
            notes["note"] = _joined(
                notes.get("note"), "waiting for the Cloud Logging read budget of the project"
            )
            return LogPiece("", state.encode(), False, notes)
        log_filter = f'{self._filter_of([key])} AND timestamp<="{origin}"'
        try:
            piece = read_entries(
                self.post,
                self.endpoint,
                self.project,
                log_filter,
                state.history,
                limit,
                label=job.label,
                counted=True,
            )
        except LogsUnavailable as exc:
            self._refused(exc)
            notes.update(_notes_of(exc))
            return LogPiece("", state.encode(), False, notes)
        self.budget.answered()
        if piece.at_end:  # all of it: go on with what was gathered
            following = _Position(job.generation, 0, None)
        else:
            following = _Position(job.generation, 0, None, history=piece.next_cursor)
        return LogPiece(piece.text, following.encode(), False, notes)

    # ----- gathering -----

    def _gather(self, key: str, job: _Job, wait: bool) -> None:
        """Read what is due of this job: its Cloud Logging entries (with the other due jobs',
        if the budget allows) and its other source's, each at most once an interval."""
        interval = self.settings.interval
        last = job.read_at if job.extra is None else min(job.read_at, job.extra_read_at)
        if self.clock() - last < interval:
            return
        if not self._gate.acquire(blocking=wait, timeout=60.0 if wait else -1):
            return  # another thread is reading now: serve what is known
        try:
            now = self.clock()
            if now - job.read_at >= interval:
                if self.endpoint:
                    self._read_logging(key, job, now)
                else:  # no Cloud Logging here: the other source only
                    with self._lock:
                        job.seeded = True
                        job.finish_read(now, datetime.now(UTC))
            if now - job.extra_read_at >= interval:
                self._read_extra(job, now)
        finally:
            self._gate.release()

    def _read_logging(self, key: str, job: _Job, now: float) -> None:
        if not self.budget.take(now):
            return
        self._note = ""
        tried = [job] if not job.seeded else self._due(now, also=job)
        try:
            if not job.seeded:
                self._seed(key, job, now)
            else:
                self._read_due(now)
        except LogsUnavailable as exc:
            wait_s = self._refused(exc)
            if not exc.rate_limited:
                self._continuation = None  # its page token may be what was refused
            for read in tried:  # the interval holds after a failure too
                read.read_at = now
                read.problem = "" if exc.rate_limited else str(exc)
            if exc.rate_limited:
                self._note = (
                    "Cloud Logging is limiting reads of the project (429 "
                    f"RESOURCE_EXHAUSTED): showing what was read; next read in {wait_s:.0f} s"
                )
            return
        self.budget.answered()

    def _seed(self, key: str, job: _Job, now: float) -> None:
        """A job's first read: its newest page of entries (newest first)."""
        wall = datetime.now(UTC)
        request = self._request(self._filter_of([key]), "timestamp desc")
        answer = _list(self.post, self.endpoint, request)
        entries = list(reversed(answer.get("entries", [])))
        origin = None
        if answer.get("nextPageToken") and entries:
            # Older entries exist: what is gathered begins after the oldest instant of this
            # page (some entries of that instant may be on the next page), the rest is read
            # directly by the followers that want it.
            origin = entries[0].get("timestamp", "")
        with self._lock:
            job.origin = origin
            job.seeded = True
            job.add(entries, self.settings.lines_kept, self.settings.ingestion_delay)
            job.finish_read(now, wall)

    def _read_due(self, now: float) -> None:
        """One request for the due jobs (or the next page of the last one)."""
        wall = datetime.now(UTC)
        if self._continuation is not None:
            request, keys = self._continuation
        else:
            due = self._due(now)[:BATCH_JOBS]
            keys = [j.key for j in due]
            terms = []
            for due_job in due:
                since = due_job.since(self.settings.ingestion_delay)
                at = f' AND timestamp>="{since}"' if since else ""
                terms.append(f'(resource.labels.job_id="{due_job.key}"{at})')
            request = self._request(
                f"{self.base_filter} AND ({' OR '.join(terms)})", "timestamp asc"
            )
        answer = _list(self.post, self.endpoint, request)
        token = answer.get("nextPageToken")
        self._continuation = ({**request, "pageToken": token}, keys) if token else None
        by_job: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
        for entry in answer.get("entries", []):
            owner = entry.get("resource", {}).get("labels", {}).get("job_id")
            if owner in by_job:
                by_job[owner].append(entry)
        with self._lock:
            for each in keys:
                job = self._jobs.get(each)
                if job is not None:
                    job.pending = bool(token)
                    job.add(by_job[each], self.settings.lines_kept, self.settings.ingestion_delay)
                    job.finish_read(now, wall)

    def _read_extra(self, job: _Job, now: float) -> None:
        """The job's entries from its other source, if it has one (its failures are noted)."""
        if job.extra is None:
            return
        wall = datetime.now(UTC)
        job.extra_read_at = now
        since = _minus(job.extra_newest, self.settings.ingestion_delay)
        try:
            gathered = job.extra(since)
        except Exception as exc:  # the source's API errors: say why, keep what is known
            job.extra_problem = str(exc)
            return
        with self._lock:
            job.extra_wall, job.extra_problem = wall, ""
            job.add_gathered(gathered, self.settings.lines_kept, self.settings.ingestion_delay)

    def _due(self, now: float, also: _Job | None = None) -> list[_Job]:
        """The jobs worth reading now: asked for since their last read, half an interval ago
        or more (so jobs whose reads fell out of step join one request from then on)."""
        with self._lock:
            due = [
                j
                for j in self._jobs.values()
                if j.seeded
                and j.followed_at >= j.read_at
                and now - j.read_at >= self.settings.interval / 2
            ]
        if also is not None and also not in due:
            due.append(also)
        return sorted(due, key=lambda j: j.read_at)

    def _forget(self, now: float) -> None:
        idle = self.settings.forget_after
        for key in [k for k, j in self._jobs.items() if now - j.followed_at > idle]:
            del self._jobs[key]

    def _refused(self, exc: LogsUnavailable) -> float:
        if not exc.rate_limited and exc.status and exc.status < 500:
            return 0.0  # a definite answer (a bad filter, a permission): waiting changes nothing
        return self.budget.refused(
            self.clock(), exc.retry_after, self.settings.backoff, self.settings.max_backoff
        )

    def _request(self, log_filter: str, order: str) -> dict[str, Any]:
        return {
            "resourceNames": [f"projects/{self.project}"],
            "filter": log_filter,
            "orderBy": order,
            "pageSize": MAX_PAGE_SIZE,
        }

    def _filter_of(self, keys: list[str]) -> str:
        return f'{self.base_filter} AND resource.labels.job_id="{keys[0]}"'


@dataclass
class _Position:
    """A follower's cursor: its position in what this process gathered of the job (`generation`
    names the process), the time of the line before it, and, while it reads the part of the log
    before what was gathered, its place there."""

    generation: str | None = None
    position: int = 0
    after: str | None = None
    history: str | None = None

    def encode(self) -> str:
        return _packed(
            {"g": self.generation, "n": self.position, "t": self.after, "h": self.history}
        )

    @classmethod
    def decode(cls, text: str | None) -> _Position:
        """The cursor in `text`; the beginning for none, or for one this module did not write."""
        try:
            data = _unpacked(text)
            return cls(str(data["g"]), int(data["n"]), data.get("t"), data.get("h"))
        except (ValueError, TypeError, KeyError):
            return cls()


def _packed(data: dict[str, Any]) -> str:
    """`data` as an opaque cursor: compact JSON in URL-safe base64."""
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unpacked(text: str | None) -> Any:
    """What `_packed` made `text` of (an empty dict for none); ValueError if it made none."""
    if not text:
        return {}
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _from(lines: deque[tuple[str, str]], start: int) -> Any:
    for index in range(start, len(lines)):
        yield lines[index]


def _joined(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second


def _notes_of(exc: LogsUnavailable) -> dict[str, str]:
    if exc.rate_limited:
        return {"note": "Cloud Logging is limiting reads of the project (429 RESOURCE_EXHAUSTED)"}
    return {"error": str(exc)}


# ----- direct reads (a log's older part) -----


@dataclass
class Cursor:
    after: str | None = None  # timestamp of the last entry returned
    seen: list[str] = field(default_factory=list)  # insert ids returned at that timestamp
    page: str | None = None  # page token continuing the query that began at `since`
    since: str | None = None

    def encode(self) -> str:
        return _packed(asdict(self))

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        """The cursor in `text`; the beginning for none, or for one this module did not write."""
        try:
            return cls(**_unpacked(text))
        except (ValueError, TypeError):
            return cls()


def read_entries(
    post: Post,
    endpoint: str,
    project: str,
    log_filter: str,
    cursor: str | None,
    limit: int,
    label: Label = lambda entry: "",
    counted: bool = False,
) -> LogPiece:
    """Up to about `limit` bytes of the entries matching `log_filter` after `cursor`, one line
    each, prefixed with `label(entry)`; one request (`counted`: the caller spent the budget)."""
    state = Cursor.decode(cursor)
    since = state.since if state.page else state.after
    request: dict[str, Any] = {
        "resourceNames": [f"projects/{project}"],
        "filter": log_filter + (f' AND timestamp>="{since}"' if since else ""),
        "orderBy": "timestamp asc",
        "pageSize": max(50, min(MAX_PAGE_SIZE, limit // 80)),
    }
    if state.page:
        request["pageToken"] = state.page
    answer = _list(post, endpoint, request)
    lines: list[str] = []
    size = 0
    after, seen = state.after, list(state.seen)
    whole_page = True
    for entry in answer.get("entries", []):
        stamp, insert_id = entry.get("timestamp", ""), entry.get("insertId", "")
        if state.after and (
            _order(stamp) < _order(state.after) or (stamp == state.after and insert_id in seen)
        ):
            continue  # returned by an earlier read
        line = label(entry) + entry_text(entry)
        if lines and size + len(line.encode()) > limit:
            whole_page = False
            break
        lines.append(line)
        size += len(line.encode())
        if stamp != after:
            after, seen = stamp, []
        seen.append(insert_id)
    token = answer.get("nextPageToken") if whole_page else None
    following = Cursor(after=after, seen=seen, page=token, since=since if token else None)
    return LogPiece("".join(lines), following.encode(), whole_page and not token)


def entry_text(entry: dict[str, Any]) -> str:
    """An entry as one line of text: its text payload, or its JSON payload's message."""
    if "textPayload" in entry:
        text = str(entry["textPayload"])
    elif isinstance(entry.get("jsonPayload"), dict):
        payload = entry["jsonPayload"]
        text = str(payload.get("message", json.dumps(payload, sort_keys=True)))
    else:
        text = ""
    return text if text.endswith("\n") else text + "\n"


def _list(post: Post, endpoint: str, request: dict[str, Any]) -> dict[str, Any]:
    url = endpoint.rstrip("/") + "/v2/entries:list"
    try:
        status, answer = post(url, request)
    except Exception as exc:  # requests' network errors, an expired credential's refresh
        raise LogsUnavailable(f"Cloud Logging could not be reached at {endpoint}: {exc}") from exc
    if status != 200:
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        message = error.get("message", "") if isinstance(error, dict) else ""
        raise LogsUnavailable(
            f"Cloud Logging answered {status}: {message}".rstrip(": "),
            status,
            _retry_delay(error),
        )
    return answer


def _retry_delay(error: Any) -> float | None:
    """The seconds an error's google.rpc.RetryInfo asks to wait, if it has one."""
    details = error.get("details", []) if isinstance(error, dict) else []
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and detail.get("@type") == RETRY_INFO:
            found = _DURATION.match(str(detail.get("retryDelay", "")))
            if found:
                return float(found.group(1))
    return None


def _order(stamp: str) -> tuple[str, int]:
    """A timestamp as (seconds part, nanoseconds), so stamps of any precision compare."""
    found = _FRACTION.search(stamp)
    if found is None:
        return stamp.removesuffix("Z"), 0
    return stamp[: found.start()], int(found.group(1).ljust(9, "0")[:9])


def _minus(stamp: str | None, seconds: float) -> str | None:
    """An RFC 3339 time `seconds` earlier (to the microsecond, rounded down)."""
    if not stamp:
        return None
    whole, nanos = _order(stamp)
    moment = datetime.fromisoformat(whole + "+00:00") + timedelta(microseconds=nanos // 1000)
    earlier = moment - timedelta(seconds=seconds)
    return earlier.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
