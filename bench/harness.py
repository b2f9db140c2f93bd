"""The one harness of the HTTP benchmarks: servers, load, percentiles, ratios.

What ``bench.resolve``, ``bench.web``, ``bench.registry`` and ``bench.verify``
share, so each states only what it measures:

- **servers**: ``Server``, a child process in its own process group, ready
  when ``GET ready_path`` answers 200 and always stopped (the whole group) on
  exit; ``didtrust_server`` builds one for ``python -m didtrust serve`` (rate
  limits off: every request comes from one loopback client);
  ``process_group_cpu`` reads the CPU a server and its workers used from
  ``/proc``;
- **load**: ``LoadGenerator`` with two implementations, ``Wrk`` (wrk with a Lua
  script reading paths from a file) and ``PythonLoad`` (a bounded aiohttp
  client in this process); ``pick_load`` chooses; ``wrk_result`` reads the one
  JSON line a benchmark's Lua script prints; ``measured`` attaches the server
  CPU a run cost;
- **figures**: ``Result`` (requests/s, p50/p99, CPU per request), ``pct``
  (nearest-rank percentiles), ``ratio`` (one ratio, printed the same way
  everywhere);
- **the command line**: ``add_load_arguments`` (load generator, wrk threads,
  ``--pin``, log level), ``parse_key_types``, ``split_cpus`` and ``pinned``
  for ``--pin``;
- **DIDs**: ``make_pool``, random did:key / did:jwk DIDs (Ed25519, P-256).

It asserts nothing about timing, listens on and connects to 127.0.0.1 only,
and bounds every loop by count and time.
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
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import base58
import yarl
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PREFIX = "/1.0/identifiers/"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# A wrk run may overrun its duration by its own --timeout; allow that and more.
WRK_GRACE = 30.0
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
            if self.ready():
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} not ready after {READY_TIMEOUT:g} s:\n{self.log_tail()}"
        )

    def ready(self) -> bool:
        """Whether the server is ready: ``GET ready_path`` answers 200."""
        with suppress(OSError):
            status, _ = http_get(self.base + self.ready_path, timeout=1.0)
            return status == 200
        return False

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
-- Generated by bench/harness.py. Args: PATHS_FILE MODE NTHREADS
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
        return wrk_argv(
            self.exe,
            threads=self.threads,
            connections=self.connections,
            seconds=seconds,
            timeout="5s",
            script=self.script,
            url=base,
            script_args=(str(paths_file), mode, str(self.threads)),
        )

    def random(self, base: str, paths: list[str], duration: float) -> Result:
        """Random paths for ``duration`` seconds."""
        cmd = self._command(base, paths, "random", duration)
        return result_of(run_wrk(cmd, duration))

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
        result = result_of(
            wrk_result(out.decode(errors="replace"), err.decode(errors="replace"))
        )
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
        return Result(
            requests=len(latencies),
            seconds=elapsed,
            p50_ms=pct(latencies, 0.50),
            p99_ms=pct(latencies, 0.99),
            errors=errors,
        )


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


def child_env() -> dict[str, str]:
    """This process's environment, with the repository first on PYTHONPATH.

    Children run in temporary directories; with the repository on their path,
    ``python -m bench.X`` and ``python -m didtrust`` find this checkout.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH", "")) if p
    )
    return env


def python_module(module: str, *args: str) -> list[str]:
    """The command line running ``python -m module *args`` in this interpreter."""
    return [sys.executable, "-m", module, *args]


def didtrust_server(
    workers: int,
    log_dir: Path,
    cpu: set[int] | None,
    log_level: str = "WARNING",
    *,
    settings: dict[str, str] | None = None,
    name: str | None = None,
) -> Server:
    """A ``python -m didtrust serve`` child on a free loopback port.

    ``settings`` are more ``DIDTRUST_*`` variables for it.
    """
    port = free_port()
    env = child_env()
    env["DIDTRUST_LOG_LEVEL"] = log_level
    env["DIDTRUST_DATA_DIR"] = str(log_dir / "data")
    # Every request comes from one loopback client: the per-client limits on
    # writes and verifications would cap the figures at the limits themselves.
    env["DIDTRUST_RATE_LIMIT_WRITES"] = "0"
    env["DIDTRUST_RATE_LIMIT_VERIFY"] = "0"
    env["DIDTRUST_RATE_LIMIT_RESOLVE"] = "0"
    env.update(settings or {})
    argv = python_module(
        "didtrust",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
    )
    return Server(
        name or f"didtrust w{workers}",
        argv,
        port=port,
        ready_path="/ready",
        env=env,
        log_dir=log_dir,
        cpu=cpu,
    )


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


# -- figures and the command line -------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values`` (seconds), in milliseconds."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


def ratio(numerator: float | None, denominator: float | None, digits: int = 2) -> str:
    """``numerator / denominator`` as text, or "n/a" when either is unknown or 0."""
    if not numerator or not denominator:
        return "n/a"
    return f"{numerator / denominator:.{digits}f}"


def wrk_result(stdout: str, stderr: str) -> dict[str, Any]:
    """The ``WRK_RESULT {json}`` line a benchmark's wrk Lua script prints.

    Raises:
        RuntimeError: wrk printed no such line.
    """
    for line in stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            data: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
            return data
    raise RuntimeError(f"wrk printed no result:\n{stdout[-1000:]}{stderr[-1000:]}")


def wrk_argv(
    exe: str,
    *,
    threads: int,
    connections: int,
    seconds: float,
    timeout: str,
    script: Path,
    url: str,
    script_args: Sequence[str],
) -> list[str]:
    """The wrk command line: a run of ``seconds`` with a Lua script and its args."""
    return [
        exe,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        timeout,
        "-s",
        str(script),
        url,
        "--",
        *script_args,
    ]


def run_wrk(argv: list[str], seconds: float) -> dict[str, Any]:
    """Run wrk to its end; the figures its script printed (see ``wrk_result``).

    Raises:
        RuntimeError: wrk failed or printed no result.
    """
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=seconds + WRK_GRACE,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    return wrk_result(done.stdout, done.stderr)


def result_of(data: dict[str, Any]) -> Result:
    """A ``Result`` from the figures of ``wrk_result`` (microseconds)."""
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1e3,
        p99_ms=data["p99_us"] / 1e3,
        errors=data["errors"],
    )


def split_cpus(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """For ``--pin``: (the server's CPU, every other CPU); (None, None) unpinned."""
    if not pin:
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("--pin needs at least 2 CPUs")
    return {cpus[0]}, set(cpus[1:])


def add_run_arguments(
    parser: argparse.ArgumentParser,
    *,
    duration: float,
    duration_help: str,
    connections: int,
    connections_help: str = "concurrent connections",
) -> None:
    """Add ``--duration`` and ``--connections`` with this benchmark's defaults."""
    parser.add_argument(
        "--duration",
        type=float,
        default=duration,
        help=f"{duration_help} ({duration:g})",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=connections,
        help=f"{connections_help} ({connections})",
    )


def check_load_arguments(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> None:
    """Usage errors for what ``add_run_arguments`` and ``add_load_arguments`` add."""
    if not 0 < args.duration <= 3600:
        parser.error("--duration must be 0..3600 seconds")
    if not 1 <= args.connections <= 10_000:
        parser.error("--connections must be 1..10000")
    if not 1 <= args.wrk_threads <= args.connections:
        parser.error("--wrk-threads must be 1..connections")


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
