"""Settings from defaults, a TOML file, the environment and CLI overrides."""

from __future__ import annotations

import logging

import pytest

from didtrust.settings import Settings, SettingsError


def test_defaults_need_no_configuration():
    s = Settings.load(environ={})
    assert (s.host, s.port, s.workers) == ("127.0.0.1", 8080, 1)
    assert s.unsafe_fetch_allow_private_networks == ()


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
            environ={"DIDTRUST_UNSAFE_FETCH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8"}
        )
    assert s.unsafe_fetch_allow_private_networks == ("127.0.0.0/8",)
    assert "unsafe_fetch_allow_private_networks" in caplog.text


def test_fetch_settings_become_the_fetch_policy():
    s = Settings.load(
        environ={
            "DIDTRUST_FETCH_NAMESERVERS": "127.0.0.1:5353,[::1]:53,10.0.0.1",
            "DIDTRUST_UNSAFE_FETCH_ALLOW_HTTP_HOSTS": "Localhost",
            "DIDTRUST_FETCH_MAX_BYTES": "4096",
        }
    )
    policy = s.fetch_policy()
    assert policy.nameservers == (("127.0.0.1", 5353), ("::1", 53), ("10.0.0.1", 53))
    assert policy.unsafe_allow_http_hosts == frozenset({"localhost"})
    assert policy.max_bytes == 4096


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"DIDTRUST_FETCH_NAMESERVERS": "dns.example"}, "fetch settings"),
        (
            {"DIDTRUST_UNSAFE_FETCH_ALLOW_PRIVATE_NETWORKS": "10.0.0.0/33"},
            "fetch settings",
        ),
        (
            {"DIDTRUST_WEB_MIN_TTL": "900", "DIDTRUST_WEB_DEFAULT_TTL": "300"},
            "web_min_ttl",
        ),
    ],
    ids=["nameserver-not-an-ip", "bad-cidr", "ttl-order"],
)
def test_malformed_fetch_settings_are_refused(env, match):
    with pytest.raises(SettingsError, match=match):
        Settings.load(environ=env)


def test_limit_and_rate_settings_have_production_defaults():
    s = Settings.load(environ={})
    assert (s.max_request_body, s.max_request_line) == (65536, 8190)
    assert (s.max_header_size, s.max_headers) == (8190, 128)
    assert s.shutdown_timeout == 10.0
    assert (s.rate_limit_writes, s.rate_limit_writes_burst) == (5.0, 50)
    assert (s.rate_limit_verify, s.rate_limit_verify_burst) == (20.0, 100)
    assert s.rate_limit_max_clients == 10_000
    assert s.trusted_proxies == ()


def test_limit_and_rate_settings_come_from_the_environment():
    s = Settings.load(
        environ={
            "DIDTRUST_MAX_HEADER_SIZE": "4096",
            "DIDTRUST_MAX_HEADERS": "32",
            "DIDTRUST_SHUTDOWN_TIMEOUT": "2.5",
            "DIDTRUST_RATE_LIMIT_WRITES": "0",
            "DIDTRUST_RATE_LIMIT_WRITES_BURST": "5",
            "DIDTRUST_RATE_LIMIT_VERIFY": "0.5",
            "DIDTRUST_TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::/32,192.0.2.1",
        }
    )
    assert (s.max_header_size, s.max_headers, s.shutdown_timeout) == (4096, 32, 2.5)
    assert (s.rate_limit_writes, s.rate_limit_writes_burst) == (0.0, 5)
    assert s.rate_limit_verify == 0.5
    assert [str(n) for n in s.trusted_proxy_networks()] == [
        "10.0.0.0/8",
        "2001:db8::/32",
        "192.0.2.1/32",
    ]


def test_trusted_proxy_in_ipv4_mapped_form_reaches_the_app_as_ipv4():
    # The form a dual-stack listener logs; the rate limiter compares peers as
    # IPv4, so the setting must arrive as IPv4 too (not only in ratelimit).
    s = Settings.load(environ={"DIDTRUST_TRUSTED_PROXIES": "::ffff:10.0.0.0/104"})
    assert [str(n) for n in s.trusted_proxy_networks()] == ["10.0.0.0/8"]


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"DIDTRUST_MAX_REQUEST_BODY": "10"}, "max_request_body must be"),
        ({"DIDTRUST_MAX_REQUEST_LINE": "100000"}, "max_request_line must be"),
        ({"DIDTRUST_MAX_HEADER_SIZE": "0"}, "max_header_size must be"),
        ({"DIDTRUST_MAX_HEADERS": "100000"}, "max_headers must be"),
        ({"DIDTRUST_SHUTDOWN_TIMEOUT": "0"}, "shutdown_timeout must be"),
        ({"DIDTRUST_SHUTDOWN_TIMEOUT": "nan"}, "shutdown_timeout must be"),
        ({"DIDTRUST_RATE_LIMIT_WRITES": "-1"}, "rate_limit_writes must be"),
        ({"DIDTRUST_RATE_LIMIT_WRITES": "inf"}, "rate_limit_writes must be"),
        ({"DIDTRUST_RATE_LIMIT_WRITES_BURST": "0"}, "rate_limit_writes_burst"),
        ({"DIDTRUST_RATE_LIMIT_VERIFY": "nan"}, "rate_limit_verify must be"),
        ({"DIDTRUST_RATE_LIMIT_VERIFY_BURST": "0"}, "rate_limit_verify_burst"),
        ({"DIDTRUST_RATE_LIMIT_MAX_CLIENTS": "0"}, "rate_limit_max_clients"),
        ({"DIDTRUST_TRUSTED_PROXIES": "10.0.0.0/40"}, "trusted_proxies"),
        ({"DIDTRUST_TRUSTED_PROXIES": "proxy.internal"}, "trusted_proxies"),
    ],
    ids=[
        "tiny-body",
        "huge-request-line",
        "zero-header-size",
        "header-count-unbounded",
        "no-shutdown-grace",
        "nan-shutdown",
        "negative-rate",
        "infinite-rate",
        "zero-burst",
        "nan-verify-rate",
        "zero-verify-burst",
        "no-clients-tracked",
        "prefix-too-long",
        "proxy-by-name",
    ],
)
def test_out_of_range_limits_are_refused_with_the_setting_named(env, match):
    with pytest.raises(SettingsError, match=match):
        Settings.load(environ=env)
