"""The one hardened outbound HTTP fetcher: documents that strangers' URLs name.

did:web documents and Bitstring Status Lists are fetched from URLs chosen by
whoever wrote the DID or the credential, so every fetch is treated as hostile
(server-side request forgery, DNS rebinding, slow or endless bodies). What
this module enforces:

- HTTPS only (RFC 9110 §4.2.2); plain ``http`` only for host names listed in
  ``FetchPolicy.unsafe_allow_http_hosts``. IP-literal hosts are always refused.
- Names are resolved with dnspython (A and AAAA) by ``VettingResolver``, an
  aiohttp resolver that vets *every* address before aiohttp may connect:
  loopback, RFC 1918, link-local, CGNAT (RFC 6598), ULA (RFC 4193), multicast,
  unspecified, documentation/benchmarking/reserved ranges, IPv4 embedded in
  IPv6 (mapped, compatible, NAT64 RFC 6052, 6to4 RFC 3056, Teredo) and cloud
  metadata addresses. If any address of a name is refused, the whole name is.
  aiohttp connects to exactly the addresses the resolver returned (TLS SNI and
  the certificate check still use the host name), so a DNS answer that changes
  between the check and the connection cannot redirect it.
  See docs/adr/0003-hardened-fetcher.md.
- No redirects unless ``max_redirects`` > 0, and then same-origin only, each hop
  checked again, at most ``max_redirects`` hops.
- A connect timeout (DNS + TCP + TLS) and a total timeout over all hops and the
  body; a streamed body cap; strict JSON (UTF-8, no duplicate keys, no NaN, a
  nesting limit checked before parsing); no content codings (a compressed body
  could expand past the cap), no cookies, no proxy from the environment.

Each fetch ends by calling ``Fetcher.observer``, if one is set, with its outcome
(``ok``, ``refused``, ``status``, ``body``, ``not_found``, ``cancelled`` or
``error``), the refusal reason (empty unless refused) and its duration in
seconds: the metrics hook. The observer never sees the URL.

This module does not know about DIDs, does not cache, and does not decide what a
404 means: non-200 answers raise ``FetchStatusError`` carrying the status.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

import aiohttp
import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from resolver import strictjson
from resolver.errors import FetchError, FetchRefusedError

__all__ = [
    "FetchBodyError",
    "FetchObserver",
    "FetchPolicy",
    "FetchStatusError",
    "FetchedJSON",
    "Fetcher",
    "HostNotFoundError",
    "IPAddress",
    "IPNetwork",
    "VettedConnector",
    "VettingResolver",
    "address_refusal",
    "is_ip_literal",
    "parse_cache_control",
    "parse_json",
]

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
"""An IPv4 or IPv6 address."""
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
"""An IPv4 or IPv6 network."""

DEFAULT_MAX_BYTES: Final = 256 * 1024
"""Default cap on a response body: a DID document is a few KiB."""
MAX_JSON_DEPTH_CEILING: Final = 200
"""``max_json_depth`` may not exceed this: ``json.loads`` recurses per level."""
MAX_REDIRECTS_CEILING: Final = 10
"""``max_redirects`` may not exceed this."""
USER_AGENT: Final = "didtrust"
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_KEPT_HEADERS: Final = (
    "age",
    "cache-control",
    "content-type",
    "date",
    "etag",
    "expires",
    "last-modified",
)


# --- errors -----------------------------------------------------------------


class FetchStatusError(FetchError):
    """The server answered with a status other than 200 (and not a followed redirect).

    Attributes:
        status: The HTTP status code.
        url: The URL that answered.
        headers: The kept response headers (lowercase names), e.g. cache-control.
        retrieved: When the response headers arrived (UTC).
    """

    def __init__(
        self, status: int, url: str, headers: Mapping[str, str], retrieved: datetime
    ) -> None:
        super().__init__(f"http {status} from {url}")
        self.status = status
        self.url = url
        self.headers = headers
        self.retrieved = retrieved


class FetchBodyError(FetchError):
    """The body is not acceptable JSON: bad syntax, too deep, wrong media type."""


class HostNotFoundError(FetchError):
    """The host name does not exist in DNS (NXDOMAIN) or has no A/AAAA record."""


def _refused(detail: str, reason: str, url: str | URL) -> FetchRefusedError:
    """Log a refusal and return the error to raise."""
    logger.info("fetch refused (%s): %s; url=%s", reason, detail, url)
    return FetchRefusedError(detail, reason=reason)


# --- policy -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What the fetcher may do. Values only; the composition root builds one.

    The two ``unsafe_`` settings weaken the SSRF defences and log a warning when
    a ``Fetcher`` is built with them; tests use them to reach loopback servers.
    """

    connect_timeout: float = 3.0
    """Seconds for DNS lookup, TCP connect and TLS handshake of one connection."""
    total_timeout: float = 10.0
    """Seconds for the whole fetch: every hop, headers and body."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest body accepted, counted as it streams in."""
    max_json_depth: int = 64
    """Deepest nesting of arrays/objects accepted in a JSON body."""
    max_redirects: int = 0
    """Same-origin redirects followed; 0 refuses every redirect."""
    ca_file: str | None = None
    """PEM file of trusted CA certificates; ``None`` uses the system store."""
    nameservers: tuple[tuple[str, int], ...] = ()
    """DNS servers as ``(ip, port)``; empty uses the system's resolv.conf."""
    unsafe_allow_http_hosts: frozenset[str] = frozenset()
    """Host names that may be fetched over plain http (lowercase). Unsafe."""
    unsafe_allow_private_networks: frozenset[IPNetwork] = field(
        default_factory=frozenset
    )
    """Networks whose addresses are allowed even though they are not public
    (e.g. ``127.0.0.0/8`` in tests). Cloud metadata addresses stay refused. Unsafe."""

    def __post_init__(self) -> None:
        """Check the values.

        Raises:
            ValueError: a value is out of range or malformed.
        """
        if not self.connect_timeout > 0 or not self.total_timeout > 0:
            raise ValueError("timeouts must be positive")
        if self.max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, not {self.max_bytes}")
        if not 1 <= self.max_json_depth <= MAX_JSON_DEPTH_CEILING:
            raise ValueError(f"max_json_depth must be 1..{MAX_JSON_DEPTH_CEILING}")
        if not 0 <= self.max_redirects <= MAX_REDIRECTS_CEILING:
            raise ValueError(f"max_redirects must be 0..{MAX_REDIRECTS_CEILING}")
        for ip, port in self.nameservers:
            ipaddress.ip_address(ip)  # raises ValueError for a name or garbage
            if not 0 < port < 65536:
                raise ValueError(f"nameserver port {port} out of range")
        # Host names compare case-insensitively; store them lowercase.
        object.__setattr__(
            self,
            "unsafe_allow_http_hosts",
            frozenset(h.lower().rstrip(".") for h in self.unsafe_allow_http_hosts),
        )


# --- address vetting (pure) -------------------------------------------------


def _nets(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), label) for net, label in pairs)


# Always refused, even inside unsafe_allow_private_networks: instance metadata
# services hand out cloud credentials to whoever asks from inside the VM.
_METADATA: Final = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, …
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IPv6 metadata
        "fd00:ec2::23",  # AWS EKS pod identity, IPv6
    )
)

# IANA IPv4/IPv6 Special-Purpose Address Registries, spelled out: Python's
# ``is_global`` misses some (e.g. ::/96, 3fff::/20) depending on its version.
_V4_REFUSED: Final = _nets(
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private (rfc 1918)"),
    ("100.64.0.0/10", "shared cgnat (rfc 6598)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private (rfc 1918)"),
    ("192.0.0.0/24", "ietf protocol assignment"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private (rfc 1918)"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes the 255.255.255.255 broadcast
)
_V6_REFUSED: Final = _nets(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use nat64"),
    ("100::/64", "discard-only"),
    ("2001::/32", "teredo"),
    ("2001::/23", "ietf protocol assignment"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing"),
    ("fc00::/7", "unique local (ula)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_V6_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_V6_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT, RFC 2765
_V6_COMPATIBLE = ipaddress.ip_network("::/96")
_V6_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V6_6TO4 = ipaddress.ip_network("2002::/16")


def _embedded_v4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """Return the kind of embedding and the IPv4 address an IPv6 address carries."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _V6_MAPPED:
        return "ipv4-mapped", low32
    if ip in _V6_TRANSLATED:
        return "ipv4-translated", low32
    if ip in _V6_NAT64:
        return "nat64", low32
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip in _V6_COMPATIBLE and int(ip) > 1:
        return "ipv4-compatible", low32
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """Name the class of non-public addresses ``ip`` is in, or ``None`` if it is public.

    Pure: no allowlist is consulted here (see ``VettingResolver.refusal``).

    Returns:
        A short lowercase label, e.g. ``"loopback"``, ``"cloud metadata"`` or
        ``"nat64 of 10.0.0.1, private (rfc 1918)"``; ``None`` for a public address.
    """
    if ip in _METADATA:
        return "cloud metadata"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "scoped"
        embedded = _embedded_v4(ip)
        if embedded is not None:
            kind, v4 = embedded
            if kind == "ipv4-compatible":
                # Deprecated (RFC 4291 §2.5.5.1) and routed by no one.
                return f"deprecated ipv4-compatible of {v4}"
            inner = address_refusal(v4)
            # A public embedded IPv4 address decides; Python's is_global
            # disagrees across versions on mapped and 6to4 addresses.
            return None if inner is None else f"{kind} of {v4}, {inner}"
        table: tuple[tuple[IPNetwork, str], ...] = _V6_REFUSED
    else:
        table = _V4_REFUSED
    for net, label in table:
        if ip in net:
            return label
    if not ip.is_global:
        return "not globally routable"
    return None


def _allowed_by(ip: IPAddress, networks: frozenset[IPNetwork]) -> bool:
    """True when ``ip`` (or the IPv4 address it embeds) is in one of ``networks``."""
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_v4(ip)
        if embedded is not None:
            candidates.append(embedded[1])
    return any(
        c in net for c in candidates for net in networks if c.version == net.version
    )


# --- DNS + vetting, as an aiohttp resolver ----------------------------------


class VettingResolver(AbstractResolver):
    """An aiohttp resolver that looks names up with dnspython and vets every address.

    aiohttp calls ``resolve`` for each new connection (the connector's DNS cache
    is off) and connects to exactly the addresses returned, so the check and the
    connection see the same answer. If any address of a name is refused, the
    lookup fails with ``FetchRefusedError(reason="private-address")``: a name
    that mixes public and private answers is an attack or a misconfiguration.
    """

    def __init__(self, policy: FetchPolicy) -> None:
        self._allowed = policy.unsafe_allow_private_networks
        configure = not policy.nameservers
        self._dns = dns.asyncresolver.Resolver(configure=configure)
        if policy.nameservers:
            self._dns.nameservers = [
                dns.nameserver.Do53Nameserver(ip, port)
                for ip, port in policy.nameservers
            ]
        self._dns.lifetime = policy.connect_timeout
        self._dns.timeout = policy.connect_timeout
        self._dns.cache = None  # each connection asks again; no answer outlives a check

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Look ``host`` up and return its addresses, all vetted.

        Raises:
            FetchRefusedError: an address is not public (reason
                ``"private-address"``) or the host is an IP literal
                (``"ip-literal"``; aiohttp never passes one, but be sure).
            HostNotFoundError: NXDOMAIN, or no A/AAAA records.
            FetchError: the lookup failed or timed out.
        """
        name = host.rstrip(".")
        if is_ip_literal(name):
            raise _refused(f"{name} is an ip literal", "ip-literal", host)
        if not is_dns_name(name.lower()):
            raise _refused("host is not a dns name", "url", host)
        want: list[str] = []
        if family in (socket.AF_UNSPEC, socket.AF_INET):
            want.append("A")
        if family in (socket.AF_UNSPEC, socket.AF_INET6):
            want.append("AAAA")
        results = await asyncio.gather(
            *(self._lookup(name, rdtype) for rdtype in want), return_exceptions=True
        )
        # One family failing (a server that drops AAAA queries) is not fatal:
        # only addresses that were looked up and vetted are ever returned.
        addresses = [a for r in results if isinstance(r, list) for a in r]
        if not addresses:
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                raise errors[0]
            raise HostNotFoundError(f"{name} has no a or aaaa record")
        for ip in addresses:
            why = self.refusal(ip)
            if why is not None:
                detail = f"{name} resolves to {ip} ({why})"
                raise _refused(detail, "private-address", host)
        return [
            {
                "hostname": host,
                "host": str(ip),
                "port": port,
                "family": socket.AF_INET if ip.version == 4 else socket.AF_INET6,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
            for ip in addresses
        ]

    def refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` is refused under this resolver's policy, or ``None``."""
        why = address_refusal(ip)
        if why is None or ip in _METADATA or not _allowed_by(ip, self._allowed):
            return why
        return None

    async def _lookup(self, name: str, rdtype: str) -> list[IPAddress]:
        try:
            answer = await self._dns.resolve(
                name, rdtype, search=False, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            raise HostNotFoundError(f"{name} does not exist (nxdomain)") from None
        except dns.exception.Timeout as e:
            raise FetchError(
                f"dns lookup of {name} timed out after {self._dns.lifetime:g} s"
            ) from e
        except dns.exception.DNSException as e:
            raise FetchError(f"dns lookup of {name} failed: {e}") from e
        if answer.rrset is None:
            return []
        return [ipaddress.ip_address(rr.address) for rr in answer.rrset]

    async def close(self) -> None:
        """Nothing to release: dnspython opens a socket per query."""


class VettedConnector(aiohttp.TCPConnector):
    """A TCP connector that resolves via ``VettingResolver``, with no DNS cache."""

    def __init__(self, policy: FetchPolicy) -> None:
        ctx = ssl.create_default_context(cafile=policy.ca_file)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        super().__init__(
            resolver=VettingResolver(policy),
            use_dns_cache=False,  # vet every new connection
            ssl=ctx,
        )
        self.policy = policy


# --- JSON (pure) ------------------------------------------------------------


def parse_json(raw: bytes, *, max_depth: int) -> Any:
    """Parse a JSON text strictly (RFC 8259): UTF-8, no duplicate keys, no NaN.

    The nesting depth is measured before parsing, so a deeply nested body
    cannot exhaust the interpreter's stack.

    Raises:
        FetchBodyError: the bytes are not such a JSON text, or nest deeper
            than ``max_depth``.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FetchBodyError(f"body is not utf-8 (byte {e.start})") from None
    if strictjson.nests_deeper_than(text, max_depth):
        raise FetchBodyError(f"json nests deeper than {max_depth} levels")
    try:
        return strictjson.loads(text)
    except strictjson.DuplicateMemberError as e:
        raise FetchBodyError(f"duplicate key {e.name!r} in json object") from None
    except ValueError as e:  # JSONDecodeError, or an integer over the digit limit
        raise FetchBodyError(f"body is not json: {e}") from None


# Untyped uploads to static hosting (object stores, bare web servers) come back
# with these; the body is still parsed as strict JSON. Any other type (text/html
# from a captive portal or a catch-all page) is refused with a clear error.
_UNTYPED_MEDIA: Final = frozenset(
    {"application/octet-stream", "binary/octet-stream", "text/plain"}
)


# VC Data Model 2.0 names JSON-LD credentials (status lists among them)
# application/vc: a JSON body without the +json suffix.
_JSON_MEDIA: Final = frozenset({"application/json", "application/vc"})


def _is_json_media_type(value: str) -> bool:
    media = value.split(";", 1)[0].strip().lower()
    return (
        media in _JSON_MEDIA
        or (media.startswith("application/") and media.endswith("+json"))
        or media in _UNTYPED_MEDIA
    )


# --- Cache-Control (pure) ---------------------------------------------------


def parse_cache_control(value: str | None) -> float | None:
    """How long a shared cache may reuse a response, from its Cache-Control.

    RFC 9111 §5.2.2: ``no-store``, ``no-cache`` and ``private`` (we are a shared
    cache) forbid reuse without revalidation, which this resolver does not do,
    so they give 0. Otherwise ``s-maxage`` wins over ``max-age``. A malformed
    or repeated freshness directive makes the response stale (§4.2.1): 0.

    Returns:
        Seconds (0 means do not reuse), or ``None`` when the header gives no
        freshness information.
    """
    if not value:
        return None
    seen: dict[str, list[str | None]] = {}
    for part in value.split(","):
        name, eq, arg = part.partition("=")
        name = name.strip().lower()
        if name:
            seen.setdefault(name, []).append(arg.strip().strip('"') if eq else None)
    if any(d in seen for d in ("no-store", "no-cache", "private")):
        return 0.0
    for directive in ("s-maxage", "max-age"):
        if directive in seen:
            args = seen[directive]
            seconds = args[0]
            if len(args) > 1 or seconds is None or not seconds.isdigit():
                return 0.0
            # RFC 9111 §1.2.2: a delta-seconds too large to hold is 2**31.
            return float(min(int(seconds[:11]), 2**31))
    return None


# --- the fetcher ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchedJSON:
    """A JSON resource fetched over HTTP(S)."""

    url: str
    """The URL that answered (after any followed redirect)."""
    status: int
    """The HTTP status (always 200 today)."""
    data: Any
    """The parsed JSON value."""
    headers: Mapping[str, str]
    """Kept response headers by lowercase name: age, cache-control,
    content-type, date, etag, expires, last-modified (those present)."""
    retrieved: datetime
    """When the response headers arrived (UTC)."""


def is_ip_literal(host: str) -> bool:
    """True for an IP address, or a host a URL parser would read as one.

    WHATWG URL's "ends in a number" rule: ``2130706433``, ``127.1`` and
    ``0x7f.1`` are IPv4 addresses to browsers and to ``getaddrinfo``.
    """
    host = host.strip("[]").rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    last = host.rsplit(".", 1)[-1].lower()
    return last.isdigit() or bool(re.fullmatch(r"0x[0-9a-f]*", last))


_DNS_LABEL_RE: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def is_dns_name(host: str) -> bool:
    """True for a host that is a DNS name (RFC 1123 labels, ``_`` tolerated).

    Anything else — ``[v1.a:b]`` (an RFC 3986 IPvFuture literal), a zone id, a
    percent sign, non-ASCII (IDNs arrive as ``xn--`` A-labels) — is neither a
    name the vetting resolver can look up nor an address it can vet; aiohttp
    would treat a host with ``:`` as an IP literal and hand it to the system
    resolver, past the vetting. A trailing dot is allowed.
    """
    name = host[:-1] if host.endswith(".") else host
    if not 0 < len(name) <= 253:
        return False
    return all(_DNS_LABEL_RE.fullmatch(label) for label in name.split("."))


def _origin(url: URL) -> tuple[str, str, int | None]:
    return (url.scheme, (url.raw_host or "").lower().rstrip("."), url.port)


FetchObserver = Callable[[str, str, float], None]
"""Called after each fetch with (outcome, refusal reason or "", seconds)."""


def _outcome(error: BaseException | None) -> tuple[str, str]:
    """The observer's (outcome, reason) for a fetch that raised ``error``."""
    if error is None:
        return "ok", ""
    if isinstance(error, FetchRefusedError):
        return "refused", error.reason
    if isinstance(error, FetchStatusError):
        return "status", ""
    if isinstance(error, FetchBodyError):
        return "body", ""
    if isinstance(error, HostNotFoundError):
        return "not_found", ""
    if isinstance(error, asyncio.CancelledError):
        return "cancelled", ""
    return "error", ""


class Fetcher:
    """Fetches JSON from URLs that strangers choose, under a ``FetchPolicy``.

    Build it with ``async with Fetcher.open(policy) as fetcher:`` (put that in
    an aiohttp ``cleanup_ctx``). The fetcher needs its own ``ClientSession``:
    the address pinning lives in the session's connector. ``Fetcher(session,
    policy=...)`` accepts only a session made by ``Fetcher.new_session(policy)``.
    """

    def __init__(self, session: aiohttp.ClientSession, *, policy: FetchPolicy) -> None:
        """Wrap ``session``; logs a warning for each unsafe setting.

        Raises:
            ValueError: ``session`` was not made by ``new_session(policy)``.
        """
        connector = session.connector
        if not (
            isinstance(connector, VettedConnector)
            and connector.policy is policy
            and not session.trust_env
            and not session.auto_decompress
        ):
            raise ValueError("session must come from Fetcher.new_session(policy)")
        self._session = session
        self._policy = policy
        self.observer: FetchObserver | None = None
        """Told each fetch's outcome and duration (see the module docstring)."""
        if policy.unsafe_allow_http_hosts:
            logger.warning(
                "unsafe: plain http allowed for %s",
                ", ".join(sorted(policy.unsafe_allow_http_hosts)),
            )
        if policy.unsafe_allow_private_networks:
            logger.warning(
                "unsafe: non-public addresses allowed in %s",
                ", ".join(sorted(str(n) for n in policy.unsafe_allow_private_networks)),
            )

    @property
    def policy(self) -> FetchPolicy:
        """The policy this fetcher enforces."""
        return self._policy

    @staticmethod
    def new_session(policy: FetchPolicy) -> aiohttp.ClientSession:
        """Make the ``ClientSession`` a ``Fetcher`` needs. Call inside a running loop.

        No proxy or netrc from the environment (a proxy would resolve names
        itself, unvetted), no cookies, no transparent decompression.
        """
        return aiohttp.ClientSession(
            connector=VettedConnector(policy),
            trust_env=False,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(
                total=None,  # enforced over all hops in get_json
                connect=policy.connect_timeout,
                sock_connect=policy.connect_timeout,
            ),
            headers={"User-Agent": USER_AGENT},
        )

    @classmethod
    @asynccontextmanager
    async def open(cls, policy: FetchPolicy) -> AsyncIterator[Fetcher]:
        """Yield a fetcher with its own session; close the session on exit."""
        async with cls.new_session(policy) as session:
            yield cls(session, policy=policy)

    async def get_json(
        self, url: str, *, accept: str = "application/json"
    ) -> FetchedJSON:
        """GET ``url`` and parse its body as JSON, under the policy.

        Raises:
            FetchRefusedError: refused by policy before the request was sent;
                ``reason`` is ``"url"``, ``"scheme"``, ``"ip-literal"``,
                ``"private-address"``, ``"redirect"`` or ``"redirect-limit"``.
            FetchStatusError: the final answer's status is not 200.
            FetchBodyError: the body is not acceptable JSON.
            HostNotFoundError: the host name does not exist.
            FetchError: timeout, TLS or connection failure, body over the cap.
        """
        observer = self.observer
        if observer is None:
            return await self._get_json_within_limits(url, accept)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await self._get_json_within_limits(url, accept)
        except BaseException as e:
            error = e
            raise
        finally:
            outcome, reason = _outcome(error)
            try:
                observer(outcome, reason, time.perf_counter() - started)
            except Exception:
                logger.exception("fetch observer failed")

    async def _get_json_within_limits(self, url: str, accept: str) -> FetchedJSON:
        policy = self._policy
        try:
            async with asyncio.timeout(policy.total_timeout):
                return await self._get_json(url, accept)
        except aiohttp.ServerTimeoutError as e:
            raise FetchError(
                f"connecting for {url} timed out after {policy.connect_timeout:g} s"
            ) from e
        except TimeoutError as e:
            raise FetchError(
                f"fetching {url} timed out after {policy.total_timeout:g} s"
            ) from e
        except aiohttp.ClientSSLError as e:
            raise FetchError(f"tls failed for {url}: {_os_error_text(e)}") from e
        except aiohttp.ClientConnectorError as e:
            raise FetchError(f"cannot connect for {url}: {_os_error_text(e)}") from e
        except aiohttp.ClientError as e:
            raise FetchError(f"fetching {url} failed: {type(e).__name__}: {e}") from e

    async def _get_json(self, url: str, accept: str) -> FetchedJSON:
        policy = self._policy
        try:
            current = URL(url)
        except (TypeError, ValueError) as e:
            raise _refused(f"malformed url: {e}", "url", url) from None
        first_origin = _origin(current)
        hops = 0
        while True:
            self._check_url(current)
            async with self._session.get(
                current,
                headers={"Accept": accept, "Accept-Encoding": "identity"},
                allow_redirects=False,
            ) as resp:
                retrieved = datetime.now(UTC)
                if resp.status in _REDIRECT_STATUSES and "Location" in resp.headers:
                    current = self._redirect_target(
                        current, resp.headers["Location"], first_origin
                    )
                    hops += 1
                    if hops > policy.max_redirects:
                        raise _refused(
                            f"more than {policy.max_redirects} redirects",
                            "redirect-limit",
                            url,
                        )
                    continue
                headers = MappingProxyType(
                    {h: resp.headers[h] for h in _KEPT_HEADERS if h in resp.headers}
                )
                if resp.status != 200:
                    raise FetchStatusError(
                        resp.status, str(current), headers, retrieved
                    )
                raw = await self._read_body(resp, current)
            return FetchedJSON(
                url=str(current),
                status=resp.status,
                data=parse_json(raw, max_depth=policy.max_json_depth),
                headers=headers,
                retrieved=retrieved,
            )

    def _check_url(self, url: URL) -> None:
        """Refuse a URL the policy does not allow, before any connection.

        Raises:
            FetchRefusedError: see ``get_json``.
        """
        if not url.is_absolute() or not url.raw_host:
            raise _refused("url has no host", "url", url)
        if url.user is not None or url.password is not None:
            raise _refused("url carries credentials", "url", url)
        host = url.raw_host.lower().rstrip(".")
        if is_ip_literal(host):
            raise _refused(f"{host} is an ip literal", "ip-literal", url)
        if not is_dns_name(host):
            raise _refused("host is not a dns name", "url", url)
        if url.scheme == "https":
            return
        if url.scheme == "http" and host in self._policy.unsafe_allow_http_hosts:
            return
        raise _refused(f"scheme {url.scheme!r} not allowed, only https", "scheme", url)

    def _redirect_target(
        self, current: URL, location: str, first_origin: tuple[str, str, int | None]
    ) -> URL:
        """Return where a redirect points, if the policy allows following it.

        Raises:
            FetchRefusedError: redirects are off, or the target is malformed or
                on another origin (reason ``"redirect"``).
        """
        if self._policy.max_redirects == 0:
            raise _refused(f"redirect to {location} not followed", "redirect", current)
        try:
            target = current.join(URL(location))
        except (TypeError, ValueError):
            raise _refused(
                f"malformed redirect {location!r}", "redirect", current
            ) from None
        if _origin(target) != first_origin:
            raise _refused(f"cross-origin redirect to {target}", "redirect", current)
        return target

    async def _read_body(self, resp: aiohttp.ClientResponse, url: URL) -> bytes:
        """Read the body as it streams, up to ``max_bytes``.

        Raises:
            FetchBodyError: a content coding or a non-JSON media type.
            FetchError: the body is over the cap.
        """
        cap = self._policy.max_bytes
        coding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if coding not in ("", "identity"):
            raise FetchBodyError(f"content-encoding {coding!r} not accepted from {url}")
        ctype = resp.headers.get("Content-Type")
        if ctype is not None and not _is_json_media_type(ctype):
            raise FetchBodyError(f"content-type {ctype!r} from {url} is not json")
        if resp.content_length is not None and resp.content_length > cap:
            raise FetchError(f"body of {resp.content_length} bytes over the {cap} cap")
        body = bytearray()
        async for chunk in resp.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > cap:
                raise FetchError(f"body over the {cap} bytes cap from {url}")
        return bytes(body)


def _os_error_text(e: aiohttp.ClientConnectorError) -> str:
    err = e.os_error
    # ssl.SSLCertVerificationError says "hostname mismatch, …" in verify_message.
    text = getattr(err, "verify_message", None) or err.strerror or str(err)
    return str(text or type(err).__name__)
