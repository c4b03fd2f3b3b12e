"""The report hub in headless Chromium (Debian's package), over the DevTools protocol: starting at
reports/index.html, every page reachable through links is loaded; every link of the hub's own pages resolves to a
file, no page logs an error or throws, and nothing is requested from a network. `dvc plots show` gets the same check.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.e2e.conftest import free_port, run

pytestmark = pytest.mark.e2e
LOCAL_SCHEMES = {"file", "data", "blob", "about"}
SETTLE_SECONDS = 1.0     # after the load event, for scripts that render later (Evidently, vega)


class Browser:
    """Chromium started on 127.0.0.1 with a free debugging port, one page driven over its websocket."""

    def __init__(self, executable: str):
        from websockets.sync.client import connect

        self.profile = tempfile.mkdtemp(prefix="hub-chromium-")
        port = free_port()
        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--remote-debugging-address=127.0.0.1", f"--remote-debugging-port={port}",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=1) as response:
                    pages = [t for t in json.load(response) if t["type"] == "page"]
                if pages:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its debugging port")
            time.sleep(0.2)
        self.socket = connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        self.next_id, self.events = 0, []
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.events.append(json.loads(self.socket.recv(timeout=left)))
            except TimeoutError:
                return

    def visit(self, url: str) -> tuple[list[str], list[str], list[str]]:
        """Load `url`; return (errors, non-local requests, resolved hrefs of its links)."""
        self.events = []
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"{url}: no load event within 60 s")
            self.drain(0.2)
        self.drain(SETTLE_SECONDS)
        errors, requests = [], []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                errors.append(params["exceptionDetails"].get("exception", {}).get("description", "exception"))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(params["entry"]["text"])
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                errors.append(f"failed to load a resource: {params.get('errorText')}")
            elif method == "Network.requestWillBeSent":
                if urlsplit(params["request"]["url"]).scheme not in LOCAL_SCHEMES:
                    requests.append(params["request"]["url"])
        links = self.call("Runtime.evaluate", returnByValue=True, expression=(
            "Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"))["result"]["value"]
        return errors, requests, links

    def close(self) -> None:
        if getattr(self, "socket", None) is not None:
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: `make test` installs Debian's chromium package "
                    "(scripts/ensure_chromium.sh) when run as root with apt-get")
    driver = Browser(executable)
    yield driver
    driver.close()


def local_file(url: str) -> Path:
    return Path(unquote(urlsplit(url).path))


def test_every_hub_page_loads_offline_without_errors_and_every_link_resolves(repo, first_repro, browser):
    work, _ = repo
    reports = (work / "reports").resolve()
    hub = {reports / "index.html", *(reports / "pages").glob("*.html")}
    queue, seen, problems = deque([(reports / "index.html").as_uri()]), set(), []
    while queue:
        url = queue.popleft()
        path = local_file(url)
        if path in seen:
            continue
        seen.add(path)
        errors, requests, links = browser.visit(url)
        problems += [f"{path.name}: console error: {e}" for e in errors]
        problems += [f"{path.name}: external request: {r}" for r in requests]
        if path not in hub:
            continue  # a report another tool wrote (Evidently): loaded and checked, its own links not followed
        for link in links:
            if urlsplit(link).scheme != "file":
                problems.append(f"{path.name}: link leaves the hub: {link}")
            elif not local_file(link).is_file():
                problems.append(f"{path.name}: broken link: {link}")
            else:
                queue.append(link.split("#")[0])
    assert not problems, "\n".join(problems)
    assert hub <= seen, f"pages no link reaches: {sorted(p.name for p in hub - seen)}"
    assert {p.name for p in seen} >= {"batch_2016.html", "batch_2017.html", "batch_2018.html"}, "drift reports"


def test_dvc_plots_show_renders_offline(repo, first_repro, browser, tmp_path):
    work, env = repo
    run(["dvc", "plots", "show", "--out", str(tmp_path)], work, env)
    errors, requests, _ = browser.visit((tmp_path / "index.html").as_uri())
    assert (errors, requests) == ([], [])
    rendered = browser.call("Runtime.evaluate", returnByValue=True, expression=(
        "document.querySelectorAll('svg, canvas').length"))["result"]["value"]
    assert rendered >= 3, "vega drew each model's curves"
