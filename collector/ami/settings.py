"""How to reach the Asterisk Manager Interface: the ``[ami]`` settings."""

from __future__ import annotations

from dataclasses import dataclass

from collector.secret import Secret


@dataclass(frozen=True, slots=True)
class AmiConfig:
    """How to reach the Asterisk Manager Interface."""

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "queuepulse"
    secret: Secret = Secret("")
    tls: bool = False
    connect_timeout_s: float = 10.0
    ping_interval_s: float = 10.0
    reconnect_max_s: float = 30.0
    events: str = "agent,call,system"
    allow_plain_login: bool = False
    """Send the secret in clear text when the PBX refuses the MD5 challenge."""
    read_rest_s: float = 0.01
    """How long reading rests after a short read, to take what comes meanwhile in one
    read (0: read every frame at once)."""
