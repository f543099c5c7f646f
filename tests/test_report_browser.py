"""`escalsim report`'s page opened in a real headless Chromium: no console errors, no failed loads, every figure
drawn, and a screenshot.

The driver is Chromium's own DevTools protocol over `--remote-debugging-pipe` (JSON messages ending in NUL,
commands on the browser's file descriptor 3, replies and events on 4), spoken with the standard library only.
It was chosen over Selenium with Debian's chromium-driver and over Playwright's Python package as the most
robust offline option:

- nothing to install but the browser itself (Debian's `chromium`): no test dependency, no second binary whose
  version must match the browser's (chromedriver), no driver that can try to download a browser or a driver
  at run time (Selenium Manager, `playwright install`), no bundled Node.js;
- no network at all, not even loopback: no debugging port to pick, bind or find, and no WebSocket;
- only stable protocol domains (Target, Page, Runtime, Log, Network), the ones Playwright and Puppeteer drive
  Chromium with, rather than a client library pinned to one browser build;
- the events needed here (console calls, uncaught exceptions, log entries, failed loads) arrive directly.

Outside CI the test is skipped when Chromium is absent; in CI (environment variable CI set, as `.ci/run`
does) a missing Chromium is a failure. `ESCALSIM_CHROMIUM=/path/to/chrome` picks another Chromium-based
browser. Every wait is bounded by one generous guard (GUARD_S), for hangs only.
"""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import escalsim

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "dprk_russia_2024.yaml"
GUARD_S = 120.0  # for hangs only: the whole browser session takes a few seconds
# --no-sandbox: Chromium refuses to start as root otherwise (CI runs as root). The networking flags: this
# machine's closed network refuses Google's hosts, and a fresh profile never reaches for them.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--window-size=1280,900", "--remote-debugging-pipe"]
PAGE_CHECK = """(async () => {
  await document.fonts.ready;
  const images = [...document.images];
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  const outer = [...document.querySelectorAll("svg")].filter(svg => !svg.parentElement.closest("svg"));
  return {
    title: document.title,
    figures: [...document.querySelectorAll("figure")].map(f => ({
      id: f.id, graphics: f.querySelectorAll("img, svg").length})),
    images: images.map(img => ({src: (img.currentSrc || img.src).slice(0, 80), complete: img.complete,
                                width: img.naturalWidth, height: img.naturalHeight})),
    svgs: outer.map(svg => {
      const box = svg.getBoundingClientRect(), drawn = svg.getBBox();
      return {id: (svg.closest("figure") || svg).id, width: box.width, height: box.height,
              drawnWidth: drawn.width, drawnHeight: drawn.height, shapes: svg.querySelectorAll("path, use").length};
    }),
  };
})()"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def chromium() -> str:
    path = os.environ.get("ESCALSIM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if _in_ci():
        pytest.fail("CI is set but Chromium is not installed; .ci/run installs it "
                    "(apt-get install chromium): the browser test must run in CI")
    pytest.skip("Chromium is not installed: `sudo apt-get install chromium` (Debian/Ubuntu) runs this test, "
                "or set ESCALSIM_CHROMIUM to a Chromium-based browser")


class DevToolsError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium process, driven over the DevTools pipe; a context manager that always ends it."""

    def __init__(self, executable: str, workdir: Path, deadline: float):
        self.deadline = deadline
        self.events: list[dict] = []
        self.log = workdir / "chromium.log"
        self._next_id = 0
        self._inbox: queue.Queue = queue.Queue()
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The pipes arrive as the shell's stdin and stdout; it moves them to the descriptors 3 and 4 that the
        # protocol prescribes, then becomes the browser (no Python code runs between fork and exec).
        trampoline = 'exec "$0" "$@" 3<&0 4>&1 </dev/null >&2'
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                ["/bin/sh", "-c", trampoline, executable, *FLAGS, f"--user-data-dir={workdir / 'profile'}",
                 "about:blank"],
                stdin=to_browser_r, stdout=from_browser_w, stderr=log)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._reader = threading.Thread(target=self._read, name="devtools-pipe", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        try:
            while chunk := os.read(self._from_browser, 1 << 16):
                *messages, buffer = (buffer + chunk).split(b"\0")
                for message in messages:
                    self._inbox.put(json.loads(message))
        except (OSError, ValueError):
            pass
        finally:
            self._inbox.put(None)

    def _receive(self) -> dict:
        remaining = self.deadline - time.monotonic()
        try:
            message = self._inbox.get(timeout=max(remaining, 0.001))
        except queue.Empty:
            raise TimeoutError(f"Chromium did not answer before the hang guard; {self._tail()}") from None
        if message is None:
            self._inbox.put(None)
            raise DevToolsError(f"Chromium closed the DevTools pipe (exit {self.process.poll()}); {self._tail()}")
        return message

    def _tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "its output ends:\n" + "\n".join(lines[-15:])

    def call(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and return its result; events arriving meanwhile are kept in self.events."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise DevToolsError(f"Chromium exited (exit {self.process.wait(30)}); {self._tail()}") from None
        while True:
            reply = self._receive()
            if reply.get("id") != self._next_id:
                self.events.append(reply)
            elif "error" in reply:
                raise DevToolsError(f"{method}: {reply['error']}")
            else:
                return reply.get("result", {})

    def wait_for(self, method: str, session: str) -> dict:
        """The first event `method` of the session, already received or still to come."""
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event["params"]
            seen = len(self.events)
            self.events.append(self._receive())

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.process.poll() is None:
                os.write(self._to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
                self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=30)
        finally:
            os.close(self._to_browser)
            self._reader.join(timeout=30)
            os.close(self._from_browser)


def problems_in(events: list[dict]) -> list[str]:
    """Console errors, uncaught exceptions, error log entries and failed or refused loads, as readable lines."""
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"])
            found.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append(f"uncaught: {details.get('exception', {}).get('description', details['text'])}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            found.append(f"log ({entry['source']}): {entry['text']} {entry.get('url', '')}".rstrip())
        elif method == "Network.loadingFailed":
            found.append(f"load failed: {params.get('type')} {params['errorText']}")
        elif method == "Network.responseReceived" and params["response"].get("status", 200) >= 400:
            found.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory, chromium) -> Path:
    """A real results directory from a small run of the default scenario, and its report by the CLI."""
    directory = tmp_path_factory.mktemp("browser") / "results"
    escalsim.run(escalsim.load_scenario(SCENARIO), directory, escalsim.Settings(runs=300, seed=1, workers=1))
    done = subprocess.run([sys.executable, "-m", "escalsim", "report", str(directory)],
                          capture_output=True, text=True, timeout=GUARD_S)
    assert done.returncode == 0, done.stdout + done.stderr
    return directory / "report.html"


def test_report_renders_in_chromium(chromium, report, tmp_path):
    with Chromium(chromium, tmp_path, deadline=time.monotonic() + GUARD_S) as browser:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        page = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", page)
        navigation = browser.call("Page.navigate", page, url=report.as_uri())
        assert "errorText" not in navigation, navigation
        browser.wait_for("Page.loadEventFired", page)
        checked = browser.call("Runtime.evaluate", page, expression=PAGE_CHECK, awaitPromise=True,
                               returnByValue=True)
        assert "exceptionDetails" not in checked, checked["exceptionDetails"]
        found = checked["result"]["value"]
        size = browser.call("Page.getLayoutMetrics", page)["cssContentSize"]
        shot = browser.call("Page.captureScreenshot", page, format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        browser.call("Runtime.evaluate", page, expression="0")  # events raised by the above have arrived
        problems = problems_in(browser.events)

    assert problems == [], "\n".join(problems)
    assert found["title"].endswith("escalsim report")
    # the page's figures: fan, ladder, first passage, highest rung, variables, drivers and a traced run's timeline
    assert len(found["figures"]) >= 6, found["figures"]
    assert all(figure["graphics"] >= 1 for figure in found["figures"]), found["figures"]
    assert len(found["svgs"]) + len(found["images"]) >= len(found["figures"])
    for image in found["images"]:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
    for svg in found["svgs"]:
        assert svg["width"] > 100 and svg["height"] > 100, svg  # laid out on the page
        assert svg["drawnWidth"] > 0 and svg["drawnHeight"] > 0 and svg["shapes"] > 0, svg  # with drawing in it

    png = tmp_path / "report.png"
    png.write_bytes(base64.b64decode(shot["data"]))
    assert png.stat().st_size > 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image  # matplotlib's own dependency

    with Image.open(io.BytesIO(png.read_bytes())) as image:
        assert image.width >= 800 and image.height >= 2000, image.size  # the whole page, not one screen
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50  # text and figures, not a blank or an error page
