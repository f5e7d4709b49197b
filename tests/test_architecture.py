"""Imports go one way: from the wiring down to the pure core, never back up.

Every module of the installed packages has a layer in :data:`LAYERS` (docs/architecture.md
explains them); a module may import its own layer and those below. The simulated PBX is
the tests' independent oracle and imports nothing of ours; the installed code never
imports the benchmark or the tests. Imports are read with ``ast``, those inside
functions included. docs/architecture.md's module map names every module, with the same
layer.
"""

from __future__ import annotations

import ast
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.util import resolve_name
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = ("collector", "kpi", "queuepulse")
DEV_ONLY = ("bench", "tests")


class Layer(enum.IntEnum):
    """The layers, lowest first; :attr:`SIMULATOR` stands apart from them."""

    CORE = 0
    """Pure: events in, facts out; no I/O, no clock."""
    SHELLS = 1
    """I/O around the core: the AMI connection, the SQLite store, trace files."""
    KPIS = 2
    """Pure functions over facts and live state."""
    OUTPUTS = 3
    """Publishing (MQTT) and presenting (reports, charts, the wallboard) the KPIs."""
    WIRING = 4
    """The command line, the daemon and the configuration file: imports everything."""
    SIMULATOR = 5
    """The simulated PBX: imports nothing of ours; only the wiring imports it."""


LAYERS: dict[str, Layer] = {
    # a key names one module; ``.*`` names a package and everything in it
    "collector": Layer.CORE,
    "collector.agents": Layer.CORE,
    "collector.backoff": Layer.CORE,
    "collector.clock": Layer.CORE,
    "collector.diagram": Layer.CORE,
    "collector.crosscheck": Layer.CORE,
    "collector.errors": Layer.CORE,
    "collector.events": Layer.CORE,
    "collector.facts": Layer.CORE,
    "collector.live": Layer.CORE,
    "collector.overlap": Layer.CORE,
    "collector.parser": Layer.CORE,
    "collector.queue_log": Layer.CORE,
    "collector.queue_log_backfill": Layer.CORE,
    "collector.queue_log_events": Layer.CORE,
    "collector.queue_log_import": Layer.CORE,
    "collector.queue_log_shutdown": Layer.CORE,
    "collector.secret": Layer.CORE,
    "collector.states": Layer.CORE,
    "collector.throttle": Layer.CORE,
    "collector.tracker.*": Layer.CORE,
    "collector.ami.*": Layer.SHELLS,
    "collector.queue_log_check": Layer.SHELLS,
    "collector.queue_log_files": Layer.SHELLS,
    "collector.queue_log_tail": Layer.SHELLS,
    "collector.recording": Layer.SHELLS,
    "collector.replay": Layer.SHELLS,
    "collector.store.*": Layer.SHELLS,
    "collector.trace": Layer.SHELLS,
    "collector.user_files": Layer.SHELLS,
    "kpi": Layer.KPIS,
    "kpi.agent_times": Layer.KPIS,
    "kpi.alerts": Layer.KPIS,
    "kpi.board": Layer.KPIS,
    "kpi.callbacks": Layer.KPIS,
    "kpi.coaching": Layer.KPIS,
    "kpi.definitions": Layer.KPIS,
    "kpi.live_state": Layer.KPIS,
    "kpi.occupancy": Layer.KPIS,
    "kpi.repeat_callers": Layer.KPIS,
    "kpi.queue_calls": Layer.KPIS,
    "kpi.settings": Layer.KPIS,
    "kpi.tables": Layer.KPIS,
    "kpi.windows": Layer.KPIS,
    "kpi.mqtt.*": Layer.OUTPUTS,
    "kpi.present.*": Layer.OUTPUTS,
    "kpi.web.*": Layer.OUTPUTS,
    "queuepulse.*": Layer.WIRING,
    "queuepulse.pbxsim.*": Layer.SIMULATOR,
}


def _covers(key: str, module: str) -> bool:
    if key.endswith(".*"):
        package = key[:-2]
        return module == package or module.startswith(package + ".")
    return module == key


def layer(module: str) -> Layer | None:
    """The layer of one of our modules: its most specific entry in :data:`LAYERS`."""
    keys = [key for key in LAYERS if _covers(key, module)]
    return LAYERS[max(keys, key=len)] if keys else None


def may_import(importer: Layer, imported: Layer) -> bool:
    """Whether a module of one layer may import a module of another."""
    if Layer.SIMULATOR in (importer, imported):
        return imported is Layer.SIMULATOR and importer in (Layer.SIMULATOR, Layer.WIRING)
    return imported <= importer


@dataclass(frozen=True, slots=True)
class Import:
    """One import of one of our modules: who imports what, and where."""

    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.imported}"


def module_name(path: Path) -> str:
    """The dotted name of a source file under the checkout."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules(*roots: str) -> dict[str, Path]:
    """Every module under the given top-level folders, by dotted name."""
    return {module_name(path): path for root in roots for path in sorted(
        (ROOT / root).rglob("*.py")) if "__pycache__" not in path.parts}


def imports_of(importer: str, source: str, known: frozenset[str]) -> Iterator[Import]:
    """The modules of ours that ``source`` imports, anywhere in it; ``from package import
    name`` imports the module ``package.name`` when ``known`` has one."""
    is_package = any(name.startswith(importer + ".") for name in known)
    package = importer if is_package else importer.rpartition(".")[0]
    ours = (*INSTALLED, *DEV_ONLY)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = resolve_name("." * node.level + (node.module or ""), package)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                     for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in ours:
                yield Import(importer, name, node.lineno)


@cache
def graph() -> tuple[Import, ...]:
    """Every import of our modules by the installed packages and the benchmark."""
    found = modules(*INSTALLED, "bench")
    known = frozenset(modules(*INSTALLED, *DEV_ONLY))
    return tuple(found_import for name, path in found.items()
                 for found_import in imports_of(name, path.read_text(encoding="utf-8"), known))


def upward(imports: tuple[Import, ...]) -> list[str]:
    """The imports that break the layering, one line each."""
    broken = []
    for item in imports:
        importer, imported = layer(item.importer), layer(item.imported)
        if importer is None or imported is None:
            continue  # the benchmark and the tests, or a module without a layer (below)
        if not may_import(importer, imported):
            broken.append(f"{item} ({importer.name} may not import {imported.name})")
    return broken


def test_every_installed_module_has_a_layer() -> None:
    missing = [name for name in modules(*INSTALLED) if layer(name) is None]
    assert missing == [], "add these modules to LAYERS in tests/test_architecture.py"


def test_every_layer_entry_names_a_module_that_exists() -> None:
    names = modules(*INSTALLED)
    assert [key for key in LAYERS if not any(_covers(key, name) for name in names)] == []


def test_imports_go_downwards_only() -> None:
    assert upward(graph()) == []


def test_the_simulator_imports_nothing_of_ours() -> None:
    simulator = [i for i in graph() if layer(i.importer) is Layer.SIMULATOR]
    assert simulator, "the simulator's own imports were not found"
    assert [str(i) for i in simulator if layer(i.imported) is not Layer.SIMULATOR] == []


def test_installed_code_never_imports_the_benchmark_or_the_tests() -> None:
    assert [str(i) for i in graph() if i.importer.split(".")[0] in INSTALLED
            and i.imported.split(".")[0] in DEV_ONLY] == []


def test_no_command_imports_another_and_the_benchmark_imports_none() -> None:
    commands = [i for i in graph() if i.imported.startswith("queuepulse.commands.")
                and i.importer != "queuepulse.cli"]
    assert [str(i) for i in commands] == []


def test_the_check_finds_an_upward_import_inside_a_function() -> None:
    source = "def f() -> None:\n    from queuepulse.config import load_config\n"
    found = tuple(imports_of("kpi.definitions", source, frozenset(modules(*INSTALLED))))
    assert [str(i) for i in found] == ["kpi.definitions:2 imports queuepulse.config"]
    assert upward(found) == [
        "kpi.definitions:2 imports queuepulse.config (KPIS may not import WIRING)"]


def test_the_check_sees_through_from_package_import_module() -> None:
    source = "from collector import facts\nfrom collector.store import reads\n"
    found = tuple(imports_of("collector.tracker", source, frozenset(modules(*INSTALLED))))
    assert [i.imported for i in found] == ["collector.facts", "collector.store.reads"]
    assert upward(found) == [
        "collector.tracker:2 imports collector.store.reads (CORE may not import SHELLS)"]


def documented_layers() -> dict[Path, str]:
    """The files docs/architecture.md's module map names, with the layer it gives each."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named: dict[Path, str] = {}
    for row in re.findall(r"^\| (`.+?) \| (\w+) \|", text, re.MULTILINE):
        first, *more = re.findall(r"`([^`]+)`", row[0])
        for shown in (first, *(str(Path(first).parent / name) for name in more)):
            for path in sorted(ROOT.glob(shown)) or [ROOT / shown]:
                if path.name != "__init__.py":
                    named[path] = row[1]
    return named


def test_the_module_map_names_every_module_with_its_layer() -> None:
    named = documented_layers()
    files = {path: name for name, path in modules(*INSTALLED).items()
             if path.name != "__init__.py"}
    assert sorted(str(p.relative_to(ROOT)) for p in files.keys() - named.keys()) == []
    assert sorted(str(p.relative_to(ROOT)) for p in named.keys() - files.keys()) == []
    wrong = [f"{files[path]}: {shown} in the doc, {label(layer(files[path]))} here"
             for path, shown in named.items()
             if path in files and shown != label(layer(files[path]))]
    assert wrong == []


def label(found: Layer | None) -> str:
    """A layer as the module map's layer column writes it."""
    if found is None:
        return "none"
    return "simulator" if found is Layer.SIMULATOR else str(int(found))
