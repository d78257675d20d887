"""The extension builds its job manager once the server runs: the server never waits for it, a
request under /mlp waits until it is there, and a manager that cannot be built is a clear 503."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    # A file where the database's folder should be: the store cannot be opened.
    (tmp_path / "taken").write_text("not a folder")
    jp_server_config["MLPExtension"]["db_url"] = f"sqlite:///{tmp_path / 'taken' / 'mlp.db'}"
    return jp_server_config


async def test_a_manager_that_cannot_be_built_answers_503_naming_why(api, jp_fetch):
    code, body = await api.call("GET", "jobs")

    assert code == 503, body
    assert body["message"].startswith("jupyter-mlp could not start: ")
    assert "taken" in body["message"]  # the path that was in the way
    # The server itself goes on serving.
    assert (await jp_fetch("api", "status")).code == 200
