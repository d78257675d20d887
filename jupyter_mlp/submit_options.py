"""The submit options shared by the magics and the command line, and the JobSpec they make.

`%mlp_train` and `jupyter mlp submit` take the same flags, so they are declared once here
(as argparse arguments) and turned into the JSON body of `POST /mlp/jobs` in one place.
"""

from __future__ import annotations

import argparse
import ast
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog.cloud import normalize_accelerator
from .models import MLPError


@dataclass(frozen=True)
class Option:
    """One flag: argparse's positional names and keyword arguments."""

    flags: tuple[str, ...]
    kwargs: dict[str, Any]


SUBMIT_OPTIONS: list[Option] = [
    Option(("--backend",), {"help": "Where the job runs: local (default), vertex, dataflow."}),
    Option(("--name",), {"help": "The job's name (default: the file's or the cell's kind)."}),
    Option(("--machine-type",), {"help": "Machine type on the cloud, e.g. n1-standard-8."}),
    Option(
        ("--gpu",),
        {
            "metavar": "TYPE:COUNT",
            "help": "Accelerators, by short name: T4:1, A100:2, H100:8. Locally a bare count "
            "(--gpu 1) or any:COUNT asks for that many local GPUs of any type.",
        },
    ),
    Option(("--replicas",), {"type": int, "help": "Replica count (distributed training)."}),
    Option(("--region",), {"help": "Cloud region, e.g. us-central1."}),
    Option(
        ("--param",),
        {
            "action": "append",
            "default": [],
            "metavar": "NAME=VALUE",
            "help": "A parameter (repeatable), typed like papermill: VALUE is read as a "
            "Python/JSON literal when it is one (3, 0.1, true, [1,2]), else as a string.",
        },
    ),
    Option(
        ("--args",),
        {
            "metavar": "'ARGS'",
            "help": "Command-line arguments for a script, as one quoted string: "
            "--args '--epochs 3 --lr 0.1' (or --args=--verbose for a single flag).",
        },
    ),
    Option(
        ("--requirements",),
        {
            "metavar": "PKGS|FILE",
            "help": "Packages to install for the job: comma-separated, or a requirements file.",
        },
    ),
    Option(
        ("--mode",),
        {
            "choices": ["notebook", "script"],
            "help": "For notebooks: run as a notebook (default, keeps the executed notebook) "
            "or converted to a script.",
        },
    ),
    Option(
        ("--include",),
        {
            "action": "append",
            "default": [],
            "metavar": "GLOB",
            "help": "Files next to the source to ship with the job (repeatable).",
        },
    ),
    Option(
        ("--wait",),
        {
            "action": "store_true",
            "help": "Block until the job ends, streaming its log; fail if the job fails.",
        },
    ),
]


def add_submit_options(parser: argparse.ArgumentParser) -> None:
    for option in SUBMIT_OPTIONS:
        parser.add_argument(*option.flags, **option.kwargs)


def parse_value(text: str) -> Any:
    """A parameter value typed like papermill: a Python or JSON literal, else the string."""
    for parse in (ast.literal_eval, json.loads):
        try:
            value = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        try:
            # Only values a job spec can carry (JSON); a set or bytes stays the text it was.
            return json.loads(json.dumps(value))
        except (TypeError, ValueError):
            break
    return text


def parse_params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep:
            raise MLPError.invalid("param", f"'{item}' is not NAME=VALUE")
        if not name.isidentifier():
            raise MLPError.invalid("param", f"'{name}' is not a Python name")
        params[name] = parse_value(raw)
    return params


def parse_gpu(text: str) -> tuple[str | None, int]:
    """`T4:2` -> ("NVIDIA_TESLA_T4", 2); `2` or `any:2` -> (None, 2); `T4` -> (..., 1)."""
    text = text.strip()
    if ":" in text:
        kind, count_text = text.rsplit(":", 1)
    elif text.isdigit():
        kind, count_text = "", text
    else:
        kind, count_text = text, "1"
    try:
        count = int(count_text)
    except ValueError:
        raise MLPError.invalid(
            "gpu", f"'{text}': the count '{count_text}' is not a whole number (e.g. T4:1)"
        ) from None
    if count < 0:
        raise MLPError.invalid("gpu", f"'{text}': the count must be 0 or more")
    if kind.lower() in ("", "any"):
        return None, count
    try:
        return normalize_accelerator(kind), count
    except ValueError as exc:
        raise MLPError.invalid("gpu", str(exc)) from None


def parse_requirements(text: str, base: Path) -> list[str]:
    """The lines of a requirements file (when `text` names one), else comma-separated names."""
    candidate = base / text
    if candidate.is_file():
        lines = candidate.read_text(encoding="utf-8").splitlines()
        return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    return [r.strip() for r in text.split(",") if r.strip()]


def spec_body(options: argparse.Namespace, *, kind: str, source: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of POST /mlp/jobs for parsed submit options and a source.

    A requirements file is read here and sent as a list, so it need not be under the root dir.
    """
    body: dict[str, Any] = {"kind": kind, "source": dict(source)}
    if options.backend:
        body["backend"] = options.backend
    if options.name:
        body["name"] = options.name
    if options.region:
        body["region"] = options.region
    params = parse_params(options.param)
    if params:
        body["parameters"] = params
    resources: dict[str, Any] = {}
    if options.machine_type:
        resources["machine_type"] = options.machine_type
    if options.gpu:
        accelerator, count = parse_gpu(options.gpu)
        if accelerator:
            resources["accelerator_type"] = accelerator
        resources["accelerator_count"] = count
    if options.replicas is not None:
        resources["replica_count"] = options.replicas
    if resources:
        body["resources"] = resources
    if options.args:
        text = options.args
        if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
            text = text[1:-1]  # IPython's magic parser keeps the quotes a shell would remove
        try:
            body["args"] = shlex.split(text)
        except ValueError as exc:
            raise MLPError.invalid("args", f"cannot split {options.args!r}: {exc}") from None
    if options.requirements:
        body["requirements"] = parse_requirements(options.requirements, Path.cwd())
    if options.mode:
        body["source"]["mode"] = options.mode
    if options.include:
        body["source"]["include"] = list(options.include)
    return body
