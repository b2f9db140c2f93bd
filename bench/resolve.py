"""Resolution throughput benchmark: didtrust against a bare aiohttp server.

Starts real server processes on loopback (``python -m didtrust serve`` with this
interpreter, and ``bench/hello.py``), loads each with the same load generator
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

Usage: ``python bench/resolve.py [--duration S] [--connections N] ...``;
``--help`` lists the options. The default run takes about two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp
import base58
import yarl
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PREFIX = "/1.0/identifiers/"
HELLO_PATH = "/hello"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# A wrk run may overrun its duration by its own --timeout; allow that and more.
WRK_GRACE = 30.0
EXTRA_PASSES = 2
P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)

# -- DIDs ----------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _ed25519_public(rng: random.Random) -> bytes:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    return key.public_key().public_bytes_raw()


def _p256_public(rng: random.Random) -> ec.EllipticCurvePublicKey:
    scalar = rng.randrange(1, P256_ORDER)
    return ec.derive_private_key(scalar, ec.SECP256R1()).public_key()


def did_key(rng: random.Random, key_type: str) -> str:
    """A did:key for a fresh key: 'z' + base58btc(multicodec varint + key)."""
    if key_type == "ed25519":
        raw = b"\xed\x01" + _ed25519_public(rng)
    else:
        point = _p256_public(rng).public_bytes(
            Encoding.X962, PublicFormat.CompressedPoint
        )
        raw = b"\x80\x24" + point
    return "did:key:z" + base58.b58encode(raw).decode()


def did_jwk(rng: random.Random, key_type: str) -> str:
    """A did:jwk for a fresh key: base64url of the compact JSON public JWK."""
    if key_type == "ed25519":
        jwk = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_ed25519_public(rng))}
    else:
        nums = _p256_public(rng).public_numbers()
        jwk = {
            "crv": "P-256",
            "kty": "EC",
            "x": _b64url(nums.x.to_bytes(32, "big")),
            "y": _b64url(nums.y.to_bytes(32, "big")),
        }
    return "did:jwk:" + _b64url(json.dumps(jwk, separators=(",", ":")).encode())


MAKERS: dict[str, Callable[[random.Random, str], str]] = {
    "key": did_key,
    "jwk": did_jwk,
}


def make_pool(
    method: str, size: int, key_types: Sequence[str], rng: random.Random
) -> list[str]:
    """``size`` distinct DIDs of ``method``, cycling through ``key_types``."""
    maker = MAKERS[method]
    pool = list(
        dict.fromkeys(maker(rng, key_types[i % len(key_types)]) for i in range(size))
    )
    if len(pool) != size:  # pragma: no cover - 2**-128 odds
        raise RuntimeError(f"{size - len(pool)} duplicate DIDs in the pool")
    return pool


# -- servers -------------------------------------------------------------------


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET a loopback URL; return (status, body), errors included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback http URL built here
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def process_group_cpu(pgid: int) -> float | None:
    """CPU seconds (user + system) used so far by the live processes of a group.

    Returns None where ``/proc`` is not available.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # Fields after the parenthesised command name; pgrp is field 5,
        # utime and stime are fields 14 and 15 (proc(5)).
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


class Server:
    """A server child process in its own process group, always stopped on exit."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        port: int,
        ready_path: str,
        env: dict[str, str],
        log_dir: Path,
        cpu: set[int] | None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.base = f"http://{HOST}:{port}"
        self.ready_path = ready_path
        self.env = env
        self.log_path = log_dir / f"{name.replace(' ', '_')}.log"
        self.cpu = cpu
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        log = self.log_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.log_path.parent,
                start_new_session=True,  # its own group: workers die with it
            )
        finally:
            log.close()
        if self.cpu:
            os.sched_setaffinity(self.proc.pid, self.cpu)  # inherited by workers
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(
                    f"{self.name} exited with {code}:\n{self.log_tail()}"
                )
            with suppress(OSError):
                status, _ = http_get(self.base + self.ready_path, timeout=1.0)
                if status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} not ready after {READY_TIMEOUT:g} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server wrote."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float | None:
        """CPU seconds used so far by the server and its workers."""
        if self.proc is None:
            return None
        return process_group_cpu(self.proc.pid)

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL it if it lingers."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)
        # Workers of a parent that died first may outlive it: end the group.
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.proc = None


# -- load generators -----------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What one load run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    """Non-2xx answers, socket errors and timeouts."""
    server_cpu: float | None = None
    """Server CPU seconds spent during the run, if known."""

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_percent(self) -> float | None:
        """Server CPU time over wall time, in percent of one CPU."""
        if self.server_cpu is None or self.seconds <= 0:
            return None
        return self.server_cpu / self.seconds * 100

    @property
    def cpu_us(self) -> float | None:
        """Server CPU microseconds per request."""
        if self.server_cpu is None or self.requests == 0:
            return None
        return self.server_cpu / self.requests * 1e6


class LoadGenerator(Protocol):
    """Drives HTTP GETs at a server from a file of paths."""

    label: str

    def random(self, base: str, paths: list[str], duration: float) -> Result:
        """Random paths from ``paths`` for ``duration`` seconds."""
        ...

    def once(self, base: str, paths: list[str], limit: float) -> Result:
        """Every path exactly once (bounded by ``limit`` seconds)."""
        ...


WRK_SCRIPT = r"""
-- Generated by bench/resolve.py. Args: PATHS_FILE MODE NTHREADS
--   random: each request takes a random path from the file;
--   once:   the threads share the file out and ask for each path once, then
--           print WRK_THREAD_DONE on stderr and stop.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local reqs = {}
local n = 0
local pos = 0
local todo = 0
local last = nil

function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    reqs[n] = wrk.format(nil, line)
  end
  local mode = args[2]
  local nthreads = tonumber(args[3])
  math.randomseed(os.time() * 1000 + tid * 7919)
  if mode == "once" then
    local mine = {}
    for i = tid + 1, n, nthreads do
      mine[#mine + 1] = reqs[i]
    end
    reqs = mine
    n = #mine
    todo = n
    last = reqs[n]
    request = function()
      pos = pos + 1
      if pos <= n then
        return reqs[pos]
      end
      return last  -- a connection outliving the slice repeats a warm path
    end
    response = function(status, headers, body)
      todo = todo - 1
      if todo == 0 then
        io.stderr:write("WRK_THREAD_DONE\n")
        io.stderr:flush()
        wrk.thread:stop()
      end
    end
    if n == 0 then
      io.stderr:write("WRK_THREAD_DONE\n")
      io.stderr:flush()
    end
  else
    request = function()
      return reqs[math.random(n)]
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT {\"requests\":%d,\"duration_us\":%d,\"errors\":%d,"
      .. "\"p50_us\":%d,\"p99_us\":%d}\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


class Wrk:
    """wrk with a Lua script that takes paths from a file."""

    def __init__(self, exe: str, threads: int, connections: int, workdir: Path) -> None:
        self.exe = exe
        self.threads = threads
        self.connections = connections
        self.workdir = workdir
        self.script = workdir / "paths.lua"
        self.script.write_text(WRK_SCRIPT)
        version = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        first = (version.stdout + version.stderr).strip().splitlines()
        self.label = (
            f"{first[0].split(' Copyright')[0] if first else 'wrk'}, "
            f"{threads} thread(s), {connections} connections"
        )

    def _command(
        self, base: str, paths: list[str], mode: str, seconds: float
    ) -> list[str]:
        paths_file = self.workdir / f"paths-{mode}.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        return [
            self.exe,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "-s",
            str(self.script),
            base,
            "--",
            str(paths_file),
            mode,
            str(self.threads),
        ]

    @staticmethod
    def _parse(stdout: str, stderr: str) -> Result:
        for line in stdout.splitlines():
            if line.startswith("WRK_RESULT "):
                data = json.loads(line.removeprefix("WRK_RESULT "))
                return Result(
                    requests=data["requests"],
                    seconds=data["duration_us"] / 1e6,
                    p50_ms=data["p50_us"] / 1e3,
                    p99_ms=data["p99_us"] / 1e3,
                    errors=data["errors"],
                )
        raise RuntimeError(f"wrk printed no result:\n{stdout[-1000:]}{stderr[-1000:]}")

    def random(self, base: str, paths: list[str], duration: float) -> Result:
        """Random paths for ``duration`` seconds."""
        cmd = self._command(base, paths, "random", duration)
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=duration + WRK_GRACE,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
        return self._parse(done.stdout, done.stderr)

    def once(self, base: str, paths: list[str], limit: float) -> Result:
        """Each path once; SIGINT ends wrk (which then reports) when all are done.

        wrk's run time is fixed up front, so the Lua script says on stderr when
        each thread has had all its answers, and wrk is interrupted then.
        """
        cmd = self._command(base, paths, "once", limit)
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert proc.stderr is not None
        try:
            seen = b""
            deadline = time.monotonic() + limit
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stderr, selectors.EVENT_READ)
                while seen.count(b"WRK_THREAD_DONE") < self.threads:
                    left = deadline - time.monotonic()
                    if left <= 0 or proc.poll() is not None:
                        break
                    if sel.select(timeout=min(left, 0.5)):
                        chunk = os.read(proc.stderr.fileno(), 65536)
                        if not chunk:
                            break
                        seen += chunk
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=WRK_GRACE)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        result = self._parse(out.decode(errors="replace"), err.decode(errors="replace"))
        if seen.count(b"WRK_THREAD_DONE") < self.threads:
            print(
                f"  (note: the pass did not finish within {limit:g} s; "
                f"{result.requests} of {len(paths)} paths asked)"
            )
        return result


class PythonLoad:
    """A bounded aiohttp client load generator, in this process.

    Far more CPU per request than wrk, taken from the same cores as the server.
    """

    def __init__(self, connections: int, max_requests: int) -> None:
        self.connections = connections
        self.max_requests = max_requests
        self.label = f"aiohttp client (in-process), {connections} connections"

    def random(self, base: str, paths: list[str], duration: float) -> Result:
        """Random paths for ``duration`` seconds."""
        rng = random.Random()
        return asyncio.run(
            self._run(base, lambda: rng.choice(paths), duration, self.max_requests)
        )

    def once(self, base: str, paths: list[str], limit: float) -> Result:
        """Each path once, or until ``limit`` seconds pass."""
        it = iter(paths)
        return asyncio.run(self._run(base, lambda: next(it, None), limit, len(paths)))

    async def _run(
        self,
        base: str,
        pick: Callable[[], str | None],
        duration: float,
        budget: int,
    ) -> Result:
        latencies: list[float] = []
        errors = 0
        left = budget
        connector = aiohttp.TCPConnector(limit=self.connections)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False
        ) as session:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + duration

            async def worker() -> None:
                nonlocal errors, left
                while left > 0 and loop.time() < deadline:
                    path = pick()
                    if path is None:
                        return
                    left -= 1
                    started = time.perf_counter()
                    try:
                        # encoded=True: send the path as written (did:web's %3A).
                        url = yarl.URL(base.rstrip("/") + path, encoded=True)
                        async with session.get(url) as resp:
                            await resp.read()
                            if resp.status >= 400:
                                errors += 1
                    except (aiohttp.ClientError, TimeoutError):
                        errors += 1
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(self.connections)))
            elapsed = time.perf_counter() - started
        latencies.sort()
        n = len(latencies)

        def pct(q: float) -> float:
            return latencies[min(n - 1, int(q * n))] * 1e3 if n else 0.0

        return Result(
            requests=n,
            seconds=elapsed,
            p50_ms=pct(0.50),
            p99_ms=pct(0.99),
            errors=errors,
        )


# -- the run -------------------------------------------------------------------


@dataclass
class Row:
    """One line of the report."""

    name: str
    workers: int
    result: Result


def measured(server: Server, run: Callable[[], Result]) -> Result:
    """Run a load and attach the server CPU it cost."""
    before = server.cpu_seconds()
    result = run()
    after = server.cpu_seconds()
    if before is None or after is None:
        return result
    return Result(
        requests=result.requests,
        seconds=result.seconds,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        errors=result.errors,
        server_cpu=after - before,
    )


def check_resolves(server: Server, dids: Sequence[str]) -> None:
    """Fail fast unless the server resolves ``dids`` (not in the pool) correctly."""
    for did in dids:
        status, body = http_get(server.base + PREFIX + did, timeout=5.0)
        doc = json.loads(body).get("didDocument") if status == 200 else None
        if status != 200 or not isinstance(doc, dict) or doc.get("id") != did:
            raise RuntimeError(
                f"{server.name}: {did[:40]}... answered {status}: {body[:300]!r}"
            )


def didtrust_server(
    workers: int, log_dir: Path, cpu: set[int] | None, log_level: str = "WARNING"
) -> Server:
    """A ``python -m didtrust serve`` child on a free loopback port."""
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH", "")) if p
    )
    env["DIDTRUST_LOG_LEVEL"] = log_level
    env["DIDTRUST_DATA_DIR"] = str(log_dir / "data")
    # Every request comes from one loopback client: the per-client limits on
    # writes and verifications would cap the figures at the limits themselves.
    env["DIDTRUST_RATE_LIMIT_WRITES"] = "0"
    env["DIDTRUST_RATE_LIMIT_VERIFY"] = "0"
    argv = [
        sys.executable,
        "-m",
        "didtrust",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    return Server(
        f"didtrust w{workers}",
        argv,
        port=port,
        ready_path="/ready",
        env=env,
        log_dir=log_dir,
        cpu=cpu,
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
    argv = [sys.executable, str(REPO / "bench" / "hello.py"), "--port", str(port)]
    server = Server(
        "hello-world",
        argv,
        port=port,
        ready_path=HELLO_PATH,
        env=dict(os.environ),
        log_dir=log_dir,
        cpu=cpu,
    )
    with server:
        load.random(server.base, [HELLO_PATH], min(2.0, args.duration))
        result = measured(
            server, lambda: load.random(server.base, [HELLO_PATH], args.duration)
        )
    return Row("hello-world (aiohttp)", 1, result)


def pick_load(args: argparse.Namespace, workdir: Path) -> LoadGenerator:
    """wrk if wanted and present, else the in-process aiohttp client."""
    exe = shutil.which("wrk")
    if args.loadgen == "wrk" and exe is None:
        raise SystemExit(
            "--loadgen wrk: wrk is not on PATH (Debian: apt-get install wrk)"
        )
    if args.loadgen != "python" and exe is not None:
        return Wrk(exe, args.wrk_threads, args.connections, workdir)
    return PythonLoad(args.connections, args.max_requests)


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
                f"req/s {warm.rps / hello.rps:.2f}"
            )
            if hello.cpu_us and warm.cpu_us:
                line += f", CPU/req {hello.cpu_us / warm.cpu_us:.2f}"
            print(line + "   (target >= 0.6)")
    one, two = find("did:key warm", 1), find("did:key warm", 2)
    if one is not None and two is not None and one.rps > 0:
        print(f"  did:key warm, 2 workers / 1 worker: req/s {two.rps / one.rps:.2f}")
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


def add_load_arguments(
    parser: argparse.ArgumentParser, *, pin_help: str, loadgen: bool = True
) -> None:
    """Add the options every HTTP benchmark shares.

    Load generator choice and caps (``loadgen``), wrk threads, CPU pinning
    (``pin_help`` says what is pinned where) and the servers' log level.
    """
    if loadgen:
        parser.add_argument(
            "--loadgen",
            choices=["auto", "wrk", "python"],
            default="auto",
            help="load generator: wrk if on PATH (auto), or force one",
        )
    parser.add_argument(
        "--wrk-threads",
        type=int,
        default=1,
        help="wrk threads (1: leave CPU to the server)",
    )
    if loadgen:
        parser.add_argument(
            "--max-requests",
            type=int,
            default=2_000_000,
            help="cap per run for the python load generator (2000000)",
        )
    parser.add_argument("--pin", action="store_true", help=pin_help)
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="DIDTRUST_LOG_LEVEL for the didtrust servers (WARNING: no access log)",
    )


def parse_key_types(parser: argparse.ArgumentParser, text: str) -> list[str]:
    """``--key-types`` as a list, or a usage error."""
    key_types = [k.strip() for k in text.split(",") if k.strip()]
    if not key_types or not set(key_types) <= {"ed25519", "p256"}:
        parser.error("--key-types: choose from ed25519, p256")
    return key_types


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="didtrust resolution throughput vs a bare aiohttp server."
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per warm run (10)"
    )
    parser.add_argument(
        "--connections", type=int, default=64, help="concurrent connections (64)"
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
    if not 1 <= args.connections <= 10_000:
        parser.error("--connections must be 1..10000")
    if not 1 <= args.pool <= 1_000_000:
        parser.error("--pool must be 1..1000000")
    if not 0 < args.duration <= 3600 or not 0 < args.cold_limit <= 3600:
        parser.error("--duration and --cold-limit must be 0..3600 seconds")
    if not 1 <= args.wrk_threads <= args.connections:
        parser.error("--wrk-threads must be 1..connections")
    return args


@contextmanager
def pinned(cpus: set[int] | None) -> Iterator[None]:
    """Run the block (and the children it starts) on ``cpus`` only."""
    if not cpus:
        yield
        return
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, old)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every scenario and print the report."""
    args = parse_args(argv)
    rng = random.Random(args.seed)
    server_cpu: set[int] | None = None
    load_cpu: set[int] | None = None
    all_cpus: set[int] | None = None
    if args.pin:
        all_cpus = set(os.sched_getaffinity(0))
        cpus = sorted(all_cpus)
        if len(cpus) < 2:
            raise SystemExit("--pin needs at least 2 CPUs")
        server_cpu, load_cpu = {cpus[0]}, set(cpus[1:])

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
