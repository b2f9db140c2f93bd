"""Credential verification benchmark: verifications/s against a bare Ed25519 loop.

Issue 5's figure: verifications per second of ``eddsa-rdfc-2022``,
``eddsa-jcs-2022`` and VC-JWT (``vc+jwt``) credentials with the issuer cached,
one worker, the share of that time spent canonicalizing, and each next to the
physical floor (a bare Ed25519 signature check) measured in the same run.

The credentials are Open Badge 3.0-shaped (VC Data Model 2.0 and the OB 3.0.3
context, both shipped in ``verifier/contexts``), issued by an Ed25519 did:key
made from a fixed seed, with fixed dates: the same bytes every run. They are
secured with the project's own code (``verifier.dataintegrity.sign_proof``,
``verifier.jose.sign``). The script prints, in one run:

- **in-process**: a ``CredentialVerifier`` built as ``didtrust.wiring``'s
  ``build_verifier`` builds it (a ``Resolver`` over the built-in drivers of
  ``didtrust.plugins.build_registry(Settings())``, ``document_resolver``), with
  no trust registry and no status checker, verifies each form over and over
  in this process's event loop (the issuer resolved once, then cached).
  Median of ``--rounds`` rounds of about ``--seconds`` each: verifications/s
  and microseconds per verification; the time of
  ``verifier.dataintegrity.signing_input`` (transform and hash, i.e. the
  canonicalization of the document and of the proof configuration and two
  SHA-256) and its share of a whole verification;
- **the floor**: ``Ed25519PublicKey.verify`` from ``cryptography`` over a
  64-byte message (the size of the Data Integrity hash data) in a loop, in
  the same rounds, and the ratios form / floor; PyNaCl's (libsodium's)
  ``VerifyKey.verify`` too, which the Data Integrity suites call;
- **where the time goes**: one pass per form under ``cProfile``, split into
  canonicalization (``_rdfc`` / ``_jcs`` in ``verifier.dataintegrity``, with
  pyld's stages for RDFC), the signature check, decoding the public key,
  parsing the proof (or reading the token), the (cached) issuer lookup and
  the rest, and the functions with the most own time: the hot spots;
- **over HTTP**: ``python -m didtrust serve`` as a real process (one worker,
  a fresh temporary ``DIDTRUST_DATA_DIR``, so no trust registry), loaded with
  ``POST /credentials/verify`` (a VC API body; the JWT as an
  ``EnvelopedVerifiableCredential``) by wrk for ``--duration`` seconds per
  form, after ``GET /health`` (what any request costs that server):
  requests/s, p50/p99, the server's CPU time per request (from ``/proc``) and
  what HTTP adds to the in-process cost.

This is a script, not a test: it asserts nothing about timing. It only listens
on and connects to 127.0.0.1, bounds every loop by count and time, and always
stops the server it started (its whole process group).

Usage: ``python -m bench.verify [--seconds S] [--duration S] ...``; ``--help``
lists the options. The default run takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import nacl.signing
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from bench.harness import (
    HOST,
    REPO,
    Result,
    Server,
    add_load_arguments,
    add_run_arguments,
    check_load_arguments,
    didtrust_server,
    pinned,
    result_of,
    run_wrk,
    split_cpus,
    wrk_argv,
)
from didtrust.plugins import build_registry
from didtrust.settings import Settings
from didtrust.wiring import build_resolver, document_resolver
from resolver.did import parse_did
from resolver.keys import encode_multikey
from resolver.service import Resolver
from verifier import jose
from verifier.dataintegrity import (
    proofs_of,
    public_key_for_suite,
    sign_proof,
    signing_input,
)
from verifier.service import CredentialVerifier

VERIFY_PATH = "/credentials/verify"
HEALTH_PATH = "/health"
HEALTH = "GET /health"
HEALTH_SECONDS = 3.0
ISSUER_SEED = bytes(range(1, 33))  # fixed: the same DID and proofs every run
VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CREATED = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
RDFC, JCS, JWT = "eddsa-rdfc-2022", "eddsa-jcs-2022", "vc+jwt"
FORMS = (RDFC, JCS, JWT)
FLOOR, NACL = "Ed25519 verify (cryptography)", "Ed25519 verify (PyNaCl)"
FLOOR_MESSAGE = bytes(range(64))  # hash data: proof config hash || document hash
MAX_CALLS = 1_000_000  # per timed batch, whatever --seconds says
HTTP_TIMEOUT = 30.0

# -- credentials ---------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    """One form of the credential: what the verifier takes and the HTTP body."""

    form: str
    credential: dict[str, Any] | str
    """A JSON-LD credential with its proof, or a compact JWS."""
    body: bytes
    """The ``POST /credentials/verify`` body (VC API shape)."""


def issuer_key() -> Ed25519PrivateKey:
    """The issuer's Ed25519 key, from a fixed seed."""
    return Ed25519PrivateKey.from_private_bytes(ISSUER_SEED)


def issuer_did(key: Ed25519PrivateKey) -> str:
    """did:key of the key: 'z' + base58btc(multicodec ed25519-pub + key)."""
    return "did:key:" + encode_multikey(
        "ed25519-pub", key.public_key().public_bytes_raw()
    )


def open_badge(issuer: str) -> dict[str, Any]:
    """An Open Badge 3.0 credential on the VC Data Model 2.0, fixed content."""
    return {
        "@context": [VC_V2, OB3_CONTEXT],
        "id": "urn:uuid:3f5a2c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Data Stewardship",
        "issuer": {
            "id": issuer,
            "type": ["Profile"],
            "name": "Example University",
            "url": "https://university.example/",
        },
        "validFrom": "2024-06-01T09:30:00Z",
        "credentialSubject": {
            "id": "did:example:learner-7",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://university.example/achievements/data-stewardship",
                "type": ["Achievement"],
                "name": "Data Stewardship",
                "description": "Curates research data to FAIR principles.",
                "criteria": {"narrative": "Completed the data stewardship course."},
            },
        },
    }


def make_fixtures(key: Ed25519PrivateKey, kid: str) -> list[Fixture]:
    """The badge secured three ways, each with its HTTP body."""
    badge = open_badge(issuer_did(key))
    out = []
    for suite in (RDFC, JCS):
        secured = sign_proof(
            badge,
            private_key=key,
            verification_method=kid,
            cryptosuite=suite,
            created=CREATED,
        )
        body = json.dumps({"verifiableCredential": secured}).encode()
        out.append(Fixture(suite, secured, body))
    token = jose.sign(badge, private_key=key, kid=kid)
    envelope = {
        "@context": [VC_V2],
        "type": "EnvelopedVerifiableCredential",
        "id": "data:application/vc+jwt," + token,
    }
    body = json.dumps({"verifiableCredential": envelope}).encode()
    out.append(Fixture(JWT, token, body))
    return out


# -- timing --------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Calls made in a timed batch, the wall time and the CPU time they took."""

    calls: int
    seconds: float
    cpu_seconds: float
    """This process's CPU time over the batch: unlike the wall time, it leaves
    out the time other processes took the CPU away."""

    @property
    def per_second(self) -> float:
        """Calls per second of wall time."""
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    @property
    def us(self) -> float:
        """Wall microseconds per call."""
        return self.seconds / self.calls * 1e6 if self.calls else 0.0

    @property
    def cpu_us(self) -> float:
        """CPU microseconds per call."""
        return self.cpu_seconds / self.calls * 1e6 if self.calls else 0.0


def time_sync(call: Callable[[], object], seconds: float) -> Timing:
    """Call ``call`` until ``seconds`` pass (at most ``MAX_CALLS`` times)."""
    clock = time.perf_counter
    calls = 0
    cpu = time.process_time()
    started = clock()
    deadline = started + seconds
    while calls < MAX_CALLS:
        call()
        calls += 1
        if clock() >= deadline:
            break
    return Timing(calls, clock() - started, time.process_time() - cpu)


async def time_async(call: Callable[[], Awaitable[object]], seconds: float) -> Timing:
    """Await ``call()`` until ``seconds`` pass (at most ``MAX_CALLS`` times)."""
    clock = time.perf_counter
    calls = 0
    cpu = time.process_time()
    started = clock()
    deadline = started + seconds
    while calls < MAX_CALLS:
        await call()
        calls += 1
        if clock() >= deadline:
            break
    return Timing(calls, clock() - started, time.process_time() - cpu)


def build_verifier(settings: Settings) -> tuple[CredentialVerifier, Resolver]:
    """The verifier ``didtrust.wiring.build_verifier`` builds, minus registry, status.

    ``build_verifier`` itself takes a fetcher for the status checker, which
    this benchmark leaves out (the credentials have no ``credentialStatus``).
    """
    resolver = build_resolver(settings, build_registry(settings))
    return CredentialVerifier(resolve=document_resolver(resolver)), resolver


async def check_verifies(verifier: CredentialVerifier, fixture: Fixture) -> None:
    """Fail fast unless the fixture verifies with every check passed or skipped."""
    report = (await verifier.verify(fixture.credential)).to_json()
    if not report["verified"] or report["errors"]:
        raise RuntimeError(f"{fixture.form} does not verify: {report['errors']}")


@dataclass
class InProcess:
    """Every timed batch of the in-process rounds, by name."""

    verify: dict[str, list[Timing]]
    transform: dict[str, list[Timing]]
    """``signing_input`` alone, for the Data Integrity forms."""

    def median_us(self, name: str, *, cpu: bool = False) -> float | None:
        """Median microseconds per verification over the rounds (wall or CPU)."""
        runs = self.verify.get(name)
        if not runs:
            return None
        return statistics.median(t.cpu_us if cpu else t.us for t in runs)

    def transform_us(self, name: str) -> float | None:
        """Median wall microseconds per ``signing_input`` over the rounds."""
        runs = self.transform.get(name)
        return statistics.median(t.us for t in runs) if runs else None

    def share(self, name: str) -> float | None:
        """Median over the rounds of transform time / verification time.

        Each round's two batches ran one after the other, so their ratio is
        less exposed to the machine's load changing between rounds.
        """
        pairs = zip(self.transform.get(name, []), self.verify[name], strict=False)
        ratios = [t.us / v.us for t, v in pairs if v.us]
        return statistics.median(ratios) if ratios else None


async def bench_in_process(
    args: argparse.Namespace,
    verifier: CredentialVerifier,
    fixtures: list[Fixture],
    kid_method: dict[str, Any],
) -> InProcess:
    """Rounds of: the floors, then each form's verification and transform."""
    floor_key = issuer_key()
    floor_public = floor_key.public_key()
    floor_signature = floor_key.sign(FLOOR_MESSAGE)
    nacl_key = nacl.signing.VerifyKey(floor_public.public_bytes_raw())
    out = InProcess(verify={}, transform={})
    for number in range(1, args.rounds + 1):
        print(f"  round {number}/{args.rounds} ...", flush=True)
        out.verify.setdefault(FLOOR, []).append(
            time_sync(
                lambda: floor_public.verify(floor_signature, FLOOR_MESSAGE),
                args.seconds,
            )
        )
        out.verify.setdefault(NACL, []).append(
            time_sync(
                lambda: nacl_key.verify(FLOOR_MESSAGE, floor_signature), args.seconds
            )
        )
        for fixture in fixtures:
            credential = fixture.credential
            out.verify.setdefault(fixture.form, []).append(
                await time_async(partial(verifier.verify, credential), args.seconds)
            )
            if not isinstance(credential, dict):
                continue  # a JWT is verified over the bytes as sent: no transform
            proof = proofs_of(credential)[0]
            key = public_key_for_suite(kid_method, fixture.form)
            out.transform.setdefault(fixture.form, []).append(
                time_sync(
                    partial(signing_input, credential, proof, key=key), args.seconds
                )
            )
    return out


def report_in_process(results: InProcess, args: argparse.Namespace) -> None:
    """The in-process table, the canonicalization share and the ratios."""
    floor_us = results.median_us(FLOOR)
    floor_cpu = results.median_us(FLOOR, cpu=True)
    nacl_us = results.median_us(NACL)
    print()
    print(
        f"in-process, one event loop, issuer cached: median of {args.rounds} "
        f"round(s) of ~{args.seconds:g} s per batch"
    )
    header = (
        f"{'form':<30} {'verif/s':>8} {'us/verif':>8} {'CPU us':>7} "
        f"{'transform us':>12} {'canon share':>11} {'x floor':>8} {'/ floor':>8} "
        f"{'CPU/floor':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in (*FORMS, FLOOR, NACL):
        us = results.median_us(name)
        cpu = results.median_us(name, cpu=True)
        if us is None or cpu is None:
            continue
        transform = results.transform_us(name)
        share = results.share(name)
        cells = [
            f"{name:<30}",
            f"{1e6 / us:>8.0f}",
            f"{us:>8.1f}",
            f"{cpu:>7.1f}",
            f"{transform:>12.1f}" if transform is not None else f"{'-':>12}",
            f"{share:>11.0%}" if share is not None else f"{'-':>11}",
        ]
        if floor_us and floor_cpu:
            cells += [
                f"{us / floor_us:>8.2f}",
                f"{floor_us / us:>8.3f}",
                f"{floor_cpu / cpu:>9.3f}",
            ]
        print(" ".join(cells))
    print()
    print("ratios, verifications/s of each form over the floor's verifies/s:")
    for form in FORMS:
        us = results.median_us(form)
        if us is None or not floor_us or not nacl_us:
            continue
        print(
            f"  {form:<16} / cryptography floor: {floor_us / us:.3f} "
            f"({us / floor_us:.1f}x its time);  / PyNaCl: {nacl_us / us:.3f} "
            f"({us / nacl_us:.1f}x)"
        )
    spread = [
        f"{name} {min(t.us for t in runs):.0f}-{max(t.us for t in runs):.0f}"
        for name, runs in results.verify.items()
    ]
    print("  spread of us/verif over the rounds: " + "; ".join(spread))
    print(
        "  'transform us' is verifier.dataintegrity.signing_input alone (the "
        "document's and the proof configuration's canonicalization and their "
        "SHA-256); 'canon share' is it over a whole verification (median of the "
        "rounds' ratios). A VC-JWT is checked over the bytes received: nothing "
        "to canonicalize. 'CPU us' is this process's CPU time per verification "
        "and 'CPU/floor' the ratio by CPU time, which other processes on the "
        "machine disturb less than wall time."
    )


# -- profile -------------------------------------------------------------------

# (row label, [(path suffix, function name)]); the functions of one row do not
# call one another, so their cumulative times add up.
BREAKDOWN: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "canonicalization",
        [("verifier/dataintegrity.py", "_rdfc"), ("verifier/dataintegrity.py", "_jcs")],
    ),
    ("  json-ld expansion (checked)", [("verifier/jsonld.py", "_expand_checked")]),
    ("  pyld to_rdf (expands again)", [("pyld/jsonld.py", "to_rdf")]),
    ("  rdfc-1.0 (pyld URDNA2015)", [("pyld/canon.py", "main")]),
    ("  of which context processing", [("pyld/jsonld.py", "_process_context")]),
    ("  of which context cache keys", [("pyld/context_resolver.py", "resolve")]),
    (
        "signature check",
        [
            ("verifier/dataintegrity.py", "_verify_ed25519"),
            ("joserfc/jws.py", "deserialize_compact"),
        ],
    ),
    ("public key from the method", [("verifier/keys.py", "public_key_of")]),
    ("proof members (parse_proof)", [("verifier/dataintegrity.py", "parse_proof")]),
    ("token read before the key", [("verifier/jose.py", "peek")]),
    ("issuer lookup (cached)", [("verifier/service.py", "_method")]),
    ("credential size and depth", [("verifier/service.py", "_depth_ok")]),
    ("(copy.deepcopy, anywhere)", [("copy.py", "deepcopy")]),
]
TOTAL = ("verifier/service.py", "verify")
TOP_LEVEL = frozenset(
    {
        "canonicalization",
        "signature check",
        "public key from the method",
        "proof members (parse_proof)",
        "token read before the key",
        "issuer lookup (cached)",
        "credential size and depth",
    }
)
"""The rows that do not overlap; the rest of a verification is "everything else"."""


def _cumulative(stats: pstats.Stats, wanted: list[tuple[str, str]]) -> float:
    """Cumulative seconds of the functions named (path suffix, name)."""
    total = 0.0
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]  # pstats keeps it undeclared
    for (path, _line, name), row in table.items():
        if any(path.endswith(s) and name == n for s, n in wanted):
            total += row[3]
    return total


def _short_name(path: str, line: int, name: str) -> str:
    """A function's place, relative to the repository or site-packages."""
    if path == "~":
        return name
    for root in (str(REPO) + os.sep, "site-packages" + os.sep):
        at = path.find(root)
        if at >= 0:
            path = path[at + len(root) :]
            break
    else:
        path = Path(path).name
    return f"{path}:{line}({name})"


async def profile_form(
    verifier: CredentialVerifier, fixture: Fixture, seconds: float
) -> tuple[pstats.Stats, int]:
    """Verify ``fixture`` under cProfile for about ``seconds``."""
    profiler = cProfile.Profile()
    credential = fixture.credential
    profiler.enable()
    try:
        timing = await time_async(lambda: verifier.verify(credential), seconds)
    finally:
        profiler.disable()
    return pstats.Stats(profiler), timing.calls


async def bench_profile(
    args: argparse.Namespace, verifier: CredentialVerifier, fixtures: list[Fixture]
) -> None:
    """Print where a verification's time goes, per form, and the hot spots."""
    profiles = {
        f.form: await profile_form(verifier, f, args.profile_seconds) for f in fixtures
    }
    print()
    print(
        "where the time goes (cProfile; it slows Python code far more than C, so "
        "the shares lean towards Python): % of a verification"
    )
    header = f"{'':<32}" + "".join(f"{form:>17}" for form in profiles)
    print(header)
    print("-" * len(header))
    totals = {
        form: _cumulative(stats, [TOTAL]) for form, (stats, _) in profiles.items()
    }
    print(
        f"{'us per verification (profiled)':<32}"
        + "".join(
            f"{totals[form] / calls * 1e6:>17.0f}"
            for form, (_, calls) in profiles.items()
        )
    )
    counted = dict.fromkeys(profiles, 0.0)
    for label, wanted in BREAKDOWN:
        cells = []
        for form, (stats, _) in profiles.items():
            seconds = _cumulative(stats, wanted)
            if label in TOP_LEVEL:
                counted[form] += seconds
            share = seconds / totals[form] if totals[form] else 0.0
            cells.append(f"{share:>17.0%}" if seconds else f"{'-':>17}")
        print(f"{label:<32}" + "".join(cells))
    print(
        f"{'everything else':<32}"
        + "".join(
            f"{(totals[f] - counted[f]) / totals[f]:>17.0%}"
            if totals[f]
            else f"{'-':>17}"
            for f in profiles
        )
    )
    print(
        "  (rows starting with spaces are parts of canonicalization; context "
        "processing happens inside both expansions)"
    )
    for form, (stats, calls) in profiles.items():
        print()
        print(f"hot spots, {form}: own time per verification ({calls} profiled)")
        table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]  # pstats keeps it undeclared
        ranked = sorted(table.items(), key=lambda item: item[1][2], reverse=True)
        for (path, line, name), row in ranked[: args.top]:
            own_us = row[2] / calls * 1e6
            share = row[2] / totals[form] if totals[form] else 0.0
            per = row[1] / calls
            print(
                f"  {own_us:>7.1f} us {share:>4.0%}  {per:>6.1f} calls  "
                f"{_short_name(path, line, name)}"
            )


# -- HTTP ----------------------------------------------------------------------

WRK_SCRIPT = r"""
-- Generated by bench/verify.py. Args: BODY_FILE, or "-" for plain GETs.
-- POSTs the file's bytes as application/json and counts the 200 answers that
-- do not say "verified": true; with "-", GETs and ignores the answers.
local threads = {}
unverified = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  if args[1] == "-" then
    response = nil  -- then wrk does not even parse the answers
  else
    local file = assert(io.open(args[1], "rb"))
    wrk.method = "POST"
    wrk.body = file:read("*a")
    file:close()
    wrk.headers["Content-Type"] = "application/json"
  end
  req = wrk.format()
end

function request()
  return req
end

function response(status, headers, body)
  if status == 200
      and not string.find(body, '"verified": true', 1, true)
      and not string.find(body, '"verified":true', 1, true) then
    unverified = unverified + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unverified")
  end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT {\"requests\":%d,\"duration_us\":%d,\"errors\":%d,"
      .. "\"p50_us\":%d,\"p99_us\":%d,\"unverified\":%d}\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), bad))
end
"""


@dataclass(frozen=True)
class HttpRow:
    """One form's HTTP run."""

    form: str
    result: Result
    unverified: int
    """200 answers whose report did not say verified."""
    body_bytes: int


class WrkLoad:
    """wrk POSTing one body (or GETting) over and over (Lua: ``WRK_SCRIPT``)."""

    def __init__(self, exe: str, threads: int, connections: int, workdir: Path) -> None:
        self.exe = exe
        self.threads = threads
        self.connections = connections
        self.workdir = workdir
        self.script = workdir / "post.lua"
        self.script.write_text(WRK_SCRIPT)
        self.label = f"wrk, {threads} thread(s), {connections} connections"

    def run(self, url: str, body: bytes | None, duration: float) -> tuple[Result, int]:
        """POST ``body`` (GET if None) for ``duration`` s; result, unverified count.

        Raises:
            RuntimeError: wrk failed or printed no result.
        """
        body_file = self.workdir / "body.json"
        if body is not None:
            body_file.write_bytes(body)
        cmd = wrk_argv(
            self.exe,
            threads=self.threads,
            connections=self.connections,
            seconds=duration,
            timeout="10s",
            script=self.script,
            url=url,
            script_args=(str(body_file) if body is not None else "-",),
        )
        data = run_wrk(cmd, duration)
        return result_of(data), int(data["unverified"])


def http_post(url: str, body: bytes) -> tuple[int, bytes]:
    """POST a JSON body to a loopback URL; return (status, body), errors included."""
    request = urllib.request.Request(  # noqa: S310 - loopback http URL built here
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as resp:  # noqa: S310 - idem
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_http_verifies(server: Server, fixture: Fixture) -> None:
    """Fail fast unless the server verifies the fixture (this also warms it up)."""
    status, body = http_post(server.base + VERIFY_PATH, fixture.body)
    report = json.loads(body) if status == 200 else {}
    if status != 200 or report.get("verified") is not True or report.get("errors"):
        raise RuntimeError(
            f"{fixture.form}: the server answered {status}: {body[:400]!r}"
        )


def bench_http(
    args: argparse.Namespace,
    fixtures: list[Fixture],
    workdir: Path,
    server_cpu: set[int] | None,
) -> tuple[list[HttpRow], str] | None:
    """Each form against one ``didtrust serve`` (one worker), by wrk."""
    exe = shutil.which("wrk")
    if exe is None:
        print("\nover HTTP: skipped, wrk is not on PATH (Debian: apt-get install wrk)")
        return None
    load = WrkLoad(exe, args.wrk_threads, args.connections, workdir)
    rows = []
    print(f"running didtrust serve (1 worker) under {load.label} ...", flush=True)
    with didtrust_server(1, workdir, server_cpu, args.log_level) as server:
        for fixture in fixtures:
            check_http_verifies(server, fixture)
        # What any request costs this server: a GET answering a small JSON
        # object, with the same middleware and the same access-log setting.
        plan: list[tuple[str, str, bytes | None, float]] = [
            (HEALTH, HEALTH_PATH, None, min(args.duration, HEALTH_SECONDS))
        ]
        plan += [(f.form, VERIFY_PATH, f.body, args.duration) for f in fixtures]
        for name, path, body, seconds in plan:
            what = f"POST {path} {name}" if body is not None else name
            print(f"  {what} ...", flush=True)
            before = server.cpu_seconds()
            result, unverified = load.run(server.base + path, body, seconds)
            after = server.cpu_seconds()
            if before is not None and after is not None:
                result = dataclasses.replace(result, server_cpu=after - before)
            rows.append(HttpRow(name, result, unverified, len(body or b"")))
    return rows, load.label


def report_http(rows: list[HttpRow], label: str, results: InProcess) -> None:
    """The HTTP table, next to the in-process cost and the floor."""
    floor_us = results.median_us(FLOOR)
    print()
    print(f"over HTTP: POST {VERIFY_PATH}, didtrust serve, 1 worker, {label}")
    header = (
        f"{'form':<16} {'body B':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6} {'unverif':>7} {'srv CPU%':>8} "
        f"{'srv us/req':>10} {'in-proc CPU':>11} {'HTTP us':>8} {'/ floor':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        r = row.result
        inproc = results.median_us(row.form, cpu=True)
        cpu = f"{r.cpu_us:.0f}" if r.cpu_us is not None else "-"
        busy = f"{r.cpu_percent:.0f}" if r.cpu_percent is not None else "-"
        extra = (
            f"{r.cpu_us - inproc:.0f}"
            if r.cpu_us is not None and inproc is not None
            else "-"
        )
        ratio = f"{r.rps * floor_us / 1e6:.3f}" if floor_us and inproc else "-"
        print(
            f"{row.form:<16} {row.body_bytes or '-':>7} {r.requests:>9} {r.rps:>8.0f} "
            f"{r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.errors:>6} {row.unverified:>7} "
            f"{busy:>8} {cpu:>10} "
            f"{'-' if inproc is None else f'{inproc:.0f}':>11} {extra:>8} "
            f"{ratio:>8}"
        )
    print(
        "  'srv us/req' is the server's CPU time per request (process group, "
        "/proc), which the load generator does not change; 'in-proc CPU' the "
        "in-process CPU time per verification; 'HTTP us' the difference, what "
        "the HTTP request, JSON parsing and the rendered report add (compare "
        f"with '{HEALTH}', a request that does nothing); '/ floor' "
        "req/s over the cryptography floor's verifies/s. The load generator "
        f"shares the machine's {os.cpu_count()} CPU(s) with the server; an "
        "'HTTP us' within the in-process spread of the rounds (above) is noise."
    )
    failed = sum(row.result.errors + row.unverified for row in rows)
    if failed:
        print(f"\nWARNING: {failed} failed or unverified requests: figures suspect.")


# -- the run -------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.verify",
        description="didtrust credential verifications/s vs a bare Ed25519 verify.",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.0,
        help="seconds per timed in-process batch (1)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="in-process rounds, median taken (3)"
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=1.5,
        help="seconds of profiled verifications per form (1.5)",
    )
    parser.add_argument(
        "--top", type=int, default=8, help="hot spots listed per form (8)"
    )
    add_run_arguments(
        parser,
        duration=8.0,
        duration_help="seconds per HTTP run",
        connections=16,
        connections_help="wrk connections",
    )
    parser.add_argument(
        "--no-http", action="store_true", help="in-process figures only"
    )
    add_load_arguments(
        parser,
        pin_help="pin the server to CPU 0 and this process and wrk to the others",
        loadgen=False,
    )
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 60 or not 0 < args.profile_seconds <= 60:
        parser.error("--seconds and --profile-seconds must be 0..60")
    if not 1 <= args.rounds <= 100:
        parser.error("--rounds must be 1..100")
    check_load_arguments(parser, args)
    if not 0 <= args.top <= 100:
        parser.error("--top must be 0..100")
    return args


async def run_in_process(
    args: argparse.Namespace,
) -> tuple[list[Fixture], InProcess]:
    """Build the issuer and fixtures, then the in-process figures and profile."""
    verifier, resolver = build_verifier(Settings())
    key = issuer_key()
    did = issuer_did(key)
    # The key id and method as the resolver has them; this also caches the
    # issuer, as it is on a server that has seen it once.
    document = (await resolver.resolve(parse_did(did))).document
    method: dict[str, Any] = document["verificationMethod"][0]
    fixtures = make_fixtures(key, method["id"])
    for fixture in fixtures:
        await check_verifies(verifier, fixture)
    size = len(json.dumps(open_badge(did), separators=(",", ":")))
    print(
        f"issuer {did} (Ed25519, fixed seed); an Open Badge 3.0 credential on "
        f"VC 2.0, {size} bytes of compact JSON unsigned"
    )
    print("running in-process rounds ...", flush=True)
    results = await bench_in_process(args, verifier, fixtures, method)
    report_in_process(results, args)
    await bench_profile(args, verifier, fixtures)
    cache = resolver.cache
    print(
        f"\nresolver cache over the in-process run: {cache.hits} hits, "
        f"{cache.misses} miss(es) (1: the issuer was resolved once)"
    )
    return fixtures, results


def main(argv: Sequence[str] | None = None) -> int:
    """Run every part and print the report."""
    args = parse_args(argv)
    server_cpu, other_cpu = split_cpus(args.pin)
    started = time.monotonic()
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("cryptography", "pynacl", "pyld", "rfc8785", "joserfc")
    )
    print(
        f"didtrust credential verification; python {sys.version.split()[0]}, "
        f"{versions}; {os.cpu_count()} CPU(s), load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    with pinned(other_cpu):
        fixtures, results = asyncio.run(run_in_process(args))
        if not args.no_http:
            with tempfile.TemporaryDirectory(prefix="didtrust-bench-verify-") as tmp:
                done = bench_http(args, fixtures, Path(tmp), server_cpu)
            if done is not None:
                report_http(*done, results)
    print(f"\ntotal time {time.monotonic() - started:.0f} s (loopback {HOST} only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
