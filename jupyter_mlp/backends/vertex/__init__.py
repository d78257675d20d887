"""Vertex AI custom training: jobs, hyperparameter tuning, the packages they run."""

# Imported for its side effect: the backend's catalog registers itself with the facade.
from . import catalog as catalog
from .backend import VertexBackend

__all__ = ["VertexBackend"]
