"""The submit options shared by the magics, the command line and the panel, and the JobSpec
they make.

`%mlp_train`, `jupyter mlp submit` and the panel's "copy as command" speak the same flags, so
each flag is declared once here with the spec field it fills and how its value is written.
`spec_body` reads parsed flags into the body of `POST /mlp/jobs`; the panel writes a spec back
as flags from the same table, which `jupyter_mlp.vocabulary` exports to the frontend.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

from ..backends import ENTRY_POINT_GROUP
from ..catalog.cloud import normalize_accelerator
from ..core.models import MLPError


def installed_backend_names() -> list[str]:
    """The names of the installed backends, sorted; read without importing any of them."""
    return sorted({point.name for point in entry_points(group=ENTRY_POINT_GROUP)})


#: How a flag's value is written and read:
#: text/choice/int: one value; switch: a flag alone (true); gpu: TYPE:COUNT for the
#: accelerator type and count; param/label: NAME=VALUE, repeated; args: one shell-quoted
#: string; requirements: comma-separated names, or a requirements file; repeat: repeated;
#: sweep: NAME=SPEC, repeated (see SWEEP_SYNTAX); metric: NAME:max|min; float: a number;
#: fallback: an alternative of the launch, repeated (see FALLBACK_SYNTAX).
ValueKind = Literal[
    "text",
    "choice",
    "int",
    "float",
    "switch",
    "gpu",
    "param",
    "label",
    "args",
    "requirements",
    "repeat",
    "sweep",
    "metric",
    "fallback",
]

#: How `--sweep NAME=SPEC` writes a searched parameter.
SWEEP_SYNTAX = (
    "NAME=[a,b,c] (values: numbers are discrete, else categorical), NAME=range(LO,HI) "
    "(whole numbers LO to HI, both included), NAME=uniform(LO,HI) (any number between), "
    "NAME=log(LO,HI) (between, searched on a log scale; LO > 0)"
)
METRIC_SYNTAX = "NAME:max or NAME:min (e.g. accuracy:max, val_loss:min)"
#: How `--fallback` writes an alternative: what it changes of the job, the rest kept.
FALLBACK_SYNTAX = (
    "REGION, or KEY=VALUE pairs separated by commas: region=REGION, machine=MACHINE_TYPE, "
    "gpu=TYPE:COUNT (gpu=TYPE keeps the count, gpu=any:COUNT the type), "
    "strategy=standard|spot|flex_start (e.g. --fallback us-east1 or "
    "--fallback region=us-east1,gpu=A100:1,strategy=flex_start)"
)
STRATEGIES = ("standard", "spot", "flex_start")


@dataclass(frozen=True)
class Option:
    """One flag: the spec fields it fills (dotted) and how its value is written."""

    flag: str
    help: str
    fields: tuple[str, ...] = ()
    value: ValueKind = "text"
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    #: The spec's own default: a spec holding it needs no flag.
    default: Any = None
    #: Another way to write this flag (`--spot` is `--strategy spot`): copy-as writes that.
    alias: str | None = None

    @property
    def for_sweeps(self) -> bool:
        """A flag that sets up a hyperparameter sweep."""
        return any(field.startswith("sweep.") for field in self.fields)

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def argparse_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"dest": self.dest, "help": self.help}
        if self.metavar:
            kwargs["metavar"] = self.metavar
        if self.choices:
            kwargs["choices"] = list(self.choices)
        if self.value == "int":
            kwargs["type"] = int
        elif self.value == "float":
            kwargs["type"] = float
        elif self.value == "switch":
            kwargs["action"] = "store_true"
        elif self.value in ("param", "label", "repeat", "sweep", "fallback"):
            kwargs.update(action="append", default=[])
        return kwargs

    def describe(self) -> dict[str, Any]:
        """The option as the frontend reads it (see `vocabulary`)."""
        return {
            "flag": self.flag,
            "fields": list(self.fields),
            "value": self.value,
            "choices": list(self.choices),
            "default": self.default,
            "alias": self.alias,
        }


SUBMIT_OPTIONS: list[Option] = [
    Option(
        "--backend",
        f"Where the job runs: {', '.join(installed_backend_names())} (default: the server's "
        "default).",
        ("backend",),
    ),
    Option("--name", "The job's name (default: the file's stem, or KIND-cell).", ("name",)),
    Option(
        "--machine-type",
        "Machine type on the cloud, e.g. n1-standard-8.",
        ("resources.machine_type",),
    ),
    Option(
        "--gpu",
        "Accelerators, by short name: T4:1, A100:2, H100:8. Locally a bare count "
        "(--gpu 1) or any:COUNT asks for that many local GPUs of any type.",
        ("resources.accelerator_type", "resources.accelerator_count"),
        "gpu",
        metavar="TYPE:COUNT",
    ),
    Option(
        "--replicas",
        "Replica count (distributed training).",
        ("resources.replica_count",),
        "int",
        default=1,
    ),
    Option(
        "--max-workers",
        "ETL on Dataflow: the most workers the pipeline may scale to.",
        ("resources.max_workers",),
        "int",
    ),
    Option("--region", "Cloud region, e.g. us-central1.", ("region",)),
    Option(
        "--param",
        "A parameter (repeatable), typed like papermill: VALUE is read as a Python/JSON "
        "literal when it is one (3, 0.1, true, [1,2]), else as a string.",
        ("parameters",),
        "param",
        metavar="NAME=VALUE",
    ),
    Option(
        "--args",
        "Command-line arguments for a script, as one quoted string: "
        "--args '--epochs 3 --lr 0.1' (or --args=--verbose for a single flag).",
        ("args",),
        "args",
        metavar="'ARGS'",
    ),
    Option(
        "--requirements",
        "Packages to install for the job: comma-separated (numpy>=1.26,<2 stays one), or a "
        "requirements file.",
        ("requirements",),
        "requirements",
        metavar="PKGS|FILE",
    ),
    Option(
        "--environment",
        "Locally the Python interpreter that runs the job; on the cloud its container image.",
        ("environment",),
        metavar="PYTHON|IMAGE",
    ),
    Option(
        "--label",
        "A label (repeatable), e.g. --label team=vision.",
        ("labels",),
        "label",
        metavar="KEY=VALUE",
    ),
    Option(
        "--mode",
        "For notebooks: run as a notebook (default, keeps the executed notebook) "
        "or converted to a script.",
        ("source.mode",),
        "choice",
        choices=("notebook", "script"),
    ),
    Option(
        "--include",
        "Files next to the source to ship with the job (repeatable).",
        ("source.include",),
        "repeat",
        metavar="GLOB",
    ),
    Option(
        "--timeout",
        "Vertex AI and Dataflow: stop the job after this many seconds.",
        ("scheduling.timeout_seconds",),
        "int",
        metavar="SECONDS",
    ),
    Option(
        "--strategy",
        "Vertex AI: how capacity is found: standard (on demand, the default), spot (cheaper, "
        "can be preempted) or flex_start (waits up to --max-wait for scarce GPUs).",
        ("scheduling.strategy",),
        "choice",
        choices=STRATEGIES,
        default="standard",
    ),
    Option(
        "--spot",
        "Vertex AI: run on Spot capacity (cheaper, can be preempted); same as --strategy spot.",
        ("scheduling.spot",),
        "switch",
        default=False,
        alias="--strategy spot",
    ),
    Option(
        "--max-wait",
        "Vertex AI, Flex-start: the longest wait for capacity (default 24 hours).",
        ("scheduling.max_wait_seconds",),
        "int",
        metavar="SECONDS",
    ),
    Option(
        "--reservation",
        "Vertex AI: run on reserved capacity: any (any matching reservation), a "
        "reservation's name in the job's region, or projects/P/zones/Z/reservations/N.",
        ("scheduling.reservation",),
        metavar="any|NAME",
    ),
    Option(
        "--fallback",
        f"Vertex AI: what to try next (repeatable, in order) when an attempt ends for lack of "
        f"capacity or quota: {FALLBACK_SYNTAX}.",
        ("scheduling.fallbacks",),
        "fallback",
        metavar="REGION|KEY=VALUE,...",
    ),
    Option(
        "--max-preemptions",
        "Vertex AI, Spot: how many more times to start a preempted job (default 3).",
        ("scheduling.max_preemptions",),
        "int",
        metavar="N",
        default=3,
    ),
    Option(
        "--max-cost",
        "Vertex AI and Dataflow: cancel the job when its estimated cost reaches this many US "
        "dollars (it acts on the estimate: billing lags, and a cancel takes a while).",
        ("scheduling.max_cost_usd",),
        "float",
        metavar="USD",
    ),
    Option(
        "--restart-on-worker-restart",
        "Vertex AI: restart the whole job when one of its workers restarts.",
        ("scheduling.restart_on_worker_restart",),
        "switch",
        default=False,
    ),
    Option(
        "--service-account",
        "Vertex AI and Dataflow: the service account the job runs as.",
        ("scheduling.service_account",),
    ),
    Option(
        "--boot-disk-type",
        "Vertex AI: each machine's boot disk (hyperdisk-balanced where the machine takes it).",
        ("resources.boot_disk_type",),
        "choice",
        choices=("pd-ssd", "pd-standard", "hyperdisk-balanced"),
    ),
    Option(
        "--boot-disk-size",
        "Vertex AI: each machine's boot disk size; Dataflow: each worker's disk size.",
        ("resources.boot_disk_size_gb",),
        "int",
        metavar="GB",
    ),
    Option(
        "--network",
        "Vertex AI: the VPC network the job is peered with, "
        "projects/PROJECT_NUMBER/global/networks/NAME or a name in the job's project.",
        ("network",),
    ),
    Option(
        "--psc-attachment",
        "Vertex AI: a Private Service Connect interface's network attachment, "
        "projects/P/regions/R/networkAttachments/N or a name in the job's region.",
        ("psc_network_attachment",),
    ),
    Option(
        "--kms-key",
        "Vertex AI and Dataflow: the customer-managed encryption key, in the job's region: "
        "projects/P/locations/R/keyRings/K/cryptoKeys/C.",
        ("encryption_key",),
    ),
    Option(
        "--tensorboard",
        "Vertex AI: a TensorBoard instance in the job's region to stream to "
        "(projects/P/locations/R/tensorboards/N or its id); needs a service account.",
        ("tensorboard",),
    ),
    Option(
        "--dataflow-network",
        "Dataflow: the workers' VPC network, by name.",
        ("dataflow.network",),
    ),
    Option(
        "--dataflow-subnetwork",
        "Dataflow: the workers' subnetwork: regions/R/subnetworks/S, its full URL, or a name "
        "in the job's region.",
        ("dataflow.subnetwork",),
    ),
    Option(
        "--no-public-ips",
        "Dataflow: workers get private addresses only.",
        ("dataflow.no_public_ips",),
        "switch",
        default=False,
    ),
    Option(
        "--flexrs",
        "Dataflow: FlexRS, a batch pipeline runs later on cheaper, preemptible workers.",
        ("dataflow.flexrs",),
        "switch",
        default=False,
    ),
    Option(
        "--prime",
        "Dataflow: run on Dataflow Prime (it picks the workers).",
        ("dataflow.prime",),
        "switch",
        default=False,
    ),
    Option(
        "--sweep",
        f"A searched parameter of a hyperparameter sweep (repeatable): {SWEEP_SYNTAX}. "
        "Each trial gets the searched parameters next to the fixed --param ones.",
        ("sweep.parameters",),
        "sweep",
        metavar="NAME=SPEC",
    ),
    Option(
        "--metric",
        f"The metric a sweep optimises, as its trials report it (cloudml-hypertune): "
        f"{METRIC_SYNTAX}.",
        ("sweep.metric.name", "sweep.metric.goal"),
        "metric",
        metavar="NAME:max|min",
    ),
    Option(
        "--trials", "A sweep's most trials (default 10).", ("sweep.max_trials",), "int", default=10
    ),
    Option(
        "--parallel",
        "A sweep's most trials at once (default 1).",
        ("sweep.parallel_trials",),
        "int",
        default=1,
    ),
    Option(
        "--algorithm",
        "How a sweep searches: grid, random or bayes (default, Bayesian optimisation).",
        ("sweep.algorithm",),
        "choice",
        choices=("grid", "random", "bayes"),
        default="bayes",
    ),
    Option(
        "--max-failed",
        "Failed trials that end a sweep (default: locally --trials; Vertex AI decides).",
        ("sweep.max_failed_trials",),
        "int",
        metavar="N",
    ),
    Option(
        "--wait",
        "Block until the job ends, streaming its log; fail if the job fails. For a sweep: "
        "until every trial ended; then print the best trial.",
        value="switch",
        default=False,
    ),
]


def add_submit_options(parser: argparse.ArgumentParser) -> None:
    for option in SUBMIT_OPTIONS:
        parser.add_argument(option.flag, **option.argparse_kwargs())


# ----- reading the flags -----


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


_SWEEP_RANGE = re.compile(r"(range|uniform|log)\((.*)\)")


def parse_sweep(items: list[str]) -> list[dict[str, Any]]:
    """`--sweep NAME=SPEC` flags as the sweep's parameters (see SWEEP_SYNTAX)."""
    return [_sweep_parameter(item) for item in items]


def _sweep_parameter(item: str) -> dict[str, Any]:
    def refuse(problem: str) -> MLPError:
        return MLPError.invalid("sweep", f"'{item}' {problem}; give {SWEEP_SYNTAX}")

    name, sep, spec = (part.strip() for part in item.partition("="))
    if not sep:
        raise refuse("is not NAME=SPEC")
    if not name.isidentifier():
        raise refuse(f"names '{name}', not a Python name")
    if spec.startswith("[") and spec.endswith("]"):
        words = [word.strip() for word in spec[1:-1].split(",")]
        if not all(words):
            raise refuse("lists an empty value")
        numbers = [_number(word) for word in words]
        if all(number is not None for number in numbers):
            return {"name": name, "type": "discrete", "values": numbers}
        return {"name": name, "type": "categorical", "values": [w.strip("'\"") for w in words]}
    matched = _SWEEP_RANGE.fullmatch(spec.replace(" ", ""))
    if matched is None:
        raise refuse(f"has an unknown SPEC '{spec}'")
    function, inside = matched.groups()
    ends = [_number(word) for word in inside.split(",")]
    if len(ends) != 2 or ends[0] is None or ends[1] is None:
        raise refuse(f"needs two numbers in {function}(LO,HI)")
    low, high = ends
    if function == "range":
        if not (isinstance(low, int) and isinstance(high, int)):
            raise refuse("needs whole numbers in range(LO,HI)")
        return {"name": name, "type": "integer", "min": low, "max": high}
    scale = "log" if function == "log" else "linear"
    return {"name": name, "type": "double", "min": low, "max": high, "scale": scale}


def _number(text: str) -> int | float | None:
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        return value if value == value and abs(value) != float("inf") else None
    return None


def parse_metric(text: str) -> tuple[str, str]:
    """`--metric accuracy:max` -> ("accuracy", "maximize"); a bare name is maximised."""
    name, sep, goal = (part.strip() for part in text.rpartition(":"))
    if not sep:
        name, goal = text.strip(), "max"
    goals = {"max": "maximize", "maximize": "maximize", "min": "minimize", "minimize": "minimize"}
    if not name or goal.lower() not in goals:
        raise MLPError.invalid("metric", f"'{text}' is not a metric; give {METRIC_SYNTAX}")
    return name, goals[goal.lower()]


def parse_fallbacks(items: list[str]) -> list[dict[str, Any]]:
    """`--fallback` flags as the scheduling's fallbacks (see FALLBACK_SYNTAX)."""
    return [_fallback(item) for item in items]


def _fallback(item: str) -> dict[str, Any]:
    def refuse(problem: str) -> MLPError:
        return MLPError.invalid("fallback", f"'{item}' {problem}; give {FALLBACK_SYNTAX}")

    fallback: dict[str, Any] = {}
    for part in (part.strip() for part in item.split(",")):
        key, sep, value = (word.strip() for word in part.partition("="))
        if not sep:
            key, value = "region", key  # a bare word is a region
        if not value:
            raise refuse(f"gives no value for {key or 'a region'}")
        if key in fallback or (key == "gpu" and "accelerator_count" in fallback):
            raise refuse(f"gives {key} twice")
        if key == "region":
            fallback["region"] = value
        elif key == "machine":
            fallback["machine_type"] = value
        elif key == "strategy":
            if value not in STRATEGIES:
                raise refuse(f"names the strategy '{value}', not one of {', '.join(STRATEGIES)}")
            fallback["strategy"] = value
        elif key == "gpu":
            try:
                fallback.update(_fallback_gpu(value))
            except MLPError as exc:
                raise refuse(f"has gpu={value}: {exc.errors[0].message}") from None
        else:
            raise refuse(f"has the unknown key '{key}'")
    return fallback


def _fallback_gpu(text: str) -> dict[str, Any]:
    """`A100:2` -> type and count; `A100` -> the type alone; `any:2` or `2` -> the count."""
    if ":" not in text and not text.isdigit():
        accelerator, _ = parse_gpu(text)
        return {"accelerator_type": accelerator}
    accelerator, count = parse_gpu(text)
    return (
        {"accelerator_type": accelerator, "accelerator_count": count}
        if accelerator
        else {"accelerator_count": count}
    )


def parse_labels(items: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MLPError.invalid("label", f"'{item}' is not KEY=VALUE")
        labels[key.strip()] = value
    return labels


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


# A comma starts a new requirement only outside brackets and parentheses, and only before a
# name: `numpy>=1.26,<2` and `pkg[a,b]` stay one requirement each.
_REQUIREMENT_COMMA = re.compile(r",\s*(?:(?=[A-Za-z0-9])|$)")


def split_requirements(text: str) -> list[str]:
    """`--requirements` names: comma-separated, version ranges and extras kept whole."""
    entries: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(text):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0 and _REQUIREMENT_COMMA.match(text, index):
            entries.append(text[start:index])
            start = index + 1
    entries.append(text[start:])
    return [entry.strip() for entry in entries if entry.strip()]


def parse_requirements(
    text: str, base: Path, server_path: Callable[[Path], str] | None = None
) -> list[str] | str:
    """A requirements file as the server names it (it reads it with pip's rules, `-r` included),
    else the file's lines when the server cannot see it; or comma-separated names."""
    candidate = base / text
    if not candidate.is_file():
        return split_requirements(text)
    if server_path is not None:
        try:
            return server_path(candidate)
        except MLPError:
            pass  # not under the server's root dir: send what it holds instead
    lines = candidate.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def split_args(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise MLPError.invalid("args", f"cannot split {text!r}: {exc}") from None


def spec_body(
    options: argparse.Namespace,
    *,
    kind: str,
    source: dict[str, Any],
    server_path: Callable[[Path], str] | None = None,
) -> dict[str, Any]:
    """The JSON body of POST /mlp/jobs for parsed submit options and a source.

    `server_path` names a local file as the server does (relative to its root dir): a
    requirements file under that root is sent by name, any other is read here and sent as a
    list.
    """
    body: dict[str, Any] = {"kind": kind, "source": dict(source)}
    for option in SUBMIT_OPTIONS:
        given = getattr(options, option.dest, None)
        if given is None or given is False or given == []:
            continue
        for field, value in _read(option, given, server_path).items():
            _put(body, field, value)
    _check_sweep(body.get("sweep"))
    return body


def _check_sweep(sweep: dict[str, Any] | None) -> None:
    """Sweep flags come together: --sweep and --metric, or none of them."""
    if sweep is None:
        return
    if "parameters" not in sweep:
        raise MLPError.invalid(
            "sweep",
            "--metric, --trials, --parallel, --algorithm and --max-failed set up a sweep: "
            f"add what it searches with --sweep {SWEEP_SYNTAX}",
        )
    if "metric" not in sweep:
        raise MLPError.invalid("metric", f"a sweep needs the metric it optimises: {METRIC_SYNTAX}")


def _read(option: Option, given: Any, server_path: Callable[[Path], str] | None) -> dict[str, Any]:
    """The spec fields one given flag fills."""
    fields = option.fields
    if not fields:
        return {}
    if option.value == "switch":
        return {fields[0]: True}
    if option.value == "gpu":
        accelerator, count = parse_gpu(given)
        return {fields[0]: accelerator, fields[1]: count} if accelerator else {fields[1]: count}
    if option.value == "param":
        return {fields[0]: parse_params(given)}
    if option.value == "label":
        return {fields[0]: parse_labels(given)}
    if option.value == "args":
        return {fields[0]: split_args(given)}
    if option.value == "requirements":
        return {fields[0]: parse_requirements(given, Path.cwd(), server_path)}
    if option.value == "repeat":
        return {fields[0]: list(given)}
    if option.value == "sweep":
        return {fields[0]: parse_sweep(given)}
    if option.value == "fallback":
        return {fields[0]: parse_fallbacks(given)}
    if option.value == "metric":
        name, goal = parse_metric(given)
        return {fields[0]: name, fields[1]: goal}
    return {fields[0]: given}


def _put(body: dict[str, Any], field: str, value: Any) -> None:
    *parents, name = field.split(".")
    for parent in parents:
        body = body.setdefault(parent, {})
    body[name] = value
