"""Redraw the state diagrams of ``docs/architecture.md`` from the state tables.

Run ``python -m tests.architecture_doc`` after changing a table in ``collector/states.py``
or the agent's priority table in ``collector/agents.py``.
"""

from __future__ import annotations

from pathlib import Path

from collector.diagram import diagrams

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def markers(name: str) -> tuple[str, str]:
    """The comments a drawing sits between."""
    return f"<!-- states:{name} -->", f"<!-- /states:{name} -->"


def redrawn(text: str) -> str:
    """``text`` with every drawing between its markers redrawn from the tables."""
    for name, diagram in diagrams().items():
        start, end = markers(name)
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = f"{head}{start}\n```mermaid\n{diagram}```\n{end}{tail}"
    return text


def main() -> None:
    """Rewrite the page in place."""
    DOC.write_text(redrawn(DOC.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
