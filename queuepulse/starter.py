"""The files a new installation starts from: the example configuration and the unit.

They ship inside the package (``queuepulse/examples/``, links to ``config/`` and
``systemd/`` in the repository, so there is one copy of each), and ``queuepulse init``
writes them out: a wheel installed on a PBX has no checkout to copy them from.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from collector.errors import UserError

EXAMPLES = ("queuepulse.toml", "queuepulse.service")
"""The configuration file and the systemd unit, by the names they are written under."""


def example_text(name: str) -> str:
    """The shipped text of one of :data:`EXAMPLES`."""
    return (resources.files("queuepulse") / "examples" / name).read_text(encoding="utf-8")


def write_examples(folder: Path, *, force: bool = False) -> list[Path]:
    """Write :data:`EXAMPLES` into ``folder`` (created if need be); return their paths.

    Without ``force`` a file that exists already is left as it is and nothing is written.
    """
    paths = [folder / name for name in EXAMPLES]
    if not force:
        for path in paths:
            if path.exists():
                raise UserError(f"{path} exists already; init leaves it as it is. Give "
                                "--force to overwrite it.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            path.write_text(example_text(path.name), encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot write into {folder} ({error.strerror}). Give init a "
                        "folder you may write to.") from error
    return paths
