"""A sweep's trial parameters reach generated scripts (inline code, a notebook run as a script)
as variables, read from the `--name=value` arguments a Vertex AI trial gets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

from jupyter_mlp.core.models import JobSpec
from jupyter_mlp.jobfiles import bundle

SWEEP = {
    "metric": {"name": "score"},
    "parameters": [
        {"name": "lr", "type": "double", "min": 0.001, "max": 1, "scale": "log"},
        {"name": "optimizer", "type": "categorical", "values": ["sgd", "adam"]},
    ],
    "algorithm": "random",
}
SHOW = "import json\nprint(json.dumps({'lr': lr, 'optimizer': optimizer, 'epochs': epochs}))\n"


def run(script: str, folder: Path, *args: str) -> dict[str, object]:
    path = folder / "main.py"
    path.write_text(script)
    done = subprocess.run(
        [sys.executable, str(path), *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_inline_code_of_a_sweep_gets_the_trial_arguments_as_variables(tmp_path):
    spec = JobSpec.model_validate(
        {
            "source": {"code": "lr = 0.1\noptimizer = 'adam'\n" + SHOW},
            "parameters": {"epochs": 3},
            "sweep": SWEEP,
        }
    )
    text = bundle.plan_source(spec, tmp_path).text or ""

    seen = run(text, tmp_path, "--lr=0.025", "--optimizer=sgd")

    # The code's own defaults come after the injected values, as in a notebook's cell order.
    assert seen == {"lr": 0.1, "optimizer": "adam", "epochs": 3}
    assert run(
        text.replace("lr = 0.1\noptimizer = 'adam'\n", ""),
        tmp_path,
        "--lr=0.025",
        "--optimizer=sgd",
    ) == {"lr": 0.025, "optimizer": "sgd", "epochs": 3}


def test_a_notebook_run_as_a_script_gets_the_trial_arguments_after_its_parameters_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    defaults = nbformat.v4.new_code_cell("lr = 0.1\noptimizer = 'adam'\nepochs = 1")
    defaults.metadata["tags"] = ["parameters"]
    nb.cells = [defaults, nbformat.v4.new_code_cell(SHOW)]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nbformat.write(nb, tmp_path / "train.ipynb")
    spec = JobSpec.model_validate(
        {
            "source": {"path": "train.ipynb", "mode": "script"},
            "parameters": {"epochs": 3},
            "sweep": SWEEP,
        }
    )
    text = bundle.plan_source(spec, tmp_path).text or ""

    assert run(text, tmp_path, "--lr=0.025", "--optimizer=sgd") == {
        "lr": 0.025,
        "optimizer": "sgd",
        "epochs": 3,
    }
    # Without trial arguments (a plain run of the same script) the notebook's values stand.
    assert run(text, tmp_path) == {"lr": 0.1, "optimizer": "adam", "epochs": 3}
