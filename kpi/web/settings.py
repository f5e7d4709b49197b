"""Where the browser wallboard and ``/metrics`` are served: the ``[web]`` settings."""

from __future__ import annotations

from dataclasses import dataclass

from collector.secret import Secret


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The HTTP server of the browser wallboard and the Prometheus endpoint.

    Bound to the loopback address unless ``host`` says otherwise; with a ``token``, every
    request must carry it (``Authorization: Bearer <token>``, or ``?token=<token>`` for a
    TV's browser, which cannot set a header).
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    token: Secret = Secret("")
    push_interval_s: float = 0.5
