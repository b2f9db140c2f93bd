"""A real crash test of the SQLite store: writer processes killed with SIGKILL.

Each round starts one or two ``tests/helpers/crash_writer.py`` processes on the
same file, lets them commit for a random moment, kills them with SIGKILL at
random instants (in the middle of whatever they were doing: hashing, an
INSERT, a COMMIT, a WAL write), then reopens the file and checks that

- every size a writer announced as acknowledged is stored, with its
  checkpoint, whose root is the root recomputed from the stored leaves;
- the latest checkpoint covers exactly the stored leaves (leaves and their
  checkpoint commit together) and every Merkle node matches a tree rebuilt
  from the leaf data (``tests.helpers.log_check``).

Rounds run on the same file, so later rounds also append after a recovery.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from registry.sqlite import SqliteStore
from tests.helpers.log_check import check_log_file
from tests.helpers.paths import REPO

pytestmark = pytest.mark.slow  # kills writer child processes mid-append

ROUNDS = 8
START_TIMEOUT = 20.0  # seconds for a child to import and open the store
ACKED = re.compile(rb"^acked (\d+)$", re.MULTILINE)


@dataclass
class Writer:
    proc: subprocess.Popen[bytes]
    out: Path
    err: Path

    def output(self) -> bytes:
        return self.out.read_bytes()

    def acked(self) -> list[int]:
        return [int(m) for m in ACKED.findall(self.output())]


def start_writer(db: Path, seed: int, logs: Path) -> Writer:
    out, err = logs / f"writer-{seed}.out", logs / f"writer-{seed}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.crash_writer", str(db), str(seed)],
            cwd=REPO,
            stdout=stdout,
            stderr=stderr,
        )
    return Writer(proc, out, err)


def wait_ready(writer: Writer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while b"ready " not in writer.output():
        if writer.proc.poll() is not None:
            raise AssertionError(
                f"writer exited with {writer.proc.returncode} before it was ready: "
                f"{writer.err.read_text()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError("writer did not open the store in time")
        time.sleep(0.01)


def kill(writer: Writer) -> None:
    if writer.proc.poll() is None:
        writer.proc.send_signal(signal.SIGKILL)
    writer.proc.wait(timeout=10)
    # Killed while running: not an exit after a failure of its own.
    assert writer.proc.returncode == -signal.SIGKILL, writer.err.read_text()


async def stored_checkpoint_roots(db: Path, sizes: set[int]) -> dict[int, bytes]:
    """Reopen the file through the store (recovery) and read what it serves."""
    async with await SqliteStore.open(db) as store:
        size = await store.size()
        latest = await store.latest_checkpoint()
        assert latest is not None
        assert latest.size == size
        assert latest.root_hash == await store.root(size)
        roots: dict[int, bytes] = {}
        for s in sizes:
            cp = await store.checkpoint_at(s)
            assert cp is not None, f"acknowledged size {s} has no checkpoint"
            roots[s] = cp.root_hash
        return roots


def test_sigkill_loses_no_acked_append_and_splits_no_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "registry" / "log.db"
    logs = tmp_path / "logs"
    logs.mkdir()
    rng = random.Random(9162)  # noqa: S311 -- reproducible delays
    all_acked: set[int] = set()
    for round_no in range(ROUNDS):
        writers = [
            start_writer(db, 100 * round_no + k, logs) for k in range(1 + round_no % 2)
        ]
        try:
            for w in writers:
                wait_ready(w)
            for w in writers:
                time.sleep(rng.uniform(0.02, 0.4))
                kill(w)
        finally:
            for w in writers:
                if w.proc.poll() is None:
                    w.proc.kill()
                    w.proc.wait()
        acked = {size for w in writers for size in w.acked()}
        all_acked |= acked

        log = check_log_file(db)
        assert max(all_acked, default=0) <= log.tree.size
        roots = asyncio.run(stored_checkpoint_roots(db, all_acked))
        for size, root in roots.items():
            assert root == log.tree.root(size), f"acked size {size}: wrong root"
        # One jti per leaf, each naming its own leaf's writer and number.
        assert len(log.jtis) == log.tree.size
        for jti, idx in log.jtis.items():
            seed, n = jti.split("-")
            assert log.leaves[idx].startswith(f"{seed}:{n}:".encode())
    # The test proves nothing if the writers never got to commit.
    assert len(all_acked) >= ROUNDS
    assert os.stat(db).st_mode & 0o077 == 0
