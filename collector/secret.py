"""Secrets (an AMI secret, an MQTT password) as values that never show themselves."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Secret:
    """A password or AMI secret; shown as ``***`` in logs and reprs."""

    value: str = field(repr=False)
    unread: str = ""
    """Where the secret was to come from, when it was not read (``check-config
    --no-secrets``): e.g. ``file /run/credentials/queuepulse.service/ami_secret``."""
    file: str = ""
    """The file the secret was read from, if it came from one."""
    inline: bool = False
    """Whether the secret was written in the configuration file itself."""

    def __repr__(self) -> str:
        if self.unread:
            return f"Secret(unread={self.unread!r})"
        return "Secret('***')" if self.value else "Secret('')"
