"""The terminal wallboard: a board snapshot drawn as rich tables, and as one line of text.

Pure: :func:`render` and :func:`kpi_line` take a :class:`~kpi.board.BoardSnapshot` (made
by the live board inside ``queuepulse demo``, read back from MQTT's retained topics or
computed from a database file) and return what to show; ``queuepulse top`` and
``queuepulse demo`` refresh it every second. Every figure is the board's: nothing here
computes a KPI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from collector.facts import AgentState
from collector.live import LiveAgent
from kpi.board import BoardSnapshot, KpiSnapshot
from kpi.live_state import QueueLive

NO_DATA = "-"
SL_GOOD = 0.8
"""Service level at or above this is shown green; a common call-center target (80/20)."""
SL_POOR = 0.6
"""Service level below this is shown red."""

STATE_STYLES = {
    AgentState.AVAILABLE: "green",
    AgentState.RINGING: "bold yellow",
    AgentState.TALKING: "cyan",
    AgentState.HOLD: "magenta",
    AgentState.ACW: "blue",
    AgentState.PAUSED: "red",
    AgentState.LOGGED_OUT: "dim",
}
_STATE_ORDER = {state: i for i, state in enumerate(STATE_STYLES)}
_STATE_LABELS = {AgentState.ACW: "after-call work", AgentState.LOGGED_OUT: "logged out",
                 AgentState.HOLD: "on hold"}


def duration(seconds: float | None) -> str:
    """A duration as ``m:ss`` (``h:mm:ss`` from an hour on); ``-`` for no data."""
    if seconds is None:
        return NO_DATA
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(ratio: float | None) -> str:
    """A ratio as a whole percentage; ``-`` for no data."""
    return NO_DATA if ratio is None else f"{ratio * 100:.0f}%"


def _sl_style(ratio: float | None) -> str:
    if ratio is None:
        return ""
    return "green" if ratio >= SL_GOOD else "yellow" if ratio >= SL_POOR else "red"


def _kpis(snapshot: BoardSnapshot, window: str) -> dict[str | None, KpiSnapshot]:
    return {k.queue: k for k in snapshot.kpis if k.window.name == window}


def _window_label(kpi: KpiSnapshot | None, window: str, tz: ZoneInfo) -> str:
    if window != "today":
        return f"last {window}"
    if kpi is None:
        return "today"
    return f"today since {dt.datetime.fromtimestamp(kpi.window.start, tz):%H:%M}"


_LIVE_COLUMNS = ("waiting", "longest", "agents")


def _table() -> Table:
    return Table(expand=False, header_style="bold", pad_edge=False, box=None,
                 padding=(0, 1, 0, 0))


def _queue_table(snapshot: BoardSnapshot, window: str, live_state: bool) -> Table:
    kpis = _kpis(snapshot, window)
    lives = {q.queue: q for q in snapshot.queues}
    names = sorted({q for q in kpis if q is not None} | {q for q in lives if q is not None})
    table = _table()
    headings = [h for h in ("queue", "waiting", "longest", "offered", "answered", "abandoned",
                            "SL", "ASA", "AHT", "abn%", "agents")
                if live_state or h not in _LIVE_COLUMNS]
    for heading in headings:
        table.add_column(heading, justify="left" if heading == "queue" else "right",
                         no_wrap=True)
    for name in [*names, None]:
        cells = _queue_cells(name, kpis.get(name), lives.get(name))
        table.add_row(*(cells[h] for h in headings), style="bold" if name is None else None,
                      end_section=name is not None and name == names[-1])
    return table


def _queue_cells(name: str | None, kpi: KpiSnapshot | None,
                 live: QueueLive | None) -> dict[str, str | Text]:
    calls = None if kpi is None else kpi.calls
    sl = None if calls is None else calls.service_level
    waiting = None if live is None else live.waiting
    return {
        "queue": "all queues" if name is None else name,
        "waiting": Text(NO_DATA if waiting is None else str(waiting),
                        style="bold yellow" if waiting else ""),
        "longest": duration(live.longest_wait_s) if live is not None and waiting else NO_DATA,
        "offered": NO_DATA if calls is None else str(calls.offered),
        "answered": NO_DATA if calls is None else str(calls.answered),
        "abandoned": NO_DATA if calls is None else str(calls.abandoned),
        "SL": Text(percent(sl), style=_sl_style(sl)),
        "ASA": duration(None if calls is None else calls.asa_s),
        "AHT": duration(None if calls is None else calls.aht_s),
        "abn%": percent(None if calls is None else calls.abandon_rate),
        "agents": NO_DATA if live is None else f"{live.agents.available}/{live.agents.logged_in}",
    }


def _agent_table(agents: Sequence[LiveAgent], at: float) -> Table:
    table = _table()
    for heading in ("agent", "state", "for", "queue", "reason"):
        table.add_column(heading, justify="right" if heading == "for" else "left")
    ordered = sorted(agents, key=lambda a: (_STATE_ORDER[a.state], a.name, a.interface))
    for agent in ordered:
        queue = agent.queue or ", ".join(m.queue for m in agent.memberships)
        table.add_row(
            agent.name,
            Text(_STATE_LABELS.get(agent.state, agent.state.value),
                 style=STATE_STYLES[agent.state]),
            duration(at - agent.since),
            queue,
            agent.reason or "",
            style="dim" if agent.state is AgentState.LOGGED_OUT else None,
        )
    return table


def render(snapshot: BoardSnapshot, *, timezone: ZoneInfo, window: str = "today",
           source: str = "", live_state: bool = True) -> RenderableType:
    """The wallboard: per-queue KPIs and who waits, then every agent's state and timer.

    ``source`` says where the figures come from (shown in the title); ``live_state``
    ``False`` (a database file holds no live state) leaves waiting callers and agent
    states out.
    """
    at = snapshot.at
    total = _kpis(snapshot, window).get(None)
    title = Text.assemble(
        ("queuepulse", "bold"),
        f"  {dt.datetime.fromtimestamp(at, timezone):%Y-%m-%d %H:%M:%S}" if at > 0 else "",
        f"  {_window_label(total, window, timezone)}",
    )
    parts: list[RenderableType] = [title]
    if source:
        parts.append(Text(f"from {source}", style="dim"))
    parts += [Text(), _queue_table(snapshot, window, live_state)]
    if live_state:
        parts += [Text()]
        if snapshot.agents:
            parts.append(_agent_table(snapshot.agents, at))
        else:
            parts.append(Text("no agents seen yet", style="dim"))
    else:
        parts += [Text(), Text("waiting callers and agent states are live only: point "
                               "'queuepulse top' at the MQTT broker (--mqtt or --config)",
                               style="dim")]
    return Group(*parts)


def kpi_line(snapshot: BoardSnapshot, *, timezone: ZoneInfo, window: str = "today") -> str:
    """All queues in one line of plain text, for logs and terminals that are not screens."""
    kpi = _kpis(snapshot, window).get(None)
    live = next((q for q in snapshot.queues if q.queue is None), None)
    stamp = f"{dt.datetime.fromtimestamp(snapshot.at, timezone):%H:%M:%S}"
    parts = [stamp, window]
    if kpi is not None:
        calls = kpi.calls
        parts += [f"offered {calls.offered}", f"answered {calls.answered}",
                  f"abandoned {calls.abandoned}", f"SL {percent(calls.service_level)}",
                  f"ASA {duration(calls.asa_s)}", f"AHT {duration(calls.aht_s)}"]
    if live is not None:
        parts += [f"waiting {live.waiting}",
                  f"agents {live.agents.available}/{live.agents.logged_in} available"]
    return " | ".join(parts)
