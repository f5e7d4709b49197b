"""The tracker's state machines drawn as mermaid ``stateDiagram-v2``, from the tables.

``docs/architecture.md`` holds these drawings between ``<!-- states:NAME -->`` markers;
a test redraws them and fails when the page and the tables disagree.
"""

from __future__ import annotations

from collections.abc import Mapping

from collector.agents import PRIORITY
from collector.states import ACW, HOLD, STINT, Input, Machine, S


def label(cue: Input) -> str:
    """How an input reads on a diagram: ``CallerLeave``, ``MemberUpdate (ACW pause)``."""
    if isinstance(cue, tuple):
        event, condition = cue
        return f"{event.__name__} ({condition})"
    return cue.__name__


def machine_diagram(machine: Machine[S]) -> str:
    """One machine's table: its starts, every move (self-moves too), its final states."""
    arrows: dict[tuple[str, str], list[str]] = {}
    for cue, state in machine.starts.items():
        arrows.setdefault(("[*]", state.name), []).append(label(cue))
    for source, moves in machine.moves.items():
        for cue, target in moves.items():
            arrows.setdefault((source.name, target.name), []).append(label(cue))
    lines = ["stateDiagram-v2"]
    lines += [f"    {a} --> {b} : {', '.join(cues)}" for (a, b), cues in arrows.items()]
    lines += [f"    {state.name} --> [*]" for state, moves in machine.moves.items() if not moves]
    return "\n".join(lines) + "\n"


def agent_diagram() -> str:
    """The agent's priority table: each state and when it wins, the first that holds."""
    lines = ["stateDiagram-v2", "    state derive <<choice>>",
             "    [*] --> derive : an event changed what is known about the agent"]
    lines += [f"    derive --> {rule.state.name} : {rule.when}" for rule in PRIORITY]
    return "\n".join(lines) + "\n"


def diagrams() -> Mapping[str, str]:
    """Every drawing, by the name of its marker in ``docs/architecture.md``."""
    return {
        "stint": machine_diagram(STINT),
        "hold": machine_diagram(HOLD),
        "acw": machine_diagram(ACW),
        "agent": agent_diagram(),
    }
