"""A cloud job's log, read from Cloud Logging piece by piece through an opaque cursor.

Entries are listed with the Logging API's REST method `entries:list` (oldest first), under a
filter naming the job's resource. The cursor remembers the last entry's timestamp and the ids of
the entries seen at that timestamp (Logging's page tokens only continue the query that made
them, so a later read starts a new query from the timestamp), and the page token while a query
still has pages. Any backend whose jobs log to Cloud Logging can read them this way.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_PAGE_SIZE = 1000  # the API's limit
_FRACTION = re.compile(r"\.(\d+)Z$")


class LogsUnavailable(Exception):
    """Cloud Logging could not be asked, or refused; the message says why."""


# (url, JSON body) -> (HTTP status, JSON answer); raises for a network failure.
Post = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]


@dataclass
class Cursor:
    after: str | None = None  # timestamp of the last entry returned
    seen: list[str] = field(default_factory=list)  # insert ids returned at that timestamp
    page: str | None = None  # page token continuing the query that began at `since`
    since: str | None = None

    def encode(self) -> str:
        if self.after is None and self.page is None:
            return ""
        raw = json.dumps(asdict(self), separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        """The cursor in `text`; the beginning for none, or for one this module did not write."""
        if not text:
            return cls()
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            return cls(**data)
        except (ValueError, TypeError):
            return cls()


@dataclass
class LogPiece:
    text: str
    next_cursor: str
    at_end: bool  # nothing more was there to read when this was read


def read_entries(
    post: Post,
    endpoint: str,
    project: str,
    log_filter: str,
    cursor: str | None,
    limit: int,
    tail: int | None = None,
    label: Callable[[dict[str, Any]], str] = lambda entry: "",
) -> LogPiece:
    """Up to about `limit` bytes of the entries matching `log_filter` after `cursor` (or about
    the last `tail` bytes), one line each, prefixed with `label(entry)`."""
    if tail is not None:
        return _read_tail(post, endpoint, project, log_filter, tail, label)
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


def _read_tail(
    post: Post,
    endpoint: str,
    project: str,
    log_filter: str,
    tail: int,
    label: Callable[[dict[str, Any]], str],
) -> LogPiece:
    """The newest whole entries that fit in `tail` bytes (at least one)."""
    request: dict[str, Any] = {
        "resourceNames": [f"projects/{project}"],
        "filter": log_filter,
        "orderBy": "timestamp desc",
        "pageSize": max(10, min(MAX_PAGE_SIZE, tail // 40)),
    }
    newest: list[dict[str, Any]] = []
    size = 0
    full = False
    while not full:
        answer = _list(post, endpoint, request)
        for entry in answer.get("entries", []):
            length = len((label(entry) + entry_text(entry)).encode())
            if newest and size + length > tail:
                full = True
                break
            newest.append(entry)
            size += length
        if not answer.get("nextPageToken"):
            break
        request["pageToken"] = answer["nextPageToken"]
    newest.reverse()
    last = newest[-1]["timestamp"] if newest else None
    seen = [e.get("insertId", "") for e in newest if e["timestamp"] == last]
    text = "".join(label(e) + entry_text(e) for e in newest)
    return LogPiece(text, Cursor(after=last, seen=seen).encode(), True)


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
        message = answer.get("error", {}).get("message", "") if isinstance(answer, dict) else ""
        raise LogsUnavailable(f"Cloud Logging answered {status}: {message}".rstrip(": "))
    return answer


def _order(stamp: str) -> tuple[str, int]:
    """A timestamp as (seconds part, nanoseconds), so stamps of any precision compare."""
    found = _FRACTION.search(stamp)
    if found is None:
        return stamp.removesuffix("Z"), 0
    return stamp[: found.start()], int(found.group(1).ljust(9, "0")[:9])
