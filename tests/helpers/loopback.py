"""Fetch settings for the loopback test servers: the test CA, the test DNS, loopback.

The project refuses loopback addresses unless an explicitly unsafe setting
allows them; every test that fetches from a ``serve_app`` server behind a
``serve_dns`` server allows 127.0.0.0/8 and nothing else, here.
``loopback_policy`` is that as a ``FetchPolicy`` (for a Fetcher built in the
test), ``loopback_settings`` as ``Settings`` (for an app built with
``create_app``). Both use short timeouts, so a failing test fails fast.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path
from typing import Any

from didtrust.settings import Settings
from resolver.fetch import FetchPolicy
from tests.helpers.dns_server import DNSServer
from tests.helpers.https_server import TestPKI

LOOPBACK = frozenset({ipaddress.ip_network("127.0.0.0/8")})
"""The only private network the tests allow."""


def loopback_policy(dns: DNSServer, pki: TestPKI, **overrides: Any) -> FetchPolicy:
    """A policy for the loopback test servers: test CA, test DNS, loopback allowed."""
    base = FetchPolicy(
        ca_file=pki.ca_file,
        nameservers=(dns.address,),
        connect_timeout=1.0,
        total_timeout=2.0,
        unsafe_allow_private_networks=LOOPBACK,
    )
    return dataclasses.replace(base, **overrides)


def loopback_settings(
    dns: DNSServer, pki: TestPKI, tmp_path: Path, **overrides: Any
) -> Settings:
    """App settings with the same fetch policy, and a data directory in ``tmp_path``."""
    values: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "fetch_ca_file": pki.ca_file,
        "fetch_nameservers": (f"{dns.address[0]}:{dns.address[1]}",),
        "unsafe_fetch_allow_private_networks": ("127.0.0.0/8",),
        "fetch_total_timeout": 2.0,
        "fetch_connect_timeout": 1.0,
        **overrides,
    }
    return Settings(**values)
