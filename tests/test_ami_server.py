"""The simulated PBX over real TCP: Asterisk's AMI answers, the recorded stream, the faults."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from collector.parser import event_name, split_fields
from collector.trace import Frame, TraceReader
from queuepulse.pbxsim.ami_server import AmiServer, Feed, FrameBlock
from queuepulse.pbxsim.faults import GARBAGE, Faults
from queuepulse.pbxsim.snapshot import Snapshot
from queuepulse.pbxsim.trace_feed import TracePlayer
from tests.traces import trace_dir

SMOKE = trace_dir("smoke") / "ami.jsonl"
SMOKE_EVENTS = 1235  # 1267 events, less 31 answering the recording client, less its FullyBooted
USER, SECRET = "lab", "s3cret"
TIMEOUT = 2.0


def on_loop(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async test in a fresh event loop, failing it if it hangs; close its clients."""

    async def body() -> None:
        try:
            await asyncio.wait_for(test(), 10)
        finally:
            while OPEN_CLIENTS:
                OPEN_CLIENTS.pop().writer.close()

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(body())

    return run


class Client:
    """A bare AMI client on a real socket: it writes actions and reads whole frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received = 0
        OPEN_CLIENTS.append(self)

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        banner = await asyncio.wait_for(reader.readline(), TIMEOUT)
        assert banner == b"Asterisk Call Manager/9.0.0\r\n"
        client.received += len(banner)
        return client

    @classmethod
    async def logged_in(cls, port: int, **headers: str) -> Client:
        """A client whose plain login was accepted (and whose FullyBooted, if any, was read)."""
        client = await cls.connect(port)
        await client.action("Login", Username=USER, Secret=SECRET, **headers)
        assert await client.frame() == "Response: Success\r\nMessage: Authentication accepted"
        if headers.get("Events", "on") != "off":
            assert event_name(await client.frame()) == "FullyBooted"
        return client

    async def action(self, name: str, **headers: str) -> None:
        lines = [f"Action: {name}", *(f"{key}: {value}" for key, value in headers.items())]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()

    async def frame(self, timeout: float = TIMEOUT) -> str:
        data = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        self.received += len(data)
        return data[:-4].decode()

    async def frames(self, count: int) -> list[str]:
        return [await self.frame() for _ in range(count)]

    async def sees_eof(self) -> bool:
        return await asyncio.wait_for(self.reader.read(1), TIMEOUT) == b""


OPEN_CLIENTS: list[Client] = []


def server(
    feed: Feed | None = None,
    *,
    snapshot: Snapshot | None = None,
    faults: tuple[Faults, ...] = (),
    uptime: float = 86400.0,
) -> AmiServer:
    return AmiServer(
        feed,
        username=USER,
        secret=SECRET,
        snapshot=snapshot,
        faults=faults,
        uptime=uptime,
        auth_failure_delay=0.05,
    )


def recorded_answer(action_id: str) -> list[str]:
    """The frames the recorded PBX sent in answer to one of the recording client's actions."""
    return [
        frame.text
        for frame in TraceReader(SMOKE)
        if split_fields(frame.text).get("ActionID") == action_id
    ]


def event(number: int) -> str:
    return f"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: test\r\nNumber: {number}"


# --- login and actions -------------------------------------------------------------------


@on_loop
async def test_plain_login_is_accepted_and_greeted_with_fully_booted() -> None:
    async with server(uptime=3600) as pbx:
        client = await Client.connect(pbx.port)
        await client.action("Login", ActionID="l1", Username="LAB", Secret=SECRET)
        assert await client.frame() == (
            "Response: Success\r\nActionID: l1\r\nMessage: Authentication accepted"
        )
        booted = await client.frame()
        assert booted.startswith("Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: ")
        assert booted.endswith("\r\nStatus: Fully Booted")
        assert 3600 <= int(split_fields(booted)["Uptime"]) <= 3602


@on_loop
async def test_wrong_secret_is_refused_after_a_delay_and_the_socket_closes() -> None:
    async with server() as pbx:
        client = await Client.connect(pbx.port)
        started = time.monotonic()
        await client.action("Login", ActionID="l1", Username=USER, Secret="guess")
        assert await client.frame() == (
            "Response: Error\r\nActionID: l1\r\nMessage: Authentication failed"
        )
        assert time.monotonic() - started >= 0.05
        assert await client.sees_eof()


@on_loop
async def test_md5_login_answers_the_challenge() -> None:
    async with server() as pbx:
        client = await Client.connect(pbx.port)
        await client.action("Challenge", ActionID="c1", AuthType="md5")
        answer = await client.frame()
        assert answer.startswith("Response: Success\r\nActionID: c1\r\nChallenge: ")
        challenge = split_fields(answer)["Challenge"]
        assert challenge.isdigit()
        key = hashlib.md5((challenge + SECRET).encode()).hexdigest()
        await client.action("Login", ActionID="l2", AuthType="MD5", Username=USER, Key=key)
        assert await client.frame() == (
            "Response: Success\r\nActionID: l2\r\nMessage: Authentication accepted"
        )


@on_loop
async def test_md5_key_made_with_another_secret_is_refused() -> None:
    async with server() as pbx:
        client = await Client.connect(pbx.port)
        await client.action("Challenge", AuthType="md5")
        challenge = split_fields(await client.frame())["Challenge"]
        key = hashlib.md5((challenge + "guess").encode()).hexdigest()
        await client.action("Login", AuthType="md5", Username=USER, Key=key)
        assert await client.frame() == "Response: Error\r\nMessage: Authentication failed"
        assert await client.sees_eof()


@on_loop
async def test_before_login_actions_are_denied_and_no_event_is_sent() -> None:
    async with server() as pbx:
        client = await Client.connect(pbx.port)
        await client.action("Ping", ActionID="p1")
        assert await client.frame() == (
            "Response: Error\r\nActionID: p1\r\nMessage: Permission denied"
        )
        await pbx.send(event(1))
        assert pbx.stats.lost == 1
        await client.action("Challenge", ActionID="c1", AuthType="plain")
        assert await client.frame() == (
            "Response: Error\r\nActionID: c1\r\nMessage: Must specify AuthType"
        )


@on_loop
async def test_ping_answers_pong_with_the_current_time() -> None:
    async with server() as pbx:
        client = await Client.logged_in(pbx.port)
        await client.action("Ping", ActionID="p1")
        pong = await client.frame()
        assert pong.startswith("Response: Success\r\nActionID: p1\r\nPing: Pong\r\nTimestamp: ")
        assert abs(float(split_fields(pong)["Timestamp"]) - time.time()) < 2


@on_loop
async def test_unknown_actions_and_messages_without_action_get_errors() -> None:
    async with server() as pbx:
        client = await Client.logged_in(pbx.port)
        await client.action("CoreSettings", ActionID="x1")
        assert await client.frame() == (
            "Response: Error\r\nActionID: x1\r\nMessage: Invalid/unknown command: CoreSettings."
            " Use Action: ListCommands to show available commands."
        )
        client.writer.write(b"ActionID: x2\r\n\r\n")
        assert await client.frame() == (
            "Response: Error\r\nActionID: x2\r\nMessage: Missing action in request"
        )


@on_loop
async def test_logoff_says_goodbye_and_closes() -> None:
    async with server() as pbx:
        client = await Client.logged_in(pbx.port)
        await client.action("Logoff", ActionID="bye")
        assert await client.frame() == (
            "Response: Goodbye\r\nActionID: bye\r\nMessage: Thanks for all the fish."
        )
        assert await client.sees_eof()


@on_loop
async def test_events_off_at_login_holds_events_until_the_events_action() -> None:
    async with server() as pbx:
        client = await Client.logged_in(pbx.port, Events="off")
        await pbx.send(event(1))
        await client.action("Events", ActionID="e1", EventMask="on")
        assert await client.frame() == "Response: Success\r\nActionID: e1\r\nEvents: On"
        await pbx.send(event(2))
        assert await client.frame() == event(2)
        assert pbx.stats.lost == 1


# --- snapshots ---------------------------------------------------------------------------


@on_loop
async def test_queue_status_repeats_the_recorded_answer_with_the_callers_action_id() -> None:
    player = TracePlayer(SMOKE)
    async with server(snapshot=player.snapshot) as pbx:
        client = await Client.logged_in(pbx.port)
        await client.action("QueueStatus", ActionID="q1")
        recorded = recorded_answer("drv-2")
        assert len(recorded) == 8
        answer = await client.frames(len(recorded))
        assert answer == [frame.replace("ActionID: drv-2", "ActionID: q1") for frame in recorded]

        await client.action("QueueSummary", ActionID="q2")
        recorded = recorded_answer("drv-3")
        answer = await client.frames(len(recorded))
        assert answer == [frame.replace("ActionID: drv-3", "ActionID: q2") for frame in recorded]


@on_loop
async def test_queue_status_for_one_queue_lists_only_that_queue() -> None:
    async with server(snapshot=TracePlayer(SMOKE).snapshot) as pbx:
        client = await Client.logged_in(pbx.port)
        await client.action("QueueStatus", Queue="sales")
        answer = await client.frames(5)
        assert [event_name(frame) for frame in answer] == [
            None, "QueueParams", "QueueMember", "QueueMember", "QueueStatusComplete"
        ]
        assert {split_fields(frame)["Queue"] for frame in answer[1:4]} == {"sales"}
        assert answer[-1] == "Event: QueueStatusComplete\r\nEventList: Complete\r\nListItems: 3"


@on_loop
async def test_a_snapshot_from_the_feed_answers_later_queue_status() -> None:
    update = Snapshot(queue_status=("Event: QueueParams\r\nQueue: night\r\nCalls: 7",))

    async def feed() -> AsyncIterator[str | Snapshot]:
        yield update
        yield event(1)

    async with server(feed=feed()) as pbx:
        client = await Client.logged_in(pbx.port)
        assert await client.frame() == event(1)
        await client.action("QueueStatus")
        assert (await client.frames(3))[1] == "Event: QueueParams\r\nQueue: night\r\nCalls: 7"


def test_restart_empties_queues_and_resets_counters() -> None:
    before = Snapshot(
        queue_status=(
            "Event: QueueParams\r\nQueue: q\r\nCalls: 2\r\nCompleted: 9",
            "Event: QueueMember\r\nQueue: q\r\nName: A\r\nCallsTaken: 9\r\nLoginTime: 5\r\n"
            "InCall: 1\r\nStatus: 2\r\nPaused: 1\r\nPausedReason: Lunch",
            "Event: QueueEntry\r\nQueue: q\r\nPosition: 1\r\nUniqueid: 1.1",
        ),
        queue_summary=("Event: QueueSummary\r\nQueue: q\r\nLoggedIn: 1\r\nAvailable: 0\r\n"
                       "Callers: 1\r\nLongestHoldTime: 30",),
    )
    assert before.after_restart(1000.0) == Snapshot(
        queue_status=(
            "Event: QueueParams\r\nQueue: q\r\nCalls: 0\r\nCompleted: 0",
            "Event: QueueMember\r\nQueue: q\r\nName: A\r\nCallsTaken: 0\r\nLoginTime: 1000\r\n"
            "InCall: 0\r\nStatus: 1\r\nPaused: 0\r\nPausedReason: ",
        ),
        queue_summary=("Event: QueueSummary\r\nQueue: q\r\nLoggedIn: 1\r\nAvailable: 1\r\n"
                       "Callers: 0\r\nLongestHoldTime: 0",),
    )


# --- the recorded stream -----------------------------------------------------------------


def stream_frames() -> list[Frame]:
    """The smoke trace's events meant for any listener, in the order they were recorded."""
    return [
        frame
        for frame in TraceReader(SMOKE)
        if frame.text.startswith("Event: ")
        and "\r\nActionID: " not in frame.text
        and not frame.text.startswith("Event: FullyBooted")
    ]


def stream_events() -> list[str]:
    return [frame.text for frame in stream_frames()]


async def played(player: TracePlayer) -> list[str]:
    return [item async for item in player if isinstance(item, str)]


def ids_of(frame: str) -> set[str]:
    return {
        value
        for key, value in split_fields(frame).items()
        if key.endswith(("Uniqueid", "Linkedid")) and value
    }


def without_ids_and_time(frame: str) -> list[str]:
    return [
        line
        for line in frame.split("\r\n")
        if not line.startswith("Timestamp:")
        and not line.partition(":")[0].endswith(("Uniqueid", "Linkedid"))
    ]


def timestamp(frame: str) -> float:
    return float(split_fields(frame)["Timestamp"])


@on_loop
async def test_trace_events_arrive_complete_in_order_and_without_responses() -> None:
    player = TracePlayer(SMOKE)
    expected = stream_events()
    assert len(expected) == player.event_count == SMOKE_EVENTS
    async with server(feed=player, snapshot=player.snapshot) as pbx:
        client = await Client.logged_in(pbx.port)
        received = await client.frames(SMOKE_EVENTS)
        assert received == expected
        assert pbx.stats.events == SMOKE_EVENTS
        assert pbx.stats.frames == SMOKE_EVENTS + 2  # and the login response, FullyBooted
        assert pbx.stats.bytes == client.received


@on_loop
async def test_every_listening_client_gets_every_event() -> None:
    async with server() as pbx:
        clients = [await Client.logged_in(pbx.port) for _ in range(3)]
        for number in range(100):
            await pbx.send(event(number))
        expected = [event(number) for number in range(100)]
        assert [await client.frames(100) for client in clients] == [expected] * 3
        assert pbx.stats.events == 300


@on_loop
async def test_a_block_of_ready_made_frames_arrives_as_its_events_in_order() -> None:
    frames = stream_events()[:300]
    block = FrameBlock("".join(f"{frame}\r\n\r\n" for frame in frames).encode(), len(frames))
    async with server() as pbx:
        client = await Client.logged_in(pbx.port)
        await pbx.send_block(block)
        await pbx.send(event(1))
        assert await client.frames(301) == [*frames, event(1)]
        assert pbx.stats.events == 301
        assert pbx.stats.frames == 301 + 2  # and the login response, FullyBooted


@on_loop
async def test_a_client_resetting_mid_stream_does_not_disturb_another() -> None:
    frames = await played(TracePlayer(SMOKE, repeat=4))
    async with server() as pbx:
        steady = await Client.logged_in(pbx.port)
        rude = await Client.logged_in(pbx.port)
        for frame in frames[:10]:
            await pbx.send(frame)
        assert await rude.frames(10) == frames[:10]
        rude.writer.transport.abort()  # no FIN: the server's next writes meet a reset
        reading = asyncio.create_task(steady.frames(len(frames)))
        for frame in frames[10:]:
            await pbx.send(frame)
        assert await reading == frames
        assert pbx.stats.sessions == 2


@on_loop
async def test_paced_playback_keeps_the_recorded_gaps() -> None:
    speed = 500.0
    origin = next(iter(TraceReader(SMOKE))).received_at
    async with server(feed=TracePlayer(SMOKE, speed=speed)) as pbx:
        client = await Client.logged_in(pbx.port)
        started = time.monotonic()
        await client.frames(SMOKE_EVENTS)
        elapsed = time.monotonic() - started
    # playback starts at login, which the recorded trace has at its first frame
    recorded = (stream_frames()[-1].received_at - origin) / speed
    assert recorded - 0.02 <= elapsed <= recorded + 0.3


def test_repetitions_use_fresh_ids_and_follow_each_other_in_time() -> None:
    player = TracePlayer(SMOKE, repeat=3)
    frames = asyncio.run(played(player))
    assert len(frames) == player.event_count == 3 * SMOKE_EVENTS
    original = stream_events()
    passes = [frames[k * SMOKE_EVENTS : (k + 1) * SMOKE_EVENTS] for k in range(3)]
    assert passes[0] == original
    id_sets = [set().union(*map(ids_of, frames)) for frames in passes]
    assert len(id_sets[0]) == len(id_sets[1]) == len(id_sets[2]) == 65
    assert not id_sets[0] & id_sets[1] and not id_sets[1] & id_sets[2]
    assert not id_sets[0] & id_sets[2]
    for earlier, later in itertools.pairwise(passes):
        assert max(map(timestamp, earlier)) < min(map(timestamp, later))
        assert list(map(without_ids_and_time, later)) == list(map(without_ids_and_time, original))


def test_repeated_ids_keep_asterisk_form_and_shift_with_the_clock() -> None:
    player = TracePlayer(SMOKE, repeat=2)
    frames = asyncio.run(played(player))
    index = next(n for n, frame in enumerate(frames) if "\r\nUniqueid: " in frame)
    first, second = frames[index], frames[SMOKE_EVENTS + index]
    assert split_fields(first)["Uniqueid"] == "1795484830.0"
    assert split_fields(second)["Uniqueid"] == f"{1795484830 + player.period}.0"
    assert timestamp(second) == pytest.approx(timestamp(first) + player.period, abs=1e-5)


def test_live_timestamps_start_now_and_keep_the_recorded_gaps() -> None:
    started = time.time()
    frames = asyncio.run(played(TracePlayer(SMOKE, live_timestamps=True)))
    original = stream_events()
    origin = next(iter(TraceReader(SMOKE))).received_at
    assert timestamp(frames[0]) == pytest.approx(
        started + timestamp(original[0]) - origin, abs=1.0
    )
    gaps = [timestamp(frame) - timestamp(frames[0]) for frame in frames]
    recorded = [timestamp(frame) - timestamp(original[0]) for frame in original]
    assert gaps == pytest.approx(recorded, abs=1e-5)
    assert ids_of(frames[0]).isdisjoint(ids_of(original[0]))


# --- faults ------------------------------------------------------------------------------


@on_loop
async def test_drop_after_n_events_closes_after_exactly_n_and_the_stream_moves_on() -> None:
    async with server(faults=(Faults(drop_after=3),)) as pbx:
        first = await Client.logged_in(pbx.port)
        for number in range(1, 6):
            await pbx.send(event(number))
        assert await first.frames(3) == [event(1), event(2), event(3)]
        assert await first.sees_eof()
        await pbx.send(event(6))
        second = await Client.logged_in(pbx.port)
        await pbx.send(event(7))
        assert await second.frame() == event(7)
        assert pbx.stats.lost == 3  # 4 and 5 came after the drop, 6 while nobody listened


@on_loop
async def test_silence_keeps_the_socket_open_and_answers_nothing() -> None:
    async with server(faults=(Faults(silent_after=2),)) as pbx:
        client = await Client.logged_in(pbx.port)
        for number in range(1, 4):
            await pbx.send(event(number))
        assert await client.frames(2) == [event(1), event(2)]
        await client.action("Ping", ActionID="p1")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.reader.read(1), 0.3)
        assert not client.reader.at_eof() and not client.writer.is_closing()
        assert pbx.stats.lost == 1


class Recorder(asyncio.Protocol):
    """Keeps every chunk a socket read returned, as the client's protocol saw it."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set_result(None)


@on_loop
async def test_split_delivers_byte_by_byte_and_reassembles_exactly() -> None:
    joined = next(frame for frame in stream_events() if "CallerIDName: דוד כהן" in frame)
    async with server(faults=(Faults(split=True, drop_after=1),)) as pbx:
        loop = asyncio.get_running_loop()
        transport, recorder = await loop.create_connection(Recorder, "127.0.0.1", pbx.port)
        transport.write(f"Action: Login\r\nUsername: {USER}\r\nSecret: {SECRET}\r\n\r\n".encode())
        while b"".join(recorder.chunks).count(b"\r\n\r\n") < 2:  # response and FullyBooted
            await asyncio.sleep(0.01)
        before = len(recorder.chunks)
        await pbx.send(joined)
        await asyncio.wait_for(recorder.closed, TIMEOUT)
    chunks = recorder.chunks[before:]
    assert b"".join(chunks).decode() == joined + "\r\n\r\n"
    assert {len(chunk) for chunk in chunks} == {1}
    with pytest.raises(UnicodeDecodeError):
        for chunk in chunks:
            chunk.decode()  # what a client decoding each read on its own would hit


@on_loop
async def test_garbage_follows_every_nth_event() -> None:
    async with server(faults=(Faults(garbage_every=2),)) as pbx:
        client = await Client.logged_in(pbx.port)
        for number in range(1, 5):
            await pbx.send(event(number))
        wire = [f"{event(n)}\r\n\r\n".encode() for n in range(1, 5)]
        expected = b"".join([*wire[:2], *GARBAGE, *wire[2:], *GARBAGE])
        received = await asyncio.wait_for(client.reader.readexactly(len(expected)), TIMEOUT)
        assert received == expected
        with pytest.raises(UnicodeDecodeError):
            b"".join(GARBAGE).decode()


def test_fault_counts_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="drop_after"):
        Faults(drop_after=0)


@on_loop
async def test_restart_sends_shutdown_closes_and_boots_fresh_with_another_snapshot() -> None:
    async with server(snapshot=TracePlayer(SMOKE).snapshot, uptime=7200) as pbx:
        client = await Client.logged_in(pbx.port)
        await client.action("QueueStatus")
        before = await client.frames(8)
        await pbx.restart()
        shutdown = split_fields(await client.frame())
        assert (shutdown["Event"], shutdown["Shutdown"], shutdown["Restart"]) == (
            "Shutdown", "Cleanly", "True"
        )
        assert await client.sees_eof()

        again = await Client.connect(pbx.port)
        await again.action("Login", Username=USER, Secret=SECRET)
        await again.frame()
        assert int(split_fields(await again.frame())["Uptime"]) <= 1
        await again.action("QueueStatus")
        after = await again.frames(8)
        assert [event_name(f) for f in after] == [event_name(f) for f in before]
        assert after != before


@on_loop
async def test_restart_with_downtime_refuses_connections_meanwhile() -> None:
    async with server() as pbx:
        restarting = asyncio.create_task(pbx.restart(down_for=0.3))
        await asyncio.sleep(0.1)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", pbx.port)
        await restarting
        await Client.logged_in(pbx.port)


@on_loop
async def test_leaving_the_server_closes_every_client() -> None:
    async with server() as pbx:
        clients = [await Client.logged_in(pbx.port), await Client.connect(pbx.port)]
    assert [await client.sees_eof() for client in clients] == [True, True]
