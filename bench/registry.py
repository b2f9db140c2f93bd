"""Registry benchmark: appends/s, entity queries/s at 100,000 issuers, proof cost.

Sets registries up the way an operator does, with the CLI (``python -m
didtrust key generate`` for the root authority's key, ``python -m didtrust
registry init`` in a fresh data directory), starts ``python -m didtrust
serve`` as a real process on 127.0.0.1 and prints, in one run:

- **appends** (issue 4: target >= 1,000 accepted statements/s): the root
  accredits one accreditor, whose Ed25519 did:key then accredits ``--appends``
  universities. The statements are signed in this process with
  ``registry.statements.sign_statement`` just before they are posted (``iat``
  is now; each has its own ``jti``; ``aud`` is the registry DID from
  ``registry-key.json``), then POSTed to ``/registry/v1/statements`` with
  ``--in-flight`` requests outstanding. Each costs the server a ``kid``
  resolution (cached did:key), a signature check, the rules and a share of one
  batched, fsynced SQLite commit with one signed checkpoint. Printed:
  accepted/s, latency, server CPU per statement, commits and mean batch size;
- **building 100,000 issuers offline**: a second registry's log is extended in
  this process through the store ``registry.database`` opens (leaf 1: root accredits
  the accreditor; then one leaf per university, each a statement signed by the
  accreditor; batches of ``--batch`` leaves with one checkpoint each, signed
  with the registry key from ``registry.identity.load_key_file``), then
  replayed: once in this process (``RegistryService.start``), once by the
  server at start (time to ``/ready``, next to a one-leaf registry's);
- **inclusion proof cost** at 10^3, 10^4 and 10^5 leaves (proofs at those
  tree sizes, over the same log): microseconds per ``store.inclusion_proof``,
  proof length and nodes read next to log2(n), and the same proof from an
  in-memory ``registry.merkle.MemoryTree`` (no SQLite);
- **entity queries** (target >= 0.5 x did:key resolution throughput on the same
  server): ``GET /registry/v1/entities/<random university>`` (the answer
  carries the chain and an inclusion proof for each leaf it rests on) against
  ``GET /1.0/identifiers/<random did:key>`` (a warm pool), alternating in
  rounds, with requests/s, p50/p99 and server CPU per request, and the ratio;
  also entity queries over a hot subset asked once before (cached proofs).

Load generator for the GETs: wrk when on PATH, otherwise an aiohttp client in
this process (see ``bench/harness.py``); POSTs always come from an aiohttp
client in this process. This is a script, not a test: it asserts nothing about
timing. It only listens on and connects to 127.0.0.1, bounds every loop by
count and time, and always stops the processes it started.

Usage: ``python -m bench.registry [--issuers N] [--appends N] ...``; ``--help``
lists the options. The default run takes about a minute and a half.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import math
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

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
    pct,
    pick_load,
    pinned,
    split_cpus,
)
from didtrust.settings import Settings
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.database import DatabaseUrl
from registry.identity import RegistryIdentity, load_key_file
from registry.merkle import (
    MemoryTree,
    Node,
    inclusion_proof_nodes,
    leaf_hash,
    verify_inclusion,
)
from registry.models import StatementEntry
from registry.service import RegistryService, leaf_bytes
from registry.statements import sign_statement
from registry.store import LogStore
from resolver.did import DID
from resolver.keys import encode_multikey

STATEMENTS = "/registry/v1/statements"
ENTITIES = "/registry/v1/entities/"
GOVERNANCE_URI = "https://example.org/gov"
GOVERNANCE_SHA256 = hashlib.sha256(b"didtrust bench governance").hexdigest()
ACCREDITOR_SCOPE = {
    "actions": ["accredit", "issue"],
    "resources": ["OpenBadgeCredential", "ClrCredential"],
}
ISSUER_SCOPE = {"actions": ["issue"], "resources": ["OpenBadgeCredential"]}
PROOF_SIZES = (1_000, 10_000, 100_000)
PROOF_WARMUP = 200
PROOF_ROUNDS = 4
CLI_TIMEOUT = 60.0
POST_TIMEOUT = 30.0

# -- authorities and statements ------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """An Ed25519 did:key authority: its key, DID and ``kid``."""

    key: Ed25519PrivateKey
    did: str

    @property
    def kid(self) -> str:
        """The DID URL of its key (did:key: the fragment is the key itself)."""
        return f"{self.did}#{self.did.split(':')[2]}"

    @classmethod
    def generate(cls) -> Authority:
        """A fresh key."""
        return cls.of(Ed25519PrivateKey.generate())

    @classmethod
    def of(cls, key: Ed25519PrivateKey) -> Authority:
        """The authority of ``key``."""
        raw = key.public_key().public_bytes_raw()
        return cls(key, "did:key:" + encode_multikey("ed25519-pub", raw))


def claims(
    issuer: Authority,
    sub: str,
    aud: str,
    *,
    role: str,
    scope: dict[str, list[str]],
    name: str,
    iat: int,
) -> dict[str, Any]:
    """Claims of an ``accredit`` statement with a fresh ``jti``."""
    return {
        "iss": issuer.did,
        "sub": sub,
        "act": "accredit",
        "aud": aud,
        "iat": iat,
        "jti": f"bench-{uuid.uuid4()}",
        "role": role,
        "scope": scope,
        "subject": {"name": name, "country": "FR"},
    }


def university(tag: str, i: int) -> str:
    """The did:web of university ``i`` (a DID the registry never resolves)."""
    return f"did:web:{tag}{i}.example.edu"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FastSigner:
    """Signs statements as ``sign_statement`` does, without its per-call set-up.

    ``sign_statement`` validates the claims and imports the key into joserfc
    on every call (about 0.3 ms); for 100,000 statements this JWS, built from
    the same header, the JCS payload and an Ed25519 signature, is several
    times faster. Ed25519 is deterministic, so ``check`` can compare the two
    byte for byte before it is trusted.
    """

    def __init__(self, authority: Authority, aud: str) -> None:
        self.authority = authority
        probe = claims(
            authority,
            university("probe", 0),
            aud,
            role="issuer",
            scope=ISSUER_SCOPE,
            name="probe",
            iat=0,
        )
        self.header = sign_statement(
            probe, private_key=authority.key, kid=authority.kid
        ).split(".")[0]

    def sign(self, claim_set: dict[str, Any]) -> str:
        """The compact JWS of ``claim_set``."""
        signing_input = f"{self.header}.{_b64url(rfc8785.dumps(claim_set))}"
        signature = self.authority.key.sign(signing_input.encode())
        return f"{signing_input}.{_b64url(signature)}"

    def check(self, claim_set: dict[str, Any]) -> None:
        """Fail unless ``sign`` gives what ``sign_statement`` gives."""
        slow = sign_statement(
            claim_set, private_key=self.authority.key, kid=self.authority.kid
        )
        if slow != self.sign(claim_set):
            raise RuntimeError("the fast signer differs from sign_statement")


# -- the CLI and the server ----------------------------------------------------


def cli_env(data_dir: Path) -> dict[str, str]:
    """The environment of a didtrust child process using ``data_dir``."""
    env = child_env()
    env["DIDTRUST_DATA_DIR"] = str(data_dir)
    env.pop("DIDTRUST_CONFIG", None)
    return env


def didtrust_cli(args: Sequence[str], data_dir: Path, cwd: Path) -> Any:
    """Run ``python -m didtrust ARGS``; return its stdout parsed as JSON."""
    done = subprocess.run(
        [sys.executable, "-m", "didtrust", *args],
        cwd=cwd,
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"didtrust {' '.join(args[:2])} failed ({done.returncode}): "
            f"{done.stderr[-1000:]}"
        )
    return json.loads(done.stdout)


def init_registry(workdir: Path, root: Authority) -> Path:
    """``didtrust registry init`` in ``workdir/data``; return the data dir."""
    data_dir = workdir / "data"
    didtrust_cli(
        [
            "registry",
            "init",
            "--root",
            root.did,
            "--governance-uri",
            GOVERNANCE_URI,
            "--governance-sha256",
            GOVERNANCE_SHA256,
        ],
        data_dir,
        workdir,
    )
    return data_dir


def registry_did(data_dir: Path) -> str:
    """The registry DID, as its key file names it."""
    did: str = json.loads((data_dir / "registry-key.json").read_text())["did"]
    return did


# -- appends -------------------------------------------------------------------


@dataclass(frozen=True)
class Appends:
    """What posting the statements measured."""

    statuses: Counter[int]
    """HTTP status -> count (0: no answer)."""
    latencies: list[float]
    seconds: float
    server_cpu: float | None
    first_problem: str | None

    @property
    def accepted(self) -> int:
        """Statements answered 201."""
        return self.statuses[201]


async def post_all(
    base: str, statements: Sequence[str], in_flight: int, limit: float
) -> tuple[Counter[int], list[float], float, str | None]:
    """POST every statement, ``in_flight`` at a time, for at most ``limit`` s."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    first_problem: str | None = None
    todo = iter(statements)
    connector = aiohttp.TCPConnector(limit=in_flight)
    timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT)
    url = base + STATEMENTS
    headers = {"Content-Type": "application/jose"}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        deadline = time.monotonic() + limit

        async def worker() -> None:
            nonlocal first_problem
            for jws in todo:
                if time.monotonic() > deadline:
                    return
                began = time.perf_counter()
                try:
                    async with session.post(
                        url, data=jws.encode(), headers=headers
                    ) as resp:
                        body = await resp.read()
                    statuses[resp.status] += 1
                    if resp.status != 201 and first_problem is None:
                        first_problem = f"{resp.status} {body[:300]!r}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    statuses[0] += 1
                    first_problem = first_problem or repr(exc)
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed = time.perf_counter() - began
    return statuses, latencies, elapsed, first_problem


def post_statements(
    server: Server, statements: Sequence[str], in_flight: int, limit: float
) -> Appends:
    """POST ``statements`` and attach the server CPU they cost."""
    before = server.cpu_seconds()
    statuses, latencies, seconds, problem = asyncio.run(
        post_all(server.base, statements, in_flight, limit)
    )
    after = server.cpu_seconds()
    cpu = None if before is None or after is None else after - before
    return Appends(statuses, latencies, seconds, cpu, problem)


def commits(database: Path) -> list[int]:
    """The tree sizes of the stored checkpoints, in order (read-only)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return [int(row[0]) for row in conn.execute("SELECT size FROM checkpoint")]
    finally:
        conn.close()


# -- the offline build ---------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """What building the large log took."""

    leaves: int
    checkpoints: int
    sign_seconds: float
    store_seconds: float


async def build_log(
    data_dir: Path,
    root: Authority,
    accreditor: Authority,
    issuers: int,
    batch: int,
    limit: float,
) -> Build:
    """Append the accreditor and ``issuers`` universities to an initialised log.

    Gives up (raises) after ``limit`` seconds.
    """
    identity = load_key_file(data_dir / "registry-key.json")
    aud = str(identity.did)
    now = datetime.now(UTC)
    iat = int(now.timestamp())
    signer = FastSigner(accreditor, aud)
    sign_seconds = store_seconds = 0.0
    checkpoints = 0
    async with await Settings(data_dir=str(data_dir)).database().open() as store:
        if await store.size() != 1:
            raise RuntimeError("expected a freshly initialised registry")
        first = claims(
            root,
            accreditor.did,
            aud,
            role="accreditor",
            scope=ACCREDITOR_SCOPE,
            name="Bench Accreditation Agency",
            iat=iat,
        )
        pending: list[tuple[str, str]] = [
            (sign_statement(first, private_key=root.key, kid=root.kid), first["jti"])
        ]
        deadline = time.monotonic() + limit
        for i in range(issuers):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"building stopped after {limit:g} s at {i} issuers (see --limit)"
                )
            began = time.perf_counter()
            claim_set = claims(
                accreditor,
                university("u", i),
                aud,
                role="issuer",
                scope=ISSUER_SCOPE,
                name=f"University {i}",
                iat=iat,
            )
            if i == 0:
                signer.check(claim_set)
            pending.append((signer.sign(claim_set), claim_set["jti"]))
            sign_seconds += time.perf_counter() - began
            if len(pending) >= batch or i == issuers - 1:
                began = time.perf_counter()
                await append_batch(store, identity, pending, now)
                store_seconds += time.perf_counter() - began
                checkpoints += 1
                pending = []
        size = await store.size()
    return Build(size, checkpoints, sign_seconds, store_seconds)


async def append_batch(
    store: LogStore,
    identity: RegistryIdentity,
    statements: Sequence[tuple[str, str]],
    now: datetime,
) -> None:
    """Append statements (JWS, jti) as leaves, under one signed checkpoint."""
    leaves = [
        leaf_bytes(StatementEntry(jws=jws, integrated_time=now))
        for jws, _ in statements
    ]
    async with store.write() as tx:
        appended = await tx.append(leaves)
        await tx.add_jtis(
            (jti, leaf.index)
            for (_, jti), leaf in zip(statements, appended, strict=True)
        )
        size = appended[-1].index + 1
        root = await tx.root()
        note = sign_checkpoint(
            Checkpoint(origin=identity.origin, size=size, root_hash=root),
            identity.note_signer(),
        )
        await tx.put_checkpoint(size, root, note)


# -- inclusion proofs ----------------------------------------------------------


@dataclass(frozen=True)
class ProofRow:
    """Inclusion proofs at one tree size."""

    size: int
    proof_len: float
    nodes_read: float
    store_us: float
    memory_us: float
    samples: int


async def proof_costs(
    database: Path, sizes: Iterable[int], samples: int, rng: random.Random
) -> list[ProofRow]:
    """Time inclusion proofs at each tree size, from SQLite and from memory."""
    rows: list[ProofRow] = []
    async with await DatabaseUrl.sqlite(database).open() as store:
        log_size = await store.size()
        sizes = [n for n in sizes if n <= log_size]
        hashes: list[bytes] = []
        while len(hashes) < max(sizes, default=0):
            chunk = await store.leaf_hashes(len(hashes), max(sizes))
            if not chunk:
                break
            hashes.extend(chunk)
        tree = MemoryTree.from_leaf_hashes(hashes)
        indices = {n: [rng.randrange(n) for _ in range(samples)] for n in sizes}
        for n in sizes:
            # One proof checked end to end: leaf data, proof, root.
            i = indices[n][0]
            proof = await store.inclusion_proof(i, n)
            data = (await store.entries(i, i + 1))[0]
            verify_inclusion(leaf_hash(data), i, n, proof, await store.root(n))
            if proof != tree.inclusion_proof(i, n):
                raise RuntimeError(f"store and memory proofs differ at {i}/{n}")
        # A warm-up pass, then the sizes in turn, a slice of each per round,
        # so that a change in the machine's load touches every size alike.
        store_s = dict.fromkeys(sizes, 0.0)
        memory_s = dict.fromkeys(sizes, 0.0)
        lengths = dict.fromkeys(sizes, 0)
        for n in sizes:
            for i in indices[n][:PROOF_WARMUP]:
                await store.inclusion_proof(i, n)
                tree.inclusion_proof(i, n)
        step = -(-samples // PROOF_ROUNDS)
        for at in range(0, samples, step):
            for n in sizes:
                picks = indices[n][at : at + step]
                began = time.perf_counter()
                for i in picks:
                    lengths[n] += len(await store.inclusion_proof(i, n))
                store_s[n] += time.perf_counter() - began
                began = time.perf_counter()
                for i in picks:
                    tree.inclusion_proof(i, n)
                memory_s[n] += time.perf_counter() - began
        for n in sizes:
            nodes = sum(
                len({*inclusion_proof_nodes(i, n), Node(0, n - 1)}) for i in indices[n]
            )
            rows.append(
                ProofRow(
                    size=n,
                    proof_len=lengths[n] / samples,
                    nodes_read=nodes / samples,
                    store_us=store_s[n] / samples * 1e6,
                    memory_us=memory_s[n] / samples * 1e6,
                    samples=samples,
                )
            )
    return rows


async def replay(data_dir: Path) -> tuple[int, float]:
    """Replay the log as the server does at start; return (leaves, seconds)."""
    identity = load_key_file(data_dir / "registry-key.json")

    async def no_resolution(did: DID) -> dict[str, Any]:
        raise RuntimeError("the replay resolves nothing")

    async with await Settings(data_dir=str(data_dir)).database().open() as store:
        service = RegistryService(store=store, identity=identity, resolve=no_resolution)
        began = time.perf_counter()
        await service.start()
        seconds = time.perf_counter() - began
        await service.stop()
        return service.state.size, seconds


# -- queries -------------------------------------------------------------------


def check_entity(server: Server, did: str) -> int:
    """Fail fast unless ``did`` is an accredited issuer with evidence; body size."""
    status, body = http_get(server.base + ENTITIES + did, timeout=10.0)
    try:
        answer = json.loads(body)
    except ValueError:
        answer = {}
    leaves = (answer.get("evidence") or {}).get("leaves") or {}
    if status != 200 or answer.get("roles") != ["issuer"] or len(leaves) < 3:
        raise RuntimeError(
            f"{server.name}: entity {did} answered {status}: {body[:400]!r}\n"
            f"{server.log_tail()}"
        )
    return len(body)


def check_did_key(server: Server, did: str) -> int:
    """Fail fast unless ``did`` resolves; return the body size."""
    status, body = http_get(server.base + PREFIX + did, timeout=10.0)
    if status != 200 or json.loads(body).get("didDocument", {}).get("id") != did:
        raise RuntimeError(f"{server.name}: {did[:40]} answered {status}")
    return len(body)


# -- report --------------------------------------------------------------------


def report_appends(appends: Appends, sign_us: float, sizes: list[int]) -> None:
    """Print what the appends measured."""
    accepted = appends.accepted
    print()
    print(
        f"appends: {sum(appends.statuses.values())} statements posted, "
        f"{accepted} accepted in {appends.seconds:.2f} s"
    )
    rate = accepted / appends.seconds if appends.seconds > 0 else 0.0
    line = (
        f"  accepted statements/s {rate:.0f}   (target >= 1000); "
        f"p50 {pct(appends.latencies, 0.5):.1f} ms, "
        f"p99 {pct(appends.latencies, 0.99):.1f} ms"
    )
    print(line)
    if appends.server_cpu is not None and accepted:
        per = appends.server_cpu / accepted * 1e6
        busy = appends.server_cpu / appends.seconds * 100
        print(
            f"  server CPU per accepted statement {per:.0f} us ({busy:.0f}% of one CPU)"
        )
    # The two first checkpoints are the genesis and the accreditor's.
    batches = [b - a for a, b in pairwise(sizes[1:])]
    if batches:
        print(
            f"  {len(batches)} commits (one checkpoint each), statements per "
            f"commit: mean {statistics.fmean(batches):.0f}, max {max(batches)}"
        )
    print(f"  signing in this process (sign_statement): {sign_us:.0f} us/statement")
    others = {s: n for s, n in appends.statuses.items() if s != 201}
    if others:
        print(f"  WARNING: other answers {others}; first: {appends.first_problem}")


def report_build(
    build: Build, replayed: tuple[int, float], ready: tuple[float, float]
) -> None:
    """Print the build and replay times."""
    leaves, seconds = replayed
    small, large = ready
    print()
    rate = build.leaves / build.store_seconds if build.store_seconds else 0.0
    print(
        f"offline build: {build.leaves} leaves, {build.checkpoints} checkpoints; "
        f"signing {build.sign_seconds:.1f} s, store {build.store_seconds:.1f} s "
        f"({rate:.0f} leaves/s)"
    )
    print(
        f"replay in this process (RegistryService.start): {leaves} leaves in "
        f"{seconds:.2f} s ({leaves / seconds:.0f} leaves/s)"
    )
    print(
        f"server start to /ready: {large:.2f} s with {leaves} leaves, "
        f"{small:.2f} s with a 1-leaf log (difference {large - small:.2f} s)"
    )


def report_proofs(rows: list[ProofRow]) -> None:
    """Print the inclusion proof table."""
    print()
    print(
        f"inclusion proofs ({rows[0].samples if rows else 0} random leaves per "
        "size, each a proof at that tree size over the same log):"
    )
    header = (
        f"{'tree size':>10} {'log2 n':>7} {'proof len':>9} {'nodes read':>10} "
        f"{'store us':>9} {'memory us':>9} {'store us/node':>13}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.size:>10} {math.log2(row.size):>7.1f} {row.proof_len:>9.1f} "
            f"{row.nodes_read:>10.1f} {row.store_us:>9.0f} {row.memory_us:>9.1f} "
            f"{row.store_us / row.nodes_read:>13.1f}"
        )
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        print(
            f"  from {first.size} to {last.size} leaves: proof length x"
            f"{last.proof_len / first.proof_len:.2f}, log2 n x"
            f"{math.log2(last.size) / math.log2(first.size):.2f}, store time x"
            f"{last.store_us / first.store_us:.2f}, memory time x"
            f"{last.memory_us / first.memory_us:.2f}"
        )
    print(
        "  'store us' is one store.inclusion_proof (one SELECT through aiosqlite's "
        "thread: a fixed cost dominates); 'memory us' the same proof from a "
        "MemoryTree."
    )


def report_queries(
    rows: list[tuple[str, Result]], load: LoadGenerator, sizes: dict[str, int]
) -> None:
    """Print the query table and the ratio."""
    print()
    print(f"queries on the {sizes.get('leaves', 0)}-leaf registry's server:")
    header = (
        f"{'scenario':<24} {'requests':>9} {'req/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6} {'srv CPU%':>8} {'srv us/req':>10} "
        f"{'body B':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, r in rows:
        cpu = f"{r.cpu_us:.0f}" if r.cpu_us is not None else "-"
        busy = f"{r.cpu_percent:.0f}" if r.cpu_percent is not None else "-"
        size = sizes.get(name.split(" #")[0].split(",")[0], 0)
        print(
            f"{name:<24} {r.requests:>9} {r.rps:>8.0f} {r.p50_ms:>8.2f} "
            f"{r.p99_ms:>8.2f} {r.errors:>6} {busy:>8} {cpu:>10} {size:>7}"
        )

    def total(results: list[Result]) -> tuple[int, float, float | None]:
        cpu = [r.server_cpu for r in results]
        return (
            sum(r.requests for r in results),
            sum(r.seconds for r in results),
            None if None in cpu else sum(c for c in cpu if c is not None),
        )

    key = [r for name, r in rows if name.startswith("did:key")]
    k_n, k_s, k_cpu = total(key)
    print()
    print("ratios over all rounds, against did:key resolution (higher is better):")
    for label, prefix, target in (
        ("entity query, random of all", "entity #", "   (target >= 0.5)"),
        ("entity query, hot subset", "entity, hot subset #", ""),
    ):
        entity = [r for name, r in rows if name.startswith(prefix)]
        e_n, e_s, e_cpu = total(entity)
        if not (e_s and k_s and k_n):
            continue
        ratio = (e_n / e_s) / (k_n / k_s)
        rounds = ", ".join(
            f"{e.rps / k.rps:.2f}" for e, k in zip(entity, key, strict=True) if k.rps
        )
        line = f"  {label}: req/s {ratio:.2f} (rounds: {rounds})"
        if e_cpu and k_cpu and e_n:
            line += f", CPU/req {(k_cpu / k_n) / (e_cpu / e_n):.2f}"
        print(line + target)
    if isinstance(load, PythonLoad):
        print("  (python client: read the CPU/req ratio, or install wrk)")


# -- the run -------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.registry",
        description="didtrust registry: appends/s, entity queries/s, proof cost.",
    )
    parser.add_argument(
        "--appends", type=int, default=5000, help="statements to post (5000)"
    )
    parser.add_argument(
        "--in-flight", type=int, default=64, help="POSTs outstanding at once (64)"
    )
    parser.add_argument(
        "--issuers",
        type=int,
        default=100_000,
        help="universities in the offline-built log (100000)",
    )
    parser.add_argument(
        "--batch", type=int, default=10_000, help="leaves per offline commit (10000)"
    )
    parser.add_argument(
        "--proofs", type=int, default=2000, help="proofs timed per tree size (2000)"
    )
    add_run_arguments(
        parser,
        duration=8.0,
        duration_help="seconds per query run",
        connections=64,
        connections_help="GET connections",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="query runs per kind, alternating entity and did:key (2)",
    )
    parser.add_argument(
        "--hot",
        type=int,
        default=2000,
        help="entities in the hot subset, queried once before its runs (2000)",
    )
    parser.add_argument(
        "--pool", type=int, default=5000, help="did:key DIDs resolved (5000)"
    )
    parser.add_argument(
        "--limit",
        type=float,
        default=120.0,
        help="most seconds for the posts, the offline build, a warm-up pass (120)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for sampling")
    add_load_arguments(
        parser,
        pin_help="pin the servers to CPU 0 and this process and wrk to the others",
    )
    args = parser.parse_args(argv)
    args.key_types = ["ed25519", "p256"]
    checks = [
        (1 <= args.appends <= 1_000_000, "--appends must be 1..1000000"),
        (1 <= args.in_flight <= 1024, "--in-flight must be 1..1024"),
        (1 <= args.issuers <= 2_000_000, "--issuers must be 1..2000000"),
        (1 <= args.batch <= 100_000, "--batch must be 1..100000"),
        (1 <= args.proofs <= 1_000_000, "--proofs must be 1..1000000"),
        (0 < args.limit <= 3600, "--limit must be 0..3600 seconds"),
        (1 <= args.rounds <= 20, "--rounds must be 1..20"),
        (1 <= args.pool <= 9_000, "--pool must be 1..9000 (the server's cache)"),
        (1 <= args.hot <= 100_000, "--hot must be 1..100000 (the proof cache)"),
    ]
    check_load_arguments(parser, args)
    for ok, message in checks:
        if not ok:
            parser.error(message)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run every phase and print the report."""
    args = parse_args(argv)
    rng = random.Random(args.seed)
    server_cpu, other_cpu = split_cpus(args.pin)
    began = time.monotonic()
    print(
        f"{args.appends} appends, {args.issuers} issuers offline; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    with (
        tempfile.TemporaryDirectory(prefix="didtrust-bench-registry-") as tmp,
        pinned(other_cpu),
    ):
        workdir = Path(tmp)
        load = pick_load(args, workdir)
        print(f"GET load generator: {load.label}; POSTs: aiohttp client here")
        # The root authority's key, as an operator makes it.
        made = didtrust_cli(["key", "generate", "--out", "root.pem"], workdir, workdir)
        pem = (workdir / "root.pem").read_bytes()
        root_key = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(root_key, Ed25519PrivateKey)
        root = Authority.of(root_key)
        if root.did != made["did"] or root.kid != made["kid"]:
            raise RuntimeError(f"the CLI made {made['did']}, the PEM is {root.did}")

        # -- appends --------------------------------------------------------
        (workdir / "appends").mkdir()
        data_a = init_registry(workdir / "appends", root)
        aud = registry_did(data_a)
        accreditor = Authority.generate()
        print("starting the server for appends ...", flush=True)
        server = didtrust_server(1, workdir / "appends", server_cpu, args.log_level)
        starting = time.monotonic()
        with server:
            small_ready = time.monotonic() - starting
            first = claims(
                root,
                accreditor.did,
                aud,
                role="accreditor",
                scope=ACCREDITOR_SCOPE,
                name="Bench Accreditation Agency",
                iat=int(time.time()),
            )
            jws = sign_statement(first, private_key=root.key, kid=root.kid)
            setup = post_statements(server, [jws], 1, args.limit)
            if setup.accepted != 1:
                raise RuntimeError(f"root -> accreditor refused: {setup.first_problem}")
            print(f"signing {args.appends} statements ...", flush=True)
            signing = time.perf_counter()
            iat = int(time.time())
            statements = [
                sign_statement(
                    claims(
                        accreditor,
                        university("a", i),
                        aud,
                        role="issuer",
                        scope=ISSUER_SCOPE,
                        name=f"University {i}",
                        iat=iat,
                    ),
                    private_key=accreditor.key,
                    kid=accreditor.kid,
                )
                for i in range(args.appends)
            ]
            sign_us = (time.perf_counter() - signing) / args.appends * 1e6
            print(f"posting, {args.in_flight} in flight ...", flush=True)
            appends = post_statements(server, statements, args.in_flight, args.limit)
            check_entity(server, university("a", args.appends - 1))
        sizes_a = commits(data_a / "registry.sqlite3")

        # -- the large log, offline -----------------------------------------
        (workdir / "queries").mkdir()
        data_q = init_registry(workdir / "queries", root)
        print(f"building {args.issuers} issuers offline ...", flush=True)
        build = asyncio.run(
            build_log(data_q, root, accreditor, args.issuers, args.batch, args.limit)
        )
        print("timing inclusion proofs ...", flush=True)
        proofs = asyncio.run(
            proof_costs(data_q / "registry.sqlite3", PROOF_SIZES, args.proofs, rng)
        )
        print("replaying in this process ...", flush=True)
        replayed = asyncio.run(replay(data_q))

        # -- queries ---------------------------------------------------------
        key_pool = make_pool("key", args.pool + 1, args.key_types, rng)
        print("starting the server on the large log ...", flush=True)
        server = didtrust_server(1, workdir / "queries", server_cpu, args.log_level)
        rows: list[tuple[str, Result]] = []
        starting = time.monotonic()
        with server:
            large_ready = time.monotonic() - starting
            sizes: dict[str, int] = {
                "entity": check_entity(server, university("u", args.issuers - 1)),
                "did:key warm": check_did_key(server, key_pool[0]),
                "leaves": build.leaves,
            }
            entity_paths = [ENTITIES + university("u", i) for i in range(args.issuers)]
            key_paths = [PREFIX + did for did in key_pool[1:]]
            hot_paths = rng.sample(entity_paths, min(args.hot, len(entity_paths)))
            print(
                f"warming {args.pool} did:key and {len(hot_paths)} entities ...",
                flush=True,
            )
            # wrk skips the first path of a "once" pass (it calls request() once
            # to check it): lead with one already asked for.
            load.once(server.base, [PREFIX + key_pool[0], *key_paths], args.limit)
            load.once(server.base, [hot_paths[0], *hot_paths], args.limit)
            for n in range(1, args.rounds + 1):
                for name, paths in (
                    ("entity", entity_paths),
                    ("entity, hot subset", hot_paths),
                    ("did:key warm", key_paths),
                ):
                    print(f"running {name} #{n} ...", flush=True)
                    run = partial(load.random, server.base, paths, args.duration)
                    rows.append((f"{name} #{n}", measured(server, run)))

    report_appends(appends, sign_us, sizes_a)
    report_build(build, replayed, (small_ready, large_ready))
    report_proofs(proofs)
    report_queries(rows, load, sizes)
    errors = sum(r.errors for _, r in rows)
    if errors:
        print(f"\nWARNING: {errors} failed GETs; the figures above are suspect.")
    print(
        f"\nnote: the load generators and this process share the machine's "
        f"{os.cpu_count()} CPU(s) with the server. 'srv us/req' is the server's "
        "CPU time per request (from /proc), which the load generator does not "
        "change; 'CPU/req' is did:key us/req over entity us/req."
    )
    print(f"total time {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
