"""Remembers the checkpoints of registry logs, and checks that logs only grow.

:func:`check_history` compares the checkpoint of a verified answer
(``registry.answercheck``) with the last one seen of the same log, kept in a
:class:`CheckpointStore`, through :func:`check_consistency` (RFC 9162
§2.1.4.2): a smaller log is a :class:`RollbackError`, another root for the
same size or a proof that fails a :class:`ForkError`, and a larger log without
a proof a :class:`ConsistencyUnavailableError`.

The comparison is pure; the store does file I/O (under an exclusive file lock)
in a worker thread, so waiting for another process's lock never blocks the
event loop. A missing consistency proof is fetched through a
:class:`ConsistencySource` (``registry.client`` provides one per server).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from registry.answercheck import VerificationReport, decode_hash, encode_hash
from registry.checkpoint import Checkpoint
from registry.errors import (
    CheckpointStoreError,
    ConsistencyUnavailableError,
    ForkError,
    MerkleProofError,
    RegistryFetchError,
    RollbackError,
    SecurityError,
)
from registry.merkle import verify_consistency

__all__ = [
    "CheckpointStore",
    "ConsistencySource",
    "TrustedCheckpoint",
    "check_consistency",
    "check_history",
]


class ConsistencySource(Protocol):
    """Where a consistency proof the answer did not carry can be fetched."""

    @property
    def source(self) -> str:
        """Where the proofs come from, for the report (a server URL)."""
        ...

    async def consistency(self, first: int, second: int) -> list[bytes]:
        """An RFC 9162 consistency proof from size ``first`` to ``second``.

        Raises:
            RegistryFetchError: the proof could not be had.
        """
        ...


@dataclass(frozen=True, slots=True)
class TrustedCheckpoint:
    """The last checkpoint of a log that verified, as remembered."""

    origin: str
    size: int
    root_hash: bytes
    note: str | None = None
    """The signed note, kept as evidence should the log ever fork."""


def check_consistency(
    previous: TrustedCheckpoint,
    new_checkpoint: Checkpoint,
    proof: Sequence[bytes] | None,
) -> None:
    """Check that ``new_checkpoint`` extends the log ``previous`` saw.

    Args:
        previous: The last checkpoint of the same origin that verified.
        new_checkpoint: A checkpoint whose signature verified.
        proof: An RFC 9162 consistency proof from ``previous.size`` to
            ``new_checkpoint.size``, if one is at hand.

    Raises:
        RollbackError: the new log is smaller.
        ForkError: same size and another root, or the proof fails.
        ConsistencyUnavailableError: the log grew and there is no proof.
        ValueError: the two checkpoints are of different origins.
    """
    if previous.origin != new_checkpoint.origin:
        raise ValueError(
            f"checkpoints of {previous.origin!r} and {new_checkpoint.origin!r}"
        )
    old, new = previous.size, new_checkpoint.size
    if new < old:
        raise RollbackError(
            f"the registry log was rolled back: checkpoint size {new} is smaller "
            f"than size {old} seen before"
        )
    if new == old:
        if new_checkpoint.root_hash != previous.root_hash:
            raise ForkError(
                f"the registry log forked: two checkpoints of size {new} with "
                "different roots"
            )
        return
    if proof is None:
        raise ConsistencyUnavailableError(
            f"nothing proves that the log of size {new} extends size {old} seen "
            f"before: re-query with consistency_from={old} or pass --server"
        )
    try:
        verify_consistency(
            old, new, previous.root_hash, new_checkpoint.root_hash, proof
        )
    except MerkleProofError as exc:
        raise ForkError(
            f"the registry log forked: size {new} is not an extension of size "
            f"{old} seen before ({exc})"
        ) from exc


class CheckpointStore:
    """The last verified checkpoint of each log, in one JSON file.

    The file maps an origin to ``{"size", "root", "note"}`` (root in standard
    base64). It is written atomically (a temporary file, then ``os.replace``)
    with mode 0600 under an exclusive lock, and only ever moves forward: a
    smaller checkpoint never replaces a larger one. A file that other users
    may write is refused, since whoever can lower it can hide a rollback.

    Args:
        path: The file (created on first write, with a 0700 directory).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"CheckpointStore({str(self.path)!r})"

    async def get(self, origin: str) -> TrustedCheckpoint | None:
        """The remembered checkpoint of ``origin``, if any.

        The file is read in a worker thread, off the event loop.

        Raises:
            CheckpointStoreError: the file is unreadable, malformed, or
                writable by other users.
        """
        return (await asyncio.to_thread(self._read)).get(origin)

    async def remember(self, checkpoint: Checkpoint, note: str | None = None) -> None:
        """Remember ``checkpoint`` (already checked) unless a larger one is known.

        The lock is waited for, and the file read and written, in a worker
        thread: another process holding the lock does not stall the event loop.

        Raises:
            ForkError: another process remembered a checkpoint of the same
                size with another root in the meantime.
            CheckpointStoreError: the file cannot be read or written.
        """
        await asyncio.to_thread(self._remember, checkpoint, note)

    def _remember(self, checkpoint: Checkpoint, note: str | None) -> None:
        with self._locked():
            known = self._read()
            current = known.get(checkpoint.origin)
            if current is not None:
                if current.size > checkpoint.size:
                    return
                if (
                    current.size == checkpoint.size
                    and current.root_hash != checkpoint.root_hash
                ):
                    raise ForkError(
                        f"the registry log forked: two checkpoints of size "
                        f"{checkpoint.size} with different roots"
                    )
            known[checkpoint.origin] = TrustedCheckpoint(
                checkpoint.origin, checkpoint.size, checkpoint.root_hash, note
            )
            self._write(known)

    # -- file handling ------------------------------------------------------------

    def _read(self) -> dict[str, TrustedCheckpoint]:
        try:
            mode = self.path.stat().st_mode
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointStoreError(f"cannot read {self.path}: {exc}") from exc
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise CheckpointStoreError(
                f"{self.path} is writable by other users: chmod 600 it"
            )
        try:
            body = json.loads(text)
            if not isinstance(body, dict):
                raise ValueError("not a json object")
            out: dict[str, TrustedCheckpoint] = {}
            for origin, item in body.items():
                if not isinstance(item, dict):
                    raise ValueError(f"{origin}: not an object")
                size = item.get("size")
                if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                    raise ValueError(f"{origin}: size is not a non-negative integer")
                note = item.get("note")
                if note is not None and not isinstance(note, str):
                    raise ValueError(f"{origin}: note is not a string")
                root = decode_hash(item.get("root"), f"{origin}: root")
                out[origin] = TrustedCheckpoint(origin, size, root, note)
        except ValueError as exc:
            raise CheckpointStoreError(f"{self.path} is malformed: {exc}") from None
        return out

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise CheckpointStoreError(f"cannot lock {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, known: Mapping[str, TrustedCheckpoint]) -> None:
        body: dict[str, Any] = {}
        for origin, cp in sorted(known.items()):
            item: dict[str, Any] = {"size": cp.size, "root": encode_hash(cp.root_hash)}
            if cp.note is not None:
                item["note"] = cp.note
            body[origin] = item
        directory = self.path.parent
        try:
            fd, tmp = tempfile.mkstemp(
                dir=directory, prefix=f".{self.path.name}.", suffix=".tmp"
            )
        except OSError as exc:
            raise CheckpointStoreError(f"cannot write {self.path}: {exc}") from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(body, fh, indent=2, ensure_ascii=False)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)  # mkstemp's mode already; stated for clarity
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise CheckpointStoreError(f"cannot write {self.path}: {exc}") from exc
        # Make the rename itself durable.
        with contextlib.suppress(OSError):
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


async def check_history(
    report: VerificationReport,
    store: CheckpointStore,
    *,
    proofs: ConsistencySource | None = None,
) -> None:
    """Compare the answer's checkpoint with the last one seen; remember it if ok.

    The consistency proof comes from the answer's evidence when it starts at
    the remembered size, else from ``proofs`` when given (a registry server,
    ``RegistryClient.proofs_from``). The outcome is recorded
    as the ``consistency`` check; a rollback or fork also sets
    ``report.security_error``. The checkpoint is remembered only when the
    whole report is ok.

    Raises:
        CheckpointStoreError: the store cannot be read or written.
    """
    cp = report.checkpoint
    if cp is None:
        return
    name = "consistency"
    previous = await store.get(cp.origin)
    try:
        if previous is None:
            detail = (
                f"no earlier checkpoint of this registry in {store.path}: "
                f"size {cp.size} is trusted from now on"
            )
        else:
            proof, source = await _consistency_proof(report, previous, cp, proofs)
            check_consistency(previous, cp, proof)
            detail = (
                f"same checkpoint as seen before (size {cp.size})"
                if previous.size == cp.size
                else f"size {cp.size} extends size {previous.size} seen before "
                f"(proof {source})"
            )
        if report.ok:
            await store.remember(cp, report.note)
    except SecurityError as exc:
        report.security_error = exc
        report.failed(name, str(exc))
        return
    if previous is None:
        report.skipped(name, detail if report.ok else "no earlier checkpoint")
    else:
        report.passed(name, detail)


async def _consistency_proof(
    report: VerificationReport,
    previous: TrustedCheckpoint,
    cp: Checkpoint,
    proofs: ConsistencySource | None,
) -> tuple[Sequence[bytes] | None, str]:
    if cp.size <= previous.size:
        return None, ""
    carried = report.consistency
    if carried is not None and carried.first == previous.size:
        return carried.proof, "from the answer"
    if proofs is None:
        return None, ""
    try:
        proof = await proofs.consistency(previous.size, cp.size)
    except RegistryFetchError as exc:
        raise ConsistencyUnavailableError(
            f"no proof that size {cp.size} extends size {previous.size} seen "
            f"before: {exc}"
        ) from exc
    return proof, f"from {proofs.source}"
