"""Turning a JobSpec into a self-contained job bundle, and the folder a job's files live in.

A bundle holds its own files at its top level: a `manifest.json`, the `requirements.txt` and a
copy of the standalone runner (`runner.py`: stdlib, plus papermill for notebooks) and of
`jupyter_mlp.report` (`mlp_report/jupyter_mlp/`, for jobs without jupyter-mlp); and the user's
files under `src/`: the source (a script, or a notebook with its parameters) and the files
included next to it, at their paths relative to the source's folder. So a user's file may have
any name. A bundle runs the same wherever it is unpacked and never needs this package, or the
internet, to find its own code.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..core.models import FieldError, JobKind, JobSpec, MLPError, as_argument
from . import notebooks, runner

# `jupyter_mlp.report`'s file (standard library only), which every bundle ships.
REPORT_SOURCE = Path(__file__).resolve().parent.parent / "report.py"

MANIFEST_VERSION = 2
RUNNABLE_SUFFIXES = (".py", ".ipynb")
DEFAULT_MAX_INCLUDE_BYTES = 100 * 2**20
MAX_INCLUDED_FILES = 10_000
_MAGIC = re.compile(r"[*?[]")
_MAGIC_LINE = re.compile(r"^\s*[%!]", re.MULTILINE)
# pip's requirements file syntax: a comment starts a line or follows whitespace (so a URL's
# `#fragment` stays), and `-r FILE` / `--requirement FILE` names another file.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_NESTED_FILE = re.compile(r"^(?:-r|--requirement)(?:\s*=\s*|\s+|(?<=-r))(?P<path>\S.*)$")


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
    entrypoint: str  # relative to the bundle's source folder, like the includes
    text: str | None = None  # the entrypoint's content when generated (inline code, script mode)
    source_file: Path | None = None  # copied as the entrypoint otherwise
    notebook: notebooks.NotebookInfo | None = None
    ipython: bool = False
    requirements: list[str] = field(default_factory=list)
    includes: dict[str, Path] = field(default_factory=dict)  # path in the source folder -> file
    # Notebook mode: the index in the user's notebook of each cell the job notebook keeps.
    source_cells: list[int] = field(default_factory=list)
    # The spec's parameters as the source's defaults declare them (`as_declared`).
    parameters: dict[str, Any] | None = None


def resolve_source_path(root_dir: Path, path: str, field_name: str = "source.path") -> Path:
    """The absolute file for a path relative to the root dir, refusing anything outside it."""
    if "\0" in path:
        raise MLPError.invalid(field_name, f"{path!r} contains a NUL character")
    candidate = Path(path)
    if candidate.is_absolute():
        raise MLPError.invalid(field_name, f"'{path}' must be relative to the Jupyter root dir")
    try:
        resolved = (root_dir / candidate).resolve()
        inside = resolved.is_relative_to(root_dir.resolve())
        found = inside and resolved.is_file()
    except (OSError, RuntimeError) as exc:  # a name too long; a link loop
        raise MLPError.invalid(field_name, f"'{path}' cannot be opened: {exc}") from None
    if not inside:
        raise MLPError.invalid(field_name, f"'{path}' is outside the Jupyter root dir")
    if not found:
        raise MLPError.invalid(field_name, f"no file '{path}' under the Jupyter root dir")
    return resolved


def plan_source(
    spec: JobSpec, root_dir: Path, max_include_bytes: int = DEFAULT_MAX_INCLUDE_BYTES
) -> SourcePlan:
    """Read the spec's source and work out the bundle's content; MLPError names what is wrong."""
    if spec.source.code is not None:
        # Inline code gets its parameters as variables, as papermill would inject them: on its
        # PARAMETERS_MARK line (after its own defaults), else at the top.
        trial_names = _trial_names(spec)
        parameters = notebooks.as_declared(
            spec.parameters, notebooks.declared_before_mark(spec.source.code)
        )
        injected = (
            notebooks.parameters_code(parameters, trial_names) if parameters or trial_names else ""
        )
        code = notebooks.with_parameters(spec.source.code, injected)
        ipython = bool(_MAGIC_LINE.search(code))
        if ipython:
            from IPython.core.inputtransformer2 import TransformerManager

            code = TransformerManager().transform_cell(code)
        plan = SourcePlan(
            mode="script", entrypoint="main.py", text=code, ipython=ipython, parameters=parameters
        )
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
    parameters = notebooks.as_declared(spec.parameters, info.parameters)
    # A pipeline takes its options on the command line, which a kernel has not: an ETL
    # notebook runs as a script unless its spec says otherwise.
    mode = spec.source.mode or ("script" if spec.kind is JobKind.ETL else "notebook")
    if mode == "script":
        if info.language != "python":
            raise MLPError.invalid(
                "source.mode", f"script mode converts Python notebooks; this one is {info.language}"
            )
        text = notebooks.to_script(nb, parameters, _trial_names(spec))
        return SourcePlan(
            mode="script",
            entrypoint=f"{source.stem}.py",
            text=text,
            notebook=info,
            ipython=bool(info.magic_cells),
            requirements=list(info.requirements),
            parameters=parameters,
        )
    return SourcePlan(
        mode="notebook",
        entrypoint=source.name,
        text=json.dumps(notebooks.job_notebook(nb), indent=1, sort_keys=True, ensure_ascii=False),
        notebook=info,
        requirements=list(info.requirements),
        source_cells=notebooks.job_cell_indices(nb),
        parameters=parameters,
    )


def _trial_names(spec: JobSpec) -> list[str]:
    """A sweep's searched parameters: code generated from inline code or a notebook reads them
    from the `--name=value` arguments a Vertex AI trial gets (a local trial is a job with
    its values as plain parameters)."""
    return [p.name for p in spec.sweep.parameters] if spec.sweep else []


def _with_requirements(plan: SourcePlan, spec: JobSpec, root_dir: Path) -> SourcePlan:
    """The job's requirements: those the spec gives, which are the whole list when given;
    else the `%pip install` packages found in the notebook. Only requirements reach pip, never
    its options (see `notebooks.requirement_problem`)."""
    if "requirements" not in spec.model_fields_set:
        return plan
    if isinstance(spec.requirements, str):
        path = resolve_source_path(root_dir, spec.requirements, "requirements")
        listed = _requirements_file(path, root_dir.resolve(), ())
    else:
        listed = spec.requirements
        for index, entry in enumerate(listed):
            problem = notebooks.requirement_problem(entry)
            if problem:
                raise MLPError.invalid(f"requirements[{index}]", problem)
    plan.requirements = list(dict.fromkeys(listed))
    return plan


def _requirements_file(path: Path, root: Path, including: tuple[Path, ...]) -> list[str]:
    """The requirements a requirements file lists, read by pip's rules: comments, blank lines,
    `\\` continuations, markers, and `-r OTHER` relative to the file (inside the root dir). A
    relative wheel or sdist path is taken relative to the file too. Any other option is refused,
    naming the file and line."""
    shown = path.relative_to(root).as_posix()
    if path in including:
        chain = " -> ".join(p.relative_to(root).as_posix() for p in (*including, path))
        raise MLPError.invalid("requirements", f"requirements files include each other: {chain}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MLPError.invalid("requirements", f"'{shown}' cannot be read: {exc}") from None
    found: list[str] = []
    for number, line in _logical_lines(text):
        line = _COMMENT.sub("", line).strip()
        if not line:
            continue
        where = f"{shown}, line {number}"
        nested = _NESTED_FILE.match(line)
        if nested:
            try:
                target = (path.parent / nested["path"].strip()).resolve()
            except (OSError, RuntimeError, ValueError):  # a link loop, a NUL
                raise MLPError.invalid("requirements", f"{where}: '{line}' names no file") from None
            if not target.is_relative_to(root):
                raise MLPError.invalid(
                    "requirements", f"{where}: '{line}' names a file outside the Jupyter root dir"
                )
            if not target.is_file():
                raise MLPError.invalid("requirements", f"{where}: '{line}' names no file")
            found += _requirements_file(target, root, (*including, path))
            continue
        if _relative_archive(line):
            line = str((path.parent / line).resolve())
        problem = notebooks.requirement_problem(line)
        if problem:
            raise MLPError.invalid("requirements", f"{where}: {problem}")
        found.append(line)
    return found


def _relative_archive(line: str) -> bool:
    """A wheel or sdist named by a path relative to the requirements file (not a URL)."""
    return (
        line.endswith(notebooks.ARCHIVE_SUFFIXES)
        and not line.startswith(("-", "/"))
        and "://" not in line
        and len(line.split()) == 1
    )


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """The lines of a requirements file with `\\` continuations joined, each with the number of
    its first line, as pip joins them (a comment line never continues)."""
    joined: list[tuple[int, str]] = []
    pending: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.endswith("\\") and not _COMMENT.match(line):
            if not pending:
                first = number
            pending.append(line[:-1])
            continue
        if pending:
            joined.append((first, "".join(pending) + line))
            pending = []
        else:
            joined.append((number, line))
    if pending:
        joined.append((first, "".join(pending)))
    return joined


def _includes(spec: JobSpec, base: Path, root_dir: Path, limit: int) -> dict[str, Path]:
    """The files the include globs match, by their path relative to the source's folder.

    The walk is lazy and stops as soon as the matches pass the size or count limit, so a glob
    over a large tree answers at once instead of statting every file first. It lists folders
    with `os.scandir` and resolves only what was reached through a link: about a tenth of
    pathlib's glob per file, so a walk that hits the 10,000-file limit holds the GIL (and the
    server's event loop) for tens of milliseconds, not hundreds."""
    root = root_dir.resolve()
    files: dict[str, str] = {}  # Path objects only for a set within the limits: they cost
    sizes: dict[str, int] = {}
    total = 0
    for pattern in spec.source.include:
        _check_include_pattern(pattern)
        matched = False
        try:
            found = _glob(str(base), PurePosixPath(pattern).parts)
            for name, path, via_link in found:
                try:
                    info = os.stat(path)
                except OSError:  # a dangling link
                    continue
                if not stat.S_ISREG(info.st_mode):
                    continue
                matched = True
                if name in files:
                    continue
                if via_link and not Path(path).resolve().is_relative_to(root):
                    raise MLPError.invalid(
                        "source.include",
                        f"'{name}' (matched by '{pattern}') is a link to a file outside the "
                        "Jupyter root dir; copy the file in instead",
                    )
                files[name] = path
                sizes[name] = info.st_size
                total += info.st_size
                if total > limit or len(files) > MAX_INCLUDED_FILES:
                    raise _over_include_limits(sizes, total, limit)
        except (ValueError, re.error) as exc:  # a pattern that cannot be matched
            raise MLPError.invalid("source.include", f"'{pattern}' is not a glob: {exc}") from None
        if not matched:
            raise MLPError.invalid(
                "source.include", f"'{pattern}' matches no file next to the source"
            )
    return {name: Path(path) for name, path in sorted(files.items())}


def _glob(
    folder: str, parts: tuple[str, ...], prefix: str = "", via_link: bool = False
) -> Iterator[tuple[str, str, bool]]:
    """(name relative to the walk's start, path, reached through a link) for each entry that
    `parts` (a relative glob split at '/', `**` for any depth) matches, lazily, skipping job
    folders' `.mlp` bookkeeping. Linked folders are followed, each real folder once per `**`."""
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if head == "**":
        yield from _glob_any_depth(folder, rest, prefix, via_link, set())
        return
    if not _MAGIC.search(head):  # a plain name: no listing needed
        path = os.path.join(folder, head)
        if os.path.lexists(path) and head != ".mlp":
            linked = via_link or os.path.islink(path)
            if rest:
                if os.path.isdir(path):
                    yield from _glob(path, rest, f"{prefix}{head}/", linked)
            else:
                yield f"{prefix}{head}", path, linked
        return
    for entry in _entries(folder):
        if entry.name == ".mlp" or not fnmatch.fnmatchcase(entry.name, head):
            continue
        linked = via_link or entry.is_symlink()
        if not rest:
            yield f"{prefix}{entry.name}", entry.path, linked
        elif _is_dir(entry):
            yield from _glob(entry.path, rest, f"{prefix}{entry.name}/", linked)


def _glob_any_depth(
    folder: str, rest: tuple[str, ...], prefix: str, via_link: bool, seen: set[tuple[int, int]]
) -> Iterator[tuple[str, str, bool]]:
    """`**` followed by `rest`: `rest` here, then in every folder below. Like pathlib's glob,
    `**` does not descend into linked folders (a named or wildcard part does)."""
    try:
        info = os.stat(folder)
    except OSError:
        return
    if (info.st_dev, info.st_ino) in seen:
        return
    seen.add((info.st_dev, info.st_ino))
    if rest:
        yield from _glob(folder, rest, prefix, via_link)
    elif prefix:  # a trailing `**` matches folders, which are never included
        yield prefix.rstrip("/"), folder, via_link
    for entry in _entries(folder):
        if entry.name != ".mlp" and not entry.is_symlink() and _is_dir(entry):
            yield from _glob_any_depth(entry.path, rest, f"{prefix}{entry.name}/", via_link, seen)


def _entries(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            return sorted(listing, key=lambda entry: entry.name)
    except OSError:  # unreadable, or gone meanwhile
        return []


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _check_include_pattern(pattern: str) -> None:
    if "\0" in pattern:
        raise MLPError.invalid("source.include", f"{pattern!r} contains a NUL character")
    if not pattern.strip() or Path(pattern) == Path("."):
        raise MLPError.invalid(
            "source.include",
            f"'{pattern}' names no files; give a file or a glob, e.g. 'helpers.py' or 'data/*.csv'",
        )
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise MLPError.invalid(
            "source.include", f"'{pattern}' must stay inside the source's folder"
        )


def _over_include_limits(sizes: dict[str, int], total: int, limit: int) -> MLPError:
    """The error for includes that passed a limit, naming the largest files found so far."""
    if len(sizes) > MAX_INCLUDED_FILES:
        return MLPError.invalid(
            "source.include",
            f"the globs match more than {MAX_INCLUDED_FILES:,} files; include the code and "
            "small data the job needs, and read large data sets from storage",
        )
    biggest = sorted(sizes.items(), key=lambda item: -item[1])[:3]
    named = ", ".join(f"{name} ({size / 2**20:.1f} MB)" for name, size in biggest)
    return MLPError.invalid(
        "source.include",
        f"included files total {total / 2**20:.1f} MB after {len(sizes)} file(s), over the "
        f"{limit / 2**20:.0f} MB limit; largest: {named}. "
        "Put large data in storage and read it from the job.",
    )


def build_bundle(
    spec: JobSpec, plan: SourcePlan, dest: Path, backend_args: Sequence[str] = ()
) -> dict[str, Any]:
    """Write the bundle for a planned spec into `dest`; return its manifest.

    The user's files go under `src/`, the bundle's own at the top, so neither can replace the
    other; the manifest's paths are relative to the bundle. `backend_args` follow the job's
    own arguments: what the backend that runs it adds (its `bundle_args`)."""
    source_dir = dest / runner.SOURCE_DIR
    source_dir.mkdir(parents=True, exist_ok=True)
    for name, path in plan.includes.items():
        (source_dir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, source_dir / name)
    entrypoint = source_dir / plan.entrypoint
    if plan.text is not None:
        entrypoint.write_text(plan.text, encoding="utf-8")
    elif plan.source_file is not None:
        shutil.copyfile(plan.source_file, entrypoint)
    shutil.copyfile(runner.__file__, dest / "runner.py")
    # `import jupyter_mlp` in the job gives `report`, also where jupyter-mlp is not installed.
    shipped = dest / runner.REPORT_DIR / "jupyter_mlp"
    shipped.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPORT_SOURCE, shipped / "__init__.py")
    (dest / "requirements.txt").write_text("".join(f"{r}\n" for r in plan.requirements))
    manifest: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "kind": spec.kind.value,
        "mode": plan.mode,
        "source_dir": runner.SOURCE_DIR,
        "entrypoint": entrypoint.relative_to(dest).as_posix(),
        "ipython": plan.ipython,
        "args": list(spec.args),
        "parameters": spec.parameters,
        "requirements": plan.requirements,
        "includes": sorted(f"{runner.SOURCE_DIR}/{name}" for name in plan.includes),
    }
    if plan.mode == "notebook":
        assert plan.notebook is not None
        manifest["kernel_name"] = plan.notebook.kernel_name
        manifest["output_notebook"] = executed_name(plan.entrypoint)
        manifest["source_cells"] = plan.source_cells
    elif plan.source_file is not None:
        # Scripts get parameters as `--name=value` (the spec checked each fits an argument).
        manifest["args"] += [as_argument(key, value) for key, value in spec.parameters.items()]
    manifest["args"] += backend_args
    manifest["files"] = [
        {
            "path": path.relative_to(dest).as_posix(),
            "size": path.stat().st_size,
            "sha256": _sha256(path),
        }
        for path in sorted(dest.rglob("*"))
        if path.is_file() and path != dest / "manifest.json"
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


def notebook_errors(plan: SourcePlan, kernels: list[str]) -> list[FieldError]:
    """Problems only a notebook source has: a kernel that is not installed. (Parameter names
    are checked by the JobSpec model, for every source.)"""
    errors: list[FieldError] = []
    if plan.notebook is None or plan.mode != "notebook":
        return errors
    if kernel_spec_name(plan.notebook.kernel_name) not in kernels:
        errors.append(
            FieldError(
                field="source.path",
                message=f"the notebook's kernel '{plan.notebook.kernel_name}' is not installed "
                f"here; installed kernels: {', '.join(sorted(kernels)) or 'none'}",
                suggestions=sorted(kernels),
            )
        )
    return errors


def kernel_spec_name(name: str) -> str:
    """The kernelspec jupyter_client starts for a notebook's kernel name: names are matched
    without case, and `python` (older notebooks) means the native `python3`."""
    return "python3" if name == "python" else name.lower()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
