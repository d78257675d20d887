"""A job's log as a person reads it: the job's own output, without the lines the machinery
running a notebook adds (papermill's `Executing Cell 2-----` / `Ending Cell 2-----` marks, the
kernel's warning that it talks over TCP without encryption). The debug view keeps every line.
"""

from __future__ import annotations

import re

# papermill logs `Executing Cell {n:-<40}` before and `Ending Cell {n:-<43}` after each cell; a
# cloud log's line may start with the trial or replica it came from (`[trial 3] `).
_SOURCE = r"(?:\[[^\]\n]*\] )?"
_CELL_MARK = re.compile(_SOURCE + r"(?:Executing|Ending) Cell \d*-*[ \t\r]*")
# ipykernel's warning, as it words it: logged on one line, but a log format that wraps it
# leaves the rest of it on the lines that follow.
_TCP_WARNING = (
    "Kernel is running over TCP without encryption."
    " All communication (including code and outputs) is sent in plain text"
    " and is susceptible to eavesdropping."
    " Use IPC transport or launch with kernel manager-provisioned"
    " CurveZMQ keys to enable transport encryption."
)
_TCP_WARNING_START = _TCP_WARNING.split(".", 1)[0]
_SOURCE_PREFIX = re.compile(_SOURCE)


def readable(text: str) -> str:
    """`text` (whole lines of a log, the last maybe unfinished) less the machinery's lines."""
    if "Cell" not in text and _TCP_WARNING_START not in text:
        return text  # the usual piece of a script's log: nothing to look at line by line
    kept: list[str] = []
    in_warning = False
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if _CELL_MARK.fullmatch(bare):
            in_warning = False
            continue
        if _TCP_WARNING_START in bare:
            in_warning = True
            continue
        said = _SOURCE_PREFIX.sub("", bare, count=1).strip()
        if in_warning and said and said in _TCP_WARNING:
            continue
        in_warning = False
        kept.append(line)
    return "".join(kept)
