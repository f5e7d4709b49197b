"""The terminal wallboard: a board snapshot drawn as rich tables, and as one line of text.

Pure: :func:`render` and :func:`kpi_line` take a :class:`~kpi.board.BoardSnapshot` (made
by the live board inside ``queuepulse demo``, read back from MQTT's retained topics or
computed from a database file) and return what to show; ``queuepulse top`` and
``queuepulse demo`` refresh it every second. Every figure is the board's: nothing here
computes a KPI, but the all-queues row adds up the counts of the queue rows above it
(see :func:`_total_cells`). A service level is coloured against its queue's target.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from collector.ami.link import AmiLink
from collector.facts import AgentState
from collector.live import LiveAgent
from kpi.board import BoardSnapshot, KpiSnapshot
from kpi.definitions import other_outcomes
from kpi.live_state import QueueLive
from kpi.present.formats import NO_DATA, alert_text, duration, percent, sl_style
from kpi.settings import DEFAULT_SERVICE_LEVEL_TARGET

STATE_STYLES = {
    AgentState.AVAILABLE: "green",
    AgentState.RINGING: "bold yellow",
    AgentState.TALKING: "cyan",
    AgentState.HOLD: "magenta",
    AgentState.ACW: "blue",
    AgentState.PAUSED: "red",
    AgentState.LOGGED_OUT: "dim",
    AgentState.UNKNOWN: "dim",
}
_STATE_ORDER = {state: i for i, state in enumerate(STATE_STYLES)}
_STATE_LABELS = {AgentState.ACW: "after-call work", AgentState.LOGGED_OUT: "logged out",
                 AgentState.HOLD: "on hold"}


def _kpis(snapshot: BoardSnapshot, window: str) -> dict[str | None, KpiSnapshot]:
    return {k.queue: k for k in snapshot.kpis if k.window.name == window}


def _window_label(kpi: KpiSnapshot | None, window: str, tz: ZoneInfo) -> str:
    if window != "today":
        return f"last {window}"
    if kpi is None:
        return "today"
    return f"today since {dt.datetime.fromtimestamp(kpi.window.start, tz):%H:%M}"


_LIVE_COLUMNS = ("waiting", "longest", "agents")
_COUNTS = ("offered", "answered", "abnd", "other")


def _table() -> Table:
    return Table(expand=False, header_style="bold", pad_edge=False, box=None,
                 padding=(0, 1, 0, 0))


def _queue_table(snapshot: BoardSnapshot, window: str, live_state: bool) -> Table:
    kpis = _kpis(snapshot, window)
    lives = {q.queue: q for q in snapshot.queues}
    names = sorted({q for q in kpis if q is not None} | {q for q in lives if q is not None})
    table = _table()
    headings = [h for h in ("queue", "waiting", "longest", *_COUNTS, "SL", "ASA", "AHT",
                            "abn%", "agents")
                if live_state or h not in _LIVE_COLUMNS]
    for heading in headings:
        table.add_column(heading, justify="left" if heading == "queue" else "right",
                         no_wrap=True)
    rows: dict[str | None, dict[str, str | Text]] = {
        name: _queue_cells(name, kpis.get(name), lives.get(name)) for name in names}
    rows[None] = _total_cells(names, kpis, lives)
    for name, cells in rows.items():
        table.add_row(*(cells[h] for h in headings), style="bold" if name is None else None,
                      end_section=name is not None and name == names[-1])
    return table


def _queue_cells(name: str | None, kpi: KpiSnapshot | None,
                 live: QueueLive | None) -> dict[str, str | Text]:
    calls = None if kpi is None else kpi.calls
    sl = None if calls is None else calls.service_level
    target = DEFAULT_SERVICE_LEVEL_TARGET if kpi is None else kpi.service_level_target
    waiting = None if live is None else live.waiting
    longest = live.longest_wait_s if live is not None and waiting else None
    return {
        "queue": "all queues" if name is None else name,
        **_live_cells(waiting, longest),
        "offered": NO_DATA if calls is None else str(calls.offered),
        "answered": NO_DATA if calls is None else str(calls.answered),
        "abnd": NO_DATA if calls is None else str(calls.abandoned),
        "other": NO_DATA if calls is None else str(other_outcomes(calls)),
        "SL": Text(percent(sl), style=sl_style(sl, target)),
        "ASA": duration(None if calls is None else calls.asa_s),
        "AHT": duration(None if calls is None else calls.aht_s),
        "abn%": percent(None if calls is None else calls.abandon_rate),
        "agents": NO_DATA if live is None else f"{live.agents.available}/{live.agents.logged_in}",
    }


def _live_cells(waiting: int | None, longest: float | None) -> dict[str, str | Text]:
    return {"waiting": Text(NO_DATA if waiting is None else str(waiting),
                            style="bold yellow" if waiting else ""),
            "longest": duration(longest)}


def _total_cells(names: Sequence[str], kpis: dict[str | None, KpiSnapshot],
                 lives: dict[str | None, QueueLive]) -> dict[str, str | Text]:
    """The all-queues row: its counts are the sums of the queue rows above it.

    Read from MQTT, each queue's topics and the all-queues topics arrive at their own
    moments, so the all-queues figures may be a moment ahead of or behind some queue's;
    counts that add up show what the rows above show. Its rates and times are the
    all-queues figures, and so are its agents (an agent of two queues counts once).
    """
    cells = _queue_cells(None, kpis.get(None), lives.get(None))
    counted = [kpis[name].calls for name in names if name in kpis]
    if counted:
        cells["offered"] = str(sum(c.offered for c in counted))
        cells["answered"] = str(sum(c.answered for c in counted))
        cells["abnd"] = str(sum(c.abandoned for c in counted))
        cells["other"] = str(sum(other_outcomes(c) for c in counted))
    waiting = [lives[name] for name in names if name in lives]
    if waiting:
        longest = [q.longest_wait_s for q in waiting if q.waiting and q.longest_wait_s is not None]
        cells.update(_live_cells(sum(q.waiting for q in waiting), max(longest, default=None)))
    return cells


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


def stale_note(link: AmiLink | None, timezone: ZoneInfo) -> str | None:
    """What to say while queuepulse is not connected to the PBX: the figures are frozen."""
    if link is None or link.connected:
        return None
    since = dt.datetime.fromtimestamp(link.since, timezone)
    return f"PBX NOT CONNECTED since {since:%H:%M:%S}: the figures are frozen"


def render(snapshot: BoardSnapshot, *, timezone: ZoneInfo, window: str = "today",
           source: str = "", live_state: bool = True,
           link: AmiLink | None = None) -> RenderableType:
    """The wallboard: per-queue KPIs and who waits, the alerts raised, then every agent's
    state and timer.

    ``source`` says where the figures come from (shown in the title); ``live_state``
    ``False`` (a database file holds no live state) leaves waiting callers and agent
    states out; ``link``, the AMI connection's state, adds a warning while it is down.
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
    stale = stale_note(link, timezone)
    if stale is not None and link is not None:
        parts.append(Text(stale, style="bold red"))
        if link.problem:
            parts.append(Text(link.problem, style="red"))
    parts += [Text(), _queue_table(snapshot, window, live_state)]
    raised = [a for a in snapshot.alerts if a.active]
    if raised:
        parts += [Text(), *(Text(f"ALERT {alert_text(a)}", style="bold red") for a in raised)]
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


def kpi_line(snapshot: BoardSnapshot, *, timezone: ZoneInfo, window: str = "today",
             link: AmiLink | None = None) -> str:
    """All queues in one line of plain text, for logs and terminals that are not screens."""
    kpi = _kpis(snapshot, window).get(None)
    live = next((q for q in snapshot.queues if q.queue is None), None)
    stamp = f"{dt.datetime.fromtimestamp(snapshot.at, timezone):%H:%M:%S}"
    stale = stale_note(link, timezone)
    parts = [stamp, window] if stale is None else [stamp, stale, window]
    if kpi is not None:
        calls = kpi.calls
        parts += [f"offered {calls.offered}", f"answered {calls.answered}",
                  f"abandoned {calls.abandoned}", f"SL {percent(calls.service_level)}",
                  f"ASA {duration(calls.asa_s)}", f"AHT {duration(calls.aht_s)}"]
    if live is not None:
        parts += [f"waiting {live.waiting}",
                  f"agents {live.agents.available}/{live.agents.logged_in} available"]
    return " | ".join(parts)
