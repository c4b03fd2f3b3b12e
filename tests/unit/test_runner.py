import errno
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from flows.__main__ import ENTRY
from tasks.ops import runner, stack
from tests.conftest import ROOT


def runner_env(tmp_path: Path) -> dict[str, str]:
    """A stage's environment whose runner is this test's alone (its own key and state directory)."""
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "home"), "MLP_RUNNER_IDLE": "60", "MLP_PREFECT_SERVER": "off",
           "MLP_TEST_ID": str(tmp_path)}
    env.pop("XDG_RUNTIME_DIR", None)
    stack.apply_env_defaults(env)  # what the launcher does before computing its key
    return env


def start_runner(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, Path]:
    """A real runner process, once its socket is listening; and that socket."""
    with open(log, "ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "tasks.ops.runner"], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    path = runner.socket_path(runner.runner_key(env), env)
    deadline = time.monotonic() + 120
    while not path.exists() and time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        time.sleep(0.2)
    assert path.exists(), log.read_text()
    return server, path


def stop_runner(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


def test_runner_key_ignores_volatile_variables_only():
    env = {"PATH": "/bin", "PREFECT_API_URL": "http://127.0.0.1:1/api"}
    key = runner.runner_key(env)
    assert runner.runner_key({**env, "PWD": "/elsewhere", "DVC_STAGE": "train@x", "SHLVL": "3"}) == key
    assert runner.runner_key({**env, "PREFECT_API_URL": "http://127.0.0.1:2/api"}) != key
    assert runner.runner_key({**env, "OMP_NUM_THREADS": "1"}) != key


def test_no_runner_means_run_in_process(tmp_path):
    env = {"PREFECT_HOME": str(tmp_path), "MLP_UNIQUE": str(time.time())}
    assert runner.run_remote(["check", "--help"], env, ENTRY) is None


def test_the_runner_directory_is_created_private_in_the_state_directory(tmp_path):
    env = {"PREFECT_HOME": str(tmp_path / "home")}
    path = runner.private_dir(env, create=True)
    assert path == tmp_path / "home" / "run"
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
    assert runner.socket_path("k", env) == path / "k.sock"


def test_the_runtime_directory_is_used_only_when_it_is_private(tmp_path):
    runtime = tmp_path / "xdg"
    runtime.mkdir()
    os.chmod(runtime, 0o700)
    env = {"PREFECT_HOME": str(tmp_path / "home"), "XDG_RUNTIME_DIR": str(runtime)}
    path = runner.private_dir(env, create=True)
    assert path == runtime / "mlplatform" and stat.S_IMODE(path.stat().st_mode) == 0o700
    os.chmod(runtime, 0o755)
    assert runner.runner_dir(env) == tmp_path / "home" / "run"
    assert runner.runner_dir({**env, "XDG_RUNTIME_DIR": str(tmp_path / "missing")}) == tmp_path / "home" / "run"


def test_a_runner_directory_others_can_enter_is_refused_and_its_socket_never_dialled(tmp_path, capsys):
    env = {"PREFECT_HOME": str(tmp_path / "home"), "MLP_TEST_ID": str(tmp_path)}
    shared = tmp_path / "home" / "run"
    shared.mkdir(parents=True)
    os.chmod(shared, 0o755)
    planted = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # someone else's "runner" in that directory
    planted.bind(str(shared / f"{runner.runner_key(env)}.sock"))
    planted.listen(1)
    planted.setblocking(False)
    with pytest.raises(runner.UnsafeDirectory, match="has mode 0755, not 0700"):
        runner.private_dir(env, create=True)
    assert runner.run_remote(["check"], env, ENTRY) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(shared) in err and f"chmod 700 {shared}" in err
    with pytest.raises(BlockingIOError):
        planted.accept()  # nobody connected
    runner.spawn(env)
    assert sorted(p.name for p in shared.iterdir()) == [f"{runner.runner_key(env)}.sock"], "no marker, no runner"
    assert not list((tmp_path / "home").glob("runner-*.pid"))
    planted.close()


def test_a_directory_owned_by_another_user_is_not_private(tmp_path):
    if os.getuid() == 0:
        other = tmp_path / "other"
        other.mkdir(mode=0o700)
        os.chown(other, 65534, 65534)
    else:
        other = Path("/")  # root's
    info = other.stat()
    assert runner._unsafe(other) == f"is owned by uid {info.st_uid}, not by you (uid {os.getuid()})"
    (tmp_path / "link").symlink_to(tmp_path)
    assert runner._unsafe(tmp_path / "link") == "is not a directory"


def test_peer_credentials_are_the_connecting_process_as_the_kernel_reports_it(tmp_path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "s"))
    listener.listen(1)
    peer = subprocess.Popen([sys.executable, "-c", "import socket, sys; s = socket.socket(socket.AF_UNIX); "
                             f"s.connect({str(tmp_path / 's')!r}); sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        conn, _ = listener.accept()
        assert runner.peer_credentials(conn) == (peer.pid, os.getuid(), os.getgid())
        ours, theirs = socket.socketpair()
        assert runner.peer_credentials(ours) == (os.getpid(), os.getuid(), os.getgid())
    finally:
        peer.communicate(b"")
    for sock in (listener, conn, ours, theirs):
        sock.close()


def test_the_runner_refuses_a_connection_from_another_user(monkeypatch, capsys):
    ours, theirs = socket.socketpair()
    assert runner._admit(ours), "the same user is served"
    monkeypatch.setattr(runner, "peer_credentials", lambda conn: (4242, os.getuid() + 1, 0))
    assert not runner._admit(ours)
    assert theirs.recv(1) == b"", "the connection was closed without reading anything"
    assert f"refused a connection from pid 4242 of uid {os.getuid() + 1}" in capsys.readouterr().out
    theirs.close()


def test_the_caller_sends_nothing_to_a_runner_of_another_user(tmp_path, monkeypatch, capsys):
    env = {"PREFECT_HOME": str(tmp_path / "home"), "SECRET_TOKEN": "s3cret"}
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(runner.private_dir(env, create=True) / f"{runner.runner_key(env)}.sock"))
    listener.listen(1)
    monkeypatch.setattr(runner, "peer_credentials", lambda conn: (1, os.getuid() + 1, 1))
    assert runner.run_remote(["check"], env, ENTRY) is None
    conn, _ = listener.accept()
    assert conn.recv(4096) == b"", "closed without sending the environment"
    assert "served by another user's process; this stage runs without the warm runner" in capsys.readouterr().err
    conn.close()
    listener.close()


def test_a_stage_runs_in_a_warm_runner_with_the_callers_streams_and_exit_code(tmp_path):
    """A real runner: output reaches the caller's stdout/stderr, exit codes come back, SIGTERM cleans up."""
    env = runner_env(tmp_path)
    server, socket_path = start_runner(env, tmp_path / "runner.log")
    try:
        assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700
        ok = subprocess.run([sys.executable, "-m", "flows", "check", "--help"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
        assert ok.returncode == 0 and "--code" in ok.stdout
        bad = subprocess.run([sys.executable, "-m", "flows", "no-such-stage"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "invalid choice: 'no-such-stage'" in bad.stderr
    finally:
        stop_runner(server)
    log = (tmp_path / "runner.log").read_text()
    assert "listening on" in log
    assert "runs check --help" in log and "runs no-such-stage" in log, "both requests were served by the runner"
    assert list(socket_path.parent.iterdir()) == [], "the socket is removed when the runner stops"


def wait_for_reader(fifo: Path, client: subprocess.Popen) -> int:
    """Block until the stage has opened `fifo` as its params file (it is then inside its flow); the write end."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert client.poll() is None, client.stdout.read()
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            assert exc.errno == errno.ENXIO  # no reader yet
        time.sleep(0.2)
    raise AssertionError("the stage never opened its params file")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, "runner killed"])
def test_a_stage_in_the_runner_ends_with_its_caller_and_leaves_nothing(tmp_path, how):
    """The caller is killed (SIGKILL: the runner sees its connection close) or interrupted (SIGTERM: forwarded),
    or the runner's whole process group is SIGKILLed, while the stage blocks reading its params file, a FIFO nobody
    writes: every process the runner forked for the stage is gone, and after the runner stops its directory holds
    nothing but what a SIGKILLed runner cannot remove (its socket)."""
    env = runner_env(tmp_path)
    server, socket_path = start_runner(env, tmp_path / "runner.log")
    fifo = tmp_path / "params.yaml"
    os.mkfifo(fifo)
    try:
        client = subprocess.Popen([sys.executable, "-m", "flows", "check", "--params", str(fifo), "--code",
                                   str(tmp_path / "code")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        writer = wait_for_reader(fifo, client)
        forked = psutil.Process(server.pid).children(recursive=True)
        assert len(forked) >= 2, "the request's supervisor and the stage"
        if how == "runner killed":
            os.killpg(server.pid, signal.SIGKILL)
            assert client.wait(timeout=60) == 1
            assert "the warm runner was killed while it ran the stage" in client.stdout.read().decode()
        else:
            client.send_signal(how)
            code = client.wait(timeout=60)
            assert code == -how if how == signal.SIGKILL else code != 0
        _, alive = psutil.wait_procs(forked, timeout=60)
        assert not alive, [p.cmdline() for p in alive]
        os.close(writer)
    finally:
        stop_runner(server)
    log = (tmp_path / "runner.log").read_text()
    assert "runs check --params" in log
    if how == signal.SIGKILL:
        assert "went away; the stage ended with" in log
    left = [] if how != "runner killed" else [socket_path.name]
    assert [p.name for p in socket_path.parent.iterdir()] == left, "no temporary socket or marker left"
