"""The layered config: defaults, YAML file, environment, CLI — and errors that say where."""

from pathlib import Path

import pytest

from hotline.config import ConfigError, load_config


def test_defaults_bind_sip_to_loopback_with_a_demo_queue_and_10s_target() -> None:
    config = load_config()
    assert config.sip.host == "127.0.0.1"
    assert config.sip.port == 5060
    assert set(config.sip.transports) == {"udp", "tcp"}
    assert config.database.url.startswith("sqlite")
    assert "general" in [q.name for q in config.acd.queues]
    assert all(q.service_level_seconds == 10 for q in config.acd.queues)  # SPEC-Q1


def test_file_then_environment_then_cli_each_override_the_previous(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text("sip:\n  port: 5070\n  realm: centre\nweb:\n  port: 9000\n")
    config = load_config(
        path,
        environ={"HOTLINE_SIP__PORT": "5080", "HOME": "/root"},
        overrides={"web.port": 9100},
    )
    assert config.sip.port == 5080
    assert config.sip.realm == "centre"
    assert config.web.port == 9100


def test_bad_value_in_file_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text("sip:\n  realm: centre\n  port: seventy\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path}:3" in message
    assert "sip.port" in message


def test_unknown_key_in_a_queue_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text(
        "acd:\n  queues:\n    - name: billing\n    - name: faults\n      ring_timout: 5\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path}:5" in message
    assert "acd.queues.1.ring_timout" in message


def test_agent_in_unknown_queue_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text(
        "acd:\n  queues:\n    - name: billing\n  agents:\n    - number: '1024'\n"
        "      queues: [faults]\n"
    )
    with pytest.raises(ConfigError, match="unknown queue"):
        load_config(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text("sip:\n  port: [5060\nweb: {}\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+: invalid YAML"):
        load_config(path)


def test_environment_error_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="HOTLINE_WEB__PORT"):
        load_config(environ={"HOTLINE_WEB__PORT": "not-a-port"})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.yaml")
