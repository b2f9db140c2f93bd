"""Settings from defaults, a TOML file, the environment and CLI overrides."""

from __future__ import annotations

import logging

import pytest

from didtrust.settings import Settings, SettingsError


def test_defaults_need_no_configuration():
    s = Settings.load(environ={})
    assert (s.host, s.port, s.workers) == ("127.0.0.1", 8080, 1)
    assert s.unsafe_fetch_allow_private_addresses is False


def test_environment_overrides_toml_and_cli_overrides_both(tmp_path):
    cfg = tmp_path / "didtrust.toml"
    cfg.write_text('[didtrust]\nport = 9000\nworkers = 3\ndrivers = ["a", "b"]\n')
    s = Settings.load(config=cfg, environ={"DIDTRUST_WORKERS": "2"}, port=None)
    assert (s.port, s.workers, s.drivers) == (9000, 2, ("a", "b"))
    s = Settings.load(config=cfg, environ={"DIDTRUST_PORT": "9100"}, port=9200)
    assert s.port == 9200


def test_config_file_named_by_environment(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("resolve_timeout = 2.5\n")
    s = Settings.load(environ={"DIDTRUST_CONFIG": str(cfg)})
    assert s.resolve_timeout == 2.5


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"DIDTRUST_PORT": "eighty"}, "port"),
        ({"DIDTRUST_PORT": "70000"}, "port must be"),
        ({"DIDTRUST_CORS": "sometimes"}, "cors"),
        ({"DIDTRUST_WORKERS": "0"}, "workers"),
        ({"DIDTRUST_LOG_LEVEL": "LOUD"}, "log_level"),
    ],
    ids=["not-a-number", "port-range", "not-a-bool", "zero-workers", "bad-level"],
)
def test_malformed_values_are_refused_with_the_setting_named(env, match):
    with pytest.raises(SettingsError, match=match):
        Settings.load(environ=env)


def test_unknown_key_in_toml_is_refused(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("prot = 1\n")
    with pytest.raises(SettingsError, match="unknown setting 'prot'"):
        Settings.load(config=cfg, environ={})


def test_unreadable_or_broken_toml_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="cannot read"):
        Settings.load(config=tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1")
    with pytest.raises(SettingsError, match="not valid TOML"):
        Settings.load(config=bad, environ={})


def test_unsafe_setting_logs_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        s = Settings.load(
            environ={"DIDTRUST_UNSAFE_FETCH_ALLOW_PRIVATE_ADDRESSES": "true"}
        )
    assert s.unsafe_fetch_allow_private_addresses is True
    assert "unsafe_fetch_allow_private_addresses" in caplog.text
