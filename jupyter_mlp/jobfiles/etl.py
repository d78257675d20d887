"""ETL jobs: an Apache Beam pipeline file, run by a runner named explicitly, here or on Dataflow.

A pipeline file takes its options from its command line (`PipelineOptions()`, or the rest of
`argparse.parse_known_args()` after its own arguments), so the same file runs unchanged on this
machine and on Dataflow: each backend gives the options a job's spec means there (the local
backend pins Beam's runner; Dataflow's `backends/dataflow/options.py` names the project,
region, locations, job name, labels and workers). What is here is what pipelines are anywhere.

`python -m jupyter_mlp.jobfiles.etl --submit REPORT BUNDLE [OPTIONS...]` submits a bundle's
pipeline to Dataflow with Beam's own DataflowRunner and returns as soon as the service answered,
without waiting for the pipeline: it wraps `DataflowRunner.run_pipeline` (the runner's public entry
point) so that the job id of the `DataflowPipelineResult` it returns is written to REPORT and
the process ends there. So a pipeline ending in `with Pipeline(...)` or in
`pipeline.run().wait_until_finish()` submits alike. REPORT also says why when no job was made.

Only the standard library is imported at module level: the submission runs in a fresh process
that should import little besides Beam, and the server imports this module without Beam.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.models import JobSpec


def is_streaming(spec: JobSpec) -> bool:
    """A streaming pipeline: its args say `--streaming` (as Beam's own option does)."""
    return any(arg == "--streaming" or arg == "--streaming=true" for arg in spec.args)


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
        """Written by the submitting process: {"job_id"}, or {"error", "exit_code"} and, when
        the create call itself failed, {"create": what it met (see `create_error`)}."""
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


def create_error(exc: BaseException) -> dict[str, Any]:
    """What a create call met, for the server to decide on: the error's facts (whether an
    answer came, Google's code and status, the `google.rpc` details, the message), as
    `ErrorFacts.record` writes them."""
    from ..backends.gcp.errors import ErrorFacts

    return ErrorFacts.of(exc).record()


def submit(report: Path, bundle: Path, options: list[str]) -> int:
    """Run a bundle's pipeline file with `options` after its own args, in this process, until
    Dataflow answers the job's creation; record the job id (or why there is none) in `report`.

    The create call is made once, not retried by Beam (which retries any 5xx or unanswered
    call blindly): the server decides, on the error's code, after looking the job up. A
    create that Dataflow answers with the active job of our name (made by an earlier
    attempt whose answer was lost) is that job."""
    from . import runner

    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    entry = str(bundle / manifest["entrypoint"])
    met = _answer_once(report)
    runner.place_includes(manifest, bundle)
    try:
        code, problem = _run_pipeline_file(entry, [*manifest["args"], *options], manifest)
    except Submitted:
        return 0
    if not problem:
        problem = (
            "the pipeline file ended without submitting a job to Dataflow: does it give its "
            "command-line options to PipelineOptions (e.g. PipelineOptions(pipeline_args))?"
        )
    failed: dict[str, Any] = {"error": problem, "exit_code": code or 1, "pid": os.getpid()}
    if "create" in met:
        failed["create"] = met["create"]
    write_json(report, failed)
    return code or 1


def _answer_once(report: Path) -> dict[str, Any]:
    """Make Beam's DataflowRunner create the job once, record what the create met, and end
    the process (`Submitted`) once the job has an id, written to `report`. Returns where
    what the create met is put: {"answer"} or {"create": `create_error`'s record}."""
    from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner
    from apache_beam.runners.dataflow.internal import apiclient

    run_pipeline = DataflowRunner.run_pipeline
    client = apiclient.DataflowApplicationClient
    beams = client.submit_job_description
    create_once = getattr(beams, "__wrapped__", beams)  # without Beam's retries
    met: dict[str, Any] = {}

    def submit_once(self: Any, job: Any) -> Any:
        create = self._jobs_client.create_job

        def recorded(*args: Any, **kwargs: Any) -> Any:
            try:
                met["answer"] = create(*args, **kwargs)
            except Exception as exc:
                met["create"] = create_error(exc)
                raise
            return met["answer"]

        self._jobs_client.create_job = recorded
        try:
            return create_once(self, job)
        except apiclient.DataflowJobAlreadyExistsError:
            answer = met.get("answer")
            if answer is not None and answer.name == job.proto.name:  # ends with our id: ours
                print(f"[mlp] Dataflow already has this job: {answer.id}", flush=True)
                return answer
            raise

    def submitted(self: Any, pipeline: Any, pipeline_options: Any, *rest: Any) -> Any:
        result = run_pipeline(self, pipeline, pipeline_options, *rest)
        write_json(report, {"job_id": result.job_id(), "pid": os.getpid()})
        print(f"[mlp] Dataflow job {result.job_id()} submitted; it runs on Dataflow", flush=True)
        raise Submitted(0)

    DataflowRunner.run_pipeline = submitted  # type: ignore[method-assign]
    client.submit_job_description = submit_once  # type: ignore[method-assign]
    return met


def _run_pipeline_file(entry: str, args: list[str], manifest: dict[str, Any]) -> tuple[int, str]:
    """Run the pipeline file as its own program would run; (exit code, what went wrong: "" if
    nothing did). `Submitted` passes through: the job was made."""
    from . import runner

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
        raise
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
    return code, problem


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "--submit":
        return submit(Path(argv[1]), Path(argv[2]), argv[3:])
    usage = "usage: python -m jupyter_mlp.jobfiles.etl --submit REPORT BUNDLE [OPTIONS...]"
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
