"""What the simulated PBX answers to QueueStatus and QueueSummary.

A snapshot keeps the list items of both answers as AMI frames without an ActionID, in the
order Asterisk lists them, so that a recorded answer is served back byte for byte; the
server adds the response, the ActionID and the closing event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from queuepulse.pbxsim.ami_text import event_name, headers

_FRESH_COUNTERS: dict[str, dict[str, str]] = {
    "QueueParams": {
        "Calls": "0",
        "Holdtime": "0",
        "TalkTime": "0",
        "Completed": "0",
        "Abandoned": "0",
        "ServicelevelPerf": "0.0",
        "ServicelevelPerf2": "0.0",
    },
    "QueueMember": {
        "CallsTaken": "0",
        "LastCall": "0",
        "LastPause": "0",
        "InCall": "0",
        "Status": "1",
        "Paused": "0",
        "PausedReason": "",
    },
    "QueueSummary": {"Callers": "0", "HoldTime": "0", "TalkTime": "0", "LongestHoldTime": "0"},
}
"""Per list item, the fields a freshly started Asterisk reports afresh."""


def _with_values(frame: str, values: Mapping[str, str]) -> str:
    """The frame with the given headers' values replaced (headers it lacks are not added)."""
    lines = []
    for line in frame.split("\r\n"):
        key, sep, _ = line.partition(": ")
        lines.append(f"{key}: {values[key]}" if sep and key in values else line)
    return "\r\n".join(lines)


def without_action_id(frame: str) -> str:
    """The frame without its ActionID header (a recorded answer, made reusable)."""
    return "\r\n".join(line for line in frame.split("\r\n") if not line.startswith("ActionID:"))


def _response(action_id: str, message: str) -> str:
    action = f"ActionID: {action_id}\r\n" if action_id else ""
    return f"Response: Success\r\n{action}EventList: start\r\nMessage: {message}"


def _list_answer(
    items: Iterable[str], message: str, complete: str, action_id: str, queue: str
) -> list[str]:
    suffix = f"\r\nActionID: {action_id}" if action_id else ""
    chosen = [item for item in items if not queue or headers(item).get("Queue") == queue]
    return [
        _response(action_id, message),
        *(item + suffix for item in chosen),
        f"Event: {complete}{suffix}\r\nEventList: Complete\r\nListItems: {len(chosen)}",
    ]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The queues as QueueStatus and QueueSummary report them.

    ``queue_status`` holds QueueParams, QueueMember and QueueEntry frames (each queue's
    parameters, then its members, then its waiting callers); ``queue_summary`` one
    QueueSummary frame per queue. Neither carries an ActionID.
    """

    queue_status: tuple[str, ...] = ()
    queue_summary: tuple[str, ...] = ()

    def status_answer(self, action_id: str, queue: str = "") -> list[str]:
        """The frames answering QueueStatus (all queues, or the one named by ``queue``)."""
        return _list_answer(
            self.queue_status, "Queue status will follow", "QueueStatusComplete", action_id, queue
        )

    def summary_answer(self, action_id: str, queue: str = "") -> list[str]:
        """The frames answering QueueSummary (all queues, or the one named by ``queue``)."""
        return _list_answer(
            self.queue_summary,
            "Queue summary will follow",
            "QueueSummaryComplete",
            action_id,
            queue,
        )

    def after_restart(self, now: float) -> Snapshot:
        """The same queues and members as Asterisk reports them right after a restart.

        Nobody is waiting (no QueueEntry), every counter is back to zero, and every member
        is idle, unpaused and logged in since ``now``.
        """
        status = []
        for frame in self.queue_status:
            name = event_name(frame) or ""
            if name == "QueueEntry":
                continue
            fresh = dict(_FRESH_COUNTERS.get(name, {}))
            if name == "QueueMember":
                fresh["LoginTime"] = str(int(now))
            status.append(_with_values(frame, fresh))
        summary = []
        for frame in self.queue_summary:
            fresh = dict(_FRESH_COUNTERS["QueueSummary"])
            fresh["Available"] = headers(frame).get("LoggedIn", "0")
            summary.append(_with_values(frame, fresh))
        return Snapshot(tuple(status), tuple(summary))
