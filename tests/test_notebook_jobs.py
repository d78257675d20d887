"""Notebooks as jobs: real papermill runs, real kernels, real nbconvert scripts."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mlp.jobfiles.bundle import pack_bundle


def notebook(*cells: str | tuple[str, list[str]], kernel: str = "python3") -> nbformat.NotebookNode:
    """A notebook from cell sources; a (source, tags) pair makes a tagged cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "language": "python", "display_name": kernel}
    for cell in cells:
        source, tags = cell if isinstance(cell, tuple) else (cell, [])
        code = nbformat.v4.new_code_cell(source)
        if tags:
            code.metadata["tags"] = tags
        nb.cells.append(code)
    return nb


@pytest.fixture
def write_notebook(jp_root_dir: Path):
    def write(name: str, nb: nbformat.NotebookNode) -> str:
        path = jp_root_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return name

    return write


def executed(root: Path, job: dict[str, Any]) -> nbformat.NotebookNode:
    return nbformat.read(root / job["outputs"]["executed_notebook"], as_version=4)


def outputs_text(nb: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "") + json.dumps(output.get("data", {}))
        for cell in nb.cells
        for output in cell.get("outputs", [])
    )


PARAMS = ("epochs = 1\nlr = 0.5\noptimizer = 'sgd'\nlayers = [8]\nshuffle = False", ["parameters"])
SHOW = "print(repr(epochs), repr(lr), repr(optimizer), repr(layers), repr(shuffle))"


async def test_notebook_runs_with_typed_parameters_and_keeps_the_executed_notebook(
    api, write_notebook, jp_root_dir
):
    path = write_notebook("train.ipynb", notebook(PARAMS, SHOW))
    params = {"epochs": 3, "lr": 0.01, "optimizer": "adam", "layers": [64, 32], "shuffle": True}

    job = await api.submit(source={"path": path}, parameters=params)
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    result = executed(jp_root_dir, done)
    injected = next(c for c in result.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "epochs = 3" in injected.source and "shuffle = True" in injected.source
    assert "3 0.01 'adam' [64, 32] True" in outputs_text(result)
    # The log is the job's own output: papermill's cell marks are in its debug view only.
    log = await api.log(job["id"])
    assert "Executing Cell" not in log and "3 0.01 'adam' [64, 32] True\n" in log
    # A printed line is one line of the log, not followed by an empty one.
    assert "3 0.01 'adam' [64, 32] True\n\n" not in log


async def test_a_failing_cell_fails_the_job_naming_the_cell_and_keeps_the_traceback(
    api, write_notebook, jp_root_dir
):
    path = write_notebook(
        "broken.ipynb", notebook("x = 1", "raise KeyError('label')", "print('after')")
    )

    job = await api.submit(source={"path": path})
    done = await api.wait(job["id"])

    assert done["state"] == "FAILED"
    assert "cell 2" in done["state_message"] and "KeyError" in done["state_message"]
    result = executed(jp_root_dir, done)
    error = next(o for c in result.cells for o in c.get("outputs", []) if o.output_type == "error")
    assert error.ename == "KeyError"
    assert "after" not in outputs_text(result)


@pytest.mark.parametrize("mode", ["notebook", "script"])
async def test_magics_and_shell_lines_run_in_both_modes(api, write_notebook, mode):
    path = write_notebook(
        f"magic-{mode}.ipynb",
        notebook("!echo shell-line-ran", "%time total = sum(range(10))", "print('total', total)"),
    )
    job = await api.submit(source={"path": path, "mode": mode})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    log = await api.log(job["id"])
    assert "shell-line-ran" in log and "total 45" in log


async def test_script_mode_injects_parameters_and_leaves_out_job_cells(api, write_notebook):
    path = write_notebook(
        "script.ipynb",
        notebook(PARAMS, SHOW, "%%mlp_train --gpu T4:1\nprint('launcher cell ran')"),
    )
    job = await api.submit(source={"path": path, "mode": "script"}, parameters={"epochs": 7})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    log = await api.log(job["id"])
    assert "7 0.5 'sgd' [8] False" in log
    assert "launcher cell ran" not in log
    assert "executed_notebook" not in done["outputs"]


@pytest.mark.parametrize("mode", ["notebook", "script"])
async def test_a_whole_number_for_a_float_parameter_arrives_as_a_float(api, write_notebook, mode):
    # JSON (and so the launch form) sends 1.0 as 1: the parameters cell says lr is a float.
    path = write_notebook(f"whole-{mode}.ipynb", notebook(PARAMS, SHOW))
    job = await api.submit(
        source={"path": path, "mode": mode}, parameters={"lr": 1, "epochs": 2, "shuffle": True}
    )
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert "2 1.0 'sgd' [8] True" in await api.log(job["id"])
    assert repr(done["spec"]["parameters"]["lr"]) == "1.0"  # and a rerun sends it again as such


async def test_inline_code_gets_a_float_where_its_defaults_declare_one(api):
    # A cell job's defaults come before the mark its parameters replace (as a rerun sends them).
    code = "lr = 0.1\nsteps = 10\n# [mlp] parameters go here\nprint(repr(lr), repr(steps))\n"
    job = await api.submit(source={"code": code}, parameters={"lr": 1, "steps": 20})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert "1.0 20\n" in await api.log(job["id"])
    assert repr(done["spec"]["parameters"]["lr"]) == "1.0"


async def test_script_mode_failure_reports_the_exception(api, write_notebook):
    path = write_notebook("script-fail.ipynb", notebook("raise RuntimeError('bad shape')"))
    job = await api.submit(source={"path": path, "mode": "script"})
    done = await api.wait(job["id"])
    assert done["state"] == "FAILED"
    assert "RuntimeError: bad shape" in await api.log(job["id"])


async def test_non_ascii_content_survives_execution(api, write_notebook, jp_root_dir):
    text = "données — ✓ 日本語 🚀"
    path = write_notebook("unicode-ñ.ipynb", notebook(f"# {text}\nprint({text!r})"))
    job = await api.submit(source={"path": path})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert text in await api.log(job["id"])
    assert text in outputs_text(executed(jp_root_dir, done))


async def test_a_cell_with_large_output_completes_and_its_log_reads_in_ranges(
    api, write_notebook, jp_root_dir
):
    path = write_notebook("big.ipynb", notebook("for i in range(200_000): print(f'row {i:07d}')"))
    job = await api.submit(source={"path": path})
    done = await api.wait(job["id"], timeout=120)

    assert done["state"] == "SUCCEEDED", done["state_message"]
    _, tail = await api.call("GET", "jobs", job["id"], "logs", tail=4096)
    assert tail["size"] > 2_000_000 and len(tail["data"]) <= 4096
    assert "row 0199999" in outputs_text(executed(jp_root_dir, done))


async def test_a_notebook_writes_its_model_into_aip_model_dir(api, write_notebook, jp_root_dir):
    code = "import os, pathlib\nmodel = pathlib.Path(os.environ['AIP_MODEL_DIR'], 'model.json')\n"
    code += "model.write_text('{}')"
    path = write_notebook("model.ipynb", notebook(code))
    done = await api.wait((await api.submit(source={"path": path}))["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert (jp_root_dir / done["outputs"]["model_dir"] / "model.json").read_text() == "{}"


async def test_a_notebook_whose_kernel_is_not_installed_is_refused_naming_it(api, write_notebook):
    path = write_notebook("r.ipynb", notebook("1", kernel="ir-4.3"))
    code, answer = await api.call("POST", "jobs", body={"source": {"path": path}})

    assert code == 400
    error = answer["errors"][0]
    assert error["field"] == "source.path"
    assert "'ir-4.3' is not installed" in error["message"] and "python3" in error["message"]


async def test_included_files_travel_with_the_job(api, write_notebook, jp_root_dir):
    (jp_root_dir / "project" / "data").mkdir(parents=True)
    (jp_root_dir / "project" / "helpers.py").write_text("def scale(x):\n    return 10 * x\n")
    (jp_root_dir / "project" / "data" / "rows.csv").write_text("1\n2\n")
    (jp_root_dir / "project" / "data" / "notes.txt").write_text("not included")
    code = "from helpers import scale\nprint('scaled', scale(sum(map(int, open('data/rows.csv')))))"
    path = write_notebook("project/run.ipynb", notebook(code))

    job = await api.submit(source={"path": path, "include": ["helpers.py", "data/*.csv"]})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert "scaled 30" in await api.log(job["id"])
    folder = jp_root_dir / done["outputs"]["folder"]
    assert (folder / "data" / "rows.csv").is_file() and not (folder / "data" / "notes.txt").exists()


async def test_an_include_that_matches_nothing_is_refused(api, write_notebook):
    path = write_notebook("lonely.ipynb", notebook("pass"))
    code, answer = await api.call(
        "POST", "jobs", body={"source": {"path": path, "include": ["*.csv"]}}
    )
    assert code == 400
    assert answer["errors"][0] == {
        "field": "source.include",
        "message": "'*.csv' matches no file next to the source",
        "suggestions": [],
        "severity": "error",
    }


async def test_included_files_over_the_size_limit_are_refused_naming_the_largest(
    api, write_notebook, jp_root_dir
):
    (jp_root_dir / "heavy").mkdir()
    with open(jp_root_dir / "heavy" / "weights.bin", "wb") as handle:
        handle.truncate(101 * 2**20)
    path = write_notebook("heavy/run.ipynb", notebook("pass"))
    code, answer = await api.call(
        "POST", "jobs", body={"source": {"path": path, "include": ["*.bin"]}}
    )

    assert code == 400
    assert answer["errors"][0]["field"] == "source.include"
    assert "over the 100 MB limit" in answer["errors"][0]["message"]
    assert "weights.bin" in answer["errors"][0]["message"]


async def test_convert_previews_parameters_requirements_and_the_script(api, write_notebook):
    path = write_notebook(
        "preview.ipynb",
        notebook(
            "%pip install -q 'scikit-learn>=1.5' pandas",
            ("epochs = 10  # passes over the data\nlr = 0.001\nname = 'run'", ["parameters"]),
            "print(epochs)",
        ),
    )
    code, preview = await api.call(
        "POST",
        "convert",
        body={"source": {"path": path, "mode": "script"}, "parameters": {"epochs": 2}},
    )

    assert code == 200, preview
    assert preview["mode"] == "script" and preview["kernel_name"] == "python3"
    assert preview["parameters"][0] == {
        "name": "epochs",
        "type": "int",
        "default": "10",
        "help": "passes over the data",
    }
    assert [p["name"] for p in preview["parameters"]] == ["epochs", "lr", "name"]
    assert preview["detected_requirements"] == ["scikit-learn>=1.5", "pandas"]
    assert "epochs = 2" in preview["script"]
    pip_lines = [line for line in preview["script"].splitlines() if "pip install" in line]
    assert pip_lines == [
        "# [mlp] not run in a job, whose requirements are installed instead: "
        "%pip install -q 'scikit-learn>=1.5' pandas"
    ]
    files = {f["path"] for f in preview["manifest"]["files"]}
    assert files == {
        "src/preview.py",
        "requirements.txt",
        "runner.py",
        "mlp_report/jupyter_mlp/__init__.py",
    }
    assert len(preview["bundle_sha256"]) == 64


async def test_bundles_are_byte_identical_for_the_same_inputs(api, write_notebook, jp_root_dir):
    path = write_notebook("same.ipynb", notebook(PARAMS, SHOW))
    spec = {"source": {"path": path}, "parameters": {"epochs": 2}}
    first = await api.call("POST", "convert", body=spec)
    second = await api.call("POST", "convert", body=spec)
    assert first[1]["bundle_sha256"] == second[1]["bundle_sha256"]

    jobs = [await api.submit(**spec) for _ in range(2)]
    bundles = [jp_root_dir / j["outputs"]["folder"] / ".mlp" / "bundle" for j in jobs]
    packed = [pack_bundle(b) for b in bundles]
    assert packed[0] == packed[1]
    assert hashlib.sha256(packed[0]).hexdigest() == first[1]["bundle_sha256"]
    for job in jobs:
        await api.wait(job["id"])


def make_wheel(folder: Path, name: str, version: str, code: str) -> Path:
    """A minimal pure-Python wheel, built by hand so the test needs no network and no builder."""
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": code,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{dist}/RECORD", record)
    return wheel


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path):
    jp_server_config["LocalBackend"]["env_cache_dir"] = str(tmp_path / "envs")
    return jp_server_config


async def test_requirements_go_into_a_reused_job_environment_not_the_users(
    api, tmp_path, write_notebook
):
    wheel = make_wheel(tmp_path, "mlp_probe_pkg", "1.0", "VALUE = 42\n")
    path = write_notebook(
        "needs.ipynb",
        notebook("import mlp_probe_pkg, papermill\nprint('value', mlp_probe_pkg.VALUE)"),
    )

    first = await api.wait(
        (await api.submit(source={"path": path}, requirements=[str(wheel)]))["id"], timeout=120
    )
    assert first["state"] == "SUCCEEDED", (first["state_message"], await api.log(first["id"]))
    first_log = await api.log(first["id"])
    assert "value 42" in first_log and "creating an environment" in first_log

    second = await api.wait(
        (await api.submit(source={"path": path}, requirements=[str(wheel)]))["id"], timeout=120
    )
    assert second["state"] == "SUCCEEDED", second["state_message"]
    assert "reusing the environment" in await api.log(second["id"])

    probe = subprocess.run([sys.executable, "-c", "import mlp_probe_pkg"], capture_output=True)
    assert probe.returncode != 0, "the requirement leaked into the server's environment"
    assert len([p for p in (tmp_path / "envs").iterdir() if p.is_dir()]) == 1


@pytest.mark.parametrize("mode", ["notebook", "script"])
async def test_pip_lines_never_install_into_the_servers_environment(
    api, tmp_path, write_notebook, mode
):
    wheel = make_wheel(tmp_path, f"mlp_pip_line_{mode}", "1.0", "VALUE = 1\n")
    path = write_notebook(
        f"pip-{mode}.ipynb", notebook(f"%pip install {wheel}", "print('after pip')")
    )

    job = await api.submit(source={"path": path, "mode": mode}, requirements=[])
    done = await api.wait(job["id"], timeout=120)

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert done["spec"]["requirements"] == []
    log = await api.log(job["id"])
    assert "after pip" in log and "Successfully installed" not in log
    probe = subprocess.run(
        [sys.executable, "-c", f"import mlp_pip_line_{mode}"], capture_output=True
    )
    assert probe.returncode != 0


async def test_detected_pip_packages_become_the_requirements_unless_a_list_is_given(
    api, tmp_path, write_notebook
):
    wheel = make_wheel(tmp_path, "mlp_detected_pkg", "1.0", "VALUE = 5\n")
    path = write_notebook(
        "detected.ipynb",
        notebook(
            f"%pip install {wheel}", "import mlp_detected_pkg\nprint('v', mlp_detected_pkg.VALUE)"
        ),
    )
    job = await api.submit(source={"path": path})
    assert job["spec"]["requirements"] == [str(wheel)]
    done = await api.wait(job["id"], timeout=120)
    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert "v 5" in await api.log(job["id"])

    code, rerun = await api.call("POST", "jobs", job["id"], "rerun")
    assert code == 201 and rerun["spec"]["requirements"] == [str(wheel)]
    await api.wait(rerun["id"], timeout=120)


async def test_requirements_that_cannot_install_fail_the_job_saying_so(api, tmp_path):
    job = await api.submit(
        source={"code": "print('never')"},
        requirements=[str(tmp_path / "no-such-1.0-py3-none-any.whl")],
    )
    done = await api.wait(job["id"], timeout=120)
    assert done["state"] == "FAILED"
    assert "installing the requirements failed" in done["state_message"]
    assert "never" not in await api.log(job["id"])
