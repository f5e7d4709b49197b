"""The real mosquitto broker the tests start and stop (shared with the benchmark)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.broker import MOSQUITTO, Mosquitto, free_port

__all__ = ["Mosquitto", "free_port", "mosquitto"]


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running broker for one test, stopped at teardown."""
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed; ./run-tests installs it")
    broker = Mosquitto(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
