"""What a job spec may ask of a bundle, and what it may not: arguments that reach the script,
user files of any name, requirements that are requirements, globs and parameters that stay
what they say. Real servers, real child processes, real pip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import pytest

ARGS = ["--epochs", "3", "--InteractiveShellApp.exec_lines=print('IPYTHON' + '-RAN')"]


def notebook(*sources: str, kernel: str = "python3") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "language": "python", "display_name": kernel}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


@pytest.fixture
def write_file(jp_root_dir: Path):
    """Write a file under the server's root dir; returns its path relative to the root."""

    def write(name: str, content: str | nbformat.NotebookNode) -> str:
        path = jp_root_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(textwrap.dedent(content), encoding="utf-8")
        else:
            nbformat.write(content, path)
        return name

    return write


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path):
    jp_server_config["LocalBackend"]["env_cache_dir"] = str(tmp_path / "envs")
    return jp_server_config


async def refused(api, **spec: Any) -> dict[str, Any]:
    """The single field error a spec is refused with (a 400)."""
    code, answer = await api.call("POST", "jobs", body=spec)
    assert code == 400, answer
    assert len(answer["errors"]) == 1, answer
    return answer["errors"][0]  # type: ignore[no-any-return]


# ----- args in IPython mode -----

SHOW_ARGV = "%time import sys\nprint('ARGV', sys.argv[1:])"


async def test_inline_code_with_a_magic_gets_its_args_as_a_script_would(api):
    job = await api.submit(source={"code": SHOW_ARGV}, args=ARGS)
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    log = await api.log(job["id"])
    assert f"ARGV {ARGS!r}" in log
    assert "IPYTHON-RAN" not in log


async def test_a_notebook_in_script_mode_with_a_magic_cell_gets_its_args(api, write_file):
    path = write_file(
        "magic-args.ipynb", notebook("%time x = 1", "import sys\nprint('ARGV', sys.argv[1:])")
    )
    job = await api.submit(source={"path": path, "mode": "script"}, args=["--epochs", "3"])
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert "ARGV ['--epochs', '3']" in await api.log(job["id"])


async def test_a_failing_script_under_ipython_fails_with_its_exit_code(api):
    job = await api.submit(source={"code": "%time x = 1\nimport sys\nsys.exit(4)"})
    done = await api.wait(job["id"])
    assert done["state"] == "FAILED" and done["backend_state"] == "exit 4"


# ----- the bundle's own files never collide with the user's -----


async def test_a_helper_module_named_runner_is_the_users(api, write_file):
    write_file("proj/runner.py", "WHO = 'the user'\n")
    path = write_file("proj/train.py", "import runner\nprint('runner is', runner.WHO)\n")
    job = await api.submit(source={"path": path, "include": ["runner.py"]})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", (done["state_message"], await api.log(job["id"]))
    assert "runner is the user" in await api.log(job["id"])


async def test_a_helper_named_runner_imports_in_ipython_mode_too(api, write_file):
    write_file("ipy/runner.py", "WHO = 'the user'\n")
    write_file("ipy/train.ipynb", notebook("%time x = 1", "import runner\nprint('is', runner.WHO)"))
    job = await api.submit(
        source={"path": "ipy/train.ipynb", "mode": "script", "include": ["*.py"]}
    )
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", (done["state_message"], await api.log(job["id"]))
    assert "is the user" in await api.log(job["id"])


async def test_a_source_named_runner_runs(api, write_file):
    path = write_file("runner.py", "import sys\nprint('user runner ran', sys.argv[1:])\n")
    job = await api.submit(source={"path": path}, args=["a"])
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", (done["state_message"], await api.log(job["id"]))
    assert "user runner ran ['a']" in await api.log(job["id"])


async def test_data_files_named_like_the_bundles_own_reach_the_job_unchanged(api, write_file):
    write_file("data/manifest.json", '{"mine": true}\n')
    write_file("data/requirements.txt", "my own notes\n")
    code = "print('READ', open('manifest.json').read().strip(), open('requirements.txt').read())"
    path = write_file("data/read.py", code)
    job = await api.submit(source={"path": path, "include": ["manifest.json", "requirements.txt"]})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", (done["state_message"], await api.log(job["id"]))
    assert 'READ {"mine": true} my own notes' in await api.log(job["id"])


async def test_a_bundle_runs_as_a_module_from_its_own_folder(
    api, write_file, jp_root_dir, tmp_path
):
    write_file("pkg/helper.txt", "shipped\n")
    path = write_file(
        "pkg/main.py", "import sys\nprint('ran with', sys.argv[1:], open('helper.txt').read())"
    )
    job = await api.submit(source={"path": path, "include": ["helper.txt"]}, args=["x"])
    await api.wait(job["id"])
    # The bundle as a cloud package ships it: a package whose runner module is run by name.
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(jp_root_dir / job["outputs"]["folder"] / ".mlp" / "bundle", work / "mlp_job")
    (work / "mlp_job" / "__init__.py").touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLP_")}

    run = subprocess.run(
        [sys.executable, "-m", "mlp_job.runner"], cwd=work, env=env, capture_output=True, text=True
    )

    assert run.returncode == 0, run.stderr
    assert "ran with ['x'] shipped" in run.stdout


# ----- requirements are requirements -----


@pytest.mark.parametrize(
    "requirements",
    [
        ["-r", "/etc/passwd"],
        ["--target", "/tmp/mlp-elsewhere"],
        ["--index-url", "https://example.invalid/simple"],
        ["-e", "/"],
        ["/etc/passwd"],
    ],
)
async def test_pip_options_as_requirements_are_refused_naming_the_entry(api, requirements):
    error = await refused(api, source={"code": "pass"}, requirements=requirements)
    assert error["field"] == "requirements[0]"
    assert f"'{requirements[0]}' is not a requirement specifier" in error["message"]


async def test_an_option_after_a_good_requirement_is_refused_naming_its_position(api):
    error = await refused(
        api, source={"code": "pass"}, requirements=["pandas>=2", "--extra-index-url=http://x"]
    )
    assert error["field"] == "requirements[1]"


async def test_requirement_specifiers_markers_and_direct_urls_are_accepted(api):
    listed = [
        "scikit-learn>=1.5",
        "torch; sys_platform == 'linux'",
        "mypkg @ https://example.com/mypkg-1.0-py3-none-any.whl",
    ]
    code, preview = await api.call(
        "POST", "convert", body={"source": {"code": "pass"}, "requirements": listed}
    )
    assert code == 200, preview
    assert preview["manifest"]["requirements"] == listed


async def test_a_requirements_file_is_read_with_pips_rules(api, write_file):
    write_file("env/base.txt", "numpy>=1.26  # the base\n")
    write_file(
        "env/requirements.txt",
        """\
        # what training needs
        -r base.txt

        pandas>=2 # trailing comment
        torch; \\
            sys_platform == 'linux'
        mypkg @ https://example.com/mypkg-1.0.tar.gz#sha256=abc
        """,
    )
    code, preview = await api.call(
        "POST", "convert", body={"source": {"code": "pass"}, "requirements": "env/requirements.txt"}
    )

    assert code == 200, preview
    assert preview["manifest"]["requirements"] == [
        "numpy>=1.26",
        "pandas>=2",
        "torch;     sys_platform == 'linux'",
        "mypkg @ https://example.com/mypkg-1.0.tar.gz#sha256=abc",
    ]


@pytest.mark.parametrize(
    "line", ["--index-url https://example.invalid/simple", "-e /", "--target /tmp/x", "-c c.txt"]
)
async def test_an_option_line_in_a_requirements_file_is_refused_naming_file_and_line(
    api, write_file, line
):
    write_file("opts/requirements.txt", f"pandas\n\n{line}\n")
    error = await refused(api, source={"code": "pass"}, requirements="opts/requirements.txt")
    assert error["field"] == "requirements"
    assert "opts/requirements.txt, line 3" in error["message"]


async def test_a_nested_requirements_file_outside_the_root_dir_is_refused(api, write_file):
    write_file("nested/requirements.txt", "-r ../../outside.txt\n")
    error = await refused(api, source={"code": "pass"}, requirements="nested/requirements.txt")
    assert error["field"] == "requirements"
    assert "outside the Jupyter root dir" in error["message"]


async def test_requirements_files_that_include_each_other_are_refused(api, write_file):
    write_file("cycle/a.txt", "-r b.txt\n")
    write_file("cycle/b.txt", "--requirement=a.txt\n")
    error = await refused(api, source={"code": "pass"}, requirements="cycle/a.txt")
    assert "cycle/a.txt -> cycle/b.txt -> cycle/a.txt" in error["message"]


async def test_pip_lines_in_a_notebook_yield_only_requirements(api, write_file):
    line = (
        "%pip install -q --target /tmp/x -e / pandas -r /etc/passwd "
        "--index-url=https://example.invalid 'numpy>=1' --progress-bar off"
    )
    path = write_file("pip-opts.ipynb", notebook(line))
    code, preview = await api.call("POST", "convert", body={"source": {"path": path}})
    assert code == 200, preview
    assert preview["detected_requirements"] == ["pandas", "numpy>=1"]


async def test_a_requirements_file_with_comments_and_nested_files_installs(
    api, write_file, tmp_path
):
    from test_notebook_jobs import make_wheel

    first = make_wheel(tmp_path, "mlp_file_req_a", "1.0", "VALUE = 'a'\n")
    second = make_wheel(tmp_path, "mlp_file_req_b", "1.0", "VALUE = 'b'\n")
    write_file("reqs/base.txt", f"{first}  # from the base file\n")
    write_file("reqs/requirements.txt", f"-r base.txt\n{second} # trailing\n")
    code = "import mlp_file_req_a as a, mlp_file_req_b as b\nprint('got', a.VALUE, b.VALUE)"

    job = await api.submit(source={"code": code}, requirements="reqs/requirements.txt")
    done = await api.wait(job["id"], timeout=120)

    assert done["state"] == "SUCCEEDED", (done["state_message"], await api.log(job["id"]))
    assert "got a b" in await api.log(job["id"])


# ----- includes and paths -----


async def test_an_include_through_a_link_leading_outside_the_root_is_refused_naming_it(
    api, write_file, jp_root_dir, tmp_path
):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("not for jobs")
    path = write_file("linked/train.py", "pass\n")
    (jp_root_dir / "linked" / "data").mkdir()
    (jp_root_dir / "linked" / "data" / "secret.txt").symlink_to(secret)
    (jp_root_dir / "linked" / "data" / "ok.txt").write_text("fine")

    error = await refused(api, source={"path": path, "include": ["data/*.txt"]})

    assert error["field"] == "source.include"
    assert (
        "data/secret.txt" in error["message"] and "outside the Jupyter root dir" in error["message"]
    )


@pytest.mark.parametrize("pattern", ["", ".", "./"])
async def test_an_include_naming_no_files_is_refused(api, write_file, pattern):
    path = write_file("inc/train.py", "pass\n")
    error = await refused(api, source={"path": path, "include": [pattern]})
    assert error["field"] == "source.include"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"source": {"path": "tr\0ain.py"}}, "source.path"),
        ({"source": {"code": "pass"}, "requirements": "req\0s.txt"}, "requirements"),
        ({"source": {"path": "nul/train.py", "include": ["*\0.py"]}}, "source.include"),
    ],
)
async def test_a_nul_character_in_a_path_is_refused_naming_the_field(api, write_file, spec, field):
    write_file("nul/train.py", "pass\n")
    error = await refused(api, **spec)
    assert error["field"] == field and "NUL" in error["message"]


async def test_includes_matching_too_many_files_are_refused_saying_so(api, write_file, jp_root_dir):
    path = write_file("many/train.py", "pass\n")
    folder = jp_root_dir / "many" / "files"
    folder.mkdir()
    for index in range(10_001):
        (folder / f"{index}.txt").touch()

    error = await refused(api, source={"path": path, "include": ["files/*.txt"]})

    assert error["field"] == "source.include"
    assert "more than 10,000 files" in error["message"]


async def test_a_notebook_whose_kernel_is_named_python_runs(api, write_file):
    path = write_file("old.ipynb", notebook("print('old notebook ran')", kernel="python"))
    job = await api.submit(source={"path": path})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert "old notebook ran" in await api.log(job["id"])


# ----- parameters -----


@pytest.mark.parametrize("name", ["x = 0; import os; print('INJECTED'); y", "class", "1st"])
async def test_a_parameter_of_inline_code_must_be_a_python_name(api, name):
    error = await refused(api, source={"code": "print('ran')"}, parameters={name: 1})
    assert error["field"] == f"parameters.{name}"
    assert "not a Python name" in error["message"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "[1.0, NaN]"])
@pytest.mark.parametrize("source", [{"code": "pass"}, {"path": "p/train.py"}])
async def test_nan_and_infinity_parameters_are_refused(api, write_file, value, source):
    write_file("p/train.py", "pass\n")
    body = f'{{"source": {json.dumps(source)}, "parameters": {{"lr": {value}}}}}'
    code, answer = await api.call("POST", "jobs", raw_body=body)

    assert code == 400, answer
    assert [e["field"] for e in answer["errors"]] == ["parameters.lr"]
    assert (await api.call("GET", "jobs"))[1]["jobs"] == []
