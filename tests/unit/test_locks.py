"""The two lock files: requirements.lock (every host, tensorflow-cpu) and requirements-gpu.lock (CUDA hosts,
TensorFlow with CUDA). The GPU lock is compiled with the base lock as constraints, so a model pickled on a GPU host
unpickles on a CPU host with the same library versions."""

import re

import pytest

from tests.conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)")


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / name).read_text().splitlines():
        if match := PIN.match(line):
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


@pytest.fixture(scope="module")
def base() -> dict[str, str]:
    return pins("requirements.lock")


@pytest.fixture(scope="module")
def gpu() -> dict[str, str]:
    return pins("requirements-gpu.lock")


def test_every_package_both_locks_share_has_one_version(base, gpu):
    shared = base.keys() & gpu.keys()
    assert len(shared) > 200
    assert {name: (base[name], gpu[name]) for name in shared if base[name] != gpu[name]} == {}


def test_the_locks_differ_only_in_tensorflow_and_the_cuda_libraries(base, gpu):
    assert set(base) - set(gpu) == {"tensorflow-cpu"}
    extra = set(gpu) - set(base)
    assert "tensorflow" in extra and "tensorflow-cpu" not in gpu
    assert {"nvidia-cudnn-cu12", "nvidia-cublas-cu12", "nvidia-cuda-runtime-cu12"} <= extra
    assert all(name == "tensorflow" or name.startswith("nvidia-") for name in extra), sorted(extra)
    assert gpu["tensorflow"] == base["tensorflow-cpu"]


def test_the_base_lock_has_tensorflow_cpu_and_no_cuda_tensorflow(base):
    assert "tensorflow-cpu" in base and "tensorflow" not in base
    assert not any(name.startswith("nvidia-cud") for name in base)


def test_the_gpu_lock_is_compiled_against_the_base_lock():
    header = (ROOT / "requirements-gpu.lock").read_text().splitlines()[1]
    assert "--extra gpu" in header and "--constraint requirements.lock" in header
