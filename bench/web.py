"""did:web benchmark: cached resolution vs did:key, and cold fetches vs a bare GET.

Starts real processes on loopback: ``bench.did_origin`` (a DNS server and an
HTTPS server with a trustme certificate, serving ``/u<i>/did.json`` for
``did:web:uni.test%3A<port>:u<i>`` with ``Cache-Control: max-age=3600``) and
``python -m didtrust serve`` with this interpreter, told to trust the test CA
(``DIDTRUST_FETCH_CA_FILE``), to ask the loopback DNS server
(``DIDTRUST_FETCH_NAMESERVERS``) and to allow loopback addresses
(``DIDTRUST_UNSAFE_FETCH_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8``). Then, in one
run and on one server, it prints:

- **cached throughput** (issue 3: target did:web >= 0.9 x did:key): one pass
  fetches each of ``--pool`` did:web DIDs and resolves each of ``--pool``
  did:key DIDs (unmeasured), then the load generator asks for random DIDs of
  one pool, then the other, for ``--duration`` seconds each, in ``--rounds``
  rounds: requests/s, p50/p99, the server's CPU time per request (from
  ``/proc``) and the did:web / did:key ratios over all rounds. The
  origin's counter shows whether any did:web request of the cached run reached
  it (it should not);
- **cold-fetch latency** (target <= 1.5 x): ``--cold`` never-seen did:web DIDs
  resolved one after another over one connection, each paired with a bare
  aiohttp ``ClientSession`` GET of the same ``did.json`` URL from this process
  (same CA, names resolved by the same DNS server, a kept-alive connection as
  the fetcher keeps), alternating which goes first: p50/p99 of both and the
  ratio of the p50s. didtrust's figure includes its own HTTP hop (client to
  didtrust), the fetch, and checking and rendering the document; as many
  cached did:web resolutions over the same connection measure that hop alone.

The load generator for the cached runs is wrk when it is on PATH, else an
aiohttp client in this process (see ``bench/harness.py``). This is a script,
not a test: it asserts nothing about timing. It only listens on and connects
to 127.0.0.1, bounds every loop by count and time, and always stops the
processes it started (their whole process group).

Usage: ``python -m bench.web [--duration S] [--pool N] [--cold N] ...``;
``--help`` lists the options. The default run takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import dns.asyncresolver
import dns.nameserver
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bench.harness import (
    PREFIX,
    LoadGenerator,
    PythonLoad,
    Result,
    Server,
    add_load_arguments,
    add_run_arguments,
    check_load_arguments,
    child_env,
    didtrust_server,
    http_get,
    make_pool,
    measured,
    parse_key_types,
    pct,
    pick_load,
    pinned,
    python_module,
    split_cpus,
)

ORIGIN_NAME = "uni.test"
CACHE_MAX_ENTRIES = 10_000  # the server's default LRU size, set explicitly
COLD_WARMUP = 10
COLD_TIMEOUT = 10.0

# -- processes -----------------------------------------------------------------


@dataclass(frozen=True)
class OriginInfo:
    """Where the did:web origin listens and what it trusts."""

    dns: tuple[str, int]
    port: int
    ca_file: str
    name: str

    def did(self, i: int) -> str:
        """``did:web:NAME%3APORT:u<i>``."""
        return f"did:web:{self.name}%3A{self.port}:u{i}"

    def url(self, i: int) -> str:
        """The URL of that DID's document (did:web spec §3.2)."""
        return f"https://{self.name}:{self.port}/u{i}/did.json"


class OriginProcess(Server):
    """``python -m bench.did_origin``: ready once it has written its info file."""

    def __init__(self, log_dir: Path, cpu: set[int] | None) -> None:
        self.info_path = log_dir / "origin.json"
        argv = python_module(
            "bench.did_origin",
            "--dir",
            str(log_dir),
            "--info",
            str(self.info_path),
            "--name",
            ORIGIN_NAME,
        )
        env = child_env()
        super().__init__(
            "did-origin",
            argv,
            port=0,
            ready_path="",
            env=env,
            log_dir=log_dir,
            cpu=cpu,
        )
        self.info: OriginInfo | None = None

    def __enter__(self) -> OriginProcess:
        super().__enter__()
        return self

    def ready(self) -> bool:
        """Whether the origin has written its info file (then read it)."""
        if self.info_path.exists():
            data = json.loads(self.info_path.read_text())
            self.info = OriginInfo(
                dns=(data["dns"][0], int(data["dns"][1])),
                port=int(data["port"]),
                ca_file=data["ca_file"],
                name=data["name"],
            )
            return True
        return False


def didtrust_web_server(
    origin: OriginInfo, log_dir: Path, cpu: set[int] | None, log_level: str
) -> Server:
    """``python -m didtrust serve`` (one worker) fetching from the origin."""
    settings = {
        "DIDTRUST_FETCH_CA_FILE": origin.ca_file,
        "DIDTRUST_FETCH_NAMESERVERS": f"{origin.dns[0]}:{origin.dns[1]}",
        "DIDTRUST_UNSAFE_FETCH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "DIDTRUST_CACHE_MAX_ENTRIES": str(CACHE_MAX_ENTRIES),
    }
    return didtrust_server(
        1, log_dir, cpu, log_level, settings=settings, name="didtrust web"
    )


# -- a bare client that trusts the origin --------------------------------------


class LoopbackDNS(AbstractResolver):
    """An aiohttp resolver asking one DNS server for A records (dnspython)."""

    def __init__(self, nameserver: tuple[str, int]) -> None:
        self._dns = dns.asyncresolver.Resolver(configure=False)
        self._dns.nameservers = [dns.nameserver.Do53Nameserver(*nameserver)]
        self._dns.lifetime = 3.0
        self._dns.cache = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The A records of ``host``."""
        answer = await self._dns.resolve(host, "A", search=False)
        return [
            {
                "hostname": host,
                "host": rr.address,
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
            for rr in answer
        ]

    async def close(self) -> None:
        """Nothing to release."""


def bare_session(origin: OriginInfo) -> aiohttp.ClientSession:
    """A plain ClientSession trusting the test CA and asking the loopback DNS."""
    ctx = ssl.create_default_context(cafile=origin.ca_file)
    connector = aiohttp.TCPConnector(
        limit=1, ssl=ctx, resolver=LoopbackDNS(origin.dns), use_dns_cache=False
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=COLD_TIMEOUT),
        auto_decompress=False,
    )


@dataclass(frozen=True)
class OriginStats:
    """The origin's counters."""

    served: int
    """Documents served so far."""
    recent: list[str]
    """The last few documents served (``u<i>``)."""
    dns_queries: int
    """DNS queries answered so far (each new connection asks again)."""


async def _origin_stats(origin: OriginInfo) -> OriginStats:
    async with (
        bare_session(origin) as session,
        session.get(f"https://{origin.name}:{origin.port}/stats") as resp,
    ):
        resp.raise_for_status()
        data = await resp.json()
    return OriginStats(
        served=int(data["served"]),
        recent=[str(s) for s in data["recent"]],
        dns_queries=int(data["dnsQueries"]),
    )


def origin_stats(origin: OriginInfo) -> OriginStats:
    """The origin's counters now (this asks costs one DNS query)."""
    return asyncio.run(_origin_stats(origin))


# -- checks --------------------------------------------------------------------


def resolve_json(server: Server, did: str) -> tuple[int, dict[str, Any], int]:
    """GET a resolution result: (status, parsed body, body size)."""
    status, body = http_get(server.base + PREFIX + did, timeout=COLD_TIMEOUT)
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {}
    return status, parsed if isinstance(parsed, dict) else {}, len(body)


def check_answer(server: Server, did: str, *, cached: bool | None) -> int:
    """Fail fast unless ``did`` resolves to its document; return the body size."""
    status, body, size = resolve_json(server, did)
    doc = body.get("didDocument")
    meta = body.get("didResolutionMetadata") or {}
    ok = status == 200 and isinstance(doc, dict) and doc.get("id") == did
    if ok and cached is not None and meta.get("cached") is not cached:
        ok = False
    if not ok:
        raise RuntimeError(
            f"{server.name}: {did[:60]} answered {status} "
            f"(cached={meta.get('cached')}, wanted {cached}): {body!r:.400}\n"
            f"{server.log_tail()}"
        )
    return size


# -- cold fetches --------------------------------------------------------------


@dataclass(frozen=True)
class Cold:
    """Sequential latencies, in seconds, and the CPU they cost."""

    didtrust: list[float]
    """Never-seen did:web DIDs resolved through didtrust."""
    bare: list[float]
    """Bare GETs of the same did.json URLs."""
    hop: list[float]
    """Cached did:web DIDs through didtrust: its HTTP hop, without the fetch."""
    errors: int
    server_cpu: float | None
    """Server CPU seconds during the cold pairs (not the cached requests)."""
    origin_cpu: float | None
    """Origin CPU seconds during the cold pairs."""
    pairs: int
    """Cold pairs run, the unmeasured ones included."""


class _ColdRun:
    """One client connection to didtrust and one bare client to the origin."""

    def __init__(
        self,
        server: Server,
        origin: OriginInfo,
        resolver_client: aiohttp.ClientSession,
        bare: aiohttp.ClientSession,
    ) -> None:
        self.server = server
        self.origin = origin
        self.resolver_client = resolver_client
        self.bare = bare
        self.errors = 0

    async def via_didtrust(self, did: str, *, cached: bool) -> float:
        """Resolve ``did`` through didtrust; check it was (not) cached."""
        url = URL(self.server.base + PREFIX + did, encoded=True)
        started = time.perf_counter()
        async with self.resolver_client.get(url) as resp:
            body = await resp.read()
        elapsed = time.perf_counter() - started
        if resp.status != 200:
            self.errors += 1
        elif (
            json.loads(body).get("didResolutionMetadata", {}).get("cached")
            is not cached
        ):
            self.errors += 1  # not the path we meant to time
        return elapsed

    async def via_bare(self, i: int) -> float:
        """GET document ``i`` from the origin with the bare client."""
        started = time.perf_counter()
        async with self.bare.get(self.origin.url(i)) as resp:
            await resp.read()
        elapsed = time.perf_counter() - started
        if resp.status != 200:
            self.errors += 1
        return elapsed

    async def pairs(
        self, first: int, count: int, deadline: float
    ) -> tuple[list[float], list[float], int]:
        """Cold pairs for DIDs ``first``, ``first + 1``, ... (a few unmeasured)."""
        cold: list[float] = []
        bare: list[float] = []
        run = 0
        for k in range(COLD_WARMUP + count):
            if time.monotonic() > deadline:
                print("  (note: the cold pairs ran out of time)")
                break
            i = first + k
            run += 1
            try:
                # Alternate which goes first, so neither always finds the
                # origin (and the machine) in the state the other left.
                if k % 2:
                    b = await self.via_bare(i)
                    d = await self.via_didtrust(self.origin.did(i), cached=False)
                else:
                    d = await self.via_didtrust(self.origin.did(i), cached=False)
                    b = await self.via_bare(i)
            except (aiohttp.ClientError, TimeoutError):
                self.errors += 1
                continue
            if k >= COLD_WARMUP:
                cold.append(d)
                bare.append(b)
        return cold, bare, run

    async def hops(self, dids: Sequence[str], deadline: float) -> list[float]:
        """Resolve cached ``dids`` one after another."""
        out: list[float] = []
        for did in dids:
            if time.monotonic() > deadline:
                break
            try:
                out.append(await self.via_didtrust(did, cached=True))
            except (aiohttp.ClientError, TimeoutError):
                self.errors += 1
        return out


def cold_fetches(
    server: Server,
    origin: OriginProcess,
    first: int,
    count: int,
    cached: Sequence[str],
    limit: float,
) -> Cold:
    """Cold pairs (with the CPU they cost), then as many cached resolutions."""
    info = origin.info
    assert info is not None

    async def run() -> Cold:
        deadline = time.monotonic() + limit
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=1),
                timeout=aiohttp.ClientTimeout(total=COLD_TIMEOUT),
                auto_decompress=False,
            ) as resolver_client,
            bare_session(info) as bare,
        ):
            runner = _ColdRun(server, info, resolver_client, bare)
            s0, o0 = server.cpu_seconds(), origin.cpu_seconds()
            d, b, pairs = await runner.pairs(first, count, deadline)
            s1, o1 = server.cpu_seconds(), origin.cpu_seconds()
            hop = await runner.hops(cached[:count], deadline)
        return Cold(
            didtrust=d,
            bare=b,
            hop=hop,
            errors=runner.errors,
            server_cpu=None if s0 is None or s1 is None else s1 - s0,
            origin_cpu=None if o0 is None or o1 is None else o1 - o0,
            pairs=pairs,
        )

    return asyncio.run(run())


# -- the run -------------------------------------------------------------------


def total(results: Sequence[Result]) -> tuple[int, float, float | None]:
    """Requests, seconds and server CPU seconds over several runs."""
    cpu = [r.server_cpu for r in results]
    return (
        sum(r.requests for r in results),
        sum(r.seconds for r in results),
        None if None in cpu else sum(c for c in cpu if c is not None),
    )


def report(
    rows: list[tuple[str, Result]],
    load: LoadGenerator,
    sizes: dict[str, int],
    hits: int,
    hit_names: list[str],
    cold: Cold,
    cold_dns: int,
) -> None:
    """Print the tables and the ratios."""
    print()
    print("cached resolution (random DIDs of a pool resolved once before):")
    header = (
        f"{'scenario':<20} {'requests':>9} {'req/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6} {'srv CPU%':>8} {'srv us/req':>10} "
        f"{'body B':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, r in rows:
        cpu = f"{r.cpu_us:.0f}" if r.cpu_us is not None else "-"
        busy = f"{r.cpu_percent:.0f}" if r.cpu_percent is not None else "-"
        size = sizes.get(name.split(" #")[0], 0)
        print(
            f"{name:<20} {r.requests:>9} {r.rps:>8.0f} {r.p50_ms:>8.2f} "
            f"{r.p99_ms:>8.2f} {r.errors:>6} {busy:>8} {cpu:>10} {size:>7}"
        )
    print(
        f"documents fetched from the origin during the cached runs: {hits}"
        + (f" (last: {', '.join(hit_names)})" if hits else "")
    )
    web = [r for name, r in rows if name.startswith("did:web")]
    key = [r for name, r in rows if name.startswith("did:key")]
    (web_n, web_s, web_cpu), (key_n, key_s, key_cpu) = total(web), total(key)
    print()
    print("ratio, over all rounds (higher is better):")
    if key_n and web_s and key_s:
        per_round = ", ".join(
            f"{w.rps / k.rps:.2f}" for w, k in zip(web, key, strict=True) if k.rps
        )
        ratio = (web_n / web_s) / (key_n / key_s)
        line = (
            f"  did:web cached / did:key warm: req/s {ratio:.2f} (rounds: {per_round})"
        )
        if web_cpu and key_cpu and web_n:
            line += f", CPU/req {key_cpu / key_n / (web_cpu / web_n):.2f}"
        print(line + "   (target >= 0.9)")
    if isinstance(load, PythonLoad):
        print(
            "  (the python client saturates before the server does: read the "
            "CPU/req ratio, or install wrk)"
        )

    print()
    n = len(cold.didtrust)
    print(
        f"cold fetch: {n} never-seen did:web DIDs, one at a time over one "
        "connection, each paired with a bare aiohttp GET of the same did.json "
        f"(after {COLD_WARMUP} unmeasured pairs); then {len(cold.hop)} cached "
        "did:web resolutions over the same connection (didtrust's HTTP hop):"
    )
    header = f"{'path':<36} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}"
    print(header)
    print("-" * len(header))
    for name, values in (
        ("didtrust cold (HTTP, fetch, check)", cold.didtrust),
        ("bare aiohttp GET (HTTPS)", cold.bare),
        ("didtrust cached (HTTP hop only)", cold.hop),
    ):
        mean = statistics.fmean(values) * 1e3 if values else 0.0
        print(
            f"{name:<36} {pct(values, 0.5):>8.2f} {pct(values, 0.99):>8.2f} "
            f"{mean:>8.2f}"
        )
    bare_p50, cold_p50, hop_p50 = (
        pct(cold.bare, 0.5),
        pct(cold.didtrust, 0.5),
        pct(cold.hop, 0.5),
    )
    if bare_p50 > 0:
        print(
            f"ratio of p50s didtrust cold / bare GET: {cold_p50 / bare_p50:.2f}"
            "   (target <= 1.5; lower is better)"
        )
        print(
            f"  without the HTTP hop, (cold - cached) / bare GET: "
            f"{(cold_p50 - hop_p50) / bare_p50:.2f}"
        )
    if cold.pairs and cold.server_cpu is not None:
        per_did = cold.server_cpu / cold.pairs * 1e6
        print(f"didtrust server CPU per cold resolution: {per_did:.0f} us")
    if cold.pairs and cold.origin_cpu is not None:
        per_fetch = cold.origin_cpu / (2 * cold.pairs) * 1e6
        print(f"origin CPU per document served (both paths): {per_fetch:.0f} us")
    print(
        f"DNS queries at the origin during the cold pairs: {cold_dns} "
        "(one per new connection; didtrust asks A and AAAA)"
    )
    errors = cold.errors + sum(r.errors for _, r in rows)
    if errors or hits:
        print(
            f"\nWARNING: {errors} failed requests, {hits} origin fetches "
            "during cached runs; the figures above are suspect."
        )
    print(
        f"\nnote: the load generator ({load.label}), the origin and this "
        f"process share the machine's {os.cpu_count()} CPU(s) with the server. "
        "'srv us/req' is the server's CPU time per request, which the load "
        "generator does not change; 'CPU/req' is did:key us/req over did:web "
        "us/req. The cold latencies are this process's view: its own client "
        "costs are in both."
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.web",
        description="didtrust did:web: cached vs did:key, cold fetch vs bare GET.",
    )
    add_run_arguments(
        parser, duration=8.0, duration_help="seconds per cached run", connections=64
    )
    parser.add_argument(
        "--pool", type=int, default=4000, help="distinct DIDs per method (4000)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="cached runs per method, alternating did:web and did:key (2)",
    )
    parser.add_argument(
        "--cold", type=int, default=400, help="cold-fetch pairs measured (400)"
    )
    parser.add_argument(
        "--key-types",
        default="ed25519,p256",
        help="did:key types in the pool, comma-separated (ed25519,p256)",
    )
    parser.add_argument(
        "--limit",
        type=float,
        default=60.0,
        help="most seconds a warm-up pass or the cold pairs may take (60)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for did:key DIDs")
    add_load_arguments(
        parser,
        pin_help="pin the server to CPU 0; load generator, origin and client elsewhere",
    )
    args = parser.parse_args(argv)
    args.key_types = parse_key_types(parser, args.key_types)
    check_load_arguments(parser, args)
    # Both pools and the probes stay within the server's cache.
    if args.pool < 1 or 2 * args.pool + 10 > CACHE_MAX_ENTRIES:
        parser.error(f"--pool must be 1..{(CACHE_MAX_ENTRIES - 10) // 2}")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be 1..20")
    if not 1 <= args.cold <= 100_000:
        parser.error("--cold must be 1..100000")
    if not 0 < args.limit <= 3600:
        parser.error("--limit must be 0..3600 seconds")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios on one server and print the report."""
    args = parse_args(argv)
    rng = random.Random(args.seed)
    server_cpu, other_cpu = split_cpus(args.pin)

    started = time.monotonic()
    key_pool = make_pool("key", args.pool + 1, args.key_types, rng)
    print(
        f"pools: {args.pool} did:web and {args.pool} did:key DIDs "
        f"({'+'.join(args.key_types)}); load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    with tempfile.TemporaryDirectory(prefix="didtrust-bench-web-") as tmp:
        workdir = Path(tmp)
        load = pick_load(args, workdir)
        print(
            f"load generator: {load.label}; {args.duration:g} s per cached run"
            + (f"; server pinned to CPU {server_cpu}" if server_cpu else "")
        )
        with pinned(other_cpu), OriginProcess(workdir, None) as origin:
            info = origin.info
            assert info is not None
            with didtrust_web_server(
                info, workdir, server_cpu, args.log_level
            ) as server:
                # Probes outside the pools: a did:web fetched then cached, a did:key.
                probe = args.pool
                check_answer(server, info.did(probe), cached=False)
                sizes = {
                    "did:web cached": check_answer(
                        server, info.did(probe), cached=True
                    ),
                    "did:key warm": check_answer(server, key_pool[0], cached=None),
                }
                web_paths = [PREFIX + info.did(i) for i in range(args.pool)]
                key_paths = [PREFIX + did for did in key_pool[1:]]
                print(
                    f"warming {args.pool} did:web (fetching each once) ...", flush=True
                )
                # wrk calls the Lua request() once before it starts, to check
                # it, which skips the first path of a "once" pass: lead with
                # a DID already cached.
                warm_web = [PREFIX + info.did(probe), *web_paths]
                fetched = load.once(server.base, warm_web, args.limit)
                print(
                    f"  {fetched.requests} fetched in {fetched.seconds:.1f} s "
                    f"({fetched.rps:.0f}/s, {fetched.errors} errors)"
                )
                print(f"warming {args.pool} did:key ...", flush=True)
                load.once(server.base, [PREFIX + key_pool[0], *key_paths], args.limit)
                check_answer(server, info.did(rng.randrange(args.pool)), cached=True)

                rows: list[tuple[str, Result]] = []
                before = origin_stats(info)
                # Rounds alternate the two methods, so a change in the
                # machine's load (other processes) touches both alike.
                for n in range(1, args.rounds + 1):
                    for name, paths in (
                        ("did:web cached", web_paths),
                        ("did:key warm", key_paths),
                    ):
                        print(f"running {name} #{n} ...", flush=True)
                        run = partial(load.random, server.base, paths, args.duration)
                        result = measured(server, run)
                        rows.append((f"{name} #{n}", result))
                after = origin_stats(info)
                hits = after.served - before.served
                origin_hits = after.recent[-hits:] if hits > 0 else []
                print(f"running {args.cold} cold-fetch pairs ...", flush=True)
                cached = [info.did(rng.randrange(args.pool)) for _ in range(args.cold)]
                cold = cold_fetches(
                    server, origin, args.pool + 1, args.cold, cached, args.limit
                )
                # Less the one query of the stats request itself.
                cold_dns = origin_stats(info).dns_queries - after.dns_queries - 1
    report(rows, load, sizes, hits, origin_hits, cold, cold_dns)
    print(f"total time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
