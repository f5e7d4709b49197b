"""What the simulated Asterisk reports on: channels, bridges and queue members.

Each object keeps the values Asterisk puts in its AMI snapshot headers and renders them
as the header block Asterisk writes (``Channel:`` ... ``Linkedid:``, optionally with a
prefix such as ``Dest``). Blocks are cached until the object changes: most events repeat
the same channel's block, and rendering them is what makes frame generation cost.
"""

from __future__ import annotations

import random
import uuid

UNKNOWN = "<unknown>"

RING, RINGING, UP = 4, 5, 6
"""Channel states Asterisk numbers (``ChannelState``); 0 is Down."""

_STATE_DESC = {0: "Down", RING: "Ring", RINGING: "Ringing", UP: "Up"}

NOT_INUSE, INUSE = 1, 2
"""Device states as QueueMember* events number them (``Status``)."""


class Channel:
    """One Asterisk channel and its snapshot values."""

    __slots__ = (
        "_cache",
        "cid_name",
        "cid_num",
        "cl_name",
        "cl_num",
        "context",
        "exten",
        "linkedid",
        "name",
        "priority",
        "state",
        "uniqueid",
    )

    def __init__(
        self,
        name: str,
        uniqueid: str,
        linkedid: str,
        *,
        context: str,
        exten: str,
        state: int = 0,
        cid: tuple[str, str] = (UNKNOWN, UNKNOWN),
        connected: tuple[str, str] = (UNKNOWN, UNKNOWN),
    ) -> None:
        self.name = name
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.context = context
        self.exten = exten
        self.priority = 1
        self.state = state
        self.cid_num, self.cid_name = cid
        self.cl_num, self.cl_name = connected
        self._cache: dict[str, str] = {}

    def changed(
        self,
        *,
        state: int | None = None,
        connected: tuple[str, str] | None = None,
        place: tuple[str, str, int] | None = None,
    ) -> None:
        """Update the snapshot: state, connected line, or place (context, exten, priority)."""
        if state is not None:
            self.state = state
        if connected is not None:
            self.cl_num, self.cl_name = connected
        if place is not None:
            self.context, self.exten, self.priority = place
        self._cache.clear()

    def next_priority(self) -> None:
        """The dialplan moved on by one priority."""
        self.priority += 1
        self._cache.clear()

    def block(self, prefix: str = "") -> str:
        """The channel's snapshot headers, each name prefixed (``Dest``, ``Transferee``, ...)."""
        text = self._cache.get(prefix)
        if text is None:
            p = prefix
            text = (
                f"{p}Channel: {self.name}\r\n{p}ChannelState: {self.state}\r\n"
                f"{p}ChannelStateDesc: {_STATE_DESC[self.state]}\r\n"
                f"{p}CallerIDNum: {self.cid_num}\r\n{p}CallerIDName: {self.cid_name}\r\n"
                f"{p}ConnectedLineNum: {self.cl_num}\r\n{p}ConnectedLineName: {self.cl_name}\r\n"
                f"{p}Language: en\r\n{p}AccountCode: \r\n{p}Context: {self.context}\r\n"
                f"{p}Exten: {self.exten}\r\n{p}Priority: {self.priority}\r\n"
                f"{p}Uniqueid: {self.uniqueid}\r\n{p}Linkedid: {self.linkedid}"
            )
            self._cache[prefix] = text
        return text


class Bridge:
    """A basic two-party bridge."""

    __slots__ = ("channels", "uniqueid")

    def __init__(self, uniqueid: str) -> None:
        self.uniqueid = uniqueid
        self.channels = 0

    def block(self, prefix: str = "") -> str:
        """The bridge's snapshot headers (``BridgeUniqueid`` ... ``BridgeVideoSourceMode``)."""
        p = prefix
        return (
            f"{p}BridgeUniqueid: {self.uniqueid}\r\n{p}BridgeType: basic\r\n"
            f"{p}BridgeTechnology: simple_bridge\r\n{p}BridgeCreator: <unknown>\r\n"
            f"{p}BridgeName: <unknown>\r\n{p}BridgeNumChannels: {self.channels}\r\n"
            f"{p}BridgeVideoSourceMode: none"
        )


class Member:
    """One agent's membership of one queue, as app_queue keeps and reports it."""

    __slots__ = (
        "_block",
        "calls_taken",
        "dynamic",
        "in_call",
        "interface",
        "last_call",
        "last_pause",
        "login_time",
        "name",
        "paused",
        "paused_reason",
        "penalty",
        "queue",
        "state_interface",
        "status",
    )

    def __init__(
        self,
        queue: str,
        name: str,
        interface: str,
        state_interface: str,
        *,
        dynamic: bool,
        penalty: int,
        login_time: int,
    ) -> None:
        self.queue = queue
        self.name = name
        self.interface = interface
        self.state_interface = state_interface
        self.dynamic = dynamic
        self.penalty = penalty
        self.login_time = login_time
        self.calls_taken = 0
        self.last_call = 0
        self.last_pause = 0
        self.in_call = False
        self.status = NOT_INUSE
        self.paused = False
        self.paused_reason = ""
        self._block = ""

    def changed(self) -> None:
        """Forget the rendered block after a field was assigned."""
        self._block = ""

    def block(self) -> str:
        """The headers of QueueMemberStatus, QueueMemberPause, QueueMemberAdded and Removed."""
        if not self._block:
            self._block = (
                f"Queue: {self.queue}\r\nMemberName: {self.name}\r\n"
                f"Interface: {self.interface}\r\nStateInterface: {self.state_interface}\r\n"
                f"Membership: {'dynamic' if self.dynamic else 'static'}\r\n"
                f"Penalty: {self.penalty}\r\nCallsTaken: {self.calls_taken}\r\n"
                f"LastCall: {self.last_call}\r\nLastPause: {self.last_pause}\r\n"
                f"LoginTime: {self.login_time}\r\nInCall: {int(self.in_call)}\r\n"
                f"Status: {self.status}\r\nPaused: {int(self.paused)}\r\n"
                f"PausedReason: {self.paused_reason}\r\nRinginuse: 0\r\nWrapuptime: 0"
            )
        return self._block


class Ids:
    """Asterisk's identifiers: ``<epoch>.<sequence>`` uniqueids, channel and bridge names.

    The sequence is global, as in one Asterisk process; channel name suffixes count per
    channel technology; bridge uniqueids are UUIDs drawn from the simulation's generator.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._sequence = 0
        self._suffixes: dict[str, int] = {}

    def uniqueid(self, now: float) -> str:
        """A fresh channel uniqueid created at ``now``."""
        value = f"{int(now)}.{self._sequence}"
        self._sequence += 1
        return value

    def suffix(self, technology: str) -> str:
        """The next ``-0000002a`` channel name suffix for a technology (``Local``, ``PJSIP``)."""
        count = self._suffixes.get(technology, 0)
        self._suffixes[technology] = count + 1
        return f"{count:08x}"

    def bridge(self) -> Bridge:
        """A new, empty bridge."""
        return Bridge(str(uuid.UUID(int=self._rng.getrandbits(128), version=4)))
