"""Google Cloud as the cloud backends reach it: credentials, project, clients, retries, errors.

Credentials are Application Default Credentials, looked up when first needed; a failed look-up
is tried again when the files they come from change, and at most every few seconds otherwise, so
`gcloud auth application-default login` needs no restart. An endpoint that is a
plain-http loopback address is a local stand-in (an emulator, a test's fake) and is spoken to
without credentials, as Google's libraries do for their emulators; `STORAGE_EMULATOR_HOST` is
honoured by the storage library itself. Google's libraries are imported inside the functions
that use them, so importing this module costs nothing.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
CONSOLE = "https://console.cloud.google.com"
# A failed look-up for credentials is not tried again sooner (it may ask the metadata server).
CREDENTIALS_RECHECK_SECONDS = 5.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_PERMISSION = re.compile(r"[Pp]ermission '([^']+)' denied")
_QUOTA_METRIC = re.compile(r"exceed quota limits?: ?([\w./-]+)")


class GoogleCloud:
    """One project's credentials and clients, made once and shared between threads."""

    def __init__(self, project: str | None = None) -> None:
        self._project = project
        self._lock = threading.Lock()
        self._adc: tuple[Any, str | None] | Exception | None = None
        self._failed_at = 0.0
        self._failed_with: tuple[Any, ...] = ()
        self._clients: dict[str, Any] = {}

    def credentials(self) -> Any:
        """Application Default Credentials, or the exception saying why there are none.

        Found credentials are kept; a failure is looked for again once the credential files
        change, or after `CREDENTIALS_RECHECK_SECONDS`."""
        with self._lock:
            if self._adc is None or (isinstance(self._adc, Exception) and self._recheck()):
                import google.auth
                from google.auth.exceptions import DefaultCredentialsError

                files = _credential_files()
                try:
                    self._adc = google.auth.default(scopes=SCOPES)
                except DefaultCredentialsError as exc:
                    self._adc = exc
                    self._failed_at, self._failed_with = time.monotonic(), files
            return self._adc[0] if isinstance(self._adc, tuple) else self._adc

    def _recheck(self) -> bool:
        waited = time.monotonic() - self._failed_at >= CREDENTIALS_RECHECK_SECONDS
        return waited or _credential_files() != self._failed_with

    def has_credentials(self) -> bool:
        return not isinstance(self.credentials(), Exception)

    @staticmethod
    def credentials_may_exist() -> bool:
        """Whether Application Default Credentials could be found, judged without the network
        or Google's libraries: a key file named by GOOGLE_APPLICATION_CREDENTIALS, gcloud's
        application-default file, or a machine on Google Cloud (its metadata server)."""
        explicit = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if explicit:  # when set, it is the only place Google's libraries look
            return Path(explicit).is_file()
        if _gcloud_adc_file().is_file() or os.environ.get("GCE_METADATA_HOST"):
            return True
        try:
            product = Path("/sys/class/dmi/id/product_name").read_text(encoding="utf-8")
        except OSError:
            return False
        return product.startswith("Google")

    def project(self) -> str | None:
        """The configured project, else the one Application Default Credentials name."""
        if self._project:
            return self._project
        self.credentials()
        return self._adc[1] if isinstance(self._adc, tuple) else None

    def client(self, key: str, make: Any) -> Any:
        """The client cached under `key`, made by `make()` the first time."""
        with self._lock:
            found = self._clients.get(key)
        if found is not None:
            return found
        made = make()
        with self._lock:
            return self._clients.setdefault(key, made)

    def storage(self) -> Any:
        """A Cloud Storage client (the emulator's, without credentials, when
        STORAGE_EMULATOR_HOST names one)."""

        def make() -> Any:
            from google.cloud import storage  # type: ignore[attr-defined]

            emulated = bool(os.environ.get("STORAGE_EMULATOR_HOST"))
            credentials = None if emulated else self.required_credentials()
            return storage.Client(project=self.project(), credentials=credentials)

        return self.client("storage", make)

    def post_json(self, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST a JSON body to a Google REST API (or a local stand-in); (status, JSON answer)."""
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))

        def make() -> Any:
            if local_http(origin):
                import requests

                return requests.Session()
            from google.auth.transport.requests import AuthorizedSession

            return AuthorizedSession(self.required_credentials())

        response = self.client(f"session {origin}", make).post(url, json=body, timeout=30)
        try:
            answer = response.json()
        except ValueError:
            answer = {"error": {"message": response.text[:200]}}
        return response.status_code, answer

    def required_credentials(self) -> Any:
        """The credentials, or raise the error saying why there are none."""
        credentials = self.credentials()
        if isinstance(credentials, Exception):
            raise credentials
        return credentials


def _gcloud_adc_file() -> Path:
    """Where `gcloud auth application-default login` writes the credentials."""
    config = os.environ.get("CLOUDSDK_CONFIG")
    if config:
        return Path(config) / "application_default_credentials.json"
    if os.name == "nt":
        return Path(os.environ.get("APPDATA", "")) / "gcloud/application_default_credentials.json"
    return Path.home() / ".config/gcloud/application_default_credentials.json"


def _credential_files() -> tuple[Any, ...]:
    """What says whether the credential files changed: their names, times and sizes."""
    seen: list[Any] = []
    for name in (os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"), str(_gcloud_adc_file())):
        try:
            stat = os.stat(name) if name else None
        except OSError:
            stat = None
        seen.append((name, stat and (stat.st_mtime_ns, stat.st_size)))
    return tuple(seen)


def local_http(endpoint: str | None) -> bool:
    """A plain-http loopback address: a local stand-in, spoken to without credentials."""
    if not endpoint:
        return False
    url = urlsplit(endpoint)
    return url.scheme == "http" and (url.hostname or "") in _LOOPBACK


ErrorKind = Literal["rate_limit", "unavailable", "quota", "permission", "refused"]


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
    """What `exc`, raised by a Google client library call (or by `requests` under its REST
    transport, or a `RetryError` wrapping either), means: see `GoogleError`. Quota and rate
    limits are told apart by the error's `google.rpc.ErrorInfo` reason (RESOURCE_QUOTA_EXCEEDED
    or RATE_LIMIT_EXCEEDED) and, without one, by its quota limit and words."""
    from google.api_core import exceptions
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import Timeout

    while isinstance(exc, exceptions.RetryError) and exc.cause is not None:
        exc = exc.cause
    said = google_message(exc)
    if isinstance(exc, RequestsConnectionError | Timeout | exceptions.DeadlineExceeded):
        return GoogleError("unavailable", said)
    if not isinstance(exc, exceptions.GoogleAPICallError):
        return GoogleError("refused", said)
    code = exc.code if isinstance(exc.code, int) else 0
    reason = exc.reason or ""
    metadata = dict(exc.metadata or {})
    if isinstance(exc, exceptions.ResourceExhausted | exceptions.TooManyRequests) or code == 429:
        metric = metadata.get("quota_metric") or _quota_metric(exc, said)
        limit = metadata.get("quota_limit", "")
        rate = reason == "RATE_LIMIT_EXCEEDED" or re.search(r"[Pp]er ?(Second|Minute)", limit)
        if reason == "RESOURCE_QUOTA_EXCEEDED" or (metric and not rate and "exceed quota" in said):
            return GoogleError("quota", _quota_message(said, metric, project))
        return GoogleError("rate_limit", said)
    if code >= 500:
        return GoogleError("unavailable", said)
    if isinstance(exc, exceptions.PermissionDenied) or code == 403:
        return GoogleError("permission", _permission_message(said, reason, metadata, project))
    return GoogleError("refused", said)


def _quota_metric(exc: Any, said: str) -> str:
    """The quota metric a QuotaFailure detail or the message names, if any."""
    for detail in exc.details or []:
        for violation in detail.get("violations", []) if isinstance(detail, dict) else []:
            found = _QUOTA_METRIC.search(str(violation.get("description", "")))
            if found:
                return found.group(1)
    found = _QUOTA_METRIC.search(said)
    return found.group(1) if found else ""


def _quota_message(said: str, metric: str, project: str | None) -> str:
    where = f"{CONSOLE}/iam-admin/quotas" + (f"?project={quote(project)}" if project else "")
    if not metric:
        return f"{said}; see the project's quotas at {where} (IAM & Admin > Quotas)"
    link = f"{where}{'&' if project else '?'}metric={quote(metric, safe='')}"
    return (
        f"{said}; the quota '{metric}' is used up: ask for more at {link} "
        f"(IAM & Admin > Quotas, filtered on {metric}), or wait for running jobs to end"
    )


def _permission_message(
    said: str, reason: str, metadata: dict[str, str], project: str | None
) -> str:
    if reason == "SERVICE_DISABLED" and metadata.get("activationUrl"):
        return f"{said}; enable the API at {metadata['activationUrl']}"
    found = _PERMISSION.search(said)
    permission = metadata.get("permission") or (found.group(1) if found else "")
    where = f"{CONSOLE}/iam-admin/iam" + (f"?project={quote(project)}" if project else "")
    if not permission:
        return f"{said}; check the roles of the credentials' account at {where} (IAM & Admin > IAM)"
    return (
        f"{said}; the credentials' account lacks the permission '{permission}': grant it a role "
        f"that has it at {where} (IAM & Admin > IAM)"
    )


def transient(exc: BaseException) -> bool:
    """Errors worth retrying: rate limits, server errors, timeouts, dropped connections."""
    return classify(exc).retry


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
