"""``didtrust registry backup DEST``: a consistent, checked copy of the log.

The copy is taken with SQLite's online backup API while the server may be
running and appending (readers and the writer are not blocked for long; the
copy is one consistent snapshot). It is written to ``DEST.part``, then
checked before it is renamed to ``DEST``:

- SQLite's ``integrity_check`` passes;
- the latest signed checkpoint in the copy verifies with the registry's key
  (from the key file) and commits to the Merkle root recomputed from the
  copy's leaves (RFC 9162), so the copy is the log the registry signed.

It never overwrites an existing file, and leaves nothing behind on failure.
It does not copy the key file: back that up separately, once (it never
changes), and keep it secret.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from registry.checkpoint import open_checkpoint
from registry.errors import RegistryError
from registry.identity import load_key_file
from registry.merkle import MemoryTree
from registry.sqlite import SqliteStore

__all__ = ["BackupError", "BackupSummary", "backup_registry"]

_CHUNK = 10_000


class BackupError(RegistryError):
    """The backup could not be made or did not check out."""


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What was copied: the log size, and the checkpoint it was checked against."""

    path: Path
    size: int
    checkpoint_size: int
    root_hash: str


def _copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=1024)
            (result,) = dst.execute("PRAGMA integrity_check").fetchone()
            if result != "ok":
                raise BackupError(f"the copy fails sqlite's integrity check: {result}")
            # A single file: no -wal beside the copy.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


async def _check(target: Path, key_file: Path) -> tuple[int, int, bytes]:
    identity = load_key_file(key_file)
    store = await SqliteStore.open(target)
    try:
        size = await store.size()
        stored = await store.latest_checkpoint()
        if stored is None:
            raise BackupError("the copy has no signed checkpoint")
        checkpoint = open_checkpoint(
            stored.note, identity.note_verifier(), origin=identity.origin
        )
        if checkpoint.size > size:
            raise BackupError(
                f"the checkpoint covers {checkpoint.size} leaves, the copy has {size}"
            )
        tree = MemoryTree()
        for start in range(0, checkpoint.size, _CHUNK):
            end = min(start + _CHUNK, checkpoint.size)
            # Hash the entries themselves, not the stored leaf hashes: the
            # check is that these bytes are what the registry signed.
            for entry in await store.entries(start, end):
                tree.append(entry)
        root = tree.root(checkpoint.size)
        if root != checkpoint.root_hash:
            raise BackupError(
                "the copy's leaves do not hash to the signed checkpoint's root"
            )
        return size, checkpoint.size, root
    finally:
        await store.close()


def _prepare(database: Path, destination: Path) -> Path:
    if destination.exists():
        raise BackupError(f"{destination} exists: choose a new file")
    if not database.is_file():
        raise BackupError(f"no registry database at {database}")
    part = destination.with_name(destination.name + ".part")
    part.unlink(missing_ok=True)
    return part


def _publish(part: Path, destination: Path) -> None:
    with part.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(part, destination)


def _discard(part: Path) -> None:
    part.unlink(missing_ok=True)


async def backup_registry(
    database: Path, key_file: Path, destination: Path
) -> BackupSummary:
    """Copy the registry database to ``destination`` and check the copy.

    Raises:
        BackupError: ``destination`` exists, the database is missing, or the
            copy failed its checks (nothing is left at ``destination``).
        RegistryError: the key file or a checkpoint is unreadable.
    """
    part = _prepare(database, destination)
    try:
        try:
            _copy(database, part)
        except sqlite3.Error as exc:
            raise BackupError(f"copying {database} failed: {exc}") from None
        size, checked, root = await _check(part, key_file)
        _publish(part, destination)
    except BaseException:
        _discard(part)
        raise
    return BackupSummary(destination, size, checked, root.hex())
