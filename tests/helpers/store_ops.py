"""Small writes every store test makes: a batch of leaves under one checkpoint."""

from __future__ import annotations

from registry.store import Store


def note(size: int, root: bytes) -> bytes:
    """A stand-in for a signed note (the store stores it byte for byte)."""
    return b"test note %d\n" % size + root


async def commit_batch(
    store: Store, leaves: list[bytes], jtis: list[str] | None = None
) -> int:
    """Append ``leaves`` (with their jtis) and a checkpoint in one transaction."""
    async with store.write() as tx:
        added = await tx.append(leaves)
        if jtis is not None:
            await tx.add_jtis(zip(jtis, (a.index for a in added), strict=True))
        size, root = await tx.size(), await tx.root()
        await tx.put_checkpoint(size, root, note(size, root))
    return size
