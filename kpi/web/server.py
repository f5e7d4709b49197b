"""The HTTP shell: the browser wallboard, its server-sent events and ``/metrics``.

Decisions live elsewhere (the board computes, :mod:`kpi.web.page_data` lays out,
:mod:`kpi.web.metrics` names); this module serves. One task, :meth:`WebServer.run`,
reads the board while a page is open: when a fact arrives (:meth:`WebServer.facts`) or
every ``push_interval_s`` regardless, and pushes the page's JSON to every open page
when it changed. Nothing is read from SQLite. The server is read-only (GET only), bound
to ``web.host`` (the loopback address by default), and with ``web.token`` set, every
request must carry the token.

Routes: ``/`` (the page), ``/wallboard.css``, ``/wallboard.js``, ``/events`` (server-sent
events, one ``board`` event per change), ``/api/board`` (the same JSON, once) and
``/metrics`` (Prometheus).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from importlib import resources
from types import TracebackType
from typing import Self

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from collector.errors import UserError
from collector.facts import Fact
from kpi.web.metrics import BoardCollector, CallCounter, SnapshotSource
from kpi.web.page_data import page_data
from kpi.web.settings import WebConfig

log = structlog.get_logger("queuepulse.web")

KEEPALIVE_S = 15.0
"""An open page hears from the server at least this often, so that a proxy or the
browser does not take a quiet stream for a dead one."""
_STATIC = {"/": ("index.html", "text/html"), "/wallboard.css": ("wallboard.css", "text/css"),
           "/wallboard.js": ("wallboard.js", "text/javascript")}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebServerError(UserError):
    """The web server cannot listen where ``[web]`` says."""


def _static(name: str) -> bytes:
    return resources.files("kpi.web").joinpath("static", name).read_bytes()


class WebServer:
    """Serves the board ``snapshots`` gives; ``async with`` it, then run :meth:`run`."""

    def __init__(self, settings: WebConfig, pbx: str, snapshots: SnapshotSource) -> None:
        self.settings = settings
        self.port = settings.port
        self.counter = CallCounter()
        self._pbx = pbx
        self._snapshots = snapshots
        self._files = {path: (_static(name), kind) for path, (name, kind) in _STATIC.items()}
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(BoardCollector(snapshots, self.counter))
        self._runner: web.AppRunner | None = None
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self._body: str | None = None
        self._version = 0
        self._pages = 0

    @property
    def url(self) -> str:
        """Where the wallboard is, as a browser on this machine reaches it."""
        host = self.settings.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/"

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self._check_token])
        app.router.add_get("/events", self._events)
        app.router.add_get("/api/board", self._board)
        app.router.add_get("/metrics", self._metrics)
        for path in self._files:
            app.router.add_get(path, self._file)
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.settings.host, self.settings.port)
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise WebServerError(
                f"cannot serve the web wallboard on {self.settings.host}:{self.settings.port} "
                f"({error.strerror or error}). Set web.port to a free port (or web.host to "
                "an address of this machine).") from error
        self._runner = runner
        addresses = [a for a in runner.addresses if isinstance(a, tuple)]
        if addresses:
            self.port = int(addresses[0][1])
        log.info("web.serving", url=self.url, token=bool(self.settings.token.value))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def facts(self, facts: Iterable[Fact]) -> None:
        """A fact sink: count the finished calls, and push the board to open pages soon."""
        self.counter.add(facts)
        self._wake.set()

    async def run(self) -> None:
        """Read the board while pages are open and push it when it changed, until cancelled."""
        while True:
            if self._pages:
                await self._refresh()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.push_interval_s):
                    await self._wake.wait()

    async def _refresh(self) -> None:
        try:
            snapshot = self._snapshots()
            body = None if snapshot is None else json.dumps(
                page_data(snapshot, self._pbx), ensure_ascii=False)
        except Exception:  # a bug in one figure must not stop the page or the collector
            log.exception("web.snapshot_failed")
            return
        if body is not None and body != self._body:
            async with self._changed:
                self._body, self._version = body, self._version + 1
                self._changed.notify_all()

    # -- the requests ----------------------------------------------------------------

    @web.middleware
    async def _check_token(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        token = self.settings.token.value
        if token:
            given = request.query.get("token", "")
            header = request.headers.get("Authorization", "")
            if header.startswith("Bearer "):
                given = header.removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                raise web.HTTPUnauthorized(
                    text="queuepulse: a token is needed: ?token=... or "
                    "'Authorization: Bearer ...' (web.token)\n",
                    headers={"WWW-Authenticate": 'Bearer realm="queuepulse"'})
        return await handler(request)

    async def _file(self, request: web.Request) -> web.Response:
        body, kind = self._files[request.path]
        return web.Response(body=body, content_type=kind, charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    async def _board(self, request: web.Request) -> web.Response:
        snapshot = self._snapshots()
        if snapshot is None:
            raise web.HTTPServiceUnavailable(text="queuepulse: no event from the PBX yet\n")
        return web.json_response(page_data(snapshot, self._pbx),
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def _newer_than(self, version: int) -> bool:
        return self._version != version and self._body is not None

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the board now, then each time it changes."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        self._pages += 1
        self._wake.set()
        seen = 0
        try:
            while True:
                quiet = False
                async with self._changed:
                    try:
                        async with asyncio.timeout(KEEPALIVE_S):
                            await self._changed.wait_for(partial(self._newer_than, seen))
                    except TimeoutError:
                        quiet = True
                    seen, body = self._version, self._body
                if quiet or body is None:
                    await response.write(b": still here\n\n")
                else:
                    await response.write(f"event: board\ndata: {body}\n\n".encode())
        except ConnectionError:
            pass  # the page was closed
        finally:
            self._pages -= 1
        return response
