"""``queuepulse run`` and ``check-config`` as an operator meets them: one clear line per problem."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from pathlib import Path

import pytest

from queuepulse.cli import main
from queuepulse.pbxsim.ami_server import AmiServer
from tests.live_pbx import daemon_config_toml
from tests.user_errors import one_line, run_cli

QUEUEPULSE = str(Path(sys.executable).parent / "queuepulse")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def queuepulse(*args: str, stop_after: float | None = None) -> tuple[int, str, str]:
    """Run the real command line; with ``stop_after``, send SIGTERM after that long."""
    process = await asyncio.create_subprocess_exec(
        QUEUEPULSE, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    if stop_after is not None:
        await asyncio.sleep(stop_after)
        process.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def test_a_wrong_password_is_named_with_the_fix_and_retried_not_fatal(tmp_path: Path) -> None:
    async def body() -> tuple[int, str, str]:
        async with AmiServer(secret="right", auth_failure_delay=0.0) as server:
            config = tmp_path / "q.toml"
            config.write_text(daemon_config_toml(server.port, tmp_path / "q.sqlite",
                                                 secret="Wr0ng-s3cret"), encoding="utf-8")
            return await queuepulse("run", "--config", str(config), stop_after=3.0)

    status, out, err = asyncio.run(body())
    assert status == 0 and err == ""
    refused = [e for e in map(json.loads, out.splitlines()) if e["event"] == "ami.login_refused"]
    # one line per ten minutes, however often it is retried meanwhile
    assert len(refused) == 1
    assert refused[0]["error"].startswith("AMI login refused for user queuepulse at 127.0.0.1:")
    assert "check ami.username / ami.secret and manager.conf" in refused[0]["error"]
    assert "Traceback" not in out + err and "Wr0ng-s3cret" not in out + err


def test_an_unreachable_pbx_is_named_with_the_fix_and_retried(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "q.toml"
    # no [log] format: off a terminal (journald, a pipe) the log is JSON lines
    config.write_text(daemon_config_toml(port, tmp_path / "q.sqlite"), encoding="utf-8")
    # long enough for three attempts even when the interpreter starts slowly
    status, out, err = asyncio.run(queuepulse("run", "--config", str(config), stop_after=4.0))
    assert status == 0, err
    assert err == ""
    logs = [json.loads(line) for line in out.splitlines()]
    attempts = [e for e in logs if e["event"] == "ami.unreachable"]
    assert len(attempts) >= 3
    assert [e["attempt"] for e in attempts[:3]] == [1, 2, 3]
    first = attempts[0]
    assert first["error"].startswith(f"cannot reach AMI at 127.0.0.1:{port} (Connection refused)")
    assert "Check ami.host and ami.port" in first["error"]
    assert all(0 <= e["retry_in_s"] <= 0.2 for e in attempts)
    assert logs[-1]["event"] == "daemon.stopped"


def test_an_empty_secret_stops_run_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "q.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "q.sqlite"}"\n', encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 2
    assert "'ami.secret': is empty" in capsys.readouterr().err


def test_check_config_says_ok_and_what_it_will_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "q.toml"
    config.write_text('[ami]\nhost = "10.0.0.5"\nsecret = "s3cret"\n', encoding="utf-8")
    assert main(["check-config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{config}: OK"
    assert "queuepulse@10.0.0.5:5038, secret set" in out
    assert "s3cret" not in out


def test_check_config_warns_of_a_secret_others_may_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "q.toml"
    secret = tmp_path / "ami_secret"
    config.write_text(f'[ami]\nsecret_file = "{secret}"\n[mqtt]\npassword = "p4ss"\n',
                      encoding="utf-8")
    secret.write_text("s3cret", encoding="utf-8")
    config.chmod(0o600)
    secret.chmod(0o640)
    assert main(["check-config", str(config)]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if "warning" in line]
    assert warnings == [f"  warning: {secret} holds ami.secret and others may read it (mode "
                        f"0640): chmod go-rwx {secret} (or give ami.secret through a systemd "
                        "credential: see docs/service.md)"]
    config.chmod(0o644)
    secret.chmod(0o600)
    main(["check-config", str(config)])
    assert [line for line in capsys.readouterr().out.splitlines() if "warning" in line] == [
        f"  warning: {config} holds mqtt.password and others may read it (mode 0644): chmod "
        f"go-rwx {config} (or give mqtt.password through a systemd credential: see "
        "docs/service.md)"]


def test_check_config_names_the_one_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "q.toml"
    config.write_text('[ami]\nprot = 5038\n', encoding="utf-8")
    assert main(["check-config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'ami.prot': is not a known setting" in err


def test_the_example_config_passes_check_config(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[1] / "config" / "queuepulse.toml"
    assert main(["check-config", str(example)]) == 0
    assert "secret NOT SET" in capsys.readouterr().out


def test_a_systemd_credential_is_explained_outside_the_service_and_skipped_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "q.toml"
    config.write_text('[ami]\nsecret_file = "/run/credentials/queuepulse.service/ami_secret"\n',
                      encoding="utf-8")
    status, err = run_cli(["check-config", str(config)], capsys)
    assert status == 2
    line = one_line(err)
    assert "cannot read /run/credentials/queuepulse.service/ami_secret" in line
    assert "exists only inside the systemd service that loads the credential" in line
    assert "'queuepulse check-config --no-secrets'" in line
    assert main(["check-config", "--no-secrets", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{config}: OK"
    assert ("secret from file /run/credentials/queuepulse.service/ami_secret "
            "(not read: --no-secrets)") in out
