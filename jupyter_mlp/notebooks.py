"""Reading a notebook as a job: its parameters, requirements, kernel, and its script form."""

from __future__ import annotations

import ast
import copy
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
JOB_MAGICS = ("%%mlp_train", "%%mlp_etl")
_PIP_LINE = re.compile(r"^\s*[%!]\s*pip3?\s+install\s+(?P<args>.+)$", re.MULTILINE)
_MAGIC_LINE = re.compile(r"^\s*(%|!)")


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


def job_cells(nb: nbformat.NotebookNode) -> list[Any]:
    """The cells a job runs: every cell but those launching jobs themselves (`%%mlp_train`)."""
    return [c for c in nb.cells if not c.source.lstrip().startswith(JOB_MAGICS)]


def parameters_code(parameters: dict[str, Any]) -> str:
    """Python assignments for the parameters; repr of JSON values is a typed Python literal."""
    lines = ["# Parameters injected by jupyter-mlp"]
    lines += [f"{name} = {value!r}" for name, value in parameters.items()]
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


def to_script(nb: nbformat.NotebookNode, parameters: dict[str, Any]) -> str:
    """The notebook as a Python script, parameters injected after the `parameters` cell.

    IPython syntax (`%magic`, `!shell`) becomes `get_ipython()` calls, so the script runs under
    IPython; `%pip install` lines are comments, as in `job_notebook`.
    """
    from nbconvert.exporters import PythonExporter  # nbconvert is slow to import; only here

    result = job_notebook(nb)
    if parameters:
        injected = nbformat.v4.new_code_cell(parameters_code(parameters))
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


def _pip_packages(args: str) -> list[str]:
    try:
        words = shlex.split(args, comments=True)
    except ValueError:
        return []
    packages, skip_next = [], False
    for word in words:
        if skip_next:
            skip_next = False
        elif word in ("-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "-e"):
            skip_next = True
        elif not word.startswith("-"):
            packages.append(word)
    return packages
