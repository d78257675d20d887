"""Reading a notebook as a job: its parameters, requirements, kernel, and its script form."""

from __future__ import annotations

import ast
import copy
import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from packaging.requirements import InvalidRequirement, Requirement

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
JOB_MAGICS = ("%%mlp_train", "%%mlp_etl")
_PIP_LINE = re.compile(r"^\s*[%!]\s*pip3?\s+install\s+(?P<args>.+)$", re.MULTILINE)
_MAGIC_LINE = re.compile(r"^\s*(%|!)")
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".zip")
_SPACE_OR_NUL = re.compile(r"[\s\0]")
# Options of `pip install` that take a value as the next word; what follows them is not a package.
_PIP_VALUE_OPTIONS = frozenset(
    """-r --requirement -c --constraint -e --editable -t --target --platform --python-version
    --implementation --abi --root --prefix --src --upgrade-strategy -C --config-settings
    --global-option --no-binary --only-binary --progress-bar --root-user-action --report --group
    -i --index-url --extra-index-url -f --find-links --log --proxy --retries --timeout
    --exists-action --trusted-host --cert --client-cert --cache-dir --use-feature
    --use-deprecated --keyring-provider --python --resume-retries""".split()
)


@dataclass
class Parameter:
    """A variable of the `parameters` cell: what a job may override."""

    name: str
    type: str
    default: str
    help: str = ""


@dataclass
class NotebookInfo:
    """What a notebook holds that matters for running it as a job."""

    kernel_name: str
    language: str
    parameters: list[Parameter] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    magic_cells: list[int] = field(default_factory=list)  # 1-based cell numbers with %, ! lines


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def inspect_notebook(nb: nbformat.NotebookNode) -> NotebookInfo:
    spec = nb.metadata.get("kernelspec", {})
    info = NotebookInfo(
        kernel_name=spec.get("name") or "python3",
        language=spec.get("language") or nb.metadata.get("language_info", {}).get("name", "python"),
    )
    for number, cell in enumerate(job_cells(nb), start=1):
        if cell.cell_type != "code":
            continue
        if PARAMETERS_TAG in cell.metadata.get("tags", []) and not info.parameters:
            info.parameters = parse_parameters(cell.source)
        for line in cell.source.splitlines():
            pip = _PIP_LINE.match(line)
            if pip:
                info.requirements.extend(_pip_packages(pip.group("args")))
            if _MAGIC_LINE.match(line) and number not in info.magic_cells:
                info.magic_cells.append(number)
    info.requirements = list(dict.fromkeys(info.requirements))
    return info


def parse_parameters(source: str) -> list[Parameter]:
    """Variables assigned in a parameters cell, with their literal type and default."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines()
    found: list[Parameter] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        try:
            kind = type(ast.literal_eval(value)).__name__
        except ValueError:
            kind = "expression"
        line = lines[node.lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line[value.end_col_offset or 0 :] else ""
        found.append(
            Parameter(target.id, kind, ast.get_source_segment(source, value) or "", comment)
        )
    return found


def as_declared(values: dict[str, Any], declared: list[Parameter]) -> dict[str, Any]:
    """Parameter values as the source's defaults (a notebook's parameters cell) declare them: a
    whole number given for a `float` (`lr = 0.1`) is that float. JSON, and so the launch form,
    cannot tell 1 from 1.0; the job would otherwise get `lr = 1`."""
    floats = {p.name for p in declared if p.type == "float"}
    return {
        name: float(value) if name in floats and type(value) is int else value
        for name, value in values.items()
    }


# What a given value may be for a declared type (a default's `type(...).__name__`): JSON has
# no tuples, and an int is a fine float; other types (None, an expression) take anything.
_TAKES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "list": (list,),
    "tuple": (list,),
    "dict": (dict,),
}
UNDECLARED = "not declared in the parameters cell; papermill will inject it anyway"


def parameter_problem(declared: Parameter, value: Any) -> str | None:
    """Why `value` cannot be the declared parameter's (its default's type); None if it can.
    A bool is not a number here, though Python's bool is an int."""
    takes = _TAKES.get(declared.type)
    if takes is None:
        return None
    fits = isinstance(value, takes) and (declared.type == "bool" or not isinstance(value, bool))
    if fits:
        return None
    article = "an" if declared.type[0] in "aeiou" else "a"
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return (
        f"{declared.name} is {article} {declared.type} (default {declared.default}); {shown} is not"
    )


def default_value(declared: Parameter) -> Any:
    """A declared parameter's default as a JSON value; an expression (or a literal JSON cannot
    hold: a set, bytes, infinity) as its source text."""
    if declared.type == "expression":
        return declared.default
    try:
        return json.loads(json.dumps(ast.literal_eval(declared.default), allow_nan=False))
    except (ValueError, TypeError, SyntaxError):
        return declared.default


def job_cell_indices(nb: nbformat.NotebookNode) -> list[int]:
    """Where the cells a job runs are in the notebook: every cell but those launching jobs
    themselves (`%%mlp_train`)."""
    return [i for i, c in enumerate(nb.cells) if not c.source.lstrip().startswith(JOB_MAGICS)]


def job_cells(nb: nbformat.NotebookNode) -> list[Any]:
    """The cells a job runs (see `job_cell_indices`)."""
    return [nb.cells[i] for i in job_cell_indices(nb)]


# Where inline code wants its parameters (after the defaults it sets itself, as papermill injects
# them after a notebook's `parameters` cell); without this line they go first.
PARAMETERS_MARK = "# [mlp] parameters go here"


def with_parameters(code: str, injected: str) -> str:
    """Inline code with `injected` (parameter assignments) on its PARAMETERS_MARK line, or
    first when it has none."""
    if not injected:
        return code
    lines = code.splitlines(keepends=True)
    mark = _mark_line(lines)
    if mark is None:
        return injected + code
    return "".join([*lines[:mark], injected, *lines[mark + 1 :]])


def _mark_line(lines: list[str]) -> int | None:
    """Where the PARAMETERS_MARK line is, if anywhere."""
    return next((i for i, line in enumerate(lines) if line.rstrip("\r\n") == PARAMETERS_MARK), None)


def declared_before_mark(code: str) -> list[Parameter]:
    """What inline code assigns before its PARAMETERS_MARK line (a cell job's `parameters` cell
    and the cells before it): the defaults its parameters override."""
    lines = code.splitlines(keepends=True)
    mark = _mark_line(lines)
    return [] if mark is None else parse_parameters("".join(lines[:mark]))


def parameters_code(parameters: dict[str, Any], trial_names: Iterable[str] = ()) -> str:
    """Python assignments for the parameters; repr of JSON values is a typed Python literal.

    `trial_names`: a sweep's searched parameters, which Vertex AI passes a trial as
    `--name=value` arguments; the code then sets them as variables too (numbers as numbers), so
    inline code and notebooks run as scripts get them as a notebook gets papermill's."""
    lines = ["# Parameters injected by jupyter-mlp"]
    lines += [f"{name} = {value!r}" for name, value in parameters.items()]
    names = sorted(set(trial_names))
    if names:
        lines += [
            "# A sweep's trial parameters, as Vertex AI passes them: --name=value arguments",
            "import json as _mlp_json, sys as _mlp_sys",
            "for _mlp_arg in _mlp_sys.argv[1:]:",
            '    _mlp_name, _mlp_eq, _mlp_text = _mlp_arg[2:].partition("=")',
            f'    if _mlp_arg.startswith("--") and _mlp_eq and _mlp_name in {tuple(names)!r}:',
            "        try:",
            "            _mlp_value = _mlp_json.loads(_mlp_text)",
            "        except ValueError:",
            "            _mlp_value = _mlp_text",
            "        if not isinstance(_mlp_value, (int, float)) or isinstance(_mlp_value, bool):",
            "            _mlp_value = _mlp_text",
            "        globals()[_mlp_name] = _mlp_value",
        ]
    return "\n".join(lines) + "\n"


PIP_NOTE = "# [mlp] not run in a job, whose requirements are installed instead:"


def job_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as the job runs it (papermill injects parameters in the job).

    `%pip install` lines are turned into comments: a job must never install into the
    environment it shares with the server; its requirements go into its own environment.
    """
    result = copy.deepcopy(nb)
    result.cells = job_cells(result)
    for cell in result.cells:
        if cell.cell_type == "code" and _PIP_LINE.search(cell.source):
            cell.source = "\n".join(
                f"{PIP_NOTE} {line.strip()}" if _PIP_LINE.match(line) else line
                for line in cell.source.splitlines()
            )
    return result


def to_script(
    nb: nbformat.NotebookNode, parameters: dict[str, Any], trial_names: Iterable[str] = ()
) -> str:
    """The notebook as a Python script, parameters injected after the `parameters` cell.

    IPython syntax (`%magic`, `!shell`) becomes `get_ipython()` calls, so the script runs under
    IPython; `%pip install` lines are comments, as in `job_notebook`.
    """
    from nbconvert.exporters import PythonExporter  # nbconvert is slow to import; only here

    result = job_notebook(nb)
    trial_names = list(trial_names)
    if parameters or trial_names:
        injected = nbformat.v4.new_code_cell(parameters_code(parameters, trial_names))
        injected.metadata["tags"] = [INJECTED_TAG]
        index = next(
            (
                i + 1
                for i, c in enumerate(result.cells)
                if PARAMETERS_TAG in c.metadata.get("tags", [])
            ),
            0,
        )
        result.cells.insert(index, injected)
    script, _ = PythonExporter(exclude_markdown=True, exclude_raw=True).from_notebook_node(result)
    return str(script)


def requirement_problem(entry: str) -> str | None:
    """Why pip must not be given `entry` as a requirement; None when it is one.

    A requirement is a PEP 508 specifier (`pandas>=2`, `torch; sys_platform == 'linux'`,
    `name @ https://...`) or the absolute path of a wheel or sdist. Anything else (an option such
    as `-r FILE` or `--target DIR`, a folder) would change what pip does, not what it installs.
    """
    archive = entry.startswith("/") and entry.endswith(ARCHIVE_SUFFIXES)
    if archive and not _SPACE_OR_NUL.search(entry):
        return None
    try:
        Requirement(entry)
    except InvalidRequirement:
        pass
    else:
        return None
    option = " (pip options are not accepted)" if entry.lstrip().startswith("-") else ""
    return (
        f"'{entry}' is not a requirement specifier{option}; give one such as 'pandas>=2' or "
        "'name @ https://...', or the absolute path of a wheel or sdist"
    )


def _pip_packages(args: str) -> list[str]:
    """The requirements a `%pip install` line names, leaving out its options (and their values)
    and whatever is not a requirement (a folder, an expansion such as `{pkg}`)."""
    try:
        words = shlex.split(args, comments=True)
    except ValueError:
        return []
    packages, skip_next = [], False
    for word in words:
        if skip_next:
            skip_next = False
        elif word in _PIP_VALUE_OPTIONS:
            skip_next = True
        elif not word.startswith("-") and requirement_problem(word) is None:
            packages.append(word)
    return packages
