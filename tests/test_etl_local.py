"""ETL jobs on this machine: real Apache Beam pipelines run as local jobs through a real Jupyter
server, on the runner the local backend pins (`pipeline_runner_args`; never Beam's default, which
first tries to download Prism)."""

from __future__ import annotations

import collections
import random
import re
import shutil
from importlib.util import find_spec
from pathlib import Path

import nbformat
import pytest

from jupyter_mlp.backends.local.backend import pipeline_runner_args
from jupyter_mlp.core.models import JobSpec

# Beam's own example, found without importing Beam into the tests' process.
BEAM = find_spec("apache_beam")
assert BEAM is not None and BEAM.submodule_search_locations
WORDCOUNT = Path(BEAM.submodule_search_locations[0]) / "examples" / "wordcount.py"
WORDS = ["river", "stone", "it's", "cloud", "x-ray", "Éclair", "data", "flow"]


def local_args(**spec: object) -> list[str]:
    """The pipeline options of a local ETL job of this spec (until the bundle adds them)."""
    return pipeline_runner_args(JobSpec.model_validate({"kind": "etl", **spec}))


def read_counts(folder: Path, prefix: str) -> dict[str, int]:
    """The `word: count` lines of a pipeline's output shards."""
    counts: dict[str, int] = {}
    for shard in sorted(folder.glob(f"{prefix}*")):
        for line in shard.read_text(encoding="utf-8").splitlines():
            word, _, count = line.rpartition(": ")
            counts[word] = int(count)
    return counts


@pytest.fixture
def text_file(jp_root_dir: Path) -> Path:
    rng = random.Random(12)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 14))) for _ in range(3000)]
    path = jp_root_dir / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_batch_pipeline_is_pinned_to_the_fn_api_runner():
    assert local_args(source={"code": "pass"}) == ["--runner=FnApiRunner"]


def test_a_streaming_pipeline_is_pinned_to_the_bundle_based_direct_runner():
    args = local_args(source={"code": "pass"}, args=["--streaming"])

    assert args == ["--runner=BundleBasedDirectRunner"]


async def test_beams_own_wordcount_runs_as_a_local_etl_job_and_counts_as_python_does(
    api, jp_root_dir, text_file
):
    shutil.copyfile(WORDCOUNT, jp_root_dir / "wordcount.py")
    own = ["--input", str(text_file), "--output", "counts/part"]

    job = await api.submit(
        kind="etl",
        source={"path": "wordcount.py"},
        args=own + local_args(source={"path": "wordcount.py"}),
    )
    done = await api.wait(job["id"], timeout=90)

    assert done["state"] == "SUCCEEDED", done["state_message"]
    # The same words the pipeline's WordExtractingDoFn takes, counted in plain Python.
    expected = collections.Counter(re.findall(r"[\w\']+", text_file.read_text(), re.UNICODE))
    folder = jp_root_dir / done["outputs"]["folder"] / "counts"
    assert read_counts(folder, "part") == dict(expected)
    log = await api.log(job["id"])
    assert "prism" not in log.lower()  # the pinned runner ran it, with no download tried


PIPELINE = """\
import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

options = PipelineOptions()  # the job's command line: the pinned runner
with beam.Pipeline(options=options) as pipeline:
    (
        pipeline
        | beam.Create(words)
        | beam.Map(lambda word: (word, 1))
        | beam.CombinePerKey(sum)
        | beam.MapTuple(lambda word, count: f"{word}: {count}")
        | beam.io.WriteToText(output, shard_name_template="")
    )
"""


async def test_a_notebook_with_a_beam_pipeline_runs_as_a_local_etl_job(api, jp_root_dir):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "py"}
    parameters = nbformat.v4.new_code_cell("words = []\noutput = 'out.txt'")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell(PIPELINE)]
    nbformat.write(nb, jp_root_dir / "pipeline.ipynb")

    job = await api.submit(
        kind="etl",
        source={"path": "pipeline.ipynb", "mode": "script"},
        parameters={"words": ["a", "b", "a"], "output": "counted.txt"},
        args=local_args(source={"path": "pipeline.ipynb"}),
    )
    done = await api.wait(job["id"], timeout=90)

    assert done["state"] == "SUCCEEDED", done["state_message"]
    counted = (jp_root_dir / done["outputs"]["folder"] / "counted.txt").read_text()
    assert sorted(counted.splitlines()) == ["a: 2", "b: 1"]


async def test_an_etl_cell_runs_as_a_local_etl_job(api, jp_root_dir):
    # What `%%mlp_etl --param ...` sends: the cell's code, its parameters, kind etl.
    cell = "%time print('building the pipeline')\n" + PIPELINE

    job = await api.submit(
        kind="etl",
        source={"code": cell},
        parameters={"words": ["x", "y", "y", "y"], "output": "cell.txt"},
        args=local_args(source={"code": cell}),
    )
    done = await api.wait(job["id"], timeout=90)

    assert done["state"] == "SUCCEEDED", done["state_message"]
    counted = (jp_root_dir / done["outputs"]["folder"] / "cell.txt").read_text()
    assert sorted(counted.splitlines()) == ["x: 1", "y: 3"]
    assert "building the pipeline" in await api.log(job["id"])
