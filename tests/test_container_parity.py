"""A staged Vertex AI job runs the way Vertex AI's prebuilt training containers run it.

Each case makes a real bundle, builds its real package and asks `vertex_jobs.custom_job` for
the real CustomJob; then, as the container would, installs that package (`pip install` of its
package URI) into a fresh environment of the image's Python with the image's framework already
there (numpy stands for it), and runs `python -m <python_module> <args>` with the pool's env
and the variables Vertex AI sets. The bucket's Cloud Storage FUSE mount, `/gcs/<bucket>/`, is
a folder holding the bucket's folder alone: on the mount a folder exists only once an object
marks it, so the job must create every folder it writes into. (A plain folder checks that much,
not FUSE's other semantics.) Then the model, the status and the executed notebook must be where
the server looks for them: `gs://<bucket>/mlp/<job id>/` (see `VertexBackend._list_outputs`,
`_failure_message`, `_copy_notebook`).

Installs use only the wheels `scripts/setup` downloads: no network.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mlp.backends.gcp.staging import Package, build_package
from jupyter_mlp.backends.vertex import jobs as vertex_jobs
from jupyter_mlp.backends.vertex.containers import choose_container
from jupyter_mlp.core.models import Job, JobSpec, JobState
from jupyter_mlp.jobfiles.bundle import build_bundle, plan_source

REPO = Path(__file__).resolve().parents[1]
# The image: the prebuilt scikit-learn CPU container, chosen as for a notebook where
# scikit-learn is installed, on a day it was still available (every one in the catalog's data
# has ended since). Its framework is in the image, not in the job's package.
IMAGE = choose_container(
    [], "cpu", installed={"scikit-learn": "1.6.1"}.get, today=date(2026, 7, 1)
).container
FRAMEWORK_STAND_IN = "numpy"


# ----- the container: the image's Python, its framework, the bucket's mount -----


def image_python() -> Path | None:
    """pyenv's interpreter of the image's Python version, if this machine has one."""
    found = sorted(Path.home().glob(f".pyenv/versions/{IMAGE.python}.*/bin/python{IMAGE.python}"))
    return found[-1] if found else None


def wheelhouse() -> Path:
    """The wheels `scripts/setup` downloads for the image's Python."""
    return REPO / ".venv" / "container-wheels" / f"py{IMAGE.python}"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment of the image's Python with its framework installed: every case's
    container starts as a copy of it."""
    python = image_python()
    if python is None:
        pytest.skip(
            f"no Python {IMAGE.python} (the prebuilt images' Python) on this machine: "
            f"pyenv's ~/.pyenv/versions/{IMAGE.python}.* is missing"
        )
    if not (wheelhouse() / ".complete").exists():
        pytest.skip(f"no wheels for Python {IMAGE.python} in {wheelhouse()}: run scripts/setup")
    root = tmp_path_factory.mktemp("image") / "env"
    subprocess.run([str(python), "-m", "venv", str(root)], check=True)
    pip_install(root, FRAMEWORK_STAND_IN)
    return root


def pip_install(env: Path, *what: str) -> None:
    """`pip install` as the container does, from the wheelhouse alone."""
    subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", *what],
        check=True,
        env=base_env(env),
        capture_output=True,
    )


def base_env(env: Path) -> dict[str, str]:
    """A container's environment: its Python first on PATH, a home of its own, and pip kept
    to the wheelhouse (nothing else from this machine's environment)."""
    return {
        "PATH": f"{env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(env.parent / "home"),
        "LANG": "C.UTF-8",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse()),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
    }


class Mount:
    """The bucket's Cloud Storage FUSE mount: a folder stands for `/gcs/`, and in it the job's
    bucket is a folder holding nothing (each job gets a bucket of its own)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bucket = f"bucket-{uuid.uuid4().hex[:8]}"
        (root / self.bucket).mkdir()

    def path(self, value: str) -> str:
        """The one place where the test's folder stands for the mount: a `/gcs/...` path, or
        the `gs://...` URI it mirrors, as a path in the test's folder."""
        for prefix in ("/gcs/", "gs://"):
            if value.startswith(prefix):
                return f"{self.root}/{value.removeprefix(prefix)}"
        return value

    def where_the_server_looks(self, job: Job, name: str) -> Path:
        """`name` of the job in `gs://<bucket>/mlp/<job id>/`, where the server reads the
        status, the executed notebook and the model (`VertexBackend._blob_of`)."""
        return Path(self.path(f"gs://{self.bucket}/mlp/{job.id}/{name}"))

    def status(self, job: Job) -> dict[str, Any]:
        status: dict[str, Any] = json.loads(
            self.where_the_server_looks(job, "status.json").read_text()
        )
        return status


@pytest.fixture(scope="module")
def gcs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder standing for `/gcs/`."""
    return tmp_path_factory.mktemp("gcs")


@pytest.fixture
def mount(gcs: Path) -> Mount:
    return Mount(gcs)


# ----- the job, as the server makes it -----


def make_job(root: Path, **spec: Any) -> tuple[Job, Package]:
    """A job for the Vertex backend, its bundle and its package, made by the real code."""
    job_spec = JobSpec.model_validate({"backend": "vertex", **spec})
    build_bundle(job_spec, plan_source(job_spec, root), root / "bundle")
    now = datetime.now(UTC)
    job = Job(
        id=uuid.uuid4().hex[:12],
        name="parity",
        kind=job_spec.kind,
        backend="vertex",
        state=JobState.STARTING,
        spec=job_spec,
        created_at=now,
        started_at=now,
    )
    return job, build_package(root / "bundle")


def pools(job: Job, package: Package, bucket: str) -> tuple[str, list[Any]]:
    """The base output directory and worker pools of the job's CustomJob."""
    uri = f"gs://{bucket}/mlp/packages/{package.filename}"
    request = vertex_jobs.custom_job(job, uri, IMAGE.uri, bucket, None)
    return request.job_spec.base_output_directory.output_uri_prefix, list(
        request.job_spec.worker_pool_specs
    )


class Container:
    """A container of the image with a job's package installed, as Vertex AI makes one for
    each replica."""

    def __init__(self, image: Path, where: Path, package: Package, pool: Any) -> None:
        self.where = where
        self.env = where / "env"
        shutil.copytree(image, self.env, symlinks=True)
        # Vertex AI copies each package URI into the container, then pip installs it.
        downloads = where / "downloads"
        downloads.mkdir()
        for uri in pool.python_package_spec.package_uris:
            assert uri.endswith(package.filename)
            (downloads / package.filename).write_bytes(package.data)
            pip_install(self.env, str(downloads / package.filename))
        (where / "home").mkdir()

    def run(
        self, pool: Any, mount: Mount, base_output: str, cluster: dict[str, Any], task: str
    ) -> subprocess.CompletedProcess[str]:
        """Run `pool` as Vertex AI does: `python -m MODULE ARGS` with the pool's env and the
        variables Vertex AI sets, as replica `task` (a worker pool's name) of `cluster`."""
        spec = pool.python_package_spec
        assert spec.executor_image_uri == IMAGE.uri
        chief = task == "workerpool0"
        vertex = {
            "AIP_MODEL_DIR": f"{base_output}model/",
            "AIP_CHECKPOINT_DIR": f"{base_output}checkpoints/",
            "AIP_TENSORBOARD_LOG_DIR": f"{base_output}logs/",
            "CLOUD_ML_JOB_ID": "8812345678901234567",
            "CLUSTER_SPEC": json.dumps(
                {"cluster": cluster, "environment": "cloud", "task": {"type": task, "index": 0}}
            ),
            "TF_CONFIG": json.dumps(
                {
                    "cluster": {
                        "chief": cluster["workerpool0"],
                        **({"worker": cluster["workerpool1"]} if "workerpool1" in cluster else {}),
                    },
                    "environment": "cloud",
                    "task": {"type": "chief" if chief else "worker", "index": 0},
                }
            ),
            # Where the runner finds the mount, for the folders it makes for AIP_MODEL_DIR
            # and friends; Vertex AI's is /gcs/, the runner's default.
            "MLP_GCS_MOUNT": mount.path("/gcs/"),
        }
        env = {
            **base_env(self.env),
            **{variable.name: mount.path(variable.value) for variable in spec.env},
            **vertex,
        }
        return subprocess.run(
            [str(self.env / "bin" / "python"), "-m", spec.python_module, *spec.args],
            env=env,
            cwd=tempfile.mkdtemp(prefix="workdir-", dir=self.where),
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def containers(image: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Container]:
    """A container with a job's package installed, made once for each package: the replicas
    of a job, and jobs with identical bundles, install the same bytes."""
    made: dict[str, Container] = {}

    def container(package: Package, pool: Any) -> Container:
        if package.sha256 not in made:
            where = tmp_path_factory.mktemp("container")
            made[package.sha256] = Container(image, where, package, pool)
        return made[package.sha256]

    return container


def cluster_of(pool_list: list[Any]) -> dict[str, list[str]]:
    """CLUSTER_SPEC's `cluster`: each pool's replicas by address."""
    return {
        f"workerpool{n}": [
            f"cmle-training-workerpool{n}-0-{i}:2222" for i in range(p.replica_count)
        ]
        for n, p in enumerate(pool_list)
    }


def write_notebook(path: Path, *cells: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    # Fixed cell ids: the same notebook makes the same bundle, and so the same package.
    notebook.cells = [
        nbformat.v4.new_code_cell(source, id=f"cell-{n}") for n, source in enumerate(cells)
    ]
    nbformat.write(notebook, path)


def model_writer(gcs: Path, text: str) -> str:
    """User code that writes `model.txt` into AIP_MODEL_DIR's mounted path, as users do (the
    test's folder standing for `/gcs/`), without making that folder first."""
    return (
        "import os, pathlib\n"
        f"model_dir = os.environ['AIP_MODEL_DIR'].replace('gs://', {f'{gcs}/'!r})\n"
        f"pathlib.Path(model_dir, 'model.txt').write_text({text!r})\n"
    )


def notebook_job(root: Path, gcs: Path, **spec: Any) -> tuple[Job, Package]:
    """A notebook job that writes its model and prints which replica ran it."""
    write_notebook(
        root / "nb.ipynb",
        model_writer(gcs, "from a notebook"),
        "import json\nprint('task', json.loads(os.environ['CLUSTER_SPEC'])['task']['type'])",
    )
    return make_job(root, source={"path": "nb.ipynb"}, **spec)


# ----- the cases -----


def test_a_script_job_runs_and_leaves_its_model_and_status_where_the_server_looks(
    containers, mount, tmp_path
):
    (tmp_path / "train.py").write_text(model_writer(mount.root, "weights") + "print('trained')\n")
    job, package = make_job(tmp_path, source={"path": "train.py"})
    base_output, (pool,) = pools(job, package, mount.bucket)

    done = containers(package, pool).run(
        pool, mount, base_output, cluster_of([pool]), "workerpool0"
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "trained" in done.stdout
    assert mount.where_the_server_looks(job, "model/model.txt").read_text() == "weights"
    status = mount.status(job)
    assert (status["phase"], status["exit_code"]) == ("exited", 0)


def test_a_script_job_gets_its_own_args_and_parameters(containers, mount, tmp_path):
    (tmp_path / "train.py").write_text(
        "import json, sys\nprint('argv=' + json.dumps(sys.argv[1:]))\n"
    )
    job, package = make_job(
        tmp_path,
        source={"path": "train.py"},
        args=["--epochs", "3"],
        parameters={"lr": 0.01, "optimizer": "adam"},
    )
    base_output, (pool,) = pools(job, package, mount.bucket)

    done = containers(package, pool).run(
        pool, mount, base_output, cluster_of([pool]), "workerpool0"
    )

    assert done.returncode == 0, done.stdout + done.stderr
    printed = re.search(r"argv=(.*)", done.stdout)
    assert printed, done.stdout
    assert json.loads(printed.group(1)) == ["--epochs", "3", "--lr=0.01", "--optimizer=adam"]
    assert mount.status(job)["exit_code"] == 0


def test_a_notebook_job_leaves_its_executed_notebook_model_and_status_where_the_server_looks(
    containers, mount, tmp_path
):
    job, package = notebook_job(tmp_path, mount.root)
    base_output, (pool,) = pools(job, package, mount.bucket)

    done = containers(package, pool).run(
        pool, mount, base_output, cluster_of([pool]), "workerpool0"
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert mount.where_the_server_looks(job, "model/model.txt").read_text() == "from a notebook"
    executed = json.loads(mount.where_the_server_looks(job, "nb.executed.ipynb").read_text())
    assert "workerpool0" in json.dumps(executed["cells"][-1]["outputs"])
    assert mount.status(job)["exit_code"] == 0


def test_only_the_chief_replica_writes_the_executed_notebook_to_the_bucket(
    containers, mount, tmp_path
):
    job, package = notebook_job(
        tmp_path, mount.root, resources={"machine_type": "n1-standard-4", "replica_count": 2}
    )
    base_output, (chief, worker) = pools(job, package, mount.bucket)
    cluster = cluster_of([chief, worker])
    assert worker.python_package_spec.package_uris == chief.python_package_spec.package_uris

    ran_chief = containers(package, chief).run(chief, mount, base_output, cluster, "workerpool0")
    ran_worker = containers(package, worker).run(worker, mount, base_output, cluster, "workerpool1")

    assert ran_chief.returncode == 0, ran_chief.stdout + ran_chief.stderr
    assert ran_worker.returncode == 0, ran_worker.stdout + ran_worker.stderr
    executed = mount.where_the_server_looks(job, "nb.executed.ipynb").read_text()
    assert "workerpool0" in executed
    assert "workerpool1" not in executed


def test_a_job_reports_its_metrics_where_the_server_reads_them(containers, mount, tmp_path):
    (tmp_path / "train.py").write_text(
        "import jupyter_mlp\n"
        "for step in range(3):\n"
        "    jupyter_mlp.report(accuracy=0.5 + step / 10, step=step)\n"
    )
    job, package = make_job(tmp_path, source={"path": "train.py"})
    base_output, (pool,) = pools(job, package, mount.bucket)

    done = containers(package, pool).run(
        pool, mount, base_output, cluster_of([pool]), "workerpool0"
    )

    assert done.returncode == 0, done.stdout + done.stderr
    reported = mount.where_the_server_looks(job, "mlp-metrics.jsonl").read_text().splitlines()
    assert [(r["step"], r["value"]) for r in map(json.loads, reported)] == [
        (0, 0.5),
        (1, 0.6),
        (2, 0.7),
    ]
