"""A job bundle as an installable Python package, staged in Cloud Storage by content hash.

The package is a source distribution holding the bundle as the Python package `mlp_bundle`, so
the bundle's runner runs as `python -m mlp_bundle.runner` wherever pip installed it. It declares
the job's requirements (plus papermill and ipykernel for notebooks) as its dependencies, and it
builds with the standard-library backend shipped inside it (`package_backend.py`), so
installing it needs pip alone. The same bundle always gives the same bytes, named by their
SHA-256: an identical bundle is uploaded once. Vertex AI runs the package through a worker
pool's `python_package_spec`; Dataflow can ship it to its workers as an extra package.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from . import package_backend

PACKAGE = "mlp_bundle"
DISTRIBUTION = "mlp-bundle"
VERSION = "1.0"
RUNNER_MODULE = f"{PACKAGE}.runner"
NOTEBOOK_REQUIREMENTS = ("papermill", "ipykernel")
DEFAULT_PREFIX = "mlp/packages"
_BACKEND_MODULE = "mlp_package_backend"
_PYPROJECT = f"""\
[build-system]
requires = []
build-backend = "{_BACKEND_MODULE}"
backend-path = ["."]
"""


@dataclass(frozen=True)
class Package:
    """A staged-to-be source distribution: its bytes, their hash, what it installs."""

    data: bytes
    sha256: str
    requirements: tuple[str, ...]

    @property
    def filename(self) -> str:
        return f"{self.sha256}.tar.gz"

    @property
    def module(self) -> str:
        """The module that runs the job once the package is installed."""
        return RUNNER_MODULE


def package_requirements(manifest: dict[str, Any]) -> list[str]:
    """The package's dependencies: the job's requirements that are PEP 508 requirements (pip
    options and file paths in them are left to the runner), and papermill and ipykernel for
    notebook jobs."""
    listed: list[str] = []
    for line in manifest.get("requirements", []):
        try:
            Requirement(line)
        except InvalidRequirement:
            continue
        listed.append(line)
    if manifest.get("mode") == "notebook":
        named = {_name(line) for line in listed}
        listed += [r for r in NOTEBOOK_REQUIREMENTS if r not in named]
    return listed


def build_package(bundle: Path) -> Package:
    """The source distribution of a bundle folder; the same files always give the same bytes."""
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    requirements = package_requirements(manifest)
    top = f"{PACKAGE}-{VERSION}"
    files: dict[str, bytes] = {
        "PKG-INFO": _pkg_info(requirements).encode(),
        "pyproject.toml": _PYPROJECT.encode(),
        f"{_BACKEND_MODULE}.py": Path(package_backend.__file__).read_bytes(),
        f"{PACKAGE}/__init__.py": f'"""A jupyter-mlp job: python -m {RUNNER_MODULE}"""\n'.encode(),
    }
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[f"{PACKAGE}/{path.relative_to(bundle).as_posix()}"] = path.read_bytes()
    data = _targz({f"{top}/{name}": content for name, content in files.items()})
    return Package(
        data=data, sha256=hashlib.sha256(data).hexdigest(), requirements=tuple(requirements)
    )


def upload_package(
    package: Package, bucket: str, client: Any, prefix: str = DEFAULT_PREFIX
) -> tuple[str, bool]:
    """Put the package at `gs://<bucket>/<prefix>/<sha256>.tar.gz` unless it is there already.

    `client` is a `google.cloud.storage.Client`. Returns the package's URI and whether it was
    uploaded now. Raises the storage client's errors (no bucket, no permission)."""
    from google.api_core.exceptions import PreconditionFailed

    name = f"{prefix.strip('/')}/{package.filename}"
    blob = client.bucket(bucket).blob(name)
    uri = f"gs://{bucket}/{name}"
    if blob.exists():
        return uri, False
    try:
        # Only if no object has that name (generation 0): a concurrent upload of the same
        # package wins, and its bytes are ours anyway.
        blob.upload_from_string(
            package.data, content_type="application/gzip", if_generation_match=0
        )
    except PreconditionFailed:
        return uri, False
    return uri, True


def _pkg_info(requirements: list[str]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {DISTRIBUTION}",
        f"Version: {VERSION}",
        "Summary: A jupyter-mlp job bundle",
        *(f"Requires-Dist: {r}" for r in requirements),
    ]
    return "\n".join(lines) + "\n"


def _name(requirement: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(Requirement(requirement).name)


def _targz(files: dict[str, bytes]) -> bytes:
    """A gzipped tarball of `files`: sorted entries, no times, no owners, fixed modes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(files):
                info = tarfile.TarInfo(name)
                info.size = len(files[name])
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()
