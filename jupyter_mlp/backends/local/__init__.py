"""The embedded default backend: jobs as child processes of this machine, on its GPUs."""

from .backend import LocalBackend

__all__ = ["LocalBackend"]
