"""jupyter-mlp: launch and watch ML training and ETL jobs from JupyterLab."""

from __future__ import annotations

from typing import Any

# Standard library only, so importing the package stays light (and a job can call it).
from .report import report

__all__ = ["__version__", "report"]

try:
    from ._version import __version__
except ImportError:  # a source tree that was never built
    __version__ = "0.0.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-mlp"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.extension import MLPExtension

    return [{"module": "jupyter_mlp", "app": MLPExtension}]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext jupyter_mlp`: the `%mlp_train` family of magics."""
    from .client.magics import load_ipython_extension as load

    load(ipython)
