"""Atomic writes, temporaries a killed write leaves, readers that name a damaged file and its fix."""

import os
import re
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
import pytest

from tasks.core.errors import UnreadableFile
from tasks.core.io import (
    atomic_dir,
    atomic_write_bytes,
    load_pickle,
    read_json,
    read_parquet,
    remove_temporaries,
    stable_hash,
    write_json,
)


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (target / "a.txt").read_text() == "first"

    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("half-written")
        raise RuntimeError("crash mid-write")
    assert (target / "a.txt").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["model"], "no temporary directories left behind"

    with atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("second")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]


def test_json_roundtrip_and_stable_hash(tmp_path):
    write_json(tmp_path / "x.json", {"b": 1, "a": [1, 2]})
    assert read_json(tmp_path / "x.json") == {"a": [1, 2], "b": 1}
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})


# ---------------------------------------------------------------- temporaries: named, removed on interrupt and on start

def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_write_in_progress_is_named_after_its_target_and_this_process(tmp_path, monkeypatch):
    with atomic_dir(tmp_path / "model") as tmp:
        assert re.fullmatch(rf"\.model\.{os.getpid()}\.[a-z0-9_]{{8}}\.tmp", tmp.name), tmp.name
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (seen.append(Path(src).name), real_replace(src, dst)))
    atomic_write_bytes(tmp_path / "record.json", b"{}")
    assert len(seen) == 1 and re.fullmatch(rf"\.record\.json\.{os.getpid()}\.[a-z0-9_]{{8}}\.tmp", seen[0])


def test_interrupts_during_a_write_keep_the_old_file_and_leave_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    path.write_text("old")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]

    with pytest.raises(SystemExit), atomic_dir(tmp_path / "model") as tmp:
        (tmp / "model.joblib").write_bytes(b"half")
        raise SystemExit(143)  # what SIGTERM becomes in a stage (flows.cli.sigterm_as_exit)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_an_interrupt_between_the_two_renames_puts_the_old_directory_back(tmp_path, monkeypatch):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("first")
    real_rename = Path.rename

    def second_rename_interrupted(self, dst):
        if Path(dst) == target and self.name.endswith(".tmp"):  # tmp -> target, after target -> .model.old
            raise KeyboardInterrupt
        return real_rename(self, dst)

    monkeypatch.setattr(Path, "rename", second_rename_interrupted)
    with pytest.raises(KeyboardInterrupt), atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("second")
    monkeypatch.undo()
    assert (target / "a.txt").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_stale_temporaries_of_a_target_are_removed_and_nothing_else(tmp_path):
    models, dead, alive = tmp_path / "models", dead_pid(), os.getppid()
    (models / "xgboost").mkdir(parents=True)
    (models / "xgboost" / "model.joblib").write_bytes(b"good")
    record = tmp_path / "record.json"
    record.write_text("{}")
    planted = {
        f".models.{dead}.abcd1234.tmp": "dir",        # killed atomic_dir of the target
        ".models.k3j4h5g6.tmp": "dir",                # the same, named before PIDs were added
        f".record.json.{dead}.x_y_z123.tmp": "file",  # killed atomic_write_bytes of the other output
        ".record.json.a1b2c3d4": "file",              # the same, named before PIDs were added
        f".models.{alive}.live0000.tmp": "dir",       # a writer still running: kept
        f".other.{dead}.abcd1234.tmp": "dir",         # another output's temporary: not this target's
        ".models.notes": "file",                      # not a temporary's name
        f"models.{dead}.abcd1234.tmp": "file",        # no leading dot: not a temporary
    }
    inside = {f".xgboost.{dead}.qwer5678.tmp": "dir", ".xgboost.old": "dir", "keep.txt": "file"}
    for directory, names in ((tmp_path, planted), (models, inside)):
        for name, kind in names.items():
            (directory / name).mkdir() if kind == "dir" else (directory / name).write_text("x")

    removed = remove_temporaries(models) + remove_temporaries(record)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        "models", "record.json", f".models.{alive}.live0000.tmp", f".other.{dead}.abcd1234.tmp", ".models.notes",
        f"models.{dead}.abcd1234.tmp"])
    assert sorted(p.name for p in models.iterdir()) == ["keep.txt", "xgboost"]
    assert (models / "xgboost" / "model.joblib").read_bytes() == b"good"
    assert len(removed) == 6


def test_a_directory_lost_between_the_renames_is_restored_on_start(tmp_path):
    (tmp_path / ".model.old").mkdir()
    (tmp_path / ".model.old" / "a.txt").write_text("last good")
    (tmp_path / f".model.{dead_pid()}.abcd1234.tmp").mkdir()  # the new one, never renamed
    remove_temporaries(tmp_path / "model")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert (tmp_path / "model" / "a.txt").read_text() == "last good"


# ---------------------------------------------------------------- unreadable files: one line, the file, the fix


def _one_line_naming(exc: UnreadableFile, path: str, *fixes: str) -> None:
    message = str(exc)
    assert "\n" not in message and message.startswith(path), message
    for fix in fixes:
        assert fix in message, message


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working directory whose dvc.lock names the stages writing models/p and data/validated/p."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n"
        "  train@p:\n    cmd: x\n    outs:\n    - path: models/p\n      md5: 1.dir\n"
        "  validate@p:\n    cmd: x\n    outs:\n    - path: data/validated/p\n      md5: 2.dir\n")
    for directory in ("models/p/m", "data/validated/p"):
        (tmp_path / directory).mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_model_names_its_file_and_the_dvc_fix(project, damage):
    path = project / "models/p/m/model.joblib"
    joblib.dump({"weights": list(range(5000))}, path, compress=3)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2] if damage == "truncated" else b"\x00not a pickle" * 10)
    with pytest.raises(UnreadableFile) as caught:
        load_pickle(path)
    _one_line_naming(caught.value, "models/p/m/model.joblib", "is unreadable", "dvc checkout --force models/p",
                     "dvc pull --force models/p", "dvc repro train@p")


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_parquet_names_its_file_and_the_dvc_fix(project, damage):
    path = project / "data/validated/p/train.parquet"
    pd.DataFrame({"x": range(1000), "y": ["a"] * 1000}).to_parquet(path, index=False)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2] if damage == "truncated" else b"PAR1" + b"\xff" * 100)
    with pytest.raises(UnreadableFile) as caught:
        read_parquet(path)
    _one_line_naming(caught.value, "data/validated/p/train.parquet", "is unreadable",
                     "dvc checkout --force data/validated/p", "dvc repro validate@p")


@pytest.mark.parametrize("content", [b'{"rows": {"train": 12', b"\xff\xfe\x00garbage", b""])
def test_invalid_json_names_its_file_and_the_dvc_fix(project, content):
    path = project / "data/validated/p/meta.json"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile) as caught:
        read_json(path)
    _one_line_naming(caught.value, "data/validated/p/meta.json", "is unreadable", "dvc repro validate@p")


def test_a_missing_file_outside_dvc_says_so_and_how_to_restore_it(project):
    with pytest.raises(UnreadableFile) as caught:
        read_json(project / "data/contracts/p.json")
    _one_line_naming(caught.value, "data/contracts/p.json", "is missing", "git checkout -- data/contracts/p.json")
