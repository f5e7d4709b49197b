"""The recorded real-PBX traces, as plain files, for the tests and the benchmark.

The repository carries every recording under ``tests/data/traces``, each stream
compressed with xz. :func:`recording_dir` hands out a folder of plain files, unpacked
once into a cache folder named after the bundle's content, so a fresh clone needs
nothing beside it. A further folder of recordings in the same layout (one folder per run,
each with a plain ``ami.jsonl``), named by ``QUEUEPULSE_TRACES`` or found at
``../shared/traces`` beside the checkout, adds the recordings the bundle lacks; the
bundled ones are always used as they are, so every machine tests the same data.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "tests" / "data" / "traces"
"""The recordings the repository carries."""


def _extra_root() -> Path | None:
    value = os.environ.get("QUEUEPULSE_TRACES")
    if value:
        return Path(value)
    beside = ROOT.parent / "shared" / "traces"
    return beside if beside.is_dir() else None


def recording_names() -> tuple[str, ...]:
    """Every recording available: the bundled ones, then any extra ones, sorted."""
    bundled = {p.parent.name for p in BUNDLED.glob("*/ami.jsonl.xz")}
    extra_root = _extra_root()
    extra = (
        {p.parent.name for p in extra_root.glob("*/ami.jsonl")} if extra_root else set()
    )
    return tuple(sorted(bundled)) + tuple(sorted(extra - bundled))


STREAMS = ("ami.jsonl", "ami-reader.jsonl")
"""The AMI streams a recording may hold: the full user's, and the least-privilege user's."""


def recording_streams(name: str) -> tuple[str, ...]:
    """The AMI streams recording ``name`` holds, of :data:`STREAMS`, without unpacking it."""
    if (BUNDLED / name / "ami.jsonl.xz").is_file():
        return tuple(s for s in STREAMS if (BUNDLED / name / f"{s}.xz").is_file())
    extra_root = _extra_root()
    folder = extra_root / name if extra_root is not None else None
    return tuple(s for s in STREAMS if folder is not None and (folder / s).is_file())


@cache
def _unpacked_root() -> Path:
    digest = hashlib.sha256()
    packed = sorted(p for p in BUNDLED.rglob("*") if p.is_file())
    for path in packed:
        digest.update(str(path.relative_to(BUNDLED)).encode())
        digest.update(path.read_bytes())
    root = Path(tempfile.gettempdir()) / f"queuepulse-traces-{digest.hexdigest()[:16]}"
    for path in packed:
        target = root / path.relative_to(BUNDLED).with_suffix(
            "" if path.suffix == ".xz" else path.suffix
        )
        if target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        # written beside and renamed, so a run killed halfway leaves no torn file behind
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        if path.suffix == ".xz":
            with lzma.open(path, "rb") as source, partial.open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
        else:
            shutil.copyfile(path, partial)
        partial.replace(target)
    return root


def recording_dir(name: str) -> Path:
    """The folder of plain files of recording ``name``; fails loudly when it does not exist."""
    if (BUNDLED / name / "ami.jsonl.xz").is_file():
        return _unpacked_root() / name
    extra_root = _extra_root()
    if extra_root is not None and (extra_root / name / "ami.jsonl").is_file():
        return extra_root / name
    raise FileNotFoundError(
        f"no recording named {name!r}: there are {', '.join(recording_names())}"
    )
