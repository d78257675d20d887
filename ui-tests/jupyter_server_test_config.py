"""Jupyter Server configuration for the jupyter-mlp Galata tests.

Starts from Galata's test configuration (no token, no XSRF check), then gives
the server its own port, a fresh root directory and a fresh job database.
"""

import os
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # type: ignore[name-defined]  # noqa: F821

configure_jupyter_server(c)

# The database lives outside the root directory so the file browser stays empty.
root = Path(tempfile.mkdtemp(prefix="jupyter-mlp-ui-root-"))
state = Path(tempfile.mkdtemp(prefix="jupyter-mlp-ui-state-"))
c.ServerApp.port = int(os.environ.get("MLP_UI_PORT", "8899"))
c.ServerApp.allow_root = True
c.ServerApp.root_dir = str(root)
c.MLPExtension.db_url = f"sqlite:///{state / 'mlp.db'}"
