import subprocess
import sys
import time

import pytest

from tasks.core.lock import LockBusy, exclusive
from tests.conftest import ROOT

HOLD = """
import sys, time
from pathlib import Path
from tasks.core.lock import exclusive
with exclusive(Path(sys.argv[1]), 0, holder="flow run first"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(path, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_run_fails_clearly_after_the_bound_naming_the_holder(tmp_path):
    lock = tmp_path / ".dvc/tmp/pipeline.lock"
    first = hold(lock, 30)
    try:
        started = time.monotonic()
        with pytest.raises(LockBusy, match=r"another pipeline run holds .*flow run first, pid \d+.*waited 0.5 s"):
            with exclusive(lock, 0.5, holder="second"):
                pass
        assert 0.5 <= time.monotonic() - started < 5
    finally:
        first.kill()
        first.wait()


def test_a_second_run_waits_for_the_first_and_a_killed_holder_releases_the_lock(tmp_path):
    lock = tmp_path / "pipeline.lock"
    first = hold(lock, 1.0)
    started, heard = time.monotonic(), []
    with exclusive(lock, 30, holder="second", on_wait=heard.append):
        assert time.monotonic() - started > 0.3, "waited for the first run"
    assert len(heard) == 1 and heard[0].startswith("flow run first, pid")
    first.wait()
    killed = hold(lock, 60)
    killed.kill()  # SIGKILL: no cleanup code runs, the kernel drops the lock
    killed.wait()
    with exclusive(lock, 5, holder="third"):
        assert "third" in lock.read_text()
