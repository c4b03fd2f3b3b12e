"""scripts/gpu_check.py: its CPU side on small data (the GPU side needs a CUDA host), and the distinct exit status
on a host without a GPU."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts/gpu_check.py"


def no_gpu() -> bool:
    if not shutil.which("nvidia-smi"):
        return True
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return listed.returncode != 0 or "GPU " not in listed.stdout


def test_the_cpu_side_trains_both_families_through_the_train_path(tmp_path):
    out = tmp_path / "check.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--cpu-only", "--rows", "3000", "--images", "500",
                           "--cnn-epochs", "1", "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["passed"] and report["cpu_only"] and report["problems"] == []
    families = {r["family"]: r for r in report["families"]}
    assert sorted(families) == ["keras_cnn", "xgboost"]
    for result in families.values():
        assert "gpu" not in result and result["cpu"]["meta_device"] == "cpu"
        assert result["cpu"]["fit_seconds"][0] > 0 and all(result["checks"].values())
        assert result["compare"]["scored_without_gpu_max_difference"] <= 1e-5
    assert families["xgboost"]["cpu"]["roc_auc"] > 0.8 and families["xgboost"]["train_rows"] == 2100
    assert "xgboost    cpu    cpu" in done.stdout, "the table names device and recorded device"


@pytest.mark.skipif(not no_gpu(), reason="this host has a GPU")
def test_without_a_gpu_it_says_so_and_exits_3():
    done = subprocess.run([sys.executable, str(SCRIPT), "--families", "xgboost"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 3
    assert "no GPU visible" in done.stderr and "--cpu-only" in done.stderr


@pytest.mark.skipif(no_gpu(), reason="nvidia-smi lists no GPU on this host")
def test_with_a_gpu_the_gpu_side_runs_and_matches_the_cpu_side(tmp_path):
    """Follows the host: runs wherever nvidia-smi lists a GPU (XGBoost only: TensorFlow's GPU build is optional)."""
    out = tmp_path / "check.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--families", "xgboost", "--rows", "20000", "--json",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    (result,) = report["families"]
    assert report["passed"] and result["gpu"]["meta_device"] == "cuda" and all(result["checks"].values())
