"""The AMI link as others see it: following the PBX or not, since when, and why not.

While the link is down every figure derived from the stream is frozen; the daemon keeps
an :class:`AmiLink` up to date so that whoever shows figures (MQTT, the wallboard) can
say they are stale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class AmiLink:
    """Whether an AMI connection is logged in, since when (epoch seconds) and, while it
    is not, the last reason."""

    connected: bool
    since: float
    address: str
    problem: str | None = None

    @property
    def state(self) -> str:
        """``connected`` or ``disconnected``."""
        return "connected" if self.connected else "disconnected"

    def up(self, at: float) -> AmiLink:
        """The link logged in at ``at``."""
        return AmiLink(True, at, self.address)

    def down(self, at: float, problem: str) -> AmiLink:
        """The link failed at ``at`` (or failed again: it stays down since the first)."""
        if not self.connected:
            return replace(self, problem=problem)
        return AmiLink(False, at, self.address, problem)
