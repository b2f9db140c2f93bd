"""Append to a registry SQLite file until killed, announcing each commit.

Only for tests: ``tests/unit/registry/test_crash.py`` runs it as
``python -m tests.helpers.crash_writer DB SEED`` and kills it with SIGKILL.

It prints ``ready <size>`` once the store is open, then loops: one write
transaction per batch of 1 to 30 random leaves, each with a jti
``<SEED>-<n>``, and a checkpoint whose note is fake (any bytes will do: the
store does not parse notes). After each ``write()`` returns, that is after
the commit, it prints ``acked <size>``. Output is flushed line by line, so
every ``acked`` line the parent reads is a commit the store acknowledged.
"""

from __future__ import annotations

import asyncio
import random
import sys

from registry.sqlite import SqliteStore


async def run(path: str, seed: int) -> None:
    """Append batches to the store at ``path`` forever."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible leaves, not secrets
    async with await SqliteStore.open(path) as store:
        print(f"ready {await store.size()}", flush=True)
        n = 0
        while True:
            count = rng.randint(1, 30)
            leaves = [
                f"{seed}:{n + i}:".encode() + rng.randbytes(rng.randint(0, 300))
                for i in range(count)
            ]
            async with store.write() as tx:
                added = await tx.append(leaves)
                await tx.add_jtis(
                    (f"{seed}-{n + i}", leaf.index) for i, leaf in enumerate(added)
                )
                size = await tx.size()
                root = await tx.root()
                await tx.put_checkpoint(size, root, b"fake note %d\n" % size + root)
            n += count
            print(f"acked {size}", flush=True)


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], int(sys.argv[2])))
