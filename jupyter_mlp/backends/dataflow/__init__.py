"""Dataflow: Apache Beam pipelines submitted to Google's runner and watched through its API."""

from .backend import DataflowBackend

__all__ = ["DataflowBackend"]
