"""A bundle as an installable package: the same bytes for the same bundle, staged once in Cloud
Storage (the real client against gcp-storage-emulator), and it really runs once pip installed it
the way a Vertex AI prebuilt container does."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import nbformat
import pytest
from fake_storage import StorageEmulator

from jupyter_mlp.backends.gcp.staging import (
    RUNNER_MODULE,
    build_package,
    package_requirements,
    upload_package,
)
from jupyter_mlp.core.models import JobSpec
from jupyter_mlp.jobfiles.bundle import build_bundle, plan_source

BUCKET = "staging-bucket"


def make_bundle(root: Path, dest: Path, **spec: object) -> Path:
    job = JobSpec.model_validate(spec)
    build_bundle(job, plan_source(job, root), dest)
    return dest


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {info.name: info for info in tar.getmembers()}


def read_member(data: bytes, name: str) -> str:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        return handle.read().decode()


@pytest.fixture(scope="module")
def storage_emulator():
    with StorageEmulator(BUCKET) as emulator:
        yield emulator


@pytest.fixture
def storage(storage_emulator: StorageEmulator, monkeypatch: pytest.MonkeyPatch):
    storage_emulator.reset()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", storage_emulator.endpoint)
    return storage_emulator


def storage_client():
    from google.cloud import storage

    return storage.Client(project="test-project")


def test_the_same_bundle_gives_the_same_bytes(tmp_path):
    (tmp_path / "train.py").write_text("print('hi')\n")
    first = build_package(make_bundle(tmp_path, tmp_path / "a", source={"path": "train.py"}))
    os.utime(tmp_path / "train.py", (1, 1))  # another time, the same content
    second = build_package(make_bundle(tmp_path, tmp_path / "b", source={"path": "train.py"}))

    assert first.data == second.data
    assert first.filename == f"{first.sha256}.tar.gz"


def test_a_changed_source_gives_another_package(tmp_path):
    (tmp_path / "train.py").write_text("print('hi')\n")
    first = build_package(make_bundle(tmp_path, tmp_path / "a", source={"path": "train.py"}))
    (tmp_path / "train.py").write_text("print('bye')\n")
    second = build_package(make_bundle(tmp_path, tmp_path / "b", source={"path": "train.py"}))

    assert first.sha256 != second.sha256


def test_entries_are_sorted_with_no_times_owners_or_odd_modes(tmp_path):
    (tmp_path / "train.py").write_text("print('hi')\n")
    package = build_package(make_bundle(tmp_path, tmp_path / "b", source={"path": "train.py"}))

    entries = members(package.data)
    assert list(entries) == sorted(entries)
    assert {(i.mtime, i.uid, i.gid, i.uname, i.gname, i.mode) for i in entries.values()} == {
        (0, 0, 0, "", "", 0o644)
    }
    top = "mlp_bundle-1.0"
    assert {
        f"{top}/PKG-INFO",
        f"{top}/pyproject.toml",
        f"{top}/mlp_bundle/__init__.py",
        f"{top}/mlp_bundle/runner.py",
        f"{top}/mlp_bundle/manifest.json",
    } <= set(entries)
    assert RUNNER_MODULE == "mlp_bundle.runner"


def test_the_job_requirements_are_the_package_dependencies(tmp_path):
    (tmp_path / "train.py").write_text("print('hi')\n")
    package = build_package(
        make_bundle(
            tmp_path,
            tmp_path / "b",
            source={"path": "train.py"},
            requirements=["numpy>=1.26", "pandas==2.2.3"],
        )
    )

    info = read_member(package.data, "mlp_bundle-1.0/PKG-INFO").splitlines()
    assert {"Requires-Dist: numpy>=1.26", "Requires-Dist: pandas==2.2.3"} <= set(info)
    assert package.requirements == ("numpy>=1.26", "pandas==2.2.3")


def test_what_is_no_requirement_specifier_is_left_to_the_runner():
    manifest = {"mode": "script", "requirements": ["numpy", "/home/me/dist/mine-1.0.tar.gz"]}

    assert package_requirements(manifest) == ["numpy"]


def test_a_notebook_package_also_depends_on_papermill_and_ipykernel(tmp_path):
    write_notebook(tmp_path / "nb.ipynb", "print('hi')")
    package = build_package(make_bundle(tmp_path, tmp_path / "b", source={"path": "nb.ipynb"}))

    assert set(package.requirements) == {"papermill", "ipykernel"}


def test_an_identical_package_is_uploaded_once(tmp_path, storage):
    (tmp_path / "train.py").write_text("print('hi')\n")
    package = build_package(make_bundle(tmp_path, tmp_path / "b", source={"path": "train.py"}))
    client = storage_client()

    uri, uploaded = upload_package(package, BUCKET, client)
    again_uri, again = upload_package(package, BUCKET, client)

    assert uri == again_uri == f"gs://{BUCKET}/mlp/packages/{package.sha256}.tar.gz"
    assert (uploaded, again) == (True, False)
    assert storage.uploads() == 1
    assert client.bucket(BUCKET).blob(f"mlp/packages/{package.filename}").download_as_bytes() == (
        package.data
    )


# ----- the package really runs -----


def write_notebook(path: Path, *cells: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, path)


def fresh_venv(where: Path) -> Path:
    """A new virtual environment that sees this environment's packages behind its own (so pip,
    papermill and ipykernel come from here and nothing is downloaded), as a prebuilt container
    has its frameworks installed."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    parent = sysconfig.get_path("purelib")
    Path(purelib, "_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return python


def install_and_run(
    package_file: Path, work: Path
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Install the package as Vertex AI's prebuilt containers do (pip install of the file) in a
    fresh environment, and run its module with the variables Vertex AI sets."""
    python = fresh_venv(work / "env")
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-index",
            "--disable-pip-version-check",
            "--quiet",
            str(package_file),
        ],
        check=True,
        cwd=work,
    )
    model_dir, output_dir = work / "gcs" / "model", work / "gcs"
    model_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "AIP_MODEL_DIR": str(model_dir),
        "AIP_CHECKPOINT_DIR": str(work / "gcs" / "checkpoints"),
        "CLOUD_ML_JOB_ID": "123",
        "MLP_INSTALL_IN_PLACE": "1",
        "MLP_OUTPUT_DIR": str(output_dir),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PYTHONPATH", None)
    run_dir = work / "cwd"
    run_dir.mkdir()
    done = subprocess.run(
        [str(python), "-m", RUNNER_MODULE],
        env=env,
        cwd=run_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, output_dir


def staged_file(package_bytes_uri: str, work: Path) -> Path:
    """The package exactly as uploaded, downloaded from the emulator."""
    name = package_bytes_uri.removeprefix(f"gs://{BUCKET}/")
    target = work / Path(name).name
    storage_client().bucket(BUCKET).blob(name).download_to_filename(str(target))
    return target


def test_a_staged_script_package_installs_and_writes_its_model(tmp_path, storage):
    (tmp_path / "helper.py").write_text("GREETING = 'hello'\n")
    (tmp_path / "train.py").write_text(
        "import os, sys, pathlib\nfrom helper import GREETING\n"
        "print(GREETING, sys.argv[1:])\n"
        "pathlib.Path(os.environ['AIP_MODEL_DIR'], 'model.txt').write_text('weights')\n"
    )
    bundle = make_bundle(
        tmp_path,
        tmp_path / "bundle",
        source={"path": "train.py", "include": ["helper.py"]},
        args=["--epochs", "2"],
    )
    uri, _ = upload_package(build_package(bundle), BUCKET, storage_client())

    done, gcs = install_and_run(staged_file(uri, tmp_path), tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "hello ['--epochs', '2']" in done.stdout
    assert (gcs / "model" / "model.txt").read_text() == "weights"


def test_a_staged_notebook_package_installs_and_writes_its_model(tmp_path, storage):
    write_notebook(
        tmp_path / "nb.ipynb",
        "import os, pathlib\n"
        "pathlib.Path(os.environ['AIP_MODEL_DIR'], 'model.txt').write_text('from a notebook')",
        "print('done')",
    )
    bundle = make_bundle(tmp_path, tmp_path / "bundle", source={"path": "nb.ipynb"})
    uri, _ = upload_package(build_package(bundle), BUCKET, storage_client())

    done, gcs = install_and_run(staged_file(uri, tmp_path), tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert (gcs / "model" / "model.txt").read_text() == "from a notebook"
    executed = json.loads((gcs / "nb.executed.ipynb").read_text())
    assert "done" in json.dumps(executed["cells"][-1]["outputs"])
