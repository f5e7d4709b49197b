"""The MQTT broker KPIs go to: the ``[mqtt]`` settings."""

from __future__ import annotations

from dataclasses import dataclass

from collector.secret import Secret

MIN_KPI_INTERVAL_S = 0.1
"""The shortest gap between two publishes of one retained topic that may be configured."""


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
    heartbeat_s: float = 30.0
    kpi_interval_s: float = 1.0
    homeassistant: bool = True
    homeassistant_prefix: str = "homeassistant"
