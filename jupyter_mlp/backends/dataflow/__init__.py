"""Dataflow: Apache Beam pipelines submitted to Google's runner and watched through its API."""

# Imported for its side effect: the backend's catalog registers itself with the facade.
from . import catalog as catalog
from .backend import DataflowBackend

__all__ = ["DataflowBackend"]
