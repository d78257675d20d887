"""ETL jobs: an Apache Beam pipeline file, run by a runner named explicitly, here or on Dataflow.

A pipeline file takes its options from its command line (`PipelineOptions()`, or the rest of
`argparse.parse_known_args()` after its own arguments), so the same file runs unchanged on this
machine and on Dataflow: `pipeline_args` gives the options a job's spec means in each place.
Locally the runner is pinned (Beam's default first tries to download Prism, which behaves
differently online and offline); on Dataflow the options name the project, region, locations,
job name, labels, workers and their accelerators.

`python -m jupyter_mlp.etl --submit REPORT BUNDLE [OPTIONS...]` submits a bundle's pipeline to
Dataflow with Beam's own DataflowRunner and returns as soon as the service answered, without
waiting for the pipeline: it wraps `DataflowRunner.run_pipeline` (the runner's public entry
point) so that the job id of the `DataflowPipelineResult` it returns is written to REPORT and
the process ends there. So a pipeline ending in `with Pipeline(...)` or in
`pipeline.run().wait_until_finish()` submits alike. REPORT also says why when no job was made.

Only the standard library is imported at module level: the submission runs in a fresh process
that should import little besides Beam, and the server imports this module without Beam.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .models import JobSpec

# A batch pipeline runs on the FnApiRunner (what Beam's DirectRunner picks for batch, without
# first trying Prism); a streaming one on the BundleBasedDirectRunner, which runs unbounded
# sources and real-time timers.
LOCAL_BATCH_RUNNER = "FnApiRunner"
LOCAL_STREAMING_RUNNER = "BundleBasedDirectRunner"
LABEL_JOB_ID = "mlp-job-id"
LABEL_MANAGED = "mlp-managed"
# Dataflow's TPU workers: `type:<tpu type>;topology:<topology>` (see catalog/data/dataflow.json's
# notes: ct5lp-hightpu-1t/-4t/-8t take 1x1, 2x2 and 2x4 v5e slices).
TPU_WORKERS = {"TPU_V5_LITEPOD": ("tpu-v5-lite-podslice", {1: "1x1", 4: "2x2", 8: "2x4"})}
_NAME_CHARS = re.compile(r"[^a-z0-9]+")
_LABEL_CHARS = re.compile(r"[^a-z0-9_-]")
_JOB_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,1022}[a-z0-9])?$")


@dataclass(frozen=True)
class DataflowTarget:
    """Where a pipeline is submitted: the backend's settings, resolved."""

    project: str
    region: str
    temp_location: str
    staging_location: str | None = None
    endpoint: str | None = None
    no_auth: bool = False  # a local stand-in of the API: no credentials are looked up
    service_account: str | None = None


def is_streaming(spec: JobSpec) -> bool:
    """A streaming pipeline: its args say `--streaming` (as Beam's own option does)."""
    return any(arg == "--streaming" or arg == "--streaming=true" for arg in spec.args)


def pipeline_args(
    spec: JobSpec,
    *,
    where: Literal["local", "dataflow"],
    job_id: str | None = None,
    job_name: str | None = None,
    target: DataflowTarget | None = None,
    requirements_file: str | None = None,
    extra_package: str | None = None,
) -> list[str]:
    """The Beam pipeline options a spec means `where` it runs, to follow the spec's own args
    (the spec's typed fields win over the same options given in its args).

    For Dataflow, `job_id`, `job_name` (our job's name) and `target` are required;
    `requirements_file` and `extra_package` are local paths Beam stages for the workers."""
    streaming = is_streaming(spec)
    if where == "local":
        return [f"--runner={LOCAL_STREAMING_RUNNER if streaming else LOCAL_BATCH_RUNNER}"]
    if job_id is None or target is None:
        raise ValueError("a Dataflow submission needs the job's id and a target")
    args = [
        "--runner=DataflowRunner",
        f"--project={target.project}",
        f"--region={target.region}",
        f"--job_name={dataflow_job_name(job_name or spec.name or 'etl', job_id)}",
        f"--temp_location={target.temp_location}",
    ]
    if target.staging_location:
        args.append(f"--staging_location={target.staging_location}")
    if target.endpoint:
        args.append(f"--dataflow_endpoint={target.endpoint}")
    if target.no_auth:
        args.append("--no_auth")
    labels = {label(k, key=True): label(v) for k, v in spec.labels.items()}
    labels.update({LABEL_JOB_ID: label(job_id), LABEL_MANAGED: "true"})
    args += [f"--labels={key}={value}" for key, value in labels.items()]
    resources = spec.resources
    if resources.machine_type:
        args.append(f"--machine_type={resources.machine_type}")
    if resources.max_workers:
        args.append(f"--max_num_workers={resources.max_workers}")
    accelerator = worker_accelerator(resources.accelerator_type, resources.accelerator_count)
    if accelerator:
        args.append(f"--dataflow_service_options=worker_accelerator={accelerator}")
    account = spec.scheduling.service_account or target.service_account
    if account:
        args.append(f"--service_account_email={account}")
    if spec.environment:
        args.append(f"--sdk_container_image={spec.environment}")
    if requirements_file:
        # Workers install the requirements from PyPI; no local download cache is filled first.
        args += [f"--requirements_file={requirements_file}", "--requirements_cache=skip"]
    if extra_package:
        args.append(f"--extra_package={extra_package}")
    if spec.source.code is not None or (spec.source.path or "").endswith(".ipynb"):
        # A cell's or notebook's functions use its globals: workers get them pickled.
        args.append("--save_main_session")
    return args


def dataflow_job_name(name: str, job_id: str) -> str:
    """A Dataflow job name from our job's name and id: lowercase letters, digits and dashes,
    starting with a letter; unique because it ends with our id, so it also finds the job."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NAME_CHARS.sub("-", ascii_name.lower()).strip("-")
    if not slug[:1].isalpha():
        slug = f"mlp-{slug}".rstrip("-")
    made = f"{slug[:40].rstrip('-')}-{_NAME_CHARS.sub('-', job_id.lower()).strip('-')}"
    assert _JOB_NAME.match(made), made
    return made


def label(value: str, key: bool = False) -> str:
    """A valid label value (or key, which must start with a letter): lowercase letters,
    digits, - and _, at most 63 characters."""
    cleaned = _LABEL_CHARS.sub("-", value.lower())
    if key and not cleaned[:1].isalpha():
        cleaned = "l-" + cleaned
    return cleaned[:63]


def worker_accelerator(accelerator_type: str | None, count: int) -> str | None:
    """The `worker_accelerator` service option for an accelerator of the catalog, or None."""
    if not accelerator_type or not count:
        return None
    if accelerator_type in TPU_WORKERS:
        tpu, topologies = TPU_WORKERS[accelerator_type]
        return f"type:{tpu};topology:{topologies.get(count, str(count))}"
    from .catalog.cloud import load_catalog

    known = load_catalog("dataflow").accelerators.get(accelerator_type)
    name = known.compute_name if known else accelerator_type.lower().replace("_", "-")
    return f"type:{name};count:{count};install-nvidia-driver"


def output_args(args: list[str]) -> list[tuple[str, str]]:
    """(name, value) of the args that name an output: --output, --output_path, --outputs..."""
    found = []
    for index, arg in enumerate(args):
        if not arg.startswith("--output"):
            continue
        name, equals, value = arg[2:].partition("=")
        if not equals and index + 1 < len(args) and not args[index + 1].startswith("--"):
            value = args[index + 1]
        if value:
            found.append((name, value))
    return found


# ----- the submitting process -----


@dataclass(frozen=True)
class Submission:
    """A job's submission as recorded in a folder of its own; both records outlive the
    server, so a restarted server knows where a submission stands."""

    dir: Path

    @property
    def submitter(self) -> Path:
        """Written by the backend: the submitting process's pid and start time."""
        return self.dir / "submitter.json"

    @property
    def report(self) -> Path:
        """Written by the submitting process: {"job_id"}, or {"error", "exit_code"}."""
        return self.dir / "submitted.json"

    def read(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def reported_job(self) -> str | None:
        found = self.read(self.report).get("job_id")
        return str(found) if found else None

    def seconds_since_report(self) -> float:
        try:
            return time.time() - self.report.stat().st_mtime
        except OSError:
            return float("inf")


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Replace a record atomically, so a reader never sees half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, path)


class Submitted(SystemExit):
    """Ends the submitting process once Dataflow has the job (the user's code stops there)."""


def submit(report: Path, bundle: Path, options: list[str]) -> int:
    """Run a bundle's pipeline file with `options` after its own args, in this process, until
    Dataflow answers the job's creation; record the job id (or why there is none) in `report`."""
    from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner

    from . import runner

    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    entry = str(bundle / manifest["entrypoint"])
    args = [*manifest["args"], *options]
    run_pipeline = DataflowRunner.run_pipeline

    def submitted(self: Any, pipeline: Any, pipeline_options: Any, *rest: Any) -> Any:
        result = run_pipeline(self, pipeline, pipeline_options, *rest)
        write_json(report, {"job_id": result.job_id(), "pid": os.getpid()})
        print(f"[mlp] Dataflow job {result.job_id()} submitted; it runs on Dataflow", flush=True)
        raise Submitted(0)

    DataflowRunner.run_pipeline = submitted  # type: ignore[method-assign]
    runner.place_includes(manifest, bundle)
    problem = ""
    try:
        if manifest.get("ipython"):
            code = runner.run_ipython_script(entry, args)  # prints what the code raised
            if code:
                problem = "the pipeline file failed before its job was submitted; see the log"
        else:
            sys.argv = [entry, *args]
            sys.path[0] = os.path.dirname(entry)
            import runpy

            runpy.run_path(entry, run_name="__main__")
            code = 0
    except Submitted:
        return 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        problem = f"the pipeline file exited (status {code}) before its job was submitted"
    except BaseException as exc:
        # As python shows it: from the pipeline file's frame on, not this function's.
        shown = exc.__traceback__
        while shown is not None and shown.tb_frame.f_code.co_filename != entry:
            shown = shown.tb_next
        traceback.print_exception(type(exc), exc, shown or exc.__traceback__)
        code, problem = 1, f"{type(exc).__name__}: {exc}"
    if not problem:
        problem = (
            "the pipeline file ended without submitting a job to Dataflow: does it give its "
            "command-line options to PipelineOptions (e.g. PipelineOptions(pipeline_args))?"
        )
    write_json(report, {"error": problem, "exit_code": code or 1, "pid": os.getpid()})
    return code or 1


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "--submit":
        return submit(Path(argv[1]), Path(argv[2]), argv[3:])
    print("usage: python -m jupyter_mlp.etl --submit REPORT BUNDLE [OPTIONS...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
