"""The state diagrams in docs/architecture.md are the state tables, drawn."""

from __future__ import annotations

from collector.diagram import diagrams
from tests.architecture_doc import DOC, markers, redrawn


def test_every_state_machine_has_its_place_in_the_architecture_page() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in diagrams():
        start, end = markers(name)
        assert text.count(start) == 1 and text.count(end) == 1, name
        assert text.index(start) < text.index(end), name


def test_the_drawn_state_machines_are_the_tables() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text == redrawn(text), (
        "docs/architecture.md draws an old state table: run `python -m tests.architecture_doc`"
    )
