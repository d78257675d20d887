"""Google Cloud as the cloud backends reach it: credentials, project, clients (its errors are
`errors.py`'s).

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
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
# A failed look-up for credentials is not tried again sooner (it may ask the metadata server).
CREDENTIALS_RECHECK_SECONDS = 5.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


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
        return self.call_json("POST", url, body)

    def get_json(
        self, url: str, params: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """GET a Google REST API's resource (or a local stand-in's); (status, JSON answer)."""
        return self.call_json("GET", url, None, params)

    def call_json(
        self,
        method: str,
        url: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        timeout: float = 30,
    ) -> tuple[int, dict[str, Any]]:
        """Call a Google REST method directly, with the server's credentials (none for a local
        stand-in): for APIs whose client library has no REST transport, or no library here.
        Blocking; (status, JSON answer)."""
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))

        def make() -> Any:
            if local_http(origin):
                import requests

                return requests.Session()
            from google.auth.transport.requests import AuthorizedSession

            return AuthorizedSession(self.required_credentials())

        session = self.client(f"session {origin}", make)
        response = session.request(method, url, json=body, params=params, timeout=timeout)
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
