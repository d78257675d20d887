"""Vertex AI custom training: jobs, hyperparameter tuning, the packages they run."""

from .backend import VertexBackend

__all__ = ["VertexBackend"]
