"""Count the words of a text file with Apache Beam: an ETL job.

As a job on this machine (Run as Job… with Kind "ETL (Beam)" and sample.txt in "Files to ship
with it", or `jupyter mlp submit wordcount.py --kind etl --include sample.txt`) Beam runs it
locally; with `--backend dataflow` the same file runs on Dataflow, given `--input` and
`--output` in Cloud Storage. Options this script does not know go to Beam.
"""

import argparse
import re

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default="sample.txt", help="the text to count")
    parser.add_argument("--output", default="counts/words", help="prefix of the output files")
    known, beam_args = parser.parse_known_args()

    with beam.Pipeline(options=PipelineOptions(beam_args)) as pipeline:
        (
            pipeline
            | "Read" >> beam.io.ReadFromText(known.input)
            | "Words" >> beam.FlatMap(lambda line: re.findall(r"[a-z']+", line.lower()))
            | "Count" >> beam.combiners.Count.PerElement()
            | "Format" >> beam.MapTuple(lambda word, count: f"{word}: {count}")
            | "Write" >> beam.io.WriteToText(known.output, file_name_suffix=".txt")
        )
    print(f"wrote the counts to {known.output}-*.txt")


if __name__ == "__main__":
    main()
