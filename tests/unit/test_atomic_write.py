"""Writes that fail halfway leave the last good output whole and no temporaries: `tasks.core.io`'s atomic writers and
train's `save_model` (a real stage's writer), with a fault injected into the first file write under the test's
directory. The fault fires exactly once: half the bytes reach the file, then the write raises."""

from __future__ import annotations

import builtins
import io
import json
from pathlib import Path

import joblib
import pytest
from sklearn.dummy import DummyClassifier

from tasks.core.io import atomic_write_bytes, write_json
from tasks.stages.train import TrainedModel, load_model, save_model


class HalfWrite:
    """A file object whose first `write` writes half its data, flushes it and raises (disk full)."""

    def __init__(self, raw, fault: dict) -> None:
        self._raw, self._fault = raw, fault

    def write(self, data) -> int:
        if not self._fault["fired"]:
            self._fault["fired"] = True
            self._raw.write(data[: len(data) // 2])
            self._raw.flush()
            raise OSError(28, "No space left on device (injected)")
        return self._raw.write(data)

    def __getattr__(self, name):
        return getattr(self._raw, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._raw.close()

    def __iter__(self):
        return iter(self._raw)


@pytest.fixture
def fail_first_write(monkeypatch, tmp_path):
    """Arm the fault for files opened for writing under tmp_path (through open, io.open, os.fdopen, Path)."""
    real_open, fault = io.open, {"fired": False, "armed": False}

    def faulty_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        name = file if not isinstance(file, int) else getattr(handle, "name", "")
        inside = isinstance(file, int) or str(tmp_path) in str(name)
        if fault["armed"] and inside and any(c in mode for c in "wax+"):
            return HalfWrite(handle, fault)
        return handle

    monkeypatch.setattr(io, "open", faulty_open)
    monkeypatch.setattr(builtins, "open", faulty_open)

    def arm() -> dict:
        fault["armed"] = True
        return fault

    return arm


def leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_json_write_failing_halfway_keeps_the_old_file(tmp_path, fail_first_write):
    target = tmp_path / "metrics.json"
    write_json(target, {"roc_auc": 0.9})
    old = target.read_bytes()
    fault = fail_first_write()
    with pytest.raises(OSError, match="injected"):
        write_json(target, {"roc_auc": 0.5, "rows": list(range(1000))})
    assert fault["fired"]
    assert target.read_bytes() == old and json.loads(old) == {"roc_auc": 0.9}
    assert leftovers(tmp_path, {"metrics.json"}) == [], "no temporary left behind"


def test_bytes_write_failing_halfway_keeps_the_old_file(tmp_path, fail_first_write):
    target = tmp_path / "blob.bin"
    atomic_write_bytes(target, b"old" * 100)
    fault = fail_first_write()
    with pytest.raises(OSError, match="injected"):
        atomic_write_bytes(target, b"new" * 10_000)
    assert fault["fired"]
    assert target.read_bytes() == b"old" * 100
    assert leftovers(tmp_path, {"blob.bin"}) == []


def model(strategy: str) -> TrainedModel:
    pipeline = DummyClassifier(strategy=strategy).fit([[0], [1], [1]], [0, 1, 1])
    return TrainedModel(pipeline=pipeline, meta={"family": "dummy", "strategy": strategy})


def test_save_model_failing_mid_dump_keeps_the_last_good_model(tmp_path, fail_first_write):
    target = tmp_path / "models" / "p-m"
    save_model(model("most_frequent"), target, key={"fit": 1})
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    fault = fail_first_write()
    with pytest.raises(OSError, match="injected"):
        save_model(model("uniform"), target, key={"fit": 2})
    assert fault["fired"]
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert load_model(target).meta["strategy"] == "most_frequent"
    assert joblib.load(target / "model.joblib").strategy == "most_frequent"
    assert leftovers(target.parent, {"p-m"}) == [], "no .p-m.*.tmp directory left behind"
