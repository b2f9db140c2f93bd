"""Resolution throughput benchmark: didtrust against a bare aiohttp server.

Starts real server processes on loopback (``python -m didtrust serve`` with this
interpreter, and ``python -m bench.hello``), loads each with the same load generator
and prints, in one run:

- requests/s and p50/p99 latency for hello-world, did:key and did:jwk with one
  worker, and did:key with two workers;
- a "cold" figure per DID method: one pass in which every DID is asked for the
  first time (a cache miss: the driver decodes the key and builds the
  document), then the "warm" figure: random DIDs from the same pool, all cached;
- the server's CPU time per request, read from ``/proc``, which does not
  depend on how much CPU the load generator takes from the server;
- the ratios warm resolution / hello-world (the target is >= 0.6 with one
  worker) and two workers / one worker.

The load generator is wrk (C, cheap) when it is on PATH (Debian: ``apt-get
install wrk``), otherwise a bounded aiohttp client in this process, which costs
far more CPU per request, so its absolute figures are lower. The pool is
random did:key (multicodec ed25519-pub 0xed01 / p256-pub 0x1200, multibase
base58btc) and did:jwk (RFC 7517 JWK, base64url) DIDs, Ed25519 and P-256 in
equal parts.

This is a script, not a test: it asserts nothing about timing. It only listens
on and connects to 127.0.0.1, bounds every loop by count and time, and always
stops the servers it started (their whole process group).

Usage: ``python -m bench.resolve [--duration S] [--connections N] ...``;
``--help`` lists the options. The default run takes about two minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
    free_port,
    http_get,
    make_pool,
    measured,
    parse_key_types,
    pick_load,
    pinned,
    python_module,
    ratio,
    split_cpus,
)

HELLO_PATH = "/hello"
EXTRA_PASSES = 2


# -- the run -------------------------------------------------------------------


@dataclass
class Row:
    """One line of the report."""

    name: str
    workers: int
    result: Result


def check_resolves(server: Server, dids: Sequence[str]) -> None:
    """Fail fast unless the server resolves ``dids`` (not in the pool) correctly."""
    for did in dids:
        status, body = http_get(server.base + PREFIX + did, timeout=5.0)
        doc = json.loads(body).get("didDocument") if status == 200 else None
        if status != 200 or not isinstance(doc, dict) or doc.get("id") != did:
            raise RuntimeError(
                f"{server.name}: {did[:40]}... answered {status}: {body[:300]!r}"
            )


def bench_resolution(
    args: argparse.Namespace,
    load: LoadGenerator,
    method: str,
    workers: int,
    pool: list[str],
    probes: list[str],
    log_dir: Path,
    cpu: set[int] | None,
) -> list[Row]:
    """A cold pass over ``pool``, then random warm requests; fresh server."""
    paths = [PREFIX + did for did in pool]
    label = f"did:{method}"
    with didtrust_server(workers, log_dir, cpu, args.log_level) as server:
        check_resolves(server, probes)
        cold = measured(server, lambda: load.once(server.base, paths, args.cold_limit))
        # Each worker has its own cache and connections stick to a worker, so
        # with N workers one pass leaves about half of each cache cold: a few
        # more (unmeasured) passes make misses rare in the warm run.
        for _ in range(EXTRA_PASSES if workers > 1 else 0):
            load.once(server.base, paths, args.cold_limit)
        warm = measured(server, lambda: load.random(server.base, paths, args.duration))
    return [
        Row(f"{label} cold (1st hit)", workers, cold),
        Row(f"{label} warm", workers, warm),
    ]


def bench_hello(
    args: argparse.Namespace, load: LoadGenerator, log_dir: Path, cpu: set[int] | None
) -> Row:
    """The bare aiohttp server, after a short unmeasured warm-up."""
    port = free_port()
    argv = python_module("bench.hello", "--port", str(port))
    server = Server(
        "hello-world",
        argv,
        port=port,
        ready_path=HELLO_PATH,
        env=child_env(),
        log_dir=log_dir,
        cpu=cpu,
    )
    with server:
        load.random(server.base, [HELLO_PATH], min(2.0, args.duration))
        result = measured(
            server, lambda: load.random(server.base, [HELLO_PATH], args.duration)
        )
    return Row("hello-world (aiohttp)", 1, result)


def report(rows: list[Row], load: LoadGenerator) -> None:
    """Print the table and the ratios."""
    print()
    header = (
        f"{'scenario':<24} {'workers':>7} {'requests':>9} {'req/s':>9} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'srv CPU%':>8} "
        f"{'srv us/req':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        r = row.result
        cpu = f"{r.cpu_us:.0f}" if r.cpu_us is not None else "-"
        busy = f"{r.cpu_percent:.0f}" if r.cpu_percent is not None else "-"
        print(
            f"{row.name:<24} {row.workers:>7} {r.requests:>9} {r.rps:>9.0f} "
            f"{r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.errors:>6} {busy:>8} {cpu:>10}"
        )

    def find(name: str, workers: int) -> Result | None:
        for row in rows:
            if row.name == name and row.workers == workers:
                return row.result
        return None

    hello = find("hello-world (aiohttp)", 1)
    print()
    print("ratios (higher is better):")
    if hello is not None and hello.rps > 0:
        for method in ("key", "jwk"):
            warm = find(f"did:{method} warm", 1)
            if warm is None:
                continue
            line = (
                f"  did:{method} warm / hello-world, 1 worker: "
                f"req/s {ratio(warm.rps, hello.rps)}"
            )
            if hello.cpu_us and warm.cpu_us:
                line += f", CPU/req {ratio(hello.cpu_us, warm.cpu_us)}"
            print(line + "   (target >= 0.6)")
    one, two = find("did:key warm", 1), find("did:key warm", 2)
    if one is not None and two is not None and one.rps > 0:
        print(f"  did:key warm, 2 workers / 1 worker: req/s {ratio(two.rps, one.rps)}")
    if isinstance(load, PythonLoad):
        print(
            "  (the python client saturates before the servers do: its req/s "
            "ratios say little; read the CPU/req ratios, or install wrk)"
        )
    errors = sum(row.result.errors for row in rows)
    if errors:
        print(f"\nWARNING: {errors} failed requests; the figures above are suspect.")
    print(
        f"\nnote: the load generator ({load.label}) shares the machine's "
        f"{os.cpu_count()} CPU(s) with the servers (and with anything else "
        "running). 'srv CPU%' is the server's CPU time over wall time (100 = one "
        "CPU busy; lower with one worker means it was starved), 'srv us/req' its "
        "CPU time per request, which the load generator does not change. The "
        "'CPU/req' ratio is hello-world us/req over resolution us/req."
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.resolve",
        description="didtrust resolution throughput vs a bare aiohttp server.",
    )
    add_run_arguments(
        parser, duration=10.0, duration_help="seconds per warm run", connections=64
    )
    parser.add_argument(
        "--pool", type=int, default=10_000, help="distinct DIDs per method (10000)"
    )
    parser.add_argument(
        "--key-types",
        default="ed25519,p256",
        help="key types in the pool, comma-separated (ed25519,p256)",
    )
    parser.add_argument(
        "--cold-limit",
        type=float,
        default=30.0,
        help="most seconds one pass over the pool may take (30)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for the DID pool")
    add_load_arguments(
        parser,
        pin_help="pin one-worker servers to CPU 0 and the load generator to the others",
    )
    args = parser.parse_args(argv)
    args.key_types = parse_key_types(parser, args.key_types)
    check_load_arguments(parser, args)
    if not 1 <= args.pool <= 1_000_000:
        parser.error("--pool must be 1..1000000")
    if not 0 < args.cold_limit <= 3600:
        parser.error("--cold-limit must be 0..3600 seconds")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run every scenario and print the report."""
    args = parse_args(argv)
    rng = random.Random(args.seed)
    server_cpu, load_cpu = split_cpus(args.pin)
    all_cpus = set(os.sched_getaffinity(0)) if args.pin else None

    started = time.monotonic()
    pools: dict[str, list[str]] = {}
    for method in ("key", "jwk"):
        # Two extra DIDs, outside the pool, check the server before the load.
        pools[method] = make_pool(method, args.pool + 2, args.key_types, rng)
    print(
        f"pool: {args.pool} distinct DIDs per method ({'+'.join(args.key_types)}), "
        f"made in {time.monotonic() - started:.1f} s; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="didtrust-bench-") as tmp:
        workdir = Path(tmp)
        load = pick_load(args, workdir)
        print(
            f"load generator: {load.label}; {args.duration:g} s per warm run; "
            f"didtrust log level {args.log_level}"
            + (f"; servers pinned to CPU {server_cpu}" if server_cpu else "")
        )
        with pinned(load_cpu):
            print("running hello-world ...", flush=True)
            rows.append(bench_hello(args, load, workdir, server_cpu))
            plan = [("key", 1), ("jwk", 1), ("key", 2)]
            for method, workers in plan:
                print(f"running did:{method}, {workers} worker(s) ...", flush=True)
                pool = pools[method]
                # Several workers get every CPU: pinning them would measure less.
                cpu = server_cpu if workers == 1 else all_cpus
                rows.extend(
                    bench_resolution(
                        args, load, method, workers, pool[2:], pool[:2], workdir, cpu
                    )
                )
    report(rows, load)
    print(f"total time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
