"""``didtrust registry backup DEST``: a consistent, checked copy of the log.

The copy goes through the store (``registry.store.LogStore.copy_to``): its
backend writes one consistent snapshot while the server may be running and
appending (SQLite's online backup API, checked with ``integrity_check``; the
writer is not blocked for long). It is written to a new private file beside
``DEST`` (mode 0600, created exclusively, never through a symlink), checked
through the store's reads over the copy (read-only), then linked to ``DEST``
(which fails if ``DEST`` appeared meanwhile) and the directory synced. The
checks:

- the backend's own check of the copy (SQLite: ``integrity_check`` passes);
- the leaves are numbered 0..n-1 without a gap, and the latest checkpoint
  covers exactly n of them (leaves and their checkpoint commit together);
- that checkpoint verifies with the registry's key (from the key file) and
  its root is the RFC 9162 root of the copy's entries, hashed afresh;
- every stored Merkle node equals the one recomputed from the entries, and
  none is missing or extra: a server restored from the copy extends its tree
  from those nodes, so a damaged one would make it sign a wrong root later.

A store that keeps nothing on disk (``memory:``) cannot be backed up; its
backend says so. It never overwrites a file and leaves nothing behind on
failure. It does not copy the key file: back that up separately, once (it
never changes), and keep it secret.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from registry.checkpoint import open_checkpoint
from registry.database import DatabaseUrl
from registry.errors import RegistryError, StorageError
from registry.identity import RegistryIdentity, load_key_file
from registry.merkle import MemoryTree
from registry.store import MAX_READ_ENTRIES, LogStore

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


async def _check(copy: LogStore, identity: RegistryIdentity) -> tuple[int, int, bytes]:
    count = await copy.size()
    gap = BackupError(f"the copy's leaves are not numbered 0..{count - 1}")
    if not count:
        raise gap
    # Hash the entries themselves: the check is that these bytes are what the
    # registry signed. A page shorter than asked is a gap in the numbering.
    tree = MemoryTree()
    while tree.size < count:
        end = min(count, tree.size + MAX_READ_ENTRIES)
        page = await copy.entries(tree.size, end)
        if len(page) != end - tree.size:
            raise gap
        for data in page:
            tree.append(data)
    latest = await copy.latest_checkpoint()
    if latest is None:
        raise BackupError("the copy has no signed checkpoint")
    checkpoint = open_checkpoint(
        latest.note, identity.note_verifier(), origin=identity.origin
    )
    if checkpoint.size != count or latest.size != count:
        raise BackupError(
            f"the latest checkpoint covers {checkpoint.size} leaves, "
            f"the copy has {count}"
        )
    root = tree.root()
    if root != checkpoint.root_hash or latest.root_hash != root:
        raise BackupError(
            "the copy's leaves do not hash to the signed checkpoint's root"
        )
    expected = dict(tree.nodes())
    stored = await copy.subtree_hashes(expected)
    for node, digest in stored.items():
        if digest != expected[node]:
            raise BackupError(
                f"the copy's merkle node (level {node.level}, index {node.idx}) "
                "does not match its leaves"
            )
    nodes = await copy.node_count()
    if nodes != len(expected) or len(stored) != len(expected):
        raise BackupError(
            f"the copy has {nodes} merkle nodes ({len(stored)} of its tree), "
            f"a tree of {count} leaves has {len(expected)}"
        )
    return count, checkpoint.size, root


def _prepare(database: DatabaseUrl, destination: Path) -> Path:
    if os.path.lexists(destination):
        raise BackupError(f"{destination} exists: choose a new file")
    if database.path is not None and not database.path.is_file():
        raise BackupError(f"no registry database at {database.path}")
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


async def backup_registry(
    database: DatabaseUrl, key_file: Path, destination: Path
) -> BackupSummary:
    """Copy the registry's store to ``destination`` and check the copy.

    Raises:
        BackupError: ``destination`` exists, the database is missing or
            cannot be copied, or the copy failed its checks (nothing is left
            at ``destination``).
        RegistryError: the key file or a checkpoint is unreadable.
    """
    identity = load_key_file(key_file)
    part = _prepare(database, destination)
    try:
        try:
            async with (
                await database.open() as store,
                await store.copy_to(part) as copy,
            ):
                size, checked, root = await _check(copy, identity)
        except StorageError as exc:
            raise BackupError(f"copying {database} failed: {exc}") from None
        _publish(part, destination)
    except BaseException:
        _discard(part)
        raise
    return BackupSummary(destination, size, checked, root.hex())
