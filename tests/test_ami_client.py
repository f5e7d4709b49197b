"""One AMI connection and the reconnect loop, against real sockets."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import pytest
from structlog.testing import capture_logs

from collector.ami.client import (
    AmiConnection,
    AmiConnectionLost,
    AmiLoginRefused,
    AmiUnavailable,
    follow,
)
from collector.ami.protocol import FrameBatch
from collector.ami.settings import AmiConfig
from collector.secret import Secret
from collector.trace import Frame
from queuepulse.pbxsim.ami_server import AmiServer


def config(port: int, secret: str = "queuepulse", **settings: float) -> AmiConfig:
    return AmiConfig(port=port, secret=Secret(secret), **settings)  # type: ignore[arg-type]


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 10))


async def fake_server(greeting: bytes) -> asyncio.Server:
    """A TCP server that says ``greeting`` and then nothing, ever."""

    async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        await reader.read()
        writer.close()

    return await asyncio.start_server(talk, "127.0.0.1", 0)


def port_of(server: asyncio.Server) -> int:
    port: int = server.sockets[0].getsockname()[1]
    return port


def test_login_then_frames_in_order_starting_with_the_banner() -> None:
    async def body() -> None:
        async with AmiServer(auth_failure_delay=0.0) as server, AmiConnection(
            config(server.port)
        ) as ami:
            assert ami.version == "9.0.0"
            await server.send("Event: Hangup\r\nUniqueid: 1.1")
            frames: list[Frame] = []
            async for batch in ami.frames():
                frames += batch.frames()
                if frames[-1].text.startswith("Event: Hangup"):
                    break
            names = [f.text.split("\r\n", 1)[0] for f in frames]
            assert names[0] == "Asterisk Call Manager/9.0.0"
            assert "Event: FullyBooted" in names
            assert (await ami.action("Ping")).header("Ping") == "Pong"

    run(body)


def test_a_refused_login_raises_and_ends_the_reconnect_loop() -> None:
    async def body() -> None:
        async def never(ami: AmiConnection) -> None:
            raise AssertionError("no session without a login")

        async with AmiServer(secret="right", auth_failure_delay=0.0) as server:
            with pytest.raises(AmiLoginRefused, match=r"user queuepulse.*Authentication failed"):
                await follow(config(server.port, secret="wrong"), never)

    run(body)


def test_a_port_that_is_not_ami_is_named() -> None:
    async def body() -> None:
        server = await fake_server(b"SSH-2.0-OpenSSH_9.2p1\r\n")
        async with server:
            with pytest.raises(AmiUnavailable, match="is not an Asterisk manager port"):
                async with AmiConnection(config(port_of(server))):
                    pass

    run(body)


def test_a_server_that_never_greets_times_out() -> None:
    async def body() -> None:
        server = await fake_server(b"")
        async with server:
            silent = r"no answer to greeting from 127\.0\.0\.1:\d+ within 0\.3 s"
            with pytest.raises(AmiConnectionLost, match=silent):
                async with AmiConnection(config(port_of(server), connect_timeout_s=0.3)):
                    pass

    run(body)


def test_a_closed_connection_ends_the_frames_with_the_reason() -> None:
    async def body() -> None:
        async with AmiServer(auth_failure_delay=0.0) as server, AmiConnection(
            config(server.port)
        ) as ami:
            await ami.action("Logoff")
            with pytest.raises(AmiConnectionLost, match="lost the AMI connection"):
                async for _ in ami.frames():
                    pass

    run(body)


def test_follow_reconnects_after_a_lost_connection() -> None:
    async def body() -> None:
        sessions = itertools.count(1)

        async def session(ami: AmiConnection) -> None:
            if next(sessions) == 1:
                await ami.action("Logoff")
                async for _ in ami.frames():
                    pass

        async with AmiServer(auth_failure_delay=0.0) as server:
            with capture_logs() as logs:
                await follow(config(server.port, reconnect_max_s=0.1), session)
            assert server.stats.sessions == 2
        lost = [e for e in logs if e["event"] == "ami.connection_lost"]
        assert len(lost) == 1 and 0.0 <= lost[0]["retry_in_s"] <= 0.1

    run(body)


def test_deliver_hands_every_frame_in_order_and_gathers_frames_sent_one_by_one() -> None:
    async def body() -> None:
        async with AmiServer(auth_failure_delay=0.0) as server, AmiConnection(
            config(server.port)
        ) as ami:
            batches: list[FrameBatch] = []
            delivering = asyncio.create_task(ami.deliver(batches.append))
            for n in range(40):
                await server.send(f"Event: Hangup\r\nUniqueid: {n}")
                await asyncio.sleep(0.001)
            await ami.action("Logoff")
            with pytest.raises(AmiConnectionLost, match=r"logged off|closed"):
                await delivering
            texts = [text for batch in batches for text in batch.texts]
            hangups = [text for text in texts if text.startswith("Event: Hangup")]
            assert texts[0] == "Asterisk Call Manager/9.0.0"
            assert hangups == [f"Event: Hangup\r\nUniqueid: {n}" for n in range(40)]
            # a read after a short one waits out a rest: events written a millisecond
            # apart arrive several to a read
            with_hangups = [b for b in batches if any(t.startswith("Event: Hangup")
                                                      for t in b.texts)]
            assert len(with_hangups) < 40

    run(body)


def test_a_failing_consumer_ends_the_connection_with_its_error() -> None:
    async def body() -> None:
        async with AmiServer(auth_failure_delay=0.0) as server, AmiConnection(
            config(server.port)
        ) as ami:
            def broken(batch: FrameBatch) -> None:
                if any(text.startswith("Event: Hangup") for text in batch.texts):
                    raise ValueError("a bug in the consumer")

            delivering = asyncio.create_task(ami.deliver(broken))
            await server.send("Event: Hangup\r\nUniqueid: 1.1")
            with pytest.raises(ValueError, match="a bug in the consumer"):
                await delivering
            assert ami.protocol.lost.done()

    run(body)
