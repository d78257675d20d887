"""Google Cloud as the cloud backends reach it: credentials, project, clients, retries, errors.

Credentials are Application Default Credentials, looked up once. An endpoint that is a
plain-http loopback address is a local stand-in (an emulator, a test's fake) and is spoken to
without credentials, as Google's libraries do for their emulators; `STORAGE_EMULATOR_HOST` is
honoured by the storage library itself. Google's libraries are imported inside the functions
that use them, so importing this module costs nothing.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class GoogleCloud:
    """One project's credentials and clients, made once and shared between threads."""

    def __init__(self, project: str | None = None) -> None:
        self._project = project
        self._lock = threading.Lock()
        self._adc: tuple[Any, str | None] | Exception | None = None
        self._clients: dict[str, Any] = {}

    def credentials(self) -> Any:
        """Application Default Credentials, or the exception saying why there are none."""
        with self._lock:
            if self._adc is None:
                import google.auth
                from google.auth.exceptions import DefaultCredentialsError

                try:
                    self._adc = google.auth.default(scopes=SCOPES)
                except DefaultCredentialsError as exc:
                    self._adc = exc
            return self._adc[0] if isinstance(self._adc, tuple) else self._adc

    def has_credentials(self) -> bool:
        return not isinstance(self.credentials(), Exception)

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
            return storage.Client(
                project=self.project(), credentials=None if emulated else self._required()
            )

        return self.client("storage", make)

    def post_json(self, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST a JSON body to a Google REST API (or a local stand-in); (status, JSON answer)."""
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))

        def make() -> Any:
            if local_http(origin):
                import requests

                return requests.Session()
            from google.auth.transport.requests import AuthorizedSession

            return AuthorizedSession(self._required())

        response = self.client(f"session {origin}", make).post(url, json=body, timeout=30)
        try:
            answer = response.json()
        except ValueError:
            answer = {"error": {"message": response.text[:200]}}
        return response.status_code, answer

    def _required(self) -> Any:
        credentials = self.credentials()
        if isinstance(credentials, Exception):
            raise credentials
        return credentials


def local_http(endpoint: str | None) -> bool:
    """A plain-http loopback address: a local stand-in, spoken to without credentials."""
    if not endpoint:
        return False
    url = urlsplit(endpoint)
    return url.scheme == "http" and (url.hostname or "") in _LOOPBACK


def transient(exc: BaseException) -> bool:
    """Errors worth retrying: rate limits, server errors, timeouts, dropped connections."""
    from google.api_core import exceptions
    from requests.exceptions import ConnectionError as RequestsConnectionError

    return isinstance(
        exc,
        exceptions.TooManyRequests
        | exceptions.ResourceExhausted
        | exceptions.InternalServerError
        | exceptions.BadGateway
        | exceptions.ServiceUnavailable
        | exceptions.GatewayTimeout
        | exceptions.DeadlineExceeded
        | RequestsConnectionError,
    )


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
