"""The build backend inside every package jupyter-mlp stages for the cloud (PEP 517).

`staging.py` copies this file into each source distribution it makes, next to a
`pyproject.toml` that names it with `backend-path = ["."]`. It needs only the standard library,
so `pip install` of a job's package builds it without downloading anything, not even
setuptools: a job in a network without PyPI still starts. It turns the package folder and the
`PKG-INFO` beside it into a pure-Python wheel.

Run by pip inside the job's container, on whatever Python that has: keep it to Python 3.8.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def _metadata() -> tuple[str, str, str]:
    """The package's core metadata (PKG-INFO) as text, and its name and version."""
    text = Path("PKG-INFO").read_text(encoding="utf-8")
    headers = HeaderParser().parsestr(text)
    return text, headers["Name"], headers["Version"]


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    return []


def get_requires_for_build_sdist(config_settings: dict[str, Any] | None = None) -> list[str]:
    return []


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """Write the wheel into `wheel_directory`; return its file name."""
    text, name, version = _metadata()
    stem = name.replace("-", "_")
    dist_info = stem + "-" + version + ".dist-info"
    wheel_name = stem + "-" + version + "-py3-none-any.whl"
    record = io.StringIO()
    rows = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w") as wheel:

        def add(arcname: str, data: bytes) -> None:
            info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            rows.writerow([arcname, "sha256=" + digest.decode("ascii"), str(len(data))])

        for path in sorted(Path(stem).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                add(path.as_posix(), path.read_bytes())
        # The user's files import each other by their own names wherever the package is
        # installed (a Dataflow worker unpickling a pipeline's functions, too).
        add(stem + ".pth", f"{stem}/src\n".encode())
        add(dist_info + "/METADATA", text.encode("utf-8"))
        wheel_file = "Wheel-Version: 1.0\nGenerator: mlp-package-backend\n"
        add(
            dist_info + "/WHEEL",
            (wheel_file + "Root-Is-Purelib: true\nTag: py3-none-any\n").encode(),
        )
        rows.writerow([dist_info + "/RECORD", "", ""])
        info = zipfile.ZipInfo(dist_info + "/RECORD", date_time=_EPOCH)
        info.external_attr = 0o644 << 16
        wheel.writestr(info, record.getvalue())
    return wheel_name


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    """Pack this source tree again as a source distribution; return its file name."""
    _, name, version = _metadata()
    top = name.replace("-", "_") + "-" + version
    sdist_name = top + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, sdist_name), "w:gz") as sdist:
        for path in sorted(Path(".").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                sdist.add(str(path), arcname=top + "/" + path.as_posix())
    return sdist_name
