"""Why Dataflow did not create a job, in words a person can act on: the quota or the
permission at fault, and the console page where it is raised or granted. What the error
means (retry, give up, refuse) is `gcp/errors.py`'s one decision, on the facts the submitting
process recorded (`etl.create_error`)."""

from __future__ import annotations

from ..gcp.errors import ErrorFacts
from .jobs import API, CONSOLE


def refusal(facts: ErrorFacts, project: str) -> str:
    """A definite refusal (a quota, a permission) of a job's creation, explained."""
    if facts.kind == "quota":
        quota = (
            facts.metadata.get("quota_metric")
            or facts.metadata.get("quota_limit")
            or "; ".join(v for v in facts.violations if v)
            or facts.message
        )
        return (
            f"Dataflow refused the job: quota exceeded: {quota}. Raise it at "
            f"{CONSOLE}/iam-admin/quotas?project={project} (Google says: {facts.message})"
        )
    if facts.kind == "permission" and facts.reason == "SERVICE_DISABLED":
        link = facts.metadata.get("activationUrl") or f"{CONSOLE}/apis/library/{API}"
        return f"Dataflow refused the job: the Dataflow API is not enabled. Enable it at {link}"
    if facts.kind == "permission":
        permission = facts.permission()
        return (
            f"Dataflow refused the job: the credentials lack "
            f"{f'permission {permission}' if permission else 'a permission'}. Grant it "
            f"to the account submitting jobs at {CONSOLE}/iam-admin/iam?project={project} "
            f"(Google says: {facts.message})"
        )
    return facts.message
