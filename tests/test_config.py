"""The configuration file: every mistake is one message naming the key and the fix."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from collector.tracker import TrackerConfig
from kpi.settings import KpiSettings
from queuepulse.config import Config, ConfigError, load_config, parse_config
from queuepulse.kpi_settings import settings_from_config
from tests.user_errors import files, one_line, run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "queuepulse.toml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[ami]\nhots = "pbx"\n', "'ami.hots': is not a known setting. Did you mean 'host'?"),
        ('[kpi]\nservice_level_s = "20"\n', "'kpi.service_level_s': must be a whole number"),
        ('[pbx]\ntimezone = "Mars/Olympus"\n', "'pbx.timezone': unknown time zone"),
        ('[ami]\nport = 70000\n', "'ami.port': 70000 is not a TCP port"),
        ('[kpi]\nservice_level_variant = "best"\n', "is not one of answered, offered, sl2"),
        ('[ami]\nsecret_env = "QP_TEST_UNSET_VARIABLE"\n', "QP_TEST_UNSET_VARIABLE is not set"),
        ("[ami\n", "not valid TOML"),
        ('[queues.sales]\nwrapuptime = 6\n', "Did you mean 'wrapuptime_s'?"),
        ('[mqtt]\nkpi_interval_s = 0.01\n', "'mqtt.kpi_interval_s': must be at least 0.1"),
        ('[ami]\nsecret_fil = "/etc/x"\n', "'ami.secret_fil': is not a known setting. Did "
         "you mean 'secret_file'?"),
        ('[mqtt]\npassword_evn = "X"\n', "Did you mean 'password_env'?"),
        ('[ami]\npasswd = "x"\n', "Known keys: host, port, username, secret, secret_env, "
         "secret_file, tls"),
        ('[kpi]\nservice_level_target = 0.8\n',
         "'kpi.service_level_target': 0.8 is not a percentage from 1 to 100. Give the share"),
        ('[queues.sales]\nservice_level_target = 120\n',
         "'queues.sales.service_level_target': 120.0 is not a percentage from 1 to 100"),
        ('[mqtt]\nprefix = "site1/#"\n', "'mqtt.prefix': 'site1/#' cannot begin an MQTT topic"),
        ('[mqtt]\nprefix = "site1//queuepulse"\n', "cannot begin an MQTT topic. Use levels"),
        ('[mqtt]\nhomeassistant_prefix = ""\n',
         "'mqtt.homeassistant_prefix': '' cannot begin an MQTT topic"),
    ],
)
def test_a_bad_setting_is_named_with_its_fix(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert message in str(caught.value)


def test_secret_is_read_from_a_file_and_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "ami_secret"
    secret.write_text("s3cret\n", encoding="utf-8")
    config = parse_config(f'[ami]\nsecret_file = "{secret}"\n')
    assert config.ami.secret.value == "s3cret"
    assert "s3cret" not in repr(config)


def test_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QP_TEST_SECRET", "from-env")
    assert parse_config('[mqtt]\npassword_env = "QP_TEST_SECRET"\n').mqtt.password.value == (
        "from-env")


def test_queue_wrapuptime_reaches_the_tracker() -> None:
    config = parse_config('[queues.sales]\nwrapuptime_s = 6\nservice_level_s = 30\n')
    assert config.tracker_config().wrapuptime == {"sales": 6.0}
    assert config.service_level_s("sales") == 30
    assert config.service_level_s("support") == 20


def test_service_level_targets_are_percentages_of_each_queue_or_of_all() -> None:
    settings = settings_from_config(parse_config(
        "[queues.sales]\nservice_level_target = 90\n[kpi]\nservice_level_target = 70\n"))
    assert settings.target("sales") == pytest.approx(0.9)
    assert settings.target("support") == pytest.approx(0.7)
    assert settings.target(None) == pytest.approx(0.7)
    assert settings_from_config(parse_config("")).target(None) == pytest.approx(0.8)


def test_missing_file_says_where_the_example_is(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"copy config/queuepulse\.toml"):
        load_config(tmp_path / "absent.toml")


def test_the_example_config_file_is_valid_and_matches_the_defaults() -> None:
    assert load_config(EXAMPLE) == load_config(None)


def test_an_empty_file_gives_the_tracker_and_the_kpis_their_own_defaults() -> None:
    # [tracking] and [kpi] restate nothing: a default changed in the component is the
    # file's default too (and docs/configuration.md's, which test_docs compares)
    config = parse_config("")
    assert config == Config()
    assert config.tracker_config() == TrackerConfig()
    assert settings_from_config(config) == KpiSettings()


def test_a_byte_order_mark_at_the_start_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "queuepulse.toml"
    config.write_bytes(b"\xef\xbb\xbf" + b'[database]\npath = "calls.sqlite"\n')
    assert load_config(config).database.path == "calls.sqlite"


def test_a_file_that_is_not_utf8_is_one_line_that_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "queuepulse.toml"
    config.write_bytes('[database]\npath = "calls.sqlite"\n[agents]\n"PJSIP/201" = "Zoë"\n'
                       .encode("latin-1"))
    before = files(tmp_path)
    for command in ("check-config", "run --config"):
        status, err = run_cli([*command.split(), str(config)], capsys)
        assert status == 2
        line = one_line(err)
        assert f"config file {config} is not UTF-8 text (byte 0xeb on line 4)" in line
        assert "Save it as UTF-8" in line
    assert files(tmp_path) == before


def test_a_database_given_as_the_configuration_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "calls.sqlite"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE calls (call_id TEXT)")
    before = files(tmp_path)
    status, err = run_cli(["check-config", str(db)], capsys)
    assert status == 2
    line = one_line(err)
    assert f"config file {db} is a SQLite database, not a configuration" in line
    assert "Give the TOML configuration file here (a database goes to --db)" in line
    assert files(tmp_path) == before


def test_secrets_are_left_unread_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QP_TEST_UNSET_VARIABLE", raising=False)
    config = parse_config('[ami]\nsecret_env = "QP_TEST_UNSET_VARIABLE"\n'
                          '[mqtt]\npassword_file = "/nonexistent/mqtt_password"\n',
                          resolve_secrets=False)
    assert config.ami.secret.unread == "environment variable QP_TEST_UNSET_VARIABLE"
    assert config.mqtt.password.unread == "file /nonexistent/mqtt_password"
    assert config.ami.secret.value == config.mqtt.password.value == ""
