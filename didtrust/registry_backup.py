"""``didtrust registry backup DEST``: a consistent, checked copy of the log.

The copy is taken with SQLite's online backup API while the server may be
running and appending (one consistent snapshot; the writer is not blocked for
long). It is written to a new private file beside ``DEST`` (mode 0600, created
exclusively, never through a symlink), checked over a read-only connection,
then linked to ``DEST`` (which fails if ``DEST`` appeared meanwhile) and the
directory synced. The checks:

- SQLite's ``integrity_check`` passes;
- the leaves are numbered 0..n-1 without a gap, and the latest checkpoint
  covers exactly n of them (leaves and their checkpoint commit together);
- that checkpoint verifies with the registry's key (from the key file) and
  its root is the RFC 9162 root of the copy's entries, hashed afresh;
- every stored Merkle node equals the one recomputed from the entries, and
  none is missing: a server restored from the copy extends its tree from
  those nodes, so a damaged one would make it sign a wrong root later.

It never overwrites a file and leaves nothing behind on failure. It does not
copy the key file: back that up separately, once (it never changes), and keep
it secret.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from registry.checkpoint import open_checkpoint
from registry.errors import RegistryError
from registry.identity import RegistryIdentity, load_key_file
from registry.merkle import MemoryTree

__all__ = ["BackupError", "BackupSummary", "backup_registry"]


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
            # One self-contained file: no -wal beside the copy.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _expected_nodes(size: int) -> int:
    """How many perfect subtrees (stored Merkle nodes) a tree of ``size`` has."""
    count, level_size = 0, size
    while level_size:
        count += level_size
        level_size //= 2
    return count


def _check(target: Path, identity: RegistryIdentity) -> tuple[int, int, bytes]:
    conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
    try:
        count, last = conn.execute("SELECT count(*), max(idx) FROM leaf").fetchone()
        if count == 0 or last != count - 1:
            raise BackupError(f"the copy's leaves are not numbered 0..{count - 1}")
        row = conn.execute(
            "SELECT size, root, note FROM checkpoint ORDER BY size DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise BackupError("the copy has no signed checkpoint")
        checkpoint = open_checkpoint(
            bytes(row[2]), identity.note_verifier(), origin=identity.origin
        )
        if checkpoint.size != count or row[0] != count:
            raise BackupError(
                f"the latest checkpoint covers {checkpoint.size} leaves, "
                f"the copy has {count}"
            )
        tree = MemoryTree()
        # Hash the entries themselves: the check is that these bytes are what
        # the registry signed.
        for (data,) in conn.execute("SELECT data FROM leaf ORDER BY idx"):
            tree.append(bytes(data))
        root = tree.root()
        if root != checkpoint.root_hash or bytes(row[1]) != root:
            raise BackupError(
                "the copy's leaves do not hash to the signed checkpoint's root"
            )
        nodes = 0
        for level, index, digest in conn.execute(
            "SELECT level, idx, hash FROM merkle_node"
        ):
            nodes += 1
            try:
                expected = tree.subtree_hash(level, index)
            except KeyError:
                expected = b""
            if bytes(digest) != expected:
                raise BackupError(
                    f"the copy's merkle node (level {level}, index {index}) "
                    "does not match its leaves"
                )
        if nodes != _expected_nodes(count):
            raise BackupError(
                f"the copy has {nodes} merkle nodes, a tree of {count} leaves "
                f"has {_expected_nodes(count)}"
            )
        return count, checkpoint.size, root
    finally:
        conn.close()


def _prepare(database: Path, destination: Path) -> Path:
    if os.path.lexists(destination):
        raise BackupError(f"{destination} exists: choose a new file")
    if not database.is_file():
        raise BackupError(f"no registry database at {database}")
    # A fresh private file that cannot be a symlink planted in advance.
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
        )
    except OSError as exc:
        raise BackupError(f"cannot write in {destination.parent}: {exc}") from None
    os.close(fd)
    return Path(name)


def _publish(part: Path, destination: Path) -> None:
    with part.open("rb") as f:
        os.fsync(f.fileno())
    try:
        os.link(part, destination)  # fails if destination appeared meanwhile
    except FileExistsError:
        raise BackupError(f"{destination} exists: choose a new file") from None
    part.unlink()
    directory = os.open(destination.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _discard(part: Path) -> None:
    for path in (part, Path(f"{part}-journal"), Path(f"{part}-wal")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def backup_registry(database: Path, key_file: Path, destination: Path) -> BackupSummary:
    """Copy the registry database to ``destination`` and check the copy.

    Raises:
        BackupError: ``destination`` exists, the database is missing, or the
            copy failed its checks (nothing is left at ``destination``).
        RegistryError: the key file or a checkpoint is unreadable.
    """
    identity = load_key_file(key_file)
    part = _prepare(database, destination)
    try:
        try:
            _copy(database, part)
            size, checked, root = _check(part, identity)
        except sqlite3.Error as exc:
            raise BackupError(f"copying {database} failed: {exc}") from None
        _publish(part, destination)
    except BaseException:
        _discard(part)
        raise
    return BackupSummary(destination, size, checked, root.hex())
