"""Include globs match what pathlib's glob matches (the semantics users know from Python), with
job folders' bookkeeping left out and links outside the root refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_mlp.core.models import JobSpec, MLPError
from jupyter_mlp.jobfiles import bundle


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    files = [
        "train.py",
        "helpers.py",
        ".hidden.py",
        "data/a.csv",
        "data/b.csv",
        "data/nested/c.csv",
        "data/nested/deeper/d.csv",
        "conf/x.yaml",
        "job/.mlp/state.json",
        "job/out.txt",
    ]
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    (root / "empty").mkdir()
    os.symlink(root / "conf", root / "linked_conf")  # a linked folder inside the root
    return root


def included(root: Path, *patterns: str) -> list[str]:
    spec = JobSpec.model_validate({"source": {"path": "train.py", "include": list(patterns)}})
    return list(bundle._includes(spec, root, root, 10**9))


def pathlib_files(root: Path, pattern: str) -> list[str]:
    return sorted(
        {
            match.relative_to(root).as_posix()
            for match in root.glob(pattern)
            if match.is_file() and ".mlp" not in match.relative_to(root).parts
        }
    )


@pytest.mark.parametrize(
    "pattern",
    [
        "*.py",
        "**/*.csv",
        "data/*",
        "data/**/*.csv",
        "**/*",
        "*/x.yaml",
        "linked_conf/*",
        "**/d.csv",
    ],
)
def test_a_glob_matches_the_files_pathlib_matches(tree, pattern):
    assert included(tree, pattern) == pathlib_files(tree, pattern)


def test_bookkeeping_of_job_folders_is_never_included(tree):
    assert "job/.mlp/state.json" not in included(tree, "**/*")
    assert included(tree, "job/*") == ["job/out.txt"]


def test_a_file_reached_through_a_link_leading_outside_the_root_is_refused(tree, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("no")
    os.symlink(outside, tree / "escape")
    with pytest.raises(MLPError) as raised:
        included(tree, "escape/*")
    assert "escape/secret.txt" in raised.value.message
    assert "outside the Jupyter root dir" in raised.value.message


def test_a_walk_past_the_file_limit_stops_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "MAX_INCLUDED_FILES", 50)
    for index in range(80):
        (tmp_path / f"f{index}.txt").write_text("x")
    with pytest.raises(MLPError) as raised:
        included(tmp_path, "*.txt")
    assert "more than 50 files" in raised.value.message
