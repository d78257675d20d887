"""Turning a JobSpec into a self-contained job bundle, and the folder a job's files live in.

A bundle holds the source (a script, or a notebook with its parameters), the files included
next to it, a `manifest.json`, the requirements, and a copy of the standalone runner
(`runner.py`: stdlib, plus papermill for notebooks). It runs the same wherever it is unpacked
and never needs this package, or the internet, to find its own code.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import notebooks, runner
from .models import FieldError, JobSpec, MLPError

MANIFEST_VERSION = 1
RUNNABLE_SUFFIXES = (".py", ".ipynb")
DEFAULT_MAX_INCLUDE_BYTES = 100 * 2**20
_MAGIC_LINE = re.compile(r"^\s*[%!]", re.MULTILINE)


@dataclass(frozen=True)
class JobFolder:
    """One folder per job under the jobs dir: visible outputs, bookkeeping hidden in `.mlp/`."""

    path: Path

    @property
    def log(self) -> Path:
        return self.path / "job.log"

    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tensorboard"

    @property
    def meta(self) -> Path:
        return self.path / ".mlp"

    @property
    def bundle(self) -> Path:
        return self.meta / "bundle"

    @property
    def status_file(self) -> Path:
        """Written by the runner inside the job: its phase and, at the end, the exit status."""
        return self.meta / "status.json"

    def create(self) -> None:
        for folder in (self.model_dir, self.checkpoint_dir, self.tensorboard_dir, self.bundle):
            folder.mkdir(parents=True, exist_ok=True)
        self.log.touch()

    def read_status(self) -> dict[str, Any]:
        """The runner's last status record; empty when it wrote none (or a torn one)."""
        try:
            data = json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


@dataclass
class SourcePlan:
    """What a spec's source becomes in a bundle, worked out before anything is written."""

    mode: str  # "script" or "notebook"
    entrypoint: str
    text: str | None = None  # the entrypoint's content when generated (inline code, script mode)
    source_file: Path | None = None  # copied as the entrypoint otherwise
    notebook: notebooks.NotebookInfo | None = None
    ipython: bool = False
    requirements: list[str] = field(default_factory=list)
    includes: dict[str, Path] = field(default_factory=dict)  # bundle path -> file


def resolve_source_path(root_dir: Path, path: str, field_name: str = "source.path") -> Path:
    """The absolute file for a path relative to the root dir, refusing anything outside it."""
    candidate = Path(path)
    if candidate.is_absolute():
        raise MLPError.invalid(field_name, f"'{path}' must be relative to the Jupyter root dir")
    resolved = (root_dir / candidate).resolve()
    if not resolved.is_relative_to(root_dir.resolve()):
        raise MLPError.invalid(field_name, f"'{path}' is outside the Jupyter root dir")
    if not resolved.is_file():
        raise MLPError.invalid(field_name, f"no file '{path}' under the Jupyter root dir")
    return resolved


def plan_source(
    spec: JobSpec, root_dir: Path, max_include_bytes: int = DEFAULT_MAX_INCLUDE_BYTES
) -> SourcePlan:
    """Read the spec's source and work out the bundle's content; MLPError names what is wrong."""
    if spec.source.code is not None:
        # Inline code gets its parameters as variables at the top, as papermill would inject them.
        code = (
            notebooks.parameters_code(spec.parameters) if spec.parameters else ""
        ) + spec.source.code
        ipython = bool(_MAGIC_LINE.search(code))
        if ipython:
            from IPython.core.inputtransformer2 import TransformerManager

            code = TransformerManager().transform_cell(code)
        plan = SourcePlan(mode="script", entrypoint="main.py", text=code, ipython=ipython)
        return _with_requirements(plan, spec, root_dir)
    assert spec.source.path is not None
    source = resolve_source_path(root_dir, spec.source.path)
    if source.suffix not in RUNNABLE_SUFFIXES:
        raise MLPError.invalid(
            "source.path",
            f"'{spec.source.path}' is not a runnable file; "
            f"expected one of: {', '.join(RUNNABLE_SUFFIXES)}",
        )
    if source.suffix == ".py":
        if spec.source.mode == "notebook":
            raise MLPError.invalid("source.mode", "a .py file runs as a script; use mode 'script'")
        plan = SourcePlan(mode="script", entrypoint=source.name, source_file=source)
    else:
        plan = _plan_notebook(spec, source)
    plan.includes = _includes(spec, source.parent, root_dir, max_include_bytes)
    return _with_requirements(plan, spec, root_dir)


def _plan_notebook(spec: JobSpec, source: Path) -> SourcePlan:
    try:
        nb = notebooks.read_notebook(source)
    except Exception as exc:  # nbformat raises many kinds for a damaged file
        raise MLPError.invalid(
            "source.path", f"'{spec.source.path}' is not a readable notebook: {exc}"
        ) from None
    info = notebooks.inspect_notebook(nb)
    mode = spec.source.mode or "notebook"
    if mode == "script":
        if info.language != "python":
            raise MLPError.invalid(
                "source.mode", f"script mode converts Python notebooks; this one is {info.language}"
            )
        text = notebooks.to_script(nb, spec.parameters)
        return SourcePlan(
            mode="script",
            entrypoint=f"{source.stem}.py",
            text=text,
            notebook=info,
            ipython=bool(info.magic_cells),
            requirements=list(info.requirements),
        )
    return SourcePlan(
        mode="notebook",
        entrypoint=source.name,
        text=json.dumps(notebooks.job_notebook(nb), indent=1, sort_keys=True, ensure_ascii=False),
        notebook=info,
        requirements=list(info.requirements),
    )


def _with_requirements(plan: SourcePlan, spec: JobSpec, root_dir: Path) -> SourcePlan:
    """The job's requirements: those the spec gives, which are the whole list when given;
    else the `%pip install` packages found in the notebook."""
    if "requirements" not in spec.model_fields_set:
        return plan
    listed = spec.requirements
    if isinstance(listed, str):
        path = resolve_source_path(root_dir, listed, "requirements")
        listed = [
            line.strip()
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
    plan.requirements = list(dict.fromkeys(listed))
    return plan


def _includes(spec: JobSpec, base: Path, root_dir: Path, limit: int) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for pattern in spec.source.include:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise MLPError.invalid(
                "source.include", f"'{pattern}' must stay inside the source's folder"
            )
        matches = [p for p in sorted(base.glob(pattern)) if p.is_file() and ".mlp" not in p.parts]
        if not matches:
            raise MLPError.invalid(
                "source.include", f"'{pattern}' matches no file next to the source"
            )
        for match in matches:
            if match.resolve().is_relative_to(root_dir.resolve()):
                files[match.relative_to(base).as_posix()] = match
    total = sum(p.stat().st_size for p in files.values())
    if total > limit:
        biggest = sorted(files.items(), key=lambda item: -item[1].stat().st_size)[:3]
        named = ", ".join(
            f"{name} ({path.stat().st_size / 2**20:.1f} MB)" for name, path in biggest
        )
        raise MLPError.invalid(
            "source.include",
            f"included files total {total / 2**20:.1f} MB, over the {limit / 2**20:.0f} MB limit; "
            f"largest: {named}. Put large data in storage and read it from the job.",
        )
    return files


def build_bundle(spec: JobSpec, plan: SourcePlan, dest: Path) -> dict[str, Any]:
    """Write the bundle for a planned spec into `dest`; return its manifest."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, path in plan.includes.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest / name)
    if plan.text is not None:
        (dest / plan.entrypoint).write_text(plan.text, encoding="utf-8")
    elif plan.source_file is not None:
        shutil.copyfile(plan.source_file, dest / plan.entrypoint)
    shutil.copyfile(runner.__file__, dest / "runner.py")
    (dest / "requirements.txt").write_text("".join(f"{r}\n" for r in plan.requirements))
    manifest: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "kind": spec.kind.value,
        "mode": plan.mode,
        "entrypoint": plan.entrypoint,
        "ipython": plan.ipython,
        "args": list(spec.args),
        "parameters": spec.parameters,
        "requirements": plan.requirements,
        "includes": sorted(plan.includes),
    }
    if plan.mode == "notebook":
        assert plan.notebook is not None
        manifest["kernel_name"] = plan.notebook.kernel_name
        manifest["output_notebook"] = executed_name(plan.entrypoint)
    elif plan.source_file is not None:
        # Scripts get parameters as `--name=value`, the convention Vertex AI uses for
        # hyperparameters; non-string values are JSON so a script can parse them back.
        manifest["args"] += [
            f"--{key}={value if isinstance(value, str) else json.dumps(value)}"
            for key, value in spec.parameters.items()
        ]
    manifest["files"] = [
        {
            "path": path.relative_to(dest).as_posix(),
            "size": path.stat().st_size,
            "sha256": _sha256(path),
        }
        for path in sorted(dest.rglob("*"))
        if path.is_file() and path.name != "manifest.json"
    ]
    (dest / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
    )
    return manifest


def executed_name(notebook: str) -> str:
    return f"{Path(notebook).stem}.executed.ipynb"


def pack_bundle(bundle: Path) -> bytes:
    """A gzipped tarball of the bundle; the same files always give the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(bundle.rglob("*")):
                if not path.is_file():
                    continue
                info = tarfile.TarInfo(path.relative_to(bundle).as_posix())
                info.size = path.stat().st_size
                info.mode = 0o644
                info.mtime = 0
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
    return buffer.getvalue()


def notebook_errors(
    plan: SourcePlan, parameters: dict[str, Any], kernels: list[str]
) -> list[FieldError]:
    """Problems only a notebook source has: an unknown kernel, parameters that are not names."""
    errors: list[FieldError] = []
    if plan.notebook is None:
        return errors
    if plan.mode == "notebook" and plan.notebook.kernel_name not in kernels:
        errors.append(
            FieldError(
                field="source.path",
                message=f"the notebook's kernel '{plan.notebook.kernel_name}' is not installed "
                f"here; installed kernels: {', '.join(sorted(kernels)) or 'none'}",
                suggestions=sorted(kernels),
            )
        )
    for name in parameters:
        if not name.isidentifier():
            errors.append(
                FieldError(field=f"parameters.{name}", message=f"'{name}' is not a Python name")
            )
    return errors


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
