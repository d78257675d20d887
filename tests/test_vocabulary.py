"""One source for the words the panel, the magics and the command line share.

The submit flags, the installed backends with their capabilities, kinds and states are declared
in Python (`jupyter_mlp/vocabulary.py`) and exported, with their TypeScript types, to the
frontend as `src/vocabularyData.ts`. The commands the panel copies (written by
`src/panel/commandLine.ts`, checked by jest against `src/__tests__/fixtures/commands.json`)
are parsed back here by the magics' and the command line's own parsers, which must give the
spec they were written from.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from full_specs import FULL_SPECS
from IPython.core.interactiveshell import InteractiveShell

from jupyter_mlp.client.cli import build_parser, submit_body
from jupyter_mlp.client.connection import Client
from jupyter_mlp.client.magics import MLPMagics, parse_line
from jupyter_mlp.client.submit_options import (
    SUBMIT_OPTIONS,
    parse_fallbacks,
    split_requirements,
)
from jupyter_mlp.core.models import (
    OPTION_FIELDS,
    DataflowOptions,
    JobSpec,
    JobState,
    MLPError,
    Resources,
    Scheduling,
    Source,
    SweepMetric,
    SweepSpec,
    default_job_name,
    parse_state,
    parse_states,
)
from jupyter_mlp.vocabulary import VOCABULARY_FILE, installed_backends, vocabulary_text

REPO = Path(__file__).resolve().parent.parent
FIXTURE = json.loads(
    (REPO / "src" / "__tests__" / "fixtures" / "commands.json").read_text(encoding="utf-8")
)
CASES = FIXTURE["commands"]
# Fields a flag does not carry: the kind is the magic's name or --kind, the source the
# magic's file or cell, the command's FILE; a cell's origin is where the magic ran.
NOT_FLAGS = {"kind", "source.path", "source.code", "source.origin"}
NESTED: dict[str, type[Any]] = {
    "source": Source,
    "resources": Resources,
    "scheduling": Scheduling,
    "dataflow": DataflowOptions,
    "sweep": SweepSpec,
    "sweep.metric": SweepMetric,
}


def spec_fields(model: type[Any] = JobSpec, prefix: str = "") -> set[str]:
    fields = set()
    for name in model.model_fields:
        if prefix + name in NESTED:
            fields |= spec_fields(NESTED[prefix + name], f"{prefix}{name}.")
        else:
            fields.add(prefix + name)
    return fields


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A root dir holding the files the fixture's specs name, as the working dir."""
    for case in CASES:
        for name in (case["spec"]["source"].get("path"), case["spec"].get("requirements")):
            if isinstance(name, str):
                (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / name).write_text("pass\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def rooted_client(root: Path) -> Client:
    client = Client()
    client.root_dir = root
    return client


def same_spec(body: dict[str, Any], spec: dict[str, Any]) -> None:
    assert JobSpec.model_validate(body).model_dump() == JobSpec.model_validate(spec).model_dump()


# ----- the frontend's copy -----


def test_the_frontend_vocabulary_is_written_from_the_python_one():
    committed = (REPO / VOCABULARY_FILE).read_text(encoding="utf-8")
    assert committed == vocabulary_text(), (
        "src/vocabularyData.ts is out of date: run `python -m jupyter_mlp.vocabulary`"
    )


def test_every_spec_field_has_a_flag_and_every_flag_a_spec_field():
    filled = {field for option in SUBMIT_OPTIONS for field in option.fields}
    assert spec_fields() - NOT_FLAGS - filled == set(), "spec fields no flag can set"
    assert filled - spec_fields() == set(), "flags for fields the spec does not have"


def test_the_copied_commands_use_every_flag():
    written = " ".join(f"{case['magic']} {case['command_line']}" for case in CASES)
    # An alias (--spot) is written as the flag it stands for (--strategy spot).
    unused = [o.flag for o in SUBMIT_OPTIONS if o.fields and not o.alias and o.flag not in written]
    assert unused == [], "add a case using these flags to src/__tests__/fixtures/commands.json"


def test_the_fully_filled_cases_are_the_full_specs_the_rerun_test_submits():
    filled = {c["title"].removeprefix("fully filled: "): c["spec"] for c in CASES}
    assert {title: filled.get(title) for title in FULL_SPECS} == FULL_SPECS


def test_the_full_specs_together_set_every_field_of_the_spec():
    set_somewhere: set[str] = set()
    for spec in FULL_SPECS.values():
        normal = JobSpec.model_validate(spec)
        source = {"path": spec["source"]["path"]}
        default = JobSpec.model_validate({"kind": spec["kind"], "source": source})
        set_somewhere |= {
            field for field in spec_fields() if _at(normal, field) != _at(default, field)
        }
    # spot mirrors strategy; a cell's code and the kind are not options; sweeps have their own
    # round trip, and mode is a notebook's (the first case of the fixture holds both); a cell's
    # origin is the magic's.
    not_here = {"scheduling.spot", "source.code", "source.path", "kind", "source.mode"}
    not_here |= {"source.origin"}
    assert spec_fields() - not_here - set_somewhere == {
        f for f in spec_fields() if f.startswith("sweep.")
    }


def _at(spec: JobSpec, field: str) -> Any:
    value: Any = spec
    for part in field.split("."):
        value = getattr(value, part, None)
    return value


# ----- the round trip -----


@pytest.mark.parametrize("case", [c for c in CASES if c["command_line"]], ids=lambda c: c["title"])
def test_a_copied_command_line_submits_the_spec_it_was_written_from(root, case):
    argv = shlex.split(case["command_line"])
    assert argv[:3] == ["jupyter", "mlp", "submit"]
    options = build_parser().parse_args(argv[2:])
    same_spec(submit_body(rooted_client(root), options), case["spec"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["title"])
def test_a_copied_magic_submits_the_spec_it_was_written_from(root, case):
    shell = InteractiveShell.instance()
    # What IPython would put in place of {x} and $x if the copy let it expand them.
    shell.user_ns["x"] = "EXPANDED"
    magics = MLPMagics(shell, client=rooted_client(root))
    first, _, cell = case["magic"].partition("\n")
    name, _, line = first.lstrip("%").partition(" ")
    options = parse_line(getattr(magics, name), shell.var_expand(line))
    body = magics.job_body(
        name.removeprefix("mlp_"), options, cell if first.startswith("%%") else None
    )
    spec = case["spec"]
    if "code" in spec["source"]:
        # A cell job's program is the cell after this run's parameters (see cell_job_code).
        assert body["source"]["code"].endswith(spec["source"]["code"])
        body["source"]["code"] = spec["source"]["code"]
    same_spec(body, spec)


@pytest.mark.parametrize(
    ("text", "entries"),
    [
        ("pandas,torch", ["pandas", "torch"]),
        ("numpy>=1.26,<2, scipy", ["numpy>=1.26,<2", "scipy"]),
        ("torch[cuda,extra]>=2,pandas", ["torch[cuda,extra]>=2", "pandas"]),
        ("a , b ,", ["a", "b"]),
    ],
)
def test_requirements_split_at_commas_between_requirements_only(text, entries):
    assert split_requirements(text) == entries


# ----- launch options -----


@pytest.mark.parametrize(
    "option",
    [o for o in SUBMIT_OPTIONS if set(o.fields) & set(OPTION_FIELDS)],
    ids=lambda o: o.flag,
)
def test_a_launch_options_help_names_the_backends_that_take_it(option):
    services = {caps.service: caps.options for caps in installed_backends().values()}
    takers = {name for name, options in services.items() if set(option.fields) & set(options)}

    assert {name for name in services if name in option.help} == takers


def test_spot_as_a_switch_still_means_the_spot_strategy(root):
    spec = JobSpec.model_validate(magic_body(root, "--spot --max-preemptions 0"))

    assert (spec.scheduling.strategy, spec.scheduling.spot) == ("spot", True)
    assert spec.scheduling.max_preemptions == 0  # a default's neighbour is still a choice


def test_a_cost_cap_reads_as_a_number_of_dollars(root):
    assert magic_body(root, "--max-cost 2.5")["scheduling"] == {"max_cost_usd": 2.5}


@pytest.mark.parametrize(
    ("text", "fallback"),
    [
        ("us-east1", {"region": "us-east1"}),
        (
            "region=us-east1,machine=a2-highgpu-2g,gpu=A100:2,strategy=flex_start",
            {
                "region": "us-east1",
                "machine_type": "a2-highgpu-2g",
                "accelerator_type": "NVIDIA_TESLA_A100",
                "accelerator_count": 2,
                "strategy": "flex_start",
            },
        ),
        ("gpu=L4", {"accelerator_type": "NVIDIA_L4"}),
        ("gpu=any:4, strategy=spot", {"accelerator_count": 4, "strategy": "spot"}),
    ],
)
def test_a_fallback_flag_reads_as_what_it_changes_of_the_job(text, fallback):
    assert parse_fallbacks([text]) == [fallback]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("zone=us-east1-b", "has the unknown key 'zone'"),
        ("strategy=cheap", "names the strategy 'cheap', not one of standard, spot, flex_start"),
        ("region=", "gives no value for region"),
        ("us-east1,region=europe-west4", "gives region twice"),
        ("gpu=Z9:1", "has gpu=Z9:1:"),
    ],
)
def test_a_wrong_fallback_flag_is_named_with_the_syntax(text, words):
    with pytest.raises(MLPError) as refused:
        parse_fallbacks([text])

    error = refused.value.errors[0]
    assert error.field == "fallback"
    assert words in error.message
    assert "region=REGION, machine=MACHINE_TYPE, gpu=TYPE:COUNT" in error.message


# ----- one rule each -----


@pytest.mark.parametrize("case", FIXTURE["default_names"], ids=lambda c: c["name"])
def test_the_default_job_name_is_the_files_stem_or_kind_cell(case):
    source = {"path": case["path"]} if case["path"] else {"code": "pass"}
    spec = JobSpec.model_validate({"kind": case["kind"], "source": source})
    assert default_job_name(spec) == case["name"]


def test_states_are_read_whatever_their_case_and_spacing():
    assert parse_state(" running ") is JobState.RUNNING
    assert parse_states(["queued,Failed", "", "cancelled"]) == [
        JobState.QUEUED,
        JobState.FAILED,
        JobState.CANCELLED,
    ]
    with pytest.raises(MLPError) as refused:
        parse_state("done")
    assert refused.value.errors[0].field == "state"
    assert "unknown state 'done'; one of: QUEUED, STARTING" in refused.value.message


# ----- sweeps -----

SWEEP_FLAGS = (
    "--sweep n_estimators=range(10,200) --sweep lr=log(1e-4,0.1) --sweep dropout=uniform(0,0.5) "
    "--sweep depth=[2,4,8] --sweep optimizer=[adam,sgd] --metric val_loss:min --trials 20 "
    "--parallel 4 --algorithm random --max-failed 3 --param epochs=3"
)
SWEEP = {
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": [
        {"name": "n_estimators", "type": "integer", "min": 10, "max": 200},
        {"name": "lr", "type": "double", "min": 1e-4, "max": 0.1, "scale": "log"},
        {"name": "dropout", "type": "double", "min": 0, "max": 0.5, "scale": "linear"},
        {"name": "depth", "type": "discrete", "values": [2, 4, 8]},
        {"name": "optimizer", "type": "categorical", "values": ["adam", "sgd"]},
    ],
    "max_trials": 20,
    "parallel_trials": 4,
    "algorithm": "random",
    "max_failed_trials": 3,
}


def magic_body(root: Path, line: str, cell: str = "print(1)") -> dict[str, Any]:
    shell = InteractiveShell.instance()
    magics = MLPMagics(shell, client=rooted_client(root))
    return magics.job_body("train", parse_line(magics.mlp_train, line), cell)


def test_the_sweep_flags_make_one_sweep_spec_in_the_magic_and_the_command_line(root):
    (root / "train.py").write_text("pass\n")
    options = build_parser().parse_args(["submit", "train.py", *shlex.split(SWEEP_FLAGS)])
    from_command = submit_body(rooted_client(root), options)
    from_magic = magic_body(root, SWEEP_FLAGS)

    for body in (from_command, from_magic):
        assert body["sweep"] == SWEEP
        assert body["parameters"] == {"epochs": 3}
        assert JobSpec.model_validate(body).sweep == SweepSpec.model_validate(SWEEP)


def test_a_metric_without_a_goal_is_maximised(root):
    assert magic_body(root, "--sweep x=[1,2] --metric acc")["sweep"]["metric"] == {
        "name": "acc",
        "goal": "maximize",
    }


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("--sweep x=normal(0,1) --metric a:max", "sweep", "unknown SPEC 'normal(0,1)'"),
        ("--sweep x --metric a:max", "sweep", "'x' is not NAME=SPEC"),
        ("--sweep x=range(1,2.5) --metric a:max", "sweep", "whole numbers in range(LO,HI)"),
        ("--sweep x=uniform(1) --metric a:max", "sweep", "two numbers in uniform(LO,HI)"),
        ("--sweep x=[1,,2] --metric a:max", "sweep", "lists an empty value"),
        ("--sweep 2x=[1,2] --metric a:max", "sweep", "not a Python name"),
        ("--sweep x=[1,2] --metric a:up", "metric", "'a:up' is not a metric"),
        ("--sweep x=[1,2]", "metric", "a sweep needs the metric"),
        ("--metric a:max --trials 3", "sweep", "add what it searches with --sweep"),
    ],
)
def test_a_wrong_sweep_flag_is_named_with_the_valid_syntax(root, line, field, words):
    with pytest.raises(MLPError) as refused:
        magic_body(root, line)
    error = refused.value.errors[0]
    assert error.field == field
    assert words in error.message
    syntax = "NAME=range(LO,HI)" if field == "sweep" else "NAME:max or NAME:min"
    assert syntax in error.message
