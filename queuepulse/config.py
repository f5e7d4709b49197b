"""The configuration file: one TOML file, checked completely before anything starts.

Every section is a frozen dataclass, and each default is written once, by the component
that uses it. Where a component's settings are the section, the section is that dataclass:
``[ami]`` is :class:`collector.ami.settings.AmiConfig`, ``[database]``
:class:`collector.store.settings.DatabaseConfig`, ``[mqtt]``
:class:`kpi.mqtt.settings.MqttConfig`, ``[alerts]`` :class:`kpi.alerts.AlertConfig`,
``[web]`` :class:`kpi.web.settings.WebConfig`, ``[log]`` :class:`queuepulse.logs.LogConfig`.
``[tracking]`` and ``[kpi]`` are written the way people think of them (reasons as a
list, targets in percent, hours) and take their defaults from the tracker's
:class:`~collector.tracker.TrackerConfig` and the definitions'
:class:`~kpi.definitions.KpiSettings`. The loader walks the TOML tables against the
dataclass fields, so a misspelt key, a wrong type or a bad value is one
:class:`ConfigError` that names the key and says how to fix it. Secrets may be given
inline, through an environment variable (``*_env``) or a file (``*_file``, e.g. a systemd
credential); they are kept in :class:`Secret`, whose ``repr`` never shows them.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
import types
import typing
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.ami.settings import AmiConfig
from collector.errors import UserError
from collector.secret import Secret
from collector.store.settings import RAW_EVENTS, DatabaseConfig
from collector.tracker import TrackerConfig
from collector.user_files import is_sqlite
from kpi.alerts import AlertConfig, AlertWatch, QueueAlertConfig, config_problems, merged
from kpi.mqtt.settings import MIN_KPI_INTERVAL_S, MqttConfig
from kpi.mqtt.topics import MAX_LEVEL_BYTES, escape
from kpi.settings import SERVICE_LEVEL_VARIANTS, KpiSettings
from kpi.web.settings import WebConfig
from queuepulse.logs import FORMATS, LEVELS, LogConfig

_TRACKER = TrackerConfig()
_KPI = KpiSettings()


class ConfigError(UserError):
    """The configuration cannot be used; the message names the key and the fix."""


@dataclass(frozen=True, slots=True)
class PbxConfig:
    """Which PBX this is, which clock its days follow, and where its queue_log is."""

    id: str = "pbx"
    timezone: str = "UTC"
    queue_log: str = ""
    """Asterisk's queue_log file, to backfill the calls AMI did not show (empty: off)."""


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """What AMI does not tell about a queue."""

    wrapuptime_s: float = 0.0
    service_level_s: int | None = None
    service_level_target: float | None = None
    alerts: QueueAlertConfig = QueueAlertConfig()


@dataclass(frozen=True, slots=True)
class TrackingConfig:
    """How calls are followed: the after-call work rules and the settling delay."""

    acw_reasons: tuple[str, ...] = tuple(sorted(_TRACKER.acw_reasons))
    acw_pause_window_s: float = _TRACKER.acw_pause_window_s
    settle_s: float = _TRACKER.settle_s


@dataclass(frozen=True, slots=True)
class CostConfig:
    """Rates for cost per call; both zero means cost is not reported."""

    agent_hourly: float = _KPI.agent_hourly
    trunk_per_minute: float = _KPI.trunk_per_minute


@dataclass(frozen=True, slots=True)
class KpiConfig:
    """Thresholds and windows of the KPI definitions (see docs/kpis.md)."""

    service_level_s: int = _KPI.service_level_s
    service_level_target: float = _KPI.service_level_target * 100.0
    """In percent; the definitions take a ratio."""
    service_level_variant: str = _KPI.service_level_variant
    short_abandon_s: float = _KPI.short_abandon_s
    repeat_window_h: float = _KPI.repeat_window_s / 3600.0
    callback_window_h: float = _KPI.callback_window_s / 3600.0
    cost: CostConfig = CostConfig()


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration."""

    pbx: PbxConfig = PbxConfig()
    ami: AmiConfig = AmiConfig()
    tracking: TrackingConfig = TrackingConfig()
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    agents: dict[str, str] = field(default_factory=dict)
    kpi: KpiConfig = KpiConfig()
    database: DatabaseConfig = DatabaseConfig()
    mqtt: MqttConfig = MqttConfig()
    alerts: AlertConfig = AlertConfig()
    web: WebConfig = WebConfig()
    log: LogConfig = LogConfig()

    def tracker_config(self) -> TrackerConfig:
        """The part of the configuration the call tracker needs."""
        return TrackerConfig(
            acw_reasons=frozenset(r.lower() for r in self.tracking.acw_reasons),
            acw_pause_window_s=self.tracking.acw_pause_window_s,
            wrapuptime={q: c.wrapuptime_s for q, c in self.queues.items()},
            settle_s=self.tracking.settle_s,
            agent_names=dict(self.agents),
        )

    def alert_watch(self) -> AlertWatch:
        """The alert rules of ``[alerts]`` and the queues' overrides, nothing seen yet."""
        return AlertWatch(self.alerts, {q: c.alerts for q, c in self.queues.items()})

    def service_level_s(self, queue: str) -> int:
        """The service-level threshold of a queue (its own, else the global one)."""
        own = self.queues.get(queue)
        if own is not None and own.service_level_s is not None:
            return own.service_level_s
        return self.kpi.service_level_s


_CHOICES = {
    "database.raw_events": RAW_EVENTS,
    "kpi.service_level_variant": SERVICE_LEVEL_VARIANTS,
    "log.level": LEVELS,
    "log.format": FORMATS,
}


_TYPE_NAMES = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}


def _fail(key: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"config key '{key}': {problem}. {fix}")


_CREDENTIALS = Path("/run/credentials")
"""Where systemd's LoadCredential= puts a service's credentials, visible only to it."""


def _unreadable_secret_file(key: str, file: str, error: OSError) -> ConfigError:
    path = Path(file)
    if path.is_relative_to(_CREDENTIALS) and not path.parent.exists():
        return _fail(key, f"cannot read {file} ({error.strerror})",
                     f"{path.parent} exists only inside the systemd service that loads the "
                     "credential (LoadCredential=). Outside it, point the setting at the "
                     "credential's source file, or check the rest of the file with "
                     "'queuepulse check-config --no-secrets'.")
    return _fail(key, f"cannot read {file} ({error.strerror})",
                 "Check the path and that queuepulse may read it.")


def _secret(section: dict[str, Any], name: str, where: str, resolve: bool) -> Secret:
    inline, env, file = (section.pop(name, None), section.pop(f"{name}_env", None),
                         section.pop(f"{name}_file", None))
    given = [k for k, v in ((name, inline), (f"{name}_env", env), (f"{name}_file", file)) if v]
    if len(given) > 1:
        raise _fail(f"{where}.{given[1]}", f"set together with {where}.{given[0]}",
                    "Give the secret one way only.")
    if not resolve and (env or file):
        return Secret("", unread=f"environment variable {env}" if env else f"file {file}")
    if env:
        value = os.environ.get(str(env))
        if value is None:
            raise _fail(f"{where}.{name}_env", f"environment variable {env} is not set",
                        f"Export {env} before starting queuepulse, or use {name}_file.")
        return Secret(value)
    if file:
        try:
            return Secret(Path(str(file)).read_text(encoding="utf-8").strip(), file=str(file))
        except OSError as error:
            raise _unreadable_secret_file(f"{where}.{name}_file", str(file), error) from error
    if inline is not None and not isinstance(inline, str):
        raise _fail(f"{where}.{name}", "must be a string", 'Quote it: secret = "..."')
    return Secret(inline or "", inline=bool(inline))


def _convert(key: str, value: Any, kind: Any, resolve: bool) -> Any:
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return _convert(key, value, options[0], resolve)
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        if not isinstance(value, dict):
            raise _fail(key, "must be a table", f"Write it as [{key}] with keys below it.")
        return _build(kind, value, key, resolve)
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(key, "must be a list of strings", f'Write {key} = ["...", "..."].')
        return tuple(value)
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind in (str, bool) and isinstance(value, kind):
        return value
    name = _TYPE_NAMES.get(kind, getattr(kind, "__name__", str(kind)))
    raise _fail(key, f"must be {name}, not {value!r}",
                "Fix the value's type in the config file.")


def _known_keys(cls: type[Any]) -> list[str]:
    hints = typing.get_type_hints(cls)
    return [name for f in dataclasses.fields(cls) for name in (
        (f.name, f"{f.name}_env", f"{f.name}_file") if hints[f.name] is Secret else (f.name,))]


def _build(cls: type[Any], table: dict[str, Any], where: str, resolve: bool) -> Any:
    """The ``cls`` a TOML table describes; ``resolve``: read secrets from their env/file."""
    table = dict(table)
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        key = f"{where}.{f.name}" if where else f.name
        if kind is Secret:
            values[f.name] = _secret(table, f.name, where, resolve)
        elif f.name in table:
            raw = table.pop(f.name)
            if f.name == "queues":
                values[f.name] = _queues(raw)
            elif f.name == "agents":
                values[f.name] = _agents(raw)
            else:
                values[f.name] = _convert(key, raw, kind, resolve)
            if key in _CHOICES and values[f.name] not in _CHOICES[key]:
                raise _fail(key, f"{values[f.name]!r} is not one of {', '.join(_CHOICES[key])}",
                            "Use one of those values.")
    for unknown in table:
        known = _known_keys(cls)
        close = difflib.get_close_matches(unknown, known, n=1)
        hint = f"Did you mean '{close[0]}'?" if close else f"Known keys: {', '.join(known)}."
        raise _fail(f"{where}.{unknown}" if where else unknown, "is not a known setting", hint)
    return cls(**values)


def _queues(raw: Any) -> dict[str, QueueConfig]:
    if not isinstance(raw, dict):
        raise _fail("queues", "must be a table of queues", "Write [queues.NAME] sections.")
    return {name: _convert(f"queues.{name}", body, QueueConfig, resolve=True)
            for name, body in raw.items()}


def _agents(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise _fail("agents", "must map interfaces to names",
                    'Write "PJSIP/201" = "Alice" under [agents].')
    return dict(raw)


def _check(config: Config) -> None:
    try:
        zoneinfo.ZoneInfo(config.pbx.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise _fail("pbx.timezone", f"unknown time zone {config.pbx.timezone!r}",
                    'Use an IANA name such as "Europe/Berlin" or "UTC".') from error
    for key, port in (("ami.port", config.ami.port), ("mqtt.port", config.mqtt.port)):
        if not 0 < port < 65536:
            raise _fail(key, f"{port} is not a TCP port", "Use a number from 1 to 65535.")
    if not 0 <= config.web.port < 65536:
        raise _fail("web.port", f"{config.web.port} is not a TCP port",
                    "Use a number from 1 to 65535 (0: any free port, logged at start).")
    targets = {"kpi.service_level_target": config.kpi.service_level_target} | {
        f"queues.{name}.service_level_target": queue.service_level_target
        for name, queue in config.queues.items() if queue.service_level_target is not None}
    for key, target in targets.items():
        if not 1 <= target <= 100:
            raise _fail(key, f"{target} is not a percentage from 1 to 100",
                        "Give the share of calls to answer in time in percent, e.g. 80 "
                        "for 80 %.")
    if config.kpi.callback_window_h <= 0:
        raise _fail("kpi.callback_window_h", "must be positive", "Use e.g. 24.")
    if config.database.kpi_interval_s <= 0:
        raise _fail("database.kpi_interval_s", "must be positive", "Use e.g. 60.")
    if config.ami.ping_interval_s <= 0:
        raise _fail("ami.ping_interval_s", "must be positive", "Use e.g. 10.")
    if not 0 <= config.ami.read_rest_s <= 0.1:
        raise _fail("ami.read_rest_s", "must be from 0 to 0.1 seconds",
                    "Use 0.01 (the default), or 0 to read every frame at once.")
    if config.web.push_interval_s <= 0:
        raise _fail("web.push_interval_s", "must be positive", "Use e.g. 0.5.")
    rule_sets = {"alerts": config.alerts} | {
        f"queues.{name}.alerts": merged(config.alerts, queue.alerts)
        for name, queue in config.queues.items()}
    for where, rules in rule_sets.items():
        for key, problem, fix in config_problems(rules, where):
            raise _fail(key, problem, fix)
    for key, prefix in (("mqtt.prefix", config.mqtt.prefix),
                        ("mqtt.homeassistant_prefix", config.mqtt.homeassistant_prefix)):
        if not _topic_prefix(prefix):
            raise _fail(key, f"{prefix!r} cannot begin an MQTT topic",
                        'Use levels of letters, digits, "-" and "_" joined by "/", e.g. '
                        '"queuepulse" or "site1/queuepulse", at most 200 bytes.')
    if config.mqtt.kpi_interval_s < MIN_KPI_INTERVAL_S:
        raise _fail("mqtt.kpi_interval_s", f"must be at least {MIN_KPI_INTERVAL_S}",
                    "Use 1.0 (the default), or e.g. 0.5 for wallboards that must never "
                    "lag a second.")


def _topic_prefix(prefix: str) -> bool:
    """Whether ``prefix`` can begin every topic: levels, none empty, no wildcard, no NUL
    or other control character, no ``$`` in front (the broker's own topics)."""
    return (0 < len(prefix.encode()) <= MAX_LEVEL_BYTES and not prefix.startswith("$")
            and all(level and escape(level) == level for level in prefix.split("/")))


def parse_config(text: str, source: str = "<config>", *, resolve_secrets: bool = True) -> Config:
    """Read and check a configuration from TOML text.

    With ``resolve_secrets`` false, secrets given by ``*_env`` or ``*_file`` are not read
    (each :class:`Secret` says where it was to come from): what ``check-config
    --no-secrets`` checks, outside the service that can read them.
    """
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML ({error}). Fix the syntax there.") from error
    config: Config = _build(Config, table, "", resolve_secrets)
    _check(config)
    return config


def _text(path: Path) -> str:
    """The file's text: UTF-8, with or without the byte-order mark some editors add."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(
            f"cannot read config file {path} ({error.strerror}). "
            "Check the path, or copy config/queuepulse.toml there."
        ) from error
    if is_sqlite(data):
        raise ConfigError(f"config file {path} is a SQLite database, not a configuration. "
                          "Give the TOML configuration file here (a database goes to --db).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte 0x{data[error.start]:02x} on line "
            f"{line}). Save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)."
        ) from error


def load_config(path: Path | None, *, resolve_secrets: bool = True) -> Config:
    """Read and check the configuration file; ``None`` gives the built-in defaults."""
    if path is None:
        return Config()
    return parse_config(_text(path), str(path), resolve_secrets=resolve_secrets)


def check_ami_secret(config: Config) -> None:
    """Refuse a configuration without an AMI secret: what a command logging in checks first."""
    if not config.ami.secret.value:
        raise ConfigError(
            "config key 'ami.secret': is empty, so queuepulse cannot log in to AMI. Set "
            "ami.secret_file (e.g. a systemd credential), ami.secret_env or ami.secret."
        )


@dataclass(frozen=True, slots=True)
class ExposedSecret:
    """A file holding a secret that users other than its owner may read."""

    key: str
    path: str
    mode: int

    @property
    def fix(self) -> str:
        """What to do about it."""
        return (f"chmod go-rwx {self.path} (or give {self.key} through a systemd credential: "
                "see docs/service.md)")

    def __str__(self) -> str:
        return (f"{self.path} holds {self.key} and others may read it (mode "
                f"{self.mode:04o}): {self.fix}")


def exposed_secrets(config: Config, path: Path | None) -> list[ExposedSecret]:
    """The files holding a secret of ``config`` (the configuration file itself at ``path``
    for a secret written inline) that its group or other users may read."""
    found: list[ExposedSecret] = []
    for key, secret in (("ami.secret", config.ami.secret), ("mqtt.password",
                                                            config.mqtt.password)):
        holder = secret.file or (str(path) if secret.inline and path is not None else "")
        if not holder:
            continue
        try:
            mode = os.stat(holder).st_mode & 0o7777
        except OSError:
            continue  # read a moment ago; gone now is not this check's business
        if mode & 0o044:
            found.append(ExposedSecret(key, holder, mode))
    return found
