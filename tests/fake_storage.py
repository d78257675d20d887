"""Cloud Storage on 127.0.0.1: the `gcp-storage-emulator` package from PyPI, in memory.

`google-cloud-storage` talks to it when `STORAGE_EMULATOR_HOST` names it. The requests it
served are recorded (from its own request log), so a test can count the uploads it received.
"""

from __future__ import annotations

import logging
import socket

from gcp_storage_emulator.server import create_server


class StorageEmulator:
    """The emulator with one bucket, serving from a thread while the `with` block runs."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        with socket.socket() as probe:  # the emulator takes a port number, not 0
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = create_server("127.0.0.1", self.port, in_memory=True, default_bucket=bucket)
        # Its serving thread must not keep a process alive that never stopped it (a Jupyter
        # server given the emulator by its config file, for the UI tests).
        self.server._api.daemon = True
        self.requests: list[str] = []
        recorder = self

        class Recorder(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                recorder.requests.append(record.getMessage())

        self._handler = Recorder(level=logging.INFO)
        self._logger = logging.getLogger("gcp_storage_emulator.server")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Empty the bucket and forget the requests served (between tests)."""
        self.server.wipe(keep_buckets=True)
        self.requests.clear()

    def uploads(self) -> int:
        """How many object uploads it received."""
        return sum(1 for line in self.requests if '"POST /upload/' in line)

    def __enter__(self) -> StorageEmulator:
        self._level = self._logger.level
        self._logger.setLevel(logging.INFO)
        self._logger.addHandler(self._handler)
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)
