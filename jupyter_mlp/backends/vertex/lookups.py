"""What a Vertex AI job's options name elsewhere in Google Cloud, looked up over REST: a
project's number (Resource Manager v3 `projects.get`) and Compute Engine reservations.

The launch form checks a spec often, so answers are kept for `ttl` seconds (a look-up that
could not be made for a tenth of that). Each call blocks: callers run in a worker thread, as
`normalize` and `validate` do. A look-up that cannot be made (no credentials, no permission,
unreachable) raises `CannotLook`, which never blocks a job on its own: Vertex AI judges then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..gcp.service import GoogleCloud

# Most pages of the aggregated reservations list read (500 reservations each).
MAX_PAGES = 20
# Seconds one look waits: a check of the launch form should not hang on an unanswering API.
LOOK_TIMEOUT = 10.0


class CannotLook(Exception):
    """A look-up that could not be made: the reason, in Google's words where it gave any."""


class LookupCache:
    """Answers (and failures to look) by key, each for a while; shared between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, ...], tuple[float, Any]] = {}

    def get(self, key: tuple[str, ...], ttl: float, look: Callable[[], Any]) -> Any:
        """The answer under `key`, looked up by `look()` when absent or stale; a `CannotLook`
        is kept (and raised again) for a tenth of `ttl`."""
        now = time.monotonic()
        with self._lock:
            held = self._held.get(key)
        if held is not None:
            until, answer = held
            if now < until:
                if isinstance(answer, CannotLook):
                    raise answer
                return answer
        try:
            answer = look()
        except CannotLook as exc:
            with self._lock:
                self._held[key] = (now + ttl / 10, exc)
            raise
        with self._lock:
            self._held[key] = (now + ttl, answer)
        return answer


class CloudLookups:
    """Resource Manager and Compute Engine, read with the server's credentials."""

    def __init__(
        self,
        cloud: GoogleCloud,
        resource_manager_endpoint: str,
        compute_endpoint: str,
        cache: LookupCache,
        ttl: float,
    ) -> None:
        self.cloud = cloud
        self.resource_manager = resource_manager_endpoint.rstrip("/")
        self.compute = compute_endpoint.rstrip("/")
        self.cache, self.ttl = cache, ttl

    def project_number(self, project: str) -> str:
        """The number of the project with id `project`. Resource Manager answers 403 both for
        a project that does not exist and one the caller may not see: neither is known."""
        url = f"{self.resource_manager}/v3/projects/{project}"

        def look() -> str:
            found = self._get(url, f"the number of project {project}")
            if found is None:
                raise CannotLook(f"Resource Manager does not know project {project}")
            return str(found.get("name", "")).removeprefix("projects/")

        answer: str = self.cache.get(("number", url), self.ttl, look)
        return answer

    def reservation(self, full_name: str) -> dict[str, Any] | None:
        """The reservation `projects/P/zones/Z/reservations/N`; None if there is none."""
        url = f"{self.compute}/compute/v1/{full_name}"
        found: dict[str, Any] | None = self.cache.get(
            ("reservation", url), self.ttl, lambda: self._get(url, f"reservation {full_name}")
        )
        return found

    def reservations_in(self, project: str, region: str) -> dict[str, list[dict[str, Any]]]:
        """The project's reservations in each zone of `region` (zones with none left out)."""
        url = f"{self.compute}/compute/v1/projects/{project}/aggregated/reservations"
        listed: dict[str, list[dict[str, Any]]] = self.cache.get(
            ("reservations", url), self.ttl, lambda: self._all_reservations(url, project)
        )
        return {zone: held for zone, held in listed.items() if zone.startswith(f"{region}-")}

    def _all_reservations(self, url: str, project: str) -> dict[str, list[dict[str, Any]]]:
        zones: dict[str, list[dict[str, Any]]] = {}
        params: dict[str, Any] = {"maxResults": 500}
        for _ in range(MAX_PAGES):
            page = self._get(url, f"the reservations of project {project}", params)
            if page is None:
                raise CannotLook(f"Compute Engine does not know project {project}")
            for scope, held in page.get("items", {}).items():
                if held.get("reservations"):
                    zones.setdefault(scope.removeprefix("zones/"), []).extend(held["reservations"])
            if not page.get("nextPageToken"):
                break
            params = {**params, "pageToken": page["nextPageToken"]}
        return zones

    def _get(
        self, url: str, what: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The resource at `url`; None when the API says it does not exist (404)."""
        try:
            status, answer = self.cloud.call_json("GET", url, None, params, LOOK_TIMEOUT)
        except Exception as exc:  # no credentials, refused or dropped connections, timeouts
            raise CannotLook(f"could not look up {what}: {exc}") from exc
        if status == 200:
            return answer
        if status == 404:
            return None
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        said = error.get("message") or f"HTTP {status}"
        status_name = error.get("status")
        raise CannotLook(
            f"could not look up {what}: {status_name + ': ' if status_name else ''}{said}"
        )
