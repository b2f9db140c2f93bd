"""Settings: one frozen value, read from a TOML file and ``DIDTRUST_*`` variables.

Precedence, lowest first: the defaults below, the TOML file named by
``--config`` or ``DIDTRUST_CONFIG`` (keys at the top level or under a
``[didtrust]`` table), then environment variables ``DIDTRUST_<FIELD>`` (upper
case). Settings are passed explicitly; nothing here is module-level state.

Every switch that weakens security has ``unsafe`` in its name and is logged as
a warning when set.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from didtrust.ratelimit import IPNetwork, parse_networks
from registry.database import DatabaseUrl
from resolver.errors import DidTrustError
from resolver.fetch import FetchPolicy

__all__ = ["Settings", "SettingsError"]

log = logging.getLogger(__name__)

ENV_PREFIX = "DIDTRUST_"


class SettingsError(DidTrustError):
    """A setting is malformed, unknown or out of range."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the server and CLI can be configured with."""

    # -- serving -----------------------------------------------------------
    host: str = "127.0.0.1"
    """Address to listen on (the Docker image sets 0.0.0.0)."""
    port: int = 8080
    """TCP port to listen on."""
    workers: int = 1
    """Worker processes sharing the port (SO_REUSEPORT)."""
    log_level: str = "INFO"
    """Python logging level name."""
    metrics: bool = True
    """Serve ``/metrics`` and count every request (and give it a request id)."""
    metrics_allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    """Networks (CIDR) of the clients that may read ``/metrics``; others get
    404. The client is the peer, or the address a trusted proxy forwards
    (``trusted_proxies``), so a public client behind a local proxy is refused.
    Empty: nobody."""
    access_log: bool = False
    """Log one JSON line per request (route, status, duration, request id).
    Off by default: at tens of thousands of requests per second it costs more
    than resolving a cached DID."""
    log_format: str = "json"
    """``json`` (one JSON object per line, with the request id) or ``text``."""
    cors: bool = True
    """Send ``Access-Control-Allow-Origin: *`` on resolver GET answers."""
    max_request_body: int = 64 * 1024
    """Largest request body accepted, in bytes."""
    max_request_line: int = 8190
    """Longest request line (method, target, version) accepted, in bytes."""
    max_header_size: int = 8190
    """Longest header field (name and value together) accepted, in bytes."""
    max_headers: int = 128
    """Most header fields accepted in one request."""
    max_connections: int = 1024
    """Client connections one worker holds at once; more are answered 503 with
    ``Retry-After`` and closed. Lowered, with a warning, to what the process's
    file-descriptor limit leaves room for."""
    keepalive_timeout: float = 15.0
    """Seconds an idle connection (one that has not sent a request yet, or sits
    between requests) is kept open."""
    shutdown_timeout: float = 10.0
    """Seconds requests in flight may take to finish once a worker is told to
    stop (SIGTERM, SIGINT); those still running then are cancelled. Queued
    registry statements are committed after that, whatever it takes."""

    # -- rate limiting (per client; each worker counts on its own) ---------
    rate_limit_writes: float = 5.0
    """Registry writes (POST/PUT/PATCH/DELETE under ``/registry/``) per second
    one client may sustain (0: no limit). Over it: 429 with ``Retry-After``."""
    rate_limit_writes_burst: int = 50
    """Registry writes one client may send at once before the sustained rate
    applies: an accreditor's batch of tens of statements goes through."""
    rate_limit_verify: float = 20.0
    """``POST /credentials/verify`` per second one client may sustain (0: no
    limit). A separate, larger budget: a verification is costly (proofs,
    canonicalization) and may fetch DID documents and status lists."""
    rate_limit_verify_burst: int = 100
    """Verifications one client may send at once."""
    rate_limit_resolve: float = 10.0
    """Uncached resolutions (``/1.0/identifiers/…`` answers not in the cache,
    which start an outbound fetch for did:web) per second one client may
    sustain (0: no limit); cached answers are never limited."""
    rate_limit_resolve_burst: int = 100
    """Uncached resolutions one client may start at once."""
    rate_limit_max_clients: int = 10_000
    """Clients tracked per budget and worker (LRU; bounds memory under a flood
    of addresses)."""
    trusted_proxies: tuple[str, ...] = ()
    """Networks (CIDR) of reverse proxies whose ``X-Forwarded-For`` names the
    client; from any other peer the header is ignored. IPv6 clients are
    counted by /64."""

    # -- resolution --------------------------------------------------------
    max_did_length: int = 4096
    """Longest DID or DID URL accepted."""
    resolve_timeout: float = 10.0
    """Seconds one driver may take for one resolution."""
    max_document_bytes: int = 1 << 20
    """Largest DID document a driver may return (compact JSON)."""
    cache_max_entries: int = 10_000
    """Resolved DIDs kept in each worker's LRU cache."""
    cache_max_bytes: int = 64 << 20
    """Memory each worker's resolution cache may hold, in bytes (the parsed
    document, its rendered bytes and metadata counted for each entry)."""
    cache_stale_if_error: float = 0.0
    """Seconds past expiry a cached did:web document may still be served, marked
    stale, when the upstream fails (0: never)."""
    drivers: tuple[str, ...] = ()
    """Entry points of the ``didtrust.drivers`` group to load (an allowlist)."""
    did_key_encryption_key_derivation: bool = False
    """did:key default for ``enableEncryptionKeyDerivation`` (ADR 0002)."""

    # -- outbound fetching (did:web) ---------------------------------------
    fetch_connect_timeout: float = 3.0
    """Seconds to establish a connection (DNS, TCP, TLS)."""
    fetch_total_timeout: float = 5.0
    """Seconds for a whole fetch: every hop, headers and body."""
    fetch_max_bytes: int = 256 * 1024
    """Largest response body read."""
    fetch_max_json_depth: int = 64
    """Deepest JSON nesting accepted in a fetched body."""
    fetch_max_redirects: int = 0
    """Same-origin redirects followed (0: none)."""
    fetch_ca_file: str | None = None
    """PEM bundle of trusted CAs (default: the system's)."""
    fetch_nameservers: tuple[str, ...] = ()
    """DNS servers as ``ip``, ``ip:port`` or ``[ipv6]:port`` (default: the
    system's resolv.conf)."""
    web_min_ttl: float = 60.0
    """Shortest time a did:web document is cached."""
    web_max_ttl: float = 3600.0
    """Longest time a did:web document is cached."""
    web_default_ttl: float = 300.0
    """How long a did:web document without Cache-Control is cached."""
    unsafe_fetch_allow_http_hosts: tuple[str, ...] = ()
    """Hosts that may be fetched over plain http. Unsafe: for tests only."""
    unsafe_fetch_allow_private_networks: tuple[str, ...] = ()
    """Networks (CIDR) outbound fetches may reach although they are not public,
    e.g. ``127.0.0.0/8``. Cloud metadata addresses stay refused. Unsafe."""

    # -- storage -----------------------------------------------------------
    data_dir: str = "./data"
    """Where the registry keeps its key file and, by default, its database."""
    database_url: str = ""
    """Where the registry's log is stored: ``sqlite:///PATH`` (a relative path;
    ``sqlite:////PATH`` for an absolute one) or ``memory:`` (kept in the
    process only). Empty: ``sqlite:///<data_dir>/registry.sqlite3``."""
    registry_max_batch: int = 256
    """Most statements committed under one checkpoint."""
    registry_max_skew: float = 300.0
    """Seconds a statement's ``iat`` may be ahead of the registry's clock."""
    registry_max_age: float = 86400.0
    """Seconds after its ``iat`` a statement may still be submitted."""
    registry_answer_ttl: float = 300.0
    """Seconds a signed registry answer may be relied on (its ``exp``)."""

    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """Settings for drivers loaded from entry points, by ``<driver>_<name>``."""

    def __post_init__(self) -> None:
        checks = [
            (1 <= self.port <= 65535, "port must be 1..65535"),
            (1 <= self.workers <= 64, "workers must be 1..64"),
            (64 <= self.max_did_length <= 8192, "max_did_length must be 64..8192"),
            (self.resolve_timeout > 0, "resolve_timeout must be positive"),
            (self.cache_max_entries >= 1, "cache_max_entries must be at least 1"),
            (self.fetch_connect_timeout > 0, "fetch_connect_timeout must be positive"),
            (self.fetch_total_timeout > 0, "fetch_total_timeout must be positive"),
            (self.fetch_max_bytes >= 1024, "fetch_max_bytes must be at least 1024"),
            (0 <= self.fetch_max_redirects <= 10, "fetch_max_redirects must be 0..10"),
            (
                0 <= self.web_min_ttl <= self.web_default_ttl <= self.web_max_ttl,
                "need 0 <= web_min_ttl <= web_default_ttl <= web_max_ttl",
            ),
            (
                self.log_level.upper() in logging.getLevelNamesMapping(),
                "unknown log_level",
            ),
            (
                1024 <= self.max_request_body <= 1 << 30,
                "max_request_body must be 1024..1073741824",
            ),
            (
                256 <= self.max_request_line <= 65536,
                "max_request_line must be 256..65536",
            ),
            (
                256 <= self.max_header_size <= 65536,
                "max_header_size must be 256..65536",
            ),
            (8 <= self.max_headers <= 1024, "max_headers must be 8..1024"),
            (
                16 <= self.max_connections <= 1_000_000,
                "max_connections must be 16..1000000",
            ),
            (
                0 < self.keepalive_timeout <= 3600,
                "keepalive_timeout must be more than 0 and at most 3600",
            ),
            (
                0 < self.shutdown_timeout <= 3600,
                "shutdown_timeout must be more than 0 and at most 3600",
            ),
            (
                0 <= self.rate_limit_writes <= 1e6,
                "rate_limit_writes must be 0..1000000",
            ),
            (
                1 <= self.rate_limit_writes_burst <= 1_000_000,
                "rate_limit_writes_burst must be 1..1000000",
            ),
            (
                0 <= self.rate_limit_verify <= 1e6,
                "rate_limit_verify must be 0..1000000",
            ),
            (
                1 <= self.rate_limit_verify_burst <= 1_000_000,
                "rate_limit_verify_burst must be 1..1000000",
            ),
            (
                0 <= self.rate_limit_resolve <= 1e6,
                "rate_limit_resolve must be 0..1000000",
            ),
            (
                1 <= self.rate_limit_resolve_burst <= 1_000_000,
                "rate_limit_resolve_burst must be 1..1000000",
            ),
            (
                1 << 20 <= self.cache_max_bytes <= 1 << 40,
                "cache_max_bytes must be 1048576..1099511627776",
            ),
            (
                1 <= self.rate_limit_max_clients <= 10_000_000,
                "rate_limit_max_clients must be 1..10000000",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise SettingsError(message)
        self.fetch_policy()  # every fetch setting is checked at load time
        self.trusted_proxy_networks()
        database = self.database()  # a bad URL is refused at load time
        if self.workers > 1 and not database.persistent:
            raise SettingsError(
                "database_url memory: keeps the log inside one process: use workers = 1"
            )

    @property
    def registry_key_file(self) -> Path:
        """The registry's key file."""
        return Path(self.data_dir) / "registry-key.json"

    def database(self) -> DatabaseUrl:
        """The registry's store, as ``database_url`` (or its default) names it.

        Raises:
            SettingsError: ``database_url`` is malformed or of an unknown scheme.
        """
        if not self.database_url:
            return DatabaseUrl.sqlite(Path(self.data_dir) / "registry.sqlite3")
        try:
            return DatabaseUrl.parse(self.database_url)
        except ValueError as exc:
            raise SettingsError(f"database_url: {exc}") from None

    def fetch_policy(self) -> FetchPolicy:
        """The outbound fetch policy these settings describe.

        Raises:
            SettingsError: a fetch setting is malformed.
        """
        try:
            networks = frozenset(
                ipaddress.ip_network(n, strict=False)
                for n in self.unsafe_fetch_allow_private_networks
            )
            return FetchPolicy(
                connect_timeout=self.fetch_connect_timeout,
                total_timeout=self.fetch_total_timeout,
                max_bytes=self.fetch_max_bytes,
                max_json_depth=self.fetch_max_json_depth,
                max_redirects=self.fetch_max_redirects,
                ca_file=self.fetch_ca_file,
                nameservers=tuple(_nameserver(n) for n in self.fetch_nameservers),
                unsafe_allow_http_hosts=frozenset(
                    h.lower() for h in self.unsafe_fetch_allow_http_hosts
                ),
                unsafe_allow_private_networks=networks,
            )
        except ValueError as exc:
            raise SettingsError(f"fetch settings: {exc}") from exc

    def trusted_proxy_networks(
        self,
    ) -> tuple[IPNetwork, ...]:
        """The networks of ``trusted_proxies`` (IPv4-mapped ones as IPv4).

        Raises:
            SettingsError: an entry is not an address or CIDR network.
        """
        try:
            return parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise SettingsError(f"trusted_proxies: {exc}") from exc

    def metrics_allow_networks(self) -> tuple[IPNetwork, ...]:
        """The networks of ``metrics_allow``.

        Raises:
            SettingsError: an entry is not an address or CIDR network.
        """
        try:
            return parse_networks(self.metrics_allow)
        except ValueError as exc:
            raise SettingsError(f"metrics_allow: {exc}") from exc

    # -- sources -----------------------------------------------------------

    @classmethod
    def load(
        cls,
        *,
        config: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Self:
        """Build settings from a TOML file, the environment and explicit overrides.

        Args:
            config: A TOML file; default ``$DIDTRUST_CONFIG`` if set.
            environ: The environment to read (default ``os.environ``).
            **overrides: Values that win over everything (CLI flags); ``None``
                values are ignored.

        Raises:
            SettingsError: a file is unreadable or a value malformed.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = config or env.get(ENV_PREFIX + "CONFIG")
        if path:
            values.update(cls._from_toml(Path(path)))
        values.update(cls._from_env(env))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls._build(values)

    @classmethod
    def _fields(cls) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        return {
            f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name != "extra"
        }

    @classmethod
    def _from_toml(cls, path: Path) -> dict[str, Any]:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"cannot read config {path}: {exc.strerror}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"config {path} is not valid TOML: {exc}") from exc
        table = data.get("didtrust", data)
        if not isinstance(table, dict):
            raise SettingsError(f"config {path}: [didtrust] must be a table")
        return dict(table)

    @classmethod
    def _from_env(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        fields = cls._fields()
        out: dict[str, Any] = {}
        for name, value in environ.items():
            if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
                continue
            key = name[len(ENV_PREFIX) :].lower()
            if key in fields:
                out[key] = value
        return out

    @classmethod
    def _build(cls, values: Mapping[str, Any]) -> Self:
        fields = cls._fields()
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, raw in values.items():
            if key not in fields:
                if key.startswith("driver_"):
                    extra[key] = raw
                    continue
                raise SettingsError(f"unknown setting {key!r}")
            kwargs[key] = _coerce(key, raw, fields[key])
        settings = cls(**kwargs, extra=extra)
        for name in fields:
            if name.startswith("unsafe_") and getattr(settings, name):
                log.warning("unsafe setting %s is on: for tests only", name)
        return settings


def _nameserver(text: str) -> tuple[str, int]:
    """Parse ``ip``, ``ip:port`` or ``[ipv6]:port``."""
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text)
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"nameserver port {port} is out of range")
    return host, port


def _coerce(key: str, raw: Any, hint: Any) -> Any:
    """Turn a TOML or environment value into the field's type."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if raw is None or raw == "":
            return None
        inner = next(a for a in args if a is not type(None))
        return _coerce(key, raw, inner)
    try:
        if hint is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if hint is int:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(raw)
        if hint is float:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return float(raw)
        if hint is str:
            if not isinstance(raw, str):
                raise ValueError(raw)
            return raw
        if origin is tuple:
            items = raw.split(",") if isinstance(raw, str) else raw
            if not isinstance(items, list | tuple):
                raise ValueError(raw)
            return tuple(str(i).strip() for i in items if str(i).strip())
    except ValueError:
        raise SettingsError(f"setting {key!r}: cannot use {raw!r}") from None
    raise SettingsError(f"setting {key!r}: unsupported type")  # pragma: no cover
