"""The examples a new user starts from (`examples/`, copied into `workspace/` by `scripts/dev`):
each runs as a real local job through a real Jupyter server, sent as its notebook, the
workspace's README or the magic on its line would send it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mlp.client.magics import MLPMagics, cell_job_code, include_cells, parse_line
from jupyter_mlp.client.submit_options import parse_params, spec_body

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "scripts" / "seed-workspace"


def seed(folder: Path) -> str:
    """Run the seeding script of `scripts/dev` into `folder`; what it printed."""
    done = subprocess.run([str(SEED), str(folder)], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def workspace(jp_root_dir: Path) -> Path:
    """The server's root dir, seeded as `scripts/dev` seeds `workspace/`."""
    seed(jp_root_dir)
    return jp_root_dir


def magic_line(notebook: Path, magic: str) -> tuple[str, str]:
    """The options after `magic` in the notebook's cell that uses it, and the rest of the
    cell (the code of a cell magic)."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        first, _, rest = cell.source.partition("\n")
        if cell.cell_type == "code" and first.startswith(magic + " "):
            return first.removeprefix(magic + " "), rest
    raise AssertionError(f"no {magic} cell in {notebook.name}")


def executed_text(root: Path, job: dict[str, Any]) -> str:
    nb = nbformat.read(root / job["outputs"]["executed_notebook"], as_version=4)
    return "".join(
        output.get("text", "") for cell in nb.cells for output in cell.get("outputs", [])
    )


async def test_the_train_notebook_runs_with_a_parameter_changed_and_keeps_its_metrics(
    api, workspace
):
    job = await api.submit(source={"path": "train.ipynb"}, parameters={"epochs": 3})
    done = await api.wait(job["id"], timeout=60)

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert "epoch 3: loss" in executed_text(workspace, done)
    assert "epoch 4" not in executed_text(workspace, done)
    folder = workspace / done["outputs"]["folder"]
    assert (folder / "model" / "model.npz").is_file()
    for name in ("loss", "accuracy"):
        points = done["metrics"][name]
        assert [point["step"] for point in points] == [1, 2, 3]
        assert all(0 <= point["value"] <= 1 for point in points)
    losses = [point["value"] for point in done["metrics"]["loss"]]
    assert losses == sorted(losses, reverse=True)  # it learns: the loss falls every epoch


async def test_the_sweep_notebooks_line_runs_a_grid_over_the_train_notebook(api, workspace):
    line, _ = magic_line(workspace / "sweep.ipynb", "%mlp_train")
    options = parse_line(MLPMagics.mlp_train, line)
    body = spec_body(options, kind="train", source={"path": options.source})

    job = await api.submit(**body)
    done = await api.wait(job["id"], timeout=90)

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert sorted(t["parameters"]["lr"] for t in done["trials"]) == [0.001, 0.01, 0.1]
    assert all(t["state"] == "SUCCEEDED" and 0.5 < t["metric"] <= 1 for t in done["trials"])
    assert done["best_trial"] is not None


async def test_wordcount_runs_as_an_etl_job_as_the_readme_submits_it(api, workspace):
    job = await api.submit(kind="etl", source={"path": "wordcount.py", "include": ["sample.txt"]})
    done = await api.wait(job["id"], timeout=90)

    assert done["state"] == "SUCCEEDED", done["state_message"]
    shards = list((workspace / done["outputs"]["folder"] / "counts").glob("words-*.txt"))
    counts = dict(
        line.rsplit(": ", 1) for shard in shards for line in shard.read_text().split("\n") if line
    )
    assert counts["river"] == "4"
    assert counts["day's"] == "1"


async def test_the_cell_jobs_cell_runs_as_the_magic_sends_it(api, workspace):
    notebook = workspace / "cell_job.ipynb"
    line, cell = magic_line(notebook, "%%mlp_train")
    options = parse_line(MLPMagics.mlp_train, line)
    code = cell_job_code(cell, include_cells(notebook), parse_params(options.param))
    body = spec_body(options, kind="train", source={"code": code})

    job = await api.submit(**body)
    done = await api.wait(job["id"], timeout=60)

    assert done["state"] == "SUCCEEDED", done["state_message"]
    total = sum(n**0.5 for n in range(1000))
    assert f"the square roots of 0 to 999 add up to {total:.3f}" in await api.log(job["id"])


def test_seeding_never_overwrites_a_file_and_brings_back_a_deleted_one(tmp_path):
    folder = tmp_path / "workspace"
    seed(folder)
    (folder / "train.ipynb").write_text("my own edits", encoding="utf-8")
    (folder / "README.md").unlink()
    (folder / "mine.py").write_text("print('mine')\n", encoding="utf-8")

    printed = seed(folder)

    assert (folder / "train.ipynb").read_text(encoding="utf-8") == "my own edits"
    assert (folder / "README.md").read_bytes() == (REPO / "examples" / "README.md").read_bytes()
    assert (folder / "mine.py").read_text(encoding="utf-8") == "print('mine')\n"
    assert "Copied 1 example file(s)" in printed
    assert seed(folder) == ""  # nothing missing: nothing copied, nothing said


def test_every_example_notebook_is_committed_without_outputs():
    for path in (REPO / "examples").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert all(not cell.outputs and cell.execution_count is None for cell in code), path.name
        assert nb.metadata["kernelspec"]["name"] == "python3", path.name


async def test_the_train_notebooks_parameters_come_to_the_form_with_their_help(api, workspace):
    code, preview = await api.call("POST", "convert", body={"source": {"path": "train.ipynb"}})

    assert code == 200, preview
    shown = {p["name"]: (p["type"], p["default"], p["help"]) for p in preview["parameters"]}
    assert shown["epochs"] == ("int", "5", "passes over the data")
    assert shown["lr"] == ("float", "0.01", "learning rate")
    assert preview["detected_requirements"] == []  # nothing to install: it runs at once
