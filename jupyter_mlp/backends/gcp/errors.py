"""Google's API errors: the facts of one, what they mean for whoever made the call, and the
words a person can act on.

The facts (`ErrorFacts`) are read from a raised error, or from the record of one that another
process made (Dataflow's submitting process records what its create met); one decision
(`ErrorFacts.kind`) says what they mean, on the HTTP code and the `google.rpc` details, never on
a message's words alone where Google says more. Google's libraries are imported inside the
functions that use them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import quote

CONSOLE = "https://console.cloud.google.com"
# ErrorInfo reasons (google/api/error_reason.proto) of a rate and of an allocation quota.
RATE_LIMIT_REASONS = {"RATE_LIMIT_EXCEEDED"}
QUOTA_REASONS = {"RESOURCE_QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"}
PER_RATE = re.compile(r"per[ _-]?(minute|second|100[ _-]?seconds)", re.IGNORECASE)
_QUOTA_WORDS = re.compile(r"exceed quota|quota exceeded", re.IGNORECASE)
_PERMISSION = re.compile(r"[Pp]ermission '?([a-z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9]+)+)'?")
_QUOTA_METRIC = re.compile(r"exceed quota limits?: ?([\w./-]+)")
RECORDED_MESSAGE_MAX = 2000

ErrorKind = Literal["rate_limit", "unavailable", "quota", "permission", "refused"]


@dataclass(frozen=True)
class ErrorFacts:
    """What a failed call met: whether an answer came, Google's HTTP `code` and gRPC `status`,
    the `google.rpc.ErrorInfo` reason and metadata, the RetryInfo delay in seconds, the quota
    violations' descriptions, and Google's words."""

    answered: bool = True
    code: int | None = None
    status: str | None = None
    reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    retry_delay: float | None = None
    violations: list[str] = field(default_factory=list)
    message: str = ""

    @classmethod
    def of(cls, exc: BaseException) -> ErrorFacts:
        """The facts of an error raised by a Google client library call (or by `requests`
        under its REST transport, or a `RetryError` wrapping either)."""
        from google.api_core import exceptions
        from requests.exceptions import ConnectionError as RequestsConnectionError
        from requests.exceptions import Timeout

        while isinstance(exc, exceptions.RetryError) and exc.cause is not None:
            exc = exc.cause
        said = google_message(exc)
        unanswered = RequestsConnectionError | Timeout | ConnectionError | TimeoutError
        if isinstance(exc, unanswered):
            return cls(answered=False, message=said)
        if not isinstance(exc, exceptions.GoogleAPICallError):
            return cls(message=said)
        delay, violations = _details(exc.details or [])
        return cls(
            code=None if exc.code is None else int(exc.code),
            status=getattr(exc.grpc_status_code, "name", None),
            reason=exc.reason,
            metadata=dict(exc.metadata or {}),
            retry_delay=delay,
            violations=violations,
            message=said,
        )

    @classmethod
    def of_record(cls, recorded: Any) -> ErrorFacts | None:
        """The facts `record` wrote; None for no record. A record without `answered` tells
        no answer by its missing code."""
        if not isinstance(recorded, dict):
            return None
        code = recorded.get("code")
        return cls(
            answered=bool(recorded.get("answered", code is not None)),
            code=code,
            status=recorded.get("status"),
            reason=recorded.get("reason"),
            metadata=dict(recorded.get("metadata") or {}),
            retry_delay=recorded.get("retry_delay"),
            violations=list(recorded.get("violations") or []),
            message=str(recorded.get("message") or ""),
        )

    def record(self) -> dict[str, Any]:
        """The facts as JSON, for another process to read with `of_record`."""
        return {**asdict(self), "message": self.message[:RECORDED_MESSAGE_MAX]}

    @property
    def kind(self) -> ErrorKind:
        """What the error means (see `GoogleError`)."""
        if not self.answered:
            return "unavailable"
        if self.code is None:
            return "refused"
        if self.code == 429 or self.status == "RESOURCE_EXHAUSTED":
            return "rate_limit" if self._rate_limited() else "quota"
        if self.code >= 500:
            return "unavailable"
        if self.code == 403:
            return "permission"
        return "refused"

    def _rate_limited(self) -> bool:
        # Both are RESOURCE_EXHAUSTED: ErrorInfo's reason tells them apart; without one, a
        # quota's limit per minute or second is a rate, any other quota used up an allocation.
        if self.reason in RATE_LIMIT_REASONS:
            return True
        if self.reason in QUOTA_REASONS:
            return False
        limit = " ".join([self.metadata.get("quota_limit", ""), *self.violations]).strip()
        if limit:
            return bool(PER_RATE.search(limit))
        return bool(PER_RATE.search(self.message)) or not _QUOTA_WORDS.search(self.message)

    def quota_metric(self) -> str:
        """The quota metric the metadata, a violation or the message names, if any."""
        if self.metadata.get("quota_metric"):
            return self.metadata["quota_metric"]
        for text in [*self.violations, self.message]:
            found = _QUOTA_METRIC.search(text)
            if found:
                return found.group(1)
        return ""

    def permission(self) -> str:
        """The IAM permission the metadata or the message names, if any."""
        found = _PERMISSION.search(self.message)
        return self.metadata.get("permission") or (found.group(1) if found else "")


def _details(details: list[Any]) -> tuple[float | None, list[str]]:
    """The RetryInfo delay and the QuotaFailure violations among an error's details (JSON
    over REST, protobuf messages over gRPC: both read as REST's JSON)."""
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import Message

    delay: float | None = None
    violations: list[str] = []
    for detail in details:
        if isinstance(detail, Message):
            detail = {"@type": detail.DESCRIPTOR.full_name, **MessageToDict(detail)}
        if not isinstance(detail, dict):
            continue
        kind = str(detail.get("@type", "")).rsplit("/", 1)[-1]
        if kind == "google.rpc.RetryInfo":
            said = str(detail.get("retryDelay", "")).rstrip("s")
            delay = float(said) if said.replace(".", "", 1).isdigit() else None
        elif kind == "google.rpc.QuotaFailure":
            violations += [
                str(v.get("description") or v.get("subject") or "")
                for v in detail.get("violations", [])
            ]
    return delay, violations


@dataclass(frozen=True)
class GoogleError:
    """What a failed call to a Google API means for whoever made it.

    `kind` is one of:
    - `rate_limit`: too many requests for a while (429 / RESOURCE_EXHAUSTED on a rate quota);
      the request was refused unprocessed: retry after a pause.
    - `unavailable`: a 5xx, a timeout or a dropped connection: retry; a call that changes
      something may or may not have taken effect (`outcome_unknown`).
    - `quota`: an allocation quota is used up (RESOURCE_EXHAUSTED on, say, a GPU quota):
      retrying within minutes cannot help; `message` names the quota and where to raise it.
    - `permission`: 403 PERMISSION_DENIED (a missing IAM permission, a disabled API);
      `message` names the permission and where to grant it.
    - `refused`: any other answer (a bad request, not found, ...): definite, do not retry.
    """

    kind: ErrorKind
    message: str

    @property
    def retry(self) -> bool:
        return self.kind in ("rate_limit", "unavailable")

    @property
    def outcome_unknown(self) -> bool:
        """The call may have taken effect although no answer said so."""
        return self.kind == "unavailable"


def classify(exc: BaseException, project: str | None = None) -> GoogleError:
    """What `exc`, raised by a Google client library call, means, in words naming the quota
    or the permission at fault and where to raise or grant it: see `GoogleError`."""
    return explain(ErrorFacts.of(exc), project)


def explain(facts: ErrorFacts, project: str | None = None) -> GoogleError:
    """What `facts` mean, in words a person can act on."""
    kind = facts.kind
    if kind == "quota":
        return GoogleError(kind, _quota_message(facts.message, facts.quota_metric(), project))
    if kind == "permission":
        return GoogleError(kind, _permission_message(facts, project))
    return GoogleError(kind, facts.message)


def _quota_message(said: str, metric: str, project: str | None) -> str:
    where = f"{CONSOLE}/iam-admin/quotas" + (f"?project={quote(project)}" if project else "")
    if not metric:
        return f"{said}; see the project's quotas at {where} (IAM & Admin > Quotas)"
    link = f"{where}{'&' if project else '?'}metric={quote(metric, safe='')}"
    return (
        f"{said}; the quota '{metric}' is used up: ask for more at {link} "
        f"(IAM & Admin > Quotas, filtered on {metric}), or wait for running jobs to end"
    )


def _permission_message(facts: ErrorFacts, project: str | None) -> str:
    said = facts.message
    if facts.reason == "SERVICE_DISABLED" and facts.metadata.get("activationUrl"):
        return f"{said}; enable the API at {facts.metadata['activationUrl']}"
    permission = facts.permission()
    where = f"{CONSOLE}/iam-admin/iam" + (f"?project={quote(project)}" if project else "")
    if not permission:
        return f"{said}; check the roles of the credentials' account at {where} (IAM & Admin > IAM)"
    return (
        f"{said}; the credentials' account lacks the permission '{permission}': grant it a role "
        f"that has it at {where} (IAM & Admin > IAM)"
    )


def transient(exc: BaseException) -> bool:
    """Errors worth retrying: rate limits, server errors, timeouts, dropped connections."""
    return ErrorFacts.of(exc).kind in ("rate_limit", "unavailable")


def retry(initial_delay: float, timeout: float) -> Any:
    """A `google.api_core` Retry of transient errors, backing off from `initial_delay`."""
    from google.api_core.retry import Retry

    return Retry(
        predicate=transient,
        initial=initial_delay,
        maximum=max(initial_delay, 10.0),
        multiplier=2.0,
        timeout=timeout,
    )


def google_message(exc: BaseException) -> str:
    """Google's own words for an API error (`STATUS: message`), without the request's URL."""
    response = getattr(exc, "response", None)
    try:
        error = response.json()["error"] if response is not None else None
    except Exception:  # not JSON, or not an API error's shape
        error = None
    if isinstance(error, dict) and error.get("message"):
        status = error.get("status") or getattr(exc, "code", "")
        return f"{status}: {error['message']}" if status else str(error["message"])
    return str(getattr(exc, "message", None) or exc)
