"""The browser wallboard in a real headless chromium, and the web server over real HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from collector.events import CallerJoin
from collector.facts import Fact
from collector.parser import FrameParser
from collector.secret import Secret
from collector.trace import TraceReader
from collector.tracker import Tracker
from kpi.alerts import AlertWatch
from kpi.board import BoardSnapshot, KpiBoard
from kpi.settings import KpiSettings
from kpi.web.server import WebServer
from kpi.web.settings import WebConfig
from tests.browser import browser
from tests.served import DemoDaemon, LoopThread
from tests.traces import TRACE_CONFIG, trace_dir

__all__ = ["browser"]

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "img" / "wallboard.png"
"""The picture docs/web.md shows; the browser test writes it anew when
``QUEUEPULSE_UPDATE_DOCS=1`` (a plain run leaves the checkout as it was)."""
WEB = "[web]\nenabled = true\nport = 0\n"


class TraceBoard(LoopThread):
    """A tracker and a board fed the first frames of a trace, served by a web server;
    further events are fed on the server's loop (:meth:`feed`)."""

    def __init__(self, settings: WebConfig, frames: int = 3000) -> None:
        super().__init__()
        self.settings = settings
        self.tracker = Tracker(TRACE_CONFIG)
        self.board = KpiBoard(KpiSettings(), alerts=AlertWatch())
        self.server: WebServer | None = None
        self.replayed: list[Fact] = []
        """The facts the tracker made of the frames."""
        parser = FrameParser()
        for index, frame in enumerate(TraceReader(trace_dir("mixed-a") / "ami.jsonl")):
            if index >= frames:
                break
            event = parser.parse(frame.text, frame.received_at)
            if event is not None:
                facts = self.tracker.feed(event)
                self.board.add(facts)
                self.replayed += facts

    def snapshot(self) -> BoardSnapshot:
        return self.board.snapshot(self.tracker.live())

    async def main(self, stop: asyncio.Event) -> None:
        """Serve the board until stopped."""
        async with WebServer(self.settings, "pbx", self.snapshot) as server:
            self.server = server
            running = asyncio.create_task(server.run())
            self.ready.set()
            await stop.wait()
            running.cancel()

    def feed(self, event: CallerJoin) -> None:
        """Give the tracker one more event, on the server's loop, as the daemon would."""
        def apply() -> None:
            facts = self.tracker.feed(event)
            self.board.add(facts)
            assert self.server is not None
            self.server.facts(facts)
        self.call(apply)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url


PAGE_STATE = """
const figure = (card, name) => {
  const found = card.querySelector(`.${name} .value`);
  return found ? found.textContent : "";
};
return {
  connection: document.getElementById("connection").textContent,
  queues: [...document.querySelectorAll(".queue")].map((card) => ({
    queue: card.dataset.queue,
    waiting: figure(card, "waiting"), offered: figure(card, "offered"),
    sl: figure(card, "sl"), slClass: card.querySelector(".sl").className,
  })),
  agents: [...document.querySelectorAll("#agents tbody tr")].map(
    (row) => row.querySelector(".state").textContent),
  alerts: [...document.querySelectorAll(".alert")].map((a) => a.textContent),
};
"""


def page_state(driver: WebDriver) -> dict[str, Any]:
    """What the page shows now, read in one go (the page redraws every second)."""
    state: dict[str, Any] = driver.execute_script(PAGE_STATE)
    return state


def card(driver: WebDriver, queue: str) -> dict[str, str]:
    """One queue's card as the page shows it now (empty before it is drawn)."""
    return next((q for q in page_state(driver)["queues"] if q["queue"] == queue), {})


def test_the_wallboard_shows_the_demo_queues_agents_and_alerts(
        browser: WebDriver, tmp_path: Path) -> None:
    alerts = "[alerts]\nfor_s = 0\nwaiting = 1\nwaiting_clear = 0\n"
    with DemoDaemon(tmp_path, WEB + alerts, speed=20.0, seed=4) as served:
        browser.get(served.url)
        wait = WebDriverWait(browser, 20, poll_frequency=0.1)
        wait.until(lambda d: len(page_state(d)["queues"]) == 3)
        assert [q["queue"] for q in page_state(browser)["queues"]] == [
            "billing", "sales", "support"]
        # enough traffic for every figure to be filled in, and an alert to be raised
        wait.until(lambda d: int(card(d, "support").get("offered") or 0) >= 4)
        wait.until(lambda d: page_state(d)["alerts"])
        shown = page_state(browser)
        assert shown["connection"] == "live"
        assert len(shown["agents"]) >= 5 and all(shown["agents"])
        support = card(browser, "support")
        assert {"green", "yellow", "red"} & set(support["slClass"].split())
        assert support["sl"].endswith("%")
        assert all(text.split(":")[0] in ("billing", "sales", "support")
                   for text in shown["alerts"])
        taken = tmp_path / "wallboard.png"
        assert browser.save_screenshot(str(taken))
    assert taken.read_bytes().startswith(b"\x89PNG") and taken.stat().st_size > 10_000
    if os.environ.get("QUEUEPULSE_UPDATE_DOCS") == "1":
        shutil.copyfile(taken, SCREENSHOT)


def test_the_page_shows_a_new_caller_within_a_second(browser: WebDriver) -> None:
    with TraceBoard(WebConfig(port=0, push_interval_s=5.0)) as served:
        browser.get(served.url)
        wait = WebDriverWait(browser, 10, poll_frequency=0.02)
        wait.until(lambda d: card(d, "sales").get("waiting", "") != "")
        before = int(card(browser, "sales")["waiting"])
        at = served.tracker.now + 0.1
        # the push interval is 5 s: only the fact-driven push can make it within a second
        served.feed(CallerJoin(at, "sales", "9999.1", "9999.1", "5550123", "New Caller", 1))
        started = time.monotonic()
        wait.until(lambda d: card(d, "sales")["waiting"] == str(before + 1))
        took = time.monotonic() - started
        print(f"web: a new caller showed on the page {took:.3f} s after the event")
        assert took < 1.0


def fetch(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_with_a_token_every_request_needs_it_as_a_header_or_a_query() -> None:
    with TraceBoard(WebConfig(port=0, token=Secret("s3cret")), frames=500) as served:
        base = served.url
        for path in ("", "events", "api/board", "metrics", "wallboard.js"):
            status, body = fetch(base + path)
            assert status == 401, path
            assert "token" in body
        assert fetch(base + "api/board", token="wrong")[0] == 401
        status, body = fetch(base + "api/board", token="s3cret")
        assert status == 200
        assert json.loads(body)["pbx"] == "pbx"
        assert fetch(base + "?token=s3cret")[0] == 200
        assert fetch(base + "metrics?token=s3cret")[0] == 200


def test_the_server_is_read_only_and_serves_the_page_without_outside_links() -> None:
    with TraceBoard(WebConfig(port=0), frames=500) as served:
        status, page = fetch(served.url)
        assert status == 200
        assert '<section id="queues">' in page
        for path in ("", "wallboard.js", "wallboard.css"):
            assert "http" not in fetch(served.url + path)[1].replace(
                "http-equiv", ""), f"{path} loads something from elsewhere"
        request = urllib.request.Request(served.url + "api/board", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 405
