"""The documentation is tested: its commands run, its SQL runs, its keys, topics and links exist.

Every ``queuepulse ...`` command in a shell block of README.md and docs/*.md is run, with
its file names pointed at a replayed trace, a configuration for a simulated PBX, a real
broker and temporary files; a command that needs a PBX gets the demo PBX, and the demo
runs for a few seconds. Every ``sql`` block runs against a replayed database. The
configuration reference lists exactly the settings the code has, with their defaults;
every command has help text and documentation; the Home Assistant and Node-RED examples
use topics, fields and entity ids queuepulse really publishes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import io
import itertools
import json
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest
from markdown_it import MarkdownIt
from rich.console import Console

from collector.ami.link import AmiLink
from collector.facts import CallRecord
from collector.parser import FrameParser
from collector.replay import replay_to_database
from collector.secret import Secret
from collector.trace import TraceReader
from collector.tracker import Tracker
from kpi.alerts import AlertKind
from kpi.board import BoardSnapshot, KpiBoard
from kpi.mqtt.homeassistant import discovery_messages
from kpi.mqtt.payloads import ami_message, call_message, heartbeat_message
from kpi.mqtt.publisher import snapshot_messages
from kpi.mqtt.topics import Topics
from kpi.present.wallboard import render
from kpi.settings import KpiSettings
from queuepulse.cli import build_parser, main
from queuepulse.config import Config, QueueConfig
from queuepulse.kpi_tables import refresh_file
from queuepulse.pbxsim.demo_pbx import DEMO_SECRET, DemoPbx
from tests.mosquitto import Mosquitto
from tests.traces import TRACE_CONFIG, TRACE_CONFIG_TOML, replayed_facts, trace_dir

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
QUEUEPULSE = str(Path(sys.executable).parent / "queuepulse")
SHELL = ("sh", "bash", "shell", "console")
TOPICS = Topics("queuepulse", "pbx")
TRACE = "mixed-a"


@dataclass(frozen=True, slots=True)
class Block:
    """A fenced code block of a page."""

    page: str
    line: int
    info: str
    text: str


@cache
def blocks() -> tuple[Block, ...]:
    """Every fenced code block of README.md and docs/*.md."""
    found = []
    for page in PAGES:
        for token in MarkdownIt().parse(page.read_text(encoding="utf-8")):
            if token.type == "fence" and token.map is not None:
                found.append(Block(page.relative_to(ROOT).as_posix(), token.map[0] + 1,
                                   token.info.strip(), token.content))
    return tuple(found)


# -- the documented commands ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Documented:
    """A ``queuepulse`` command as shown: where, its words, and whether input is piped in."""

    where: str
    words: tuple[str, ...]
    piped: bool


def _segments(line: str) -> Iterator[tuple[list[str], bool]]:
    """The simple commands of a shell line (split at ``&&``, ``;``, ``|``), redirections
    dropped, each with whether a pipe feeds it."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words: list[str] = []
    piped = skip = False
    for token in lexer:
        if skip:
            skip = False
        elif token in (">", ">>", "<", "2>"):
            skip = True
        elif token in ("&&", ";", "|", "||"):
            yield words, piped
            words, piped = [], token == "|"
        else:
            words.append(token)
    yield words, piped


@cache
def documented_commands() -> tuple[Documented, ...]:
    """Every queuepulse command in the shell blocks of the pages."""
    found = []
    for block in blocks():
        if block.info not in SHELL:
            continue
        for offset, line in enumerate(block.text.replace("\\\n", " ").splitlines()):
            for segment, piped in _segments(line):
                words = list(itertools.dropwhile(  # environment assignments
                    lambda word: re.fullmatch(r"[A-Z_]+=.*", word) is not None, segment))
                if words and Path(words[0]).name == "queuepulse":
                    found.append(Documented(f"{block.page}:{block.line + offset + 1}",
                                            tuple(words[1:]), piped))
    return tuple(found)


PATH_OPTIONS = {"--db": "db", "--config": "config", "--chart": "out", "--mqtt": "mqtt"}



@dataclass(frozen=True, slots=True)
class Runnable:
    """A documented command with its files replaced by ``{name}`` placeholders."""

    words: tuple[str, ...]
    stdin: bool

    @property
    def command(self) -> str:
        """The queuepulse command run (``""`` for ``queuepulse --help``)."""
        return self.words[0] if self.words else ""


def commands_action() -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The parser's table of commands."""
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise AssertionError("the parser has no commands")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Each command's parser, by name."""
    return dict(commands_action().choices)


@cache
def flags() -> frozenset[str]:
    """The options of any command that take no value."""
    return frozenset(option for parser in subcommands().values() for action in parser._actions
                     if action.nargs == 0 for option in action.option_strings)


def runnable(shown: Documented) -> Runnable:
    """The command with safe arguments: test files, a test broker, a short duration."""
    words = list(shown.words)
    command = words[0] if words and not words[0].startswith("-") else ""
    out: list[str] = []
    option = ""
    for word in words:
        if word.startswith("--"):
            out.append(word)
            option = "" if word in flags() else word
            continue
        if option in PATH_OPTIONS:
            kind = PATH_OPTIONS[option]
            out.append(f"{{out}}/{Path(word).name}" if kind == "out" else f"{{{kind}}}")
        elif option == "--queue-log" or (command in ("import-queue-log", "check")
                                         and "queue_log" in word):
            out.append("{queue_log}")
        elif option == "--duration":
            out.append("1")
        elif option == "" and word.endswith(".jsonl"):
            out.append("{trace}" if command == "replay" else "{out}/trace.jsonl")
        elif command == "check-config" and word.endswith(".toml"):
            out.append("{config}")
        elif command == "init" and option == "" and word != "init":
            out.append(f"{{out}}/{Path(word).name}")
        else:
            out.append(word)
        option = "--queue-log" if option == "--queue-log" else ""
    if command == "init" and all(w.startswith("-") for w in out[1:]):
        out.append("{out}")  # not the folder the tests run in
    if command == "top" and "--once" not in out:
        out.append("--once")
    if command == "report" and "--from" not in out and "--to" not in out:
        # "today" on the page is the day of a live database: here, the trace's day
        out += ["--from", "{day}"]
    if command == "demo":
        out[1:1] = [] if "--mqtt" in out else ["--mqtt", "{mqtt}"]
        out += [] if "--minutes" in out else ["--minutes", "0.05"]
    return Runnable(tuple(out), shown.piped)


@cache
def runnables() -> dict[Runnable, list[str]]:
    """Each distinct runnable command, with where the pages show it."""
    found: dict[Runnable, list[str]] = {}
    for shown in documented_commands():
        found.setdefault(runnable(shown), []).append(shown.where)
    return found


class DemoPbxThread:
    """The demo PBX on a loop of its own, for the commands that need a PBX."""

    def __init__(self) -> None:
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with DemoPbx(speed=30.0, seed=1) as pbx:
            self.port = pbx.port
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> DemoPbxThread:
        self._thread.start()
        assert self._ready.wait(10), "the demo PBX did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@dataclass
class Fixtures:
    """The files and services the documented commands are pointed at."""

    folder: Path
    db_template: Path
    config: Path
    broker: Mosquitto
    pbx: DemoPbxThread
    count: int = 0

    def values(self) -> dict[str, str]:
        """A fresh copy of the database and a folder of its own for each command."""
        self.count += 1
        out = self.folder / f"run{self.count}"
        out.mkdir()
        db = out / "calls.sqlite"
        shutil.copy(self.db_template, db)
        return {"db": str(db), "config": str(self.config), "out": str(out),
                "trace": str(trace_dir("smoke") / "ami.jsonl"),
                "queue_log": str(trace_dir(TRACE) / "queue_log"),
                "mqtt": f"127.0.0.1:{self.broker.port}", "day": trace_day()}


def trace_day() -> str:
    """The day (UTC) the trace's calls came in."""
    first = min(f.entered_at for f in replayed_facts(TRACE) if isinstance(f, CallRecord))
    return time.strftime("%Y-%m-%d", time.gmtime(first))


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trace replayed into a database, as queuepulse replay writes it."""
    db = tmp_path_factory.mktemp("replayed") / "template.sqlite"
    replay_to_database(trace_dir(TRACE) / "ami.jsonl", str(db), Tracker(TRACE_CONFIG))
    refresh_file(str(db))
    return db


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Fixtures]:
    """A broker holding a board's retained topics, the demo PBX, and a configuration."""
    folder = tmp_path_factory.mktemp("docs")
    db = template_db
    broker = Mosquitto(folder)
    broker.start()
    try:
        asyncio.run(publish_retained(broker.port, trace_snapshot()))
        with DemoPbxThread() as pbx:
            config = folder / "docs.toml"
            live_db = folder / "live.sqlite"
            shutil.copy(db, live_db)
            config.write_text(
                TRACE_CONFIG_TOML + "service_level_s = 30\n"
                f'[ami]\nport = {pbx.port}\nsecret = "{DEMO_SECRET}"\nreconnect_max_s = 0.2\n'
                f'[database]\npath = "{live_db}"\ncommit_interval_s = 0.2\n'
                '[log]\nformat = "json"\n', encoding="utf-8")
            yield Fixtures(folder, db, config, broker, pbx)
    finally:
        broker.stop()


async def publish_retained(port: int, snapshot: BoardSnapshot) -> None:
    """What a running service leaves on its broker: the retained topics of a board."""
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for message in snapshot_messages(TOPICS, snapshot):
            await client.publish(message.topic, message.payload(snapshot.at), qos=1,
                                 retain=True)
        await client.publish(TOPICS.status, "online", qos=1, retain=True)


def run_documented(words: list[str], stdin: bytes | None,
                   capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """Run a command in this process, as the console script would."""
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(stdin))))
    try:
        status = main(words)
    except SystemExit as done:  # --help
        status = int(done.code or 0)
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def run_daemon(words: list[str], stop_after_s: float) -> tuple[int, str]:
    """Run ``queuepulse run`` for a while, then stop it as systemd does (SIGTERM)."""
    process = subprocess.Popen([QUEUEPULSE, *words], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    time.sleep(stop_after_s)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=20)
    return process.returncode, out


@pytest.mark.parametrize("command", list(runnables()),
                         ids=[" ".join(c.words)[:70] for c in runnables()])
def test_every_documented_command_runs(
    command: Runnable, fixtures: Fixtures, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = fixtures.values()
    words = [w.format(**values) for w in command.words]
    where = ", ".join(runnables()[command])
    stdin = (trace_dir(TRACE) / "queue_log").read_bytes() if command.stdin else None
    if command.command == "run":
        status, output = run_daemon(words, stop_after_s=2.0)
        assert '"event": "daemon.ready"' in output, f"{where}: {output}"
    elif command.command in ("demo", "record"):
        done = subprocess.run([QUEUEPULSE, *words], cwd=values["out"], capture_output=True,
                              text=True, timeout=60, check=False)
        status, output = done.returncode, done.stdout + done.stderr
    else:
        status, output = run_documented(words, stdin, capsys, monkeypatch)
    assert status == 0, f"{where}: queuepulse {' '.join(words)}\n{output}"
    if command.command == "record":
        written = Path(values["out"], Path(words[-1]).name)
        assert written.stat().st_size > 0, f"{where}: nothing recorded"


def test_commands_are_found_in_the_pages() -> None:
    shown = {c.words[0] for c in documented_commands() if c.words}
    assert {"demo", "top", "report", "run", "replay", "record", "check", "check-config",
            "import-queue-log", "init"} <= shown
    readme = [c for c in documented_commands() if c.where.startswith("README.md")]
    assert readme[0].words == ("demo",)


# -- every command is documented ------------------------------------------------------------


def docs_text() -> str:
    """All the pages as one text."""
    return "\n".join(page.read_text(encoding="utf-8") for page in PAGES)


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_command_has_help_and_documentation(name: str) -> None:
    parser = subcommands()[name]
    helps = {a.dest: a.help for a in commands_action()._choices_actions}
    assert helps.get(name), f"'{name}' has no one-line help"
    assert parser.description, f"'{name}' has no description"
    assert name in {c.words[0] for c in documented_commands() if c.words}, (
        f"no page shows 'queuepulse {name}' in a shell block")
    text = docs_text()
    for action in parser._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                assert action.help, f"queuepulse {name} {option} has no help"
                assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), (
                    f"queuepulse {name} {option} is not documented")


# -- SQL ----------------------------------------------------------------------------------


def sql_statements() -> list[tuple[str, str]]:
    """Each statement of the pages' sql blocks, with where it is."""
    found = []
    for block in blocks():
        if block.info != "sql":
            continue
        statement = ""
        for line in block.text.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                found.append((f"{block.page}:{block.line}", statement.strip()))
                statement = ""
        assert not statement.strip(), f"{block.page}:{block.line}: unfinished statement"
    return found


@pytest.mark.parametrize(("where", "statement"), sql_statements(),
                         ids=[w for w, _ in sql_statements()])
def test_every_documented_query_runs(where: str, statement: str, template_db: Path) -> None:
    with contextlib.closing(sqlite3.connect(f"file:{template_db}?mode=ro", uri=True)) as conn:
        conn.execute(statement).fetchall()


# -- the configuration reference -------------------------------------------------------------

TYPE_WORDS = {int: "whole number", float: "number", str: "string", bool: "true or false"}


def documented_settings() -> dict[str, tuple[str, str]]:
    """``key: (type, default)`` of each row of docs/configuration.md's tables."""
    rows = {}
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for match in re.finditer(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \|", text, re.MULTILINE):
        rows[match.group(1)] = (match.group(2).strip(), match.group(3).strip())
    return rows


def code_settings(cls: type[Any] = Config, prefix: str = "") -> dict[str, tuple[str, Any]]:
    """``key: (type, default)`` of every setting the configuration classes have."""
    found: dict[str, tuple[str, Any]] = {}
    hints = typing.get_type_hints(cls)
    instance = cls()
    for f in dataclasses.fields(cls):
        key, kind, value = f"{prefix}{f.name}", hints[f.name], getattr(instance, f.name)
        if kind is Secret:
            for suffix in ("", "_env", "_file"):
                found[key + suffix] = ("string", None)
        elif f.name == "queues":
            found.update(code_settings(QueueConfig, "queues.<name>."))
        elif f.name == "agents":
            found['agents."<interface>"'] = ("string", None)
        elif f.name == "alerts" and prefix.startswith("queues."):
            found[f"{key}.<key>"] = ("as in [alerts]", None)  # each key of [alerts], unset
        elif isinstance(kind, type) and dataclasses.is_dataclass(kind):
            found.update(code_settings(kind, key + "."))
        elif typing.get_origin(kind) is tuple:
            found[key] = ("list of strings", list(value))
        elif typing.get_origin(kind) in (types.UnionType, typing.Union):
            inner = next(k for k in typing.get_args(kind) if k is not type(None))
            found[key] = (TYPE_WORDS[inner], value)
        else:
            found[key] = (TYPE_WORDS[kind], value)
    return found


def test_the_configuration_reference_lists_every_setting_with_its_default() -> None:
    documented = documented_settings()
    code = code_settings()
    assert sorted(documented) == sorted(code)
    for key, (kind, default) in code.items():
        shown_kind, shown_default = documented[key]
        assert shown_kind == kind, key
        if default is None or (default == "" and shown_default == "unset"):
            assert shown_default in ("unset", '`""`'), key
        else:
            assert tomllib.loads(f"v = {shown_default.strip('`')}")["v"] == default, key


def test_the_example_configuration_has_every_documented_section() -> None:
    example = tomllib.loads((ROOT / "config" / "queuepulse.toml").read_text(encoding="utf-8"))
    sections = {key.split(".")[0] for key in documented_settings()}
    assert sections - {"queues"} <= set(example)


# -- MQTT examples: Home Assistant and Node-RED ------------------------------------------------


@cache
def trace_snapshot() -> BoardSnapshot:
    """The live board at the end of the trace, with the live view of that moment."""
    tracker, parser = Tracker(TRACE_CONFIG), FrameParser()
    board = KpiBoard(KpiSettings(queue_service_level_s={"sales": 30}))
    for frame in TraceReader(trace_dir(TRACE) / "ami.jsonl"):
        event = parser.parse(frame.text, frame.received_at)
        if event is not None:
            board.add(tracker.feed(event))
    return board.snapshot(tracker.live())


@cache
def published() -> dict[str, Any]:
    """Every topic queuepulse publishes for the trace, with its payload (JSON or text)."""
    snapshot = trace_snapshot()
    call = next(f for f in replayed_facts(TRACE) if isinstance(f, CallRecord))
    messages = [*snapshot_messages(TOPICS, snapshot), call_message(TOPICS, call),
                heartbeat_message(TOPICS, snapshot.at, 1.0, 0, 0, 0),
                ami_message(TOPICS, AmiLink(True, snapshot.at, "127.0.0.1:5038"))]
    topics: dict[str, Any] = {m.topic: json.loads(m.payload(snapshot.at)) for m in messages}
    topics[TOPICS.status] = "online"
    return topics


def matches(pattern: str, topic: str) -> bool:
    """Whether an MQTT topic filter (``+`` and ``#`` wildcards) matches a topic."""
    want, have = pattern.split("/"), topic.split("/")
    for index, level in enumerate(want):
        if level == "#":
            return True
        if index >= len(have) or level not in ("+", have[index]):
            return False
    return len(want) == len(have)


def field(payload: Any, path: str) -> bool:
    """Whether ``a.b.c`` is a field of the payload."""
    for name in path.split("."):
        if not isinstance(payload, dict) or name not in payload:
            return False
        payload = payload[name]
    return True


def page(name: str) -> str:
    """The text of docs/<name>."""
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


def test_home_assistant_examples_read_real_topics_and_fields() -> None:
    topics = published()
    checked = 0
    for block in blocks():
        if block.page != "docs/homeassistant.md" or block.info != "yaml":
            continue
        for item in re.split(r"^\s*- name:", block.text, flags=re.MULTILINE)[1:]:
            state = re.search(r'state_topic: "([^"]+)"', item)
            if state is None:
                continue
            assert state.group(1) in topics, state.group(1)
            for other in re.findall(r'(?:availability|json_attributes)_topic: "([^"]+)"', item):
                assert other in topics, other
            for path in re.findall(r"value_json\.([\w.]+)", item):
                assert field(topics[state.group(1)], path), f"{state.group(1)}: {path}"
                checked += 1
    assert checked >= 5


def test_home_assistant_entity_ids_are_the_discovered_ones() -> None:
    queues = tuple(sorted({k.queue for k in trace_snapshot().kpis if k.queue is not None}))
    alerts = [(q, kind.value) for q in queues for kind in AlertKind]
    discovered = {json.loads(m.body)["default_entity_id"]
                  for m in discovery_messages(TOPICS, (*queues, "all"), "homeassistant",
                                              "test", alerts=alerts, ami=True)}
    shown = set(re.findall(r"(?:binary_)?sensor\.queuepulse_[a-z0-9_]+",
                           page("homeassistant.md")))
    assert shown and shown <= discovered, sorted(shown - discovered)


def node_red_flow() -> list[dict[str, Any]]:
    """The nodes of the flow docs/nodered.md gives to import."""
    flows = [json.loads(b.text) for b in blocks()
             if b.page == "docs/nodered.md" and b.info == "json"]
    assert len(flows) == 1
    flow: list[dict[str, Any]] = flows[0]
    return flow


def test_the_node_red_flow_subscribes_to_published_topics() -> None:
    topics = published()
    nodes = {n["id"]: n for n in node_red_flow()}
    subscriptions = [n for n in nodes.values() if n["type"] == "mqtt in"]
    assert len(subscriptions) >= 4
    for node in subscriptions:
        assert nodes[node["broker"]]["type"] == "mqtt-broker"
        assert any(matches(node["topic"], t) for t in topics), node["topic"]
        for target in node["wires"][0]:
            if nodes[target]["type"] == "switch":
                path = nodes[target]["property"].removeprefix("payload.")
                assert all(field(topics[t], path) for t in topics if matches(node["topic"], t))


NODE_HARNESS = """
const [code, payloads] = JSON.parse(require("fs").readFileSync(0, "utf8"));
const store = () => { const m = {}; return { get: (k) => m[k], set: (k, v) => { m[k] = v; } }; };
const run = new Function("msg", "node", "context", "flow", code);
const flow = store();
const out = payloads.map(([topic, payload]) =>
    run({ topic, payload }, { status: () => {} }, store(), flow));
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node (Node.js) is not installed")
def test_the_node_red_functions_run_on_real_payloads() -> None:
    topics = published()
    nodes = {n["id"]: n for n in node_red_flow()}
    ran = 0
    for source in (n for n in nodes.values() if n["type"] == "mqtt in"):
        inputs = [[t, p] for t, p in topics.items() if matches(source["topic"], t)]
        for target in source["wires"][0]:
            node = nodes[target]
            if node["type"] == "switch":
                node = nodes[node["wires"][0][0]]
            if node["type"] != "function":
                continue
            done = subprocess.run(["node", "-e", NODE_HARNESS],
                                  input=json.dumps([node["func"], inputs]), text=True,
                                  capture_output=True, timeout=30, check=False)
            assert done.returncode == 0, f"{node['name']}: {done.stderr}"
            results = json.loads(done.stdout)
            texts = json.dumps([r["payload"] for r in results if r is not None])
            assert results and "undefined" not in texts and "NaN" not in texts, (
                f"{node['name']}: {texts[:300]}")
            ran += 1
    assert ran == 4


# -- links and the README's board ------------------------------------------------------------------


def anchors(text: str) -> set[str]:
    """GitHub's anchors for a page's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_every_link_between_pages_leads_somewhere() -> None:
    for source in PAGES:
        text = source.read_text(encoding="utf-8")
        for target, anchor in re.findall(r"\]\(([\w./-]+\.md)(?:#([\w-]+))?\)", text):
            path = (source.parent / target).resolve()
            assert path.is_file(), f"{source.name}: {target}"
            if anchor:
                assert anchor in anchors(path.read_text(encoding="utf-8")), (
                    f"{source.name}: {target}#{anchor}")


def test_the_readme_shows_the_wallboard_as_it_is_drawn() -> None:
    console = Console(record=True, width=90, file=io.StringIO())
    console.print(render(trace_snapshot(), timezone=ZoneInfo("UTC")))
    drawn = [line.rstrip() for line in console.export_text().splitlines()]
    sample = next(b.text for b in blocks() if b.page == "README.md" and b.info == "text")
    shown = [line.rstrip() for line in sample.splitlines()]
    for heading in ("queue ", "agent "):
        assert next(x for x in shown if x.startswith(heading)).split() == next(
            x for x in drawn if x.startswith(heading)).split()
