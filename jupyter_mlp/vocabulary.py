"""The words the frontend and the OpenAPI document share with the Python side, from one source.

Job states and their groups (terminal, active, cancellable), job kinds, the submit flags, and the
backends this package installs with their capabilities, all read from the Python definitions
(`JobState`, `JobKind`, `SUBMIT_OPTIONS`, each backend class's `capabilities`). `vocabulary_text`
writes them, with the TypeScript types `JobState`, `JobKind` and `IBackendCapabilities` (the
latter from `Capabilities`' JSON schema), as `src/vocabularyData.ts`;
`python -m jupyter_mlp.vocabulary` rewrites that file and a test keeps it in step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .backends import backend_classes
from .backends.capabilities import Capabilities
from .client.submit_options import SUBMIT_OPTIONS
from .core.models import JobKind, JobState

#: Where the frontend's copy lives, from the repository's root. A module of data rather than a
#: .json file: the TypeScript project compiles only .ts files.
VOCABULARY_FILE = Path("src") / "vocabularyData.ts"

#: Every kind, in the order the Python enum declares them.
KINDS: tuple[str, ...] = tuple(kind.value for kind in JobKind)

#: Every state, in the order of a job's life.
STATES: tuple[str, ...] = tuple(state.value for state in JobState)


def cancellable(state: JobState) -> bool:
    """Whether a cancel still changes the job: it has not ended and no cancel is under way
    (the manager's `cancel` leaves an ended or CANCELLING job as it is)."""
    return not state.terminal and state is not JobState.CANCELLING


def state_groups() -> dict[str, list[str]]:
    """Every state, and those terminal, active (holding resources) and cancellable."""
    return {
        "all": list(STATES),
        "terminal": [state.value for state in JobState if state.terminal],
        "active": [state.value for state in JobState if state.active],
        "cancellable": [state.value for state in JobState if cancellable(state)],
    }


def installed_backends() -> dict[str, Capabilities]:
    """The backends installed here, each with its capabilities: those on this machine first,
    then by the first kind they run (training before ETL), then by name."""
    classes = backend_classes()

    def order(name: str) -> tuple[bool, int, str]:
        capabilities = classes[name].capabilities
        first_kind = min(KINDS.index(kind.value) for kind in capabilities.kinds)
        return capabilities.remote, first_kind, name

    return {name: classes[name].capabilities for name in sorted(classes, key=order)}


def vocabulary() -> dict[str, Any]:
    """What the frontend shares with the Python side, as JSON.

    The sweep flags come apart (`sweep_options`): the panel writes a spec back as flags from
    `submit_options` and has no words for sweeps yet."""
    backends = installed_backends()
    return {
        "submit_options": [o.describe() for o in SUBMIT_OPTIONS if not o.for_sweeps],
        "sweep_options": [o.describe() for o in SUBMIT_OPTIONS if o.for_sweeps],
        "backends": {
            "known": list(backends),
            "cloud": [name for name, capabilities in backends.items() if capabilities.remote],
            "capabilities": {
                name: capabilities.model_dump(mode="json")
                for name, capabilities in backends.items()
            },
        },
        "kinds": list(KINDS),
        "states": state_groups(),
    }


# ----- TypeScript types from the Python ones -----


def _union(name: str, words: tuple[str, ...], doc: str) -> str:
    """A union of string literals, laid out as prettier would (one line when it fits in 80)."""
    quoted = [f"'{word}'" for word in words]
    one_line = f"export type {name} = {' | '.join(quoted)};"
    if len(one_line) <= 80:
        return f"/** {doc} */\n{one_line}\n"
    members = "".join(f"\n  | {word}" for word in quoted)
    return f"/** {doc} */\nexport type {name} ={members};\n"


def _ts_type(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    """A JSON schema (the subset pydantic writes for `Capabilities`) as a TypeScript type."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_ts_type(option, defs) for option in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(f"'{value}'" for value in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        item = _ts_type(schema["items"], defs)
        return f"({item})[]" if " " in item else f"{item}[]"
    if kind == "object":
        return f"Record<string, {_ts_type(schema.get('additionalProperties', {}), defs)}>"
    simple = {"string": "string", "boolean": "boolean", "integer": "number", "number": "number"}
    if kind in simple:
        return simple[kind]
    if kind == "null":
        return "null"
    raise ValueError(f"no TypeScript type for the schema {schema}")


def _interface(name: str, model: type[Capabilities]) -> str:
    """The model as it is served: every field is present (a default is sent too)."""
    schema = model.model_json_schema(mode="serialization")
    defs = schema.get("$defs", {})
    lines = [f"/** {schema['description']} */", f"export interface {name} {{"]
    for field, prop in schema["properties"].items():
        if "description" in prop:
            lines.append(f"  /** {prop['description']} */")
        lines.append(f"  {field}: {_ts_type(prop, defs)};")
    return "\n".join([*lines, "}"]) + "\n"


def vocabulary_text() -> str:
    """The vocabulary and its types as a TypeScript module (its JSON left as it is by prettier)."""
    return "\n".join(
        [
            "// Written by `python -m jupyter_mlp.vocabulary` from jupyter_mlp/vocabulary.py:\n"
            "// do not edit. src/vocabulary.ts names its parts.\n",
            _union("JobState", STATES, "Every state a job can be in; the same for every backend."),
            _union("JobKind", KINDS, "What a job does: train a model, or run an ETL pipeline."),
            _interface("IBackendCapabilities", Capabilities),
            "// prettier-ignore\n"
            f"export const VOCABULARY = {json.dumps(vocabulary(), indent=2)};\n",
        ]
    )


def write_vocabulary(path: Path = VOCABULARY_FILE) -> None:
    """Rewrite the frontend's copy."""
    path.write_text(vocabulary_text(), encoding="utf-8")


if __name__ == "__main__":
    write_vocabulary()
    print(f"wrote {VOCABULARY_FILE}")
