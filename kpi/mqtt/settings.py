"""The MQTT broker KPIs go to: the ``[mqtt]`` settings."""

from __future__ import annotations

from dataclasses import dataclass

from collector.errors import UserError
from collector.secret import Secret

MIN_KPI_INTERVAL_S = 0.1
"""The shortest gap between two publishes of one retained topic that may be configured."""
FIRST_RETRY_S = 0.25
"""The first reconnect to a broker waits at most a quarter of a second (the later ones
up to ``reconnect_max_s``): a broker restarted on the same host is back within that, and
figures should not stay stale for longer. Not a setting: the cap is the one to tune."""


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """The MQTT broker that receives KPIs, agent states and finished calls."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: Secret = Secret("")
    tls: bool = False
    prefix: str = "queuepulse"
    client_id: str = ""
    keepalive_s: int = 60
    reconnect_max_s: float = 3.0
    heartbeat_s: float = 30.0
    kpi_interval_s: float = 1.0
    homeassistant: bool = True
    homeassistant_prefix: str = "homeassistant"


def broker_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``HOST``, on the default port) as a host and a port."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = port, str(MqttConfig().port)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"cannot read MQTT broker address {text!r}. Write it as HOST:PORT, "
                        "e.g. 127.0.0.1:1883.")
    return host, int(port)
