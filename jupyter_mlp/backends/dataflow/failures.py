"""Why Dataflow did not create a job, as the submitting process recorded it
(`etl.create_error`), and what that means: retry, give up, or say what to raise or grant."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .jobs import API, CONSOLE


@dataclass(frozen=True)
class CreateFailure:
    """What a failed create met (as the submission recorded it, `etl.create_error`), and
    what it means: retried only when Google marks the code retryable (a rate limit, a server
    error, no answer at all), matched on the code and the error's details, never on words."""

    code: int | None
    status: str | None
    reason: str | None
    metadata: dict[str, str]
    retry_delay: float | None
    violations: list[str]
    message: str

    @classmethod
    def of(cls, recorded: Any) -> CreateFailure | None:
        if not isinstance(recorded, dict):
            return None
        return cls(
            code=recorded.get("code"),
            status=recorded.get("status"),
            reason=recorded.get("reason"),
            metadata=dict(recorded.get("metadata") or {}),
            retry_delay=recorded.get("retry_delay"),
            violations=list(recorded.get("violations") or []),
            message=str(recorded.get("message") or ""),
        )

    @property
    def kind(self) -> str:
        """rate_limit, quota, permission, server (5xx), no_answer, or refused."""
        if self.code is None:
            return "no_answer"
        if self.code >= 500:
            return "server"
        if self.code == 403:
            return "permission"
        if self.code == 429:
            return "rate_limit" if self._rate_limited() else "quota"
        return "refused"

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limit", "server", "no_answer")

    @property
    def may_have_made_the_job(self) -> bool:
        """A create whose outcome is unknown: Dataflow may have made the job anyway."""
        return self.kind in ("server", "no_answer")

    def _rate_limited(self) -> bool:
        # Both are RESOURCE_EXHAUSTED: ErrorInfo's reason tells them apart; without one, a
        # quota's limit per minute or second is a rate, any other quota an allocation.
        if self.reason in RATE_LIMIT_REASONS:
            return True
        if self.reason in QUOTA_REASONS:
            return False
        limit = " ".join([self.metadata.get("quota_limit", ""), *self.violations])
        if not limit.strip() and "quota exceeded" not in self.message.lower():
            return True
        return bool(PER_RATE.search(limit or self.message))

    def explain(self, project: str) -> str:
        """A definite refusal in words a person can act on: the quota or the permission,
        and the console page where it is raised or granted."""
        if self.kind == "quota":
            quota = (
                self.metadata.get("quota_metric")
                or self.metadata.get("quota_limit")
                or "; ".join(v for v in self.violations if v)
                or self.message
            )
            return (
                f"Dataflow refused the job: quota exceeded: {quota}. Raise it at "
                f"{CONSOLE}/iam-admin/quotas?project={project} (Google says: {self.message})"
            )
        if self.kind == "permission" and self.reason == "SERVICE_DISABLED":
            link = self.metadata.get("activationUrl") or f"{CONSOLE}/apis/library/{API}"
            return f"Dataflow refused the job: the Dataflow API is not enabled. Enable it at {link}"
        if self.kind == "permission":
            permission = self.metadata.get("permission") or _permission(self.message)
            return (
                f"Dataflow refused the job: the credentials lack "
                f"{f'permission {permission}' if permission else 'a permission'}. Grant it "
                f"to the account submitting jobs at {CONSOLE}/iam-admin/iam?project={project} "
                f"(Google says: {self.message})"
            )
        return self.message


# ErrorInfo reasons (google/api/error_reason.proto) of a rate and of an allocation quota.
RATE_LIMIT_REASONS = {"RATE_LIMIT_EXCEEDED"}
QUOTA_REASONS = {"RESOURCE_QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"}
PER_RATE = re.compile(r"per[ _-]?(minute|second|100[ _-]?seconds)", re.IGNORECASE)
_PERMISSION = re.compile(r"[Pp]ermission '?([a-z]+\.[a-zA-Z]+\.[a-zA-Z]+)'?")


def _permission(message: str) -> str | None:
    found = _PERMISSION.search(message)
    return found.group(1) if found else None
