"""Stage command fault handling: which temporaries a stage cleans, SIGTERM during a write, a lost Prefect server."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import yaml

from flows import cli
from flows.common import lost_api

ROOT = Path(__file__).resolve().parents[2]


def _dvc_stages() -> dict[str, tuple[list[str], list[str]]]:
    """flows stage -> (its command's words, the paths dvc.yaml declares as its outs and metrics), `${key}` kept."""
    stages = {}
    for entry in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values():
        body = entry.get("do", entry)
        words = shlex.split(body["cmd"])
        paths = [next(iter(o)) if isinstance(o, dict) else o for o in body.get("outs", []) + body.get("metrics", [])]
        stages[words[words.index("flows") + 1]] = (words, paths)
    return stages


def test_each_stages_output_options_are_exactly_its_dvc_outputs():
    stages = _dvc_stages()
    assert set(stages) == set(cli.OUTPUTS)
    for stage, (words, outs) in stages.items():
        named = [words[words.index(f"--{option}") + 1] for option in cli.OUTPUTS[stage]]
        inputs = [words[i + 1] for i, w in enumerate(words) if w.startswith("--") and w[2:] not in cli.OUTPUTS[stage]
                  and i + 1 < len(words) and not words[i + 1].startswith("--")]
        for out in outs:  # every declared output is one of the options' paths or inside one
            assert any(out == p or out.startswith(p + "/") for p in named), (stage, out, named)
        for path in named:  # and every option named as an output holds a declared output
            assert any(out == path or out.startswith(path + "/") for out in outs), (stage, path, outs)
        for path in inputs:  # no input is cleaned as an output
            assert not any(path == out or path.startswith(out + "/") for out in outs), (stage, path)


def test_a_stage_cleans_temporaries_of_its_outputs_only(tmp_path):
    args = cli.parser(("train",)).parse_args([
        "train", "--problem", "p", "--data", str(tmp_path / "validated/p"), "--features", str(tmp_path / "features/p"),
        "--out", str(tmp_path / "models/p"), "--record", str(tmp_path / "train/p.json")])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = [tmp_path / f"models/.p.{gone.pid}.abcd1234.tmp", tmp_path / f"models/p/.xgboost.{gone.pid}.abcd1234.tmp",
             tmp_path / f"train/.p.json.{gone.pid}.abcd1234.tmp"]
    an_input = tmp_path / f"validated/.p.{gone.pid}.abcd1234.tmp"  # the validate stage's, not train's
    for path in [*stale, an_input]:
        path.mkdir(parents=True)
    assert sorted(cli.remove_temporaries(args)) == sorted(map(str, stale))
    assert not any(p.exists() for p in stale) and an_input.exists()


def test_sigterm_during_a_write_exits_143_and_keeps_the_old_output(tmp_path):
    """A real SIGTERM, sent by the writer to itself mid-write: the old directory stays, no temporary is left."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_text("old")
    script = textwrap.dedent(f"""
        import os, signal, time
        from flows.cli import sigterm_as_exit
        from tasks.core.io import atomic_dir
        with sigterm_as_exit(), atomic_dir({str(tmp_path / "out")!r}) as tmp:
            (tmp / "a.txt").write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(60)  # never reached: the handler raises first
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert (tmp_path / "out" / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def _raised_from(cause: BaseException) -> RuntimeError:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise RuntimeError("flow run failed") from exc
    except RuntimeError as outer:
        return outer


def test_a_transport_error_with_the_server_down_or_a_5xx_counts_as_a_lost_server(monkeypatch):
    url = "http://127.0.0.1:9/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    refused = _raised_from(httpx.ConnectError("[Errno 111] Connection refused"))
    monkeypatch.setattr("tasks.ops.stack.healthy", lambda _url, timeout=1.0: False)
    assert lost_api(refused) == url
    assert lost_api(_raised_from(ValueError("a bug in the stage"))) is None
    monkeypatch.setattr("tasks.ops.stack.healthy", lambda _url, timeout=1.0: True)
    assert lost_api(refused) is None  # the server answers: some other connection failed
    request = httpx.Request("POST", f"{url}/v2/concurrency_limits/increment-with-lease")
    unavailable = _raised_from(httpx.HTTPStatusError("503", request=request,
                                                     response=httpx.Response(503, request=request)))
    assert lost_api(unavailable) == url  # up but failing past the retries (SQLite locked): the same fallback
    not_found = _raised_from(httpx.HTTPStatusError("404", request=request,
                                                   response=httpx.Response(404, request=request)))
    assert lost_api(not_found) is None
    monkeypatch.delenv("PREFECT_API_URL")
    assert lost_api(refused) is None


@pytest.mark.parametrize("stage", sorted(cli.OUTPUTS))
def test_each_stage_command_parses_with_its_output_options(stage):
    words, _ = _dvc_stages()[stage]
    args = cli.parser((stage,)).parse_args([w.replace("${key}", "p") for w in words[words.index("flows") + 1:]])
    assert all(isinstance(getattr(args, option), Path) for option in cli.OUTPUTS[stage])
