"""The registry service: accepts statements, keeps the log, answers queries.

Writes (``submit``): the header is read, the ``kid``'s DID is resolved with the
project's own resolver, the signature is verified over the exact bytes, and the
statement is queued for the one writer task. The writer drains the queue in
batches: in one store transaction it catches up with entries other processes
appended, checks each statement against the rules at the current instant,
appends the accepted ones, and signs one checkpoint for the batch. Only after
the commit returns are the callers answered, so an acknowledged statement is
durable. If the commit fails, the in-memory state is rebuilt from the store.

Reads: the state is a deterministic replay of the log, kept in memory and
brought up to date with entries other worker processes appended (checked at
most every ``sync_interval`` seconds, and always after this process writes).
A read waits for a commit in progress in this process, so it never answers
from a batch that is not yet durable (nor has an inclusion proof).
Every answer carries the leaves it depends on, each with its inclusion proof to
one signed checkpoint, so it can be checked offline.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import rfc8785

from registry.answers import sign_answer
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.errors import (
    NotInitializedError,
    RegistryError,
    ServiceUnavailableError,
    StorageError,
    UnknownEntityError,
    UnknownKeyError,
)
from registry.identity import RegistryIdentity
from registry.merkle import MemoryTree
from registry.models import (
    GenesisEntry,
    GovernanceFramework,
    Role,
    StatementEntry,
    entry_json,
)
from registry.rules import DEFAULT_MAX_AGE, DEFAULT_MAX_SKEW, check_statement
from registry.state import Decision, RegistryState
from registry.statements import VerifiedStatement, peek_header, verify_statement
from registry.store import Store, StoredCheckpoint, WriteTransaction
from registry.views import entity_json, parse_entry
from resolver.cache import LRU
from resolver.did import DID
from resolver.errors import ResolutionError
from resolver.multibase import b64_encode as b64
from resolver.timefmt import format_time, parse_time

__all__ = [
    "Receipt",
    "RegistryService",
    "b64",
    "genesis_leaf",
    "leaf_bytes",
]

log = logging.getLogger(__name__)

Resolve = Callable[[DID], Awaitable[dict[str, Any]]]
"""Resolves a DID to its document (the project's Resolver, in the app)."""


def leaf_bytes(entry: GenesisEntry | StatementEntry) -> bytes:
    """The exact bytes of a log leaf: the JCS form of the entry."""
    return rfc8785.dumps(entry_json(entry))


def genesis_leaf(
    *,
    identity: RegistryIdentity,
    root: DID,
    governance: GovernanceFramework,
    max_depth: int,
    now: datetime,
) -> bytes:
    """The leaf-0 bytes for a new registry."""
    entry = GenesisEntry(
        registry=str(identity.did),
        origin=identity.origin,
        root=root,
        governance=governance,
        max_depth=max_depth,
        integrated_time=now,
    )
    return leaf_bytes(entry)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What an accepted statement gets back: where it is and the proof of it."""

    index: int
    leaf_hash: bytes
    integrated_time: datetime
    checkpoint: StoredCheckpoint
    inclusion_proof: list[bytes]

    def to_json(self) -> dict[str, Any]:
        """The receipt as served (hashes in standard base64)."""
        return {
            "index": self.index,
            "leafHash": b64(self.leaf_hash),
            "integratedTime": format_time(self.integrated_time),
            "treeSize": self.checkpoint.size,
            "inclusionProof": [b64(h) for h in self.inclusion_proof],
            "checkpoint": self.checkpoint.note.decode(),
        }


@dataclass
class _Pending:
    statement: VerifiedStatement
    future: asyncio.Future[tuple[int, bytes, datetime]]


class RegistryService:
    """One registry: its identity, its store, its replayed state, its writer.

    Args:
        store: The log's storage.
        identity: The registry's DID and signing key.
        resolve: Resolves an authority's DID to its document.
        clock: Wall clock (seconds since the epoch).
        max_batch: Most statements committed under one checkpoint.
        max_skew, max_age: Bounds on a statement's ``iat`` (see rules).
        answer_ttl: How long a signed answer may be relied on.
        sync_interval: Longest a reader waits before looking for entries
            appended by other processes.
        proof_cache_size: Inclusion proofs kept (LRU). A synchronous,
            in-process ``resolver.cache.LRU``, not a shared cache: a proof is
            computed from the in-memory tree in microseconds, so only a local
            map is worth consulting, and the answer path reads it without
            awaiting.
    """

    def __init__(
        self,
        *,
        store: Store,
        identity: RegistryIdentity,
        resolve: Resolve,
        clock: Callable[[], float] = time.time,
        max_batch: int = 256,
        max_skew: timedelta = DEFAULT_MAX_SKEW,
        max_age: timedelta = DEFAULT_MAX_AGE,
        answer_ttl: timedelta = timedelta(minutes=5),
        sync_interval: float = 0.05,
        proof_cache_size: int = 100_000,
    ) -> None:
        self.store = store
        self.identity = identity
        self._resolve = resolve
        self._clock = clock
        self.max_batch = max_batch
        self.max_skew = max_skew
        self.max_age = max_age
        self.answer_ttl = answer_ttl
        self.sync_interval = sync_interval
        self.state = RegistryState()
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._synced_at = 0.0
        self._sync_lock = asyncio.Lock()
        self._checkpoint: StoredCheckpoint | None = None
        self._proofs: LRU[tuple[int, int], list[bytes]] = LRU(proof_cache_size)
        # The committed log, in memory: leaf bytes and the Merkle tree over them,
        # so answers and receipts need no storage round trip (about 0.6 KB per
        # leaf and two hashes per leaf: ~70 MB at 100,000 leaves).
        self._leaves: list[bytes] = []
        self._tree = MemoryTree()
        self.appended = 0
        self.refused = 0

    # -- lifecycle -----------------------------------------------------------

    def now(self) -> datetime:
        """The current instant, from the injected clock."""
        return datetime.fromtimestamp(self._clock(), UTC)

    async def start(self) -> None:
        """Replay the log into memory and start the writer.

        Raises:
            NotInitializedError: the store has no genesis entry.
            RegistryError: the genesis entry names another registry.
        """
        await self._catch_up(force=True)
        if self.state.size == 0:
            raise NotInitializedError(
                "the registry has no log: run `didtrust registry init`"
            )
        genesis = self.state.genesis
        if genesis.registry != str(self.identity.did):
            raise RegistryError(
                f"the log belongs to {genesis.registry}, not to {self.identity.did}"
            )
        # The replayed log is long-lived: keep the cyclic collector from walking
        # it on every full collection (pauses of ~0.5 s at 100,000 entries).
        gc.freeze()
        self._writer = asyncio.create_task(self._write_loop(), name="registry-writer")
        log.info(
            "registry %s: %d entries, root authority %s",
            self.identity.did,
            self.state.size,
            genesis.root,
        )

    async def stop(self) -> None:
        """Stop taking statements, finish those queued, then stop the writer."""
        self._closing = True
        if self._writer is None:
            return
        await self._queue.join()
        self._writer.cancel()
        with suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    @property
    def root_authority(self) -> str:
        """The DID of the root authority named at ``registry init``."""
        return self.state.root

    def sign_answer(
        self, answer: Mapping[str, Any], query: Mapping[str, Any], at: datetime
    ) -> str:
        """``answer`` to ``query`` as a JWS by the registry key."""
        evidence = answer["evidence"]
        return sign_answer(
            answer,
            identity=self.identity,
            query=query,
            at=at,
            evaluated=self.now(),
            ttl=self.answer_ttl,
            checkpoint={
                "origin": self.identity.origin,
                "size": evidence["treeSize"],
                "note": evidence["checkpoint"],
            },
        )

    # -- replay --------------------------------------------------------------

    async def _catch_up(self, *, force: bool = False) -> None:
        """Apply entries other processes appended since we last looked.

        Returns only when no commit of this process is in progress: the writer
        applies a batch to ``state`` before its transaction commits (and holds
        ``_sync_lock`` until it has committed or rebuilt the state), so a
        reader that went ahead could answer from entries that are not durable
        and have no inclusion proof yet. The caller reads ``state`` without
        awaiting anything in between.
        """
        now = time.monotonic()
        async with self._sync_lock:
            if force or now - self._synced_at >= self.sync_interval:
                await self._sync()

    async def _sync(self) -> None:
        """Apply the entries the store holds beyond ``state`` (under the lock)."""
        size = await self.store.size()
        await self._apply_from(self.store, size)
        self._synced_at = time.monotonic()
        if self._checkpoint is None or self._checkpoint.size != size:
            checkpoint = await self.store.latest_checkpoint()
            if checkpoint is not None and (
                checkpoint.size > self._tree.size
                or self._tree.root(checkpoint.size) != checkpoint.root_hash
            ):
                raise StorageError(
                    f"the stored checkpoint at size {checkpoint.size} disagrees "
                    "with the stored leaves"
                )
            self._checkpoint = checkpoint

    async def _apply_from(self, reader: Store | WriteTransaction, size: int) -> None:
        while self.state.size < size:
            start = self.state.size
            chunk = await reader.entries(start, min(size, start + 1000))
            for offset, raw in enumerate(chunk):
                self.state.apply(start + offset, parse_entry(raw))
                self._leaves.append(raw)
                self._tree.append(raw)

    async def _rebuild(self) -> None:
        """Throw the in-memory state away and replay the store (after a failure).

        The caller holds ``_sync_lock``.
        """
        log.warning("rebuilding registry state from the store")
        self.state = RegistryState()
        self._checkpoint = None
        self._proofs.clear()
        self._leaves = []
        self._tree = MemoryTree()
        await self._sync()
        gc.freeze()

    # -- writes --------------------------------------------------------------

    async def submit(self, jws: str) -> Receipt:
        """Verify a statement and append it to the log.

        Raises:
            StatementError: malformed, unsupported alg, unknown key, bad
                signature (checked before anything is queued).
            RejectedStatementError: refused by the rules (nothing written).
            StorageError: the store failed (nothing acknowledged).
            ServiceUnavailableError: the registry is shutting down.
        """
        if self._closing or self._writer is None:
            raise ServiceUnavailableError("the registry is not taking statements")
        header = peek_header(jws)
        try:
            document = await self._resolve(header.kid.did)
        except ResolutionError as exc:
            raise UnknownKeyError(
                f"cannot resolve {header.kid.did}: {exc.error_type}: {exc.detail}"
            ) from exc
        verified = verify_statement(jws, did_document=document)
        # Checked again: stop() may have run while the kid was being resolved,
        # and nobody would take a statement queued after it.
        if self._closing or self._writer is None:
            raise ServiceUnavailableError("the registry is not taking statements")
        future: asyncio.Future[tuple[int, bytes, datetime]] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.put_nowait(_Pending(verified, future))
        index, hashed, integrated = await asyncio.shield(future)
        checkpoint = self._checkpoint
        if checkpoint is None:  # pragma: no cover - set by the commit that answered us
            raise ServiceUnavailableError("no checkpoint after the commit")
        proof = await self._inclusion_proof(index, checkpoint.size)
        return Receipt(index, hashed, integrated, checkpoint, proof)

    async def _write_loop(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            except Exception as exc:
                log.exception("registry append failed; nothing from the batch was kept")
                error = (
                    exc
                    if isinstance(exc, RegistryError)
                    else ServiceUnavailableError(
                        "the registry could not store the statement"
                    )
                )
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(error)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: Sequence[_Pending]) -> None:
        # Under the sync lock: readers must not see the batch's entries before
        # they are durable, nor apply entries of other processes concurrently
        # (both would apply the same index).
        async with self._sync_lock:
            try:
                await self._commit_locked(batch)
            except BaseException:
                with suppress(Exception):
                    await self._rebuild()
                raise

    async def _commit_locked(self, batch: Sequence[_Pending]) -> None:
        now = self.now()
        accepted: list[tuple[_Pending, StatementEntry, bytes]] = []
        async with self.store.write() as tx:
            await self._apply_from(tx, await tx.size())
            for item in batch:
                try:
                    check_statement(
                        self.state,
                        item.statement.claims,
                        now=now,
                        registry_did=str(self.identity.did),
                        max_skew=self.max_skew,
                        max_age=self.max_age,
                    )
                except RegistryError as exc:
                    self.refused += 1
                    item.future.set_exception(exc)
                    continue
                except Exception:
                    # A bug the statement triggers fails that statement only:
                    # nothing of it reached the state, so the rest of the
                    # batch goes on and no replay is needed.
                    log.exception(
                        "statement %r could not be checked", item.statement.claims.jti
                    )
                    self.refused += 1
                    item.future.set_exception(
                        ServiceUnavailableError("the statement could not be checked")
                    )
                    continue
                entry = StatementEntry(jws=item.statement.jws, integrated_time=now)
                # Applied before the commit so later statements of the batch see
                # it; a failed commit rebuilds the state from the store.
                self.state.apply(self.state.size, entry)
                accepted.append((item, entry, leaf_bytes(entry)))
            if not accepted:
                return
            appended = await tx.append([raw for _, _, raw in accepted])
            await tx.add_jtis(
                (item.statement.claims.jti, leaf.index)
                for (item, _, _), leaf in zip(accepted, appended, strict=True)
            )
            size = appended[-1].index + 1
            # The store refuses a root its stored nodes do not give from the
            # last checkpoint (registry.store, the root check), so a damaged
            # node table never yields a signed root; a failure from here on
            # rolls back and rebuilds the state, tree included.
            root = await tx.root()
            for _, _, raw in accepted:
                self._tree.append(raw)
            note = sign_checkpoint(
                Checkpoint(origin=self.identity.origin, size=size, root_hash=root),
                self.identity.note_signer(),
            )
            await tx.put_checkpoint(size, root, note)
        for _, _, raw in accepted:
            self._leaves.append(raw)
        self._checkpoint = StoredCheckpoint(size=size, root_hash=root, note=note)
        self.appended += len(accepted)
        for (item, _, _), leaf in zip(accepted, appended, strict=True):
            if not item.future.done():
                item.future.set_result((leaf.index, leaf.leaf_hash, now))

    # -- proofs --------------------------------------------------------------

    async def checkpoint(self) -> StoredCheckpoint:
        """The latest signed checkpoint (after catching up)."""
        await self._catch_up()
        return self._current_checkpoint()

    def _current_checkpoint(self) -> StoredCheckpoint:
        if self._checkpoint is None:
            raise NotInitializedError("the registry has no checkpoint yet")
        return self._checkpoint

    # The log as stored, for the log routes (as durable as the store says).

    async def log_entries(self, start: int, end: int) -> list[tuple[bytes, bytes]]:
        """The stored leaves ``[start, end)``, each with its leaf hash."""
        raw = await self.store.entries(start, end)
        hashes = await self.store.leaf_hashes(start, end)
        return list(zip(raw, hashes, strict=True))

    async def log_inclusion(
        self, index: int, tree_size: int
    ) -> tuple[bytes, list[bytes]]:
        """Leaf ``index``'s hash and its inclusion proof in the tree of ``tree_size``.

        Raises:
            InclusionProofError: the leaf or the size is beyond the log.
        """
        proof = await self.store.inclusion_proof(index, tree_size)
        hashes = await self.store.leaf_hashes(index, index + 1)
        return hashes[0], proof

    async def log_consistency(self, first: int, second: int) -> list[bytes]:
        """A consistency proof from tree size ``first`` to ``second``.

        Raises:
            ConsistencyProofError: the sizes are out of order or beyond the log.
        """
        return await self.store.consistency_proof(first, second)

    async def _inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        return self._proof(index, tree_size)

    def _proof(self, index: int, tree_size: int) -> list[bytes]:
        key = (index, tree_size)
        proof = self._proofs.get(key)
        if proof is None:
            proof = self._tree.inclusion_proof(index, tree_size)
            self._proofs.put(key, proof)
        return proof

    def _evidence(
        self,
        checkpoint: StoredCheckpoint,
        leaves: Iterable[int],
        consistency_from: int | None,
    ) -> dict[str, Any]:
        # Synchronous: it reads the in-memory log as of ``checkpoint`` without
        # yielding to other tasks in between.
        size = checkpoint.size
        out: dict[str, Any] = {
            "checkpoint": checkpoint.note.decode(),
            "treeSize": size,
            "leaves": {
                str(i): {
                    "entry": self._leaves[i].decode(),
                    "inclusionProof": [b64(h) for h in self._proof(i, size)],
                }
                for i in sorted(set(leaves))
                if 0 <= i < size
            },
        }
        if consistency_from is not None:
            proof = self._tree.consistency_proof(consistency_from, size)
            out["consistency"] = {
                "from": consistency_from,
                "to": size,
                "proof": [b64(h) for h in proof],
            }
        return out

    # -- queries -------------------------------------------------------------

    async def entity(
        self,
        did: str,
        at: datetime | None = None,
        *,
        consistency_from: int | None = None,
    ) -> dict[str, Any]:
        """Everything the log says about ``did`` as of ``at``, with proofs.

        Raises:
            UnknownEntityError: no statement names ``did``.
        """
        await self._catch_up()
        evaluated = self.now()
        at = at or evaluated
        view = self.state.entity(did, at)
        if view is None:
            raise UnknownEntityError(f"{did} is not in the registry")
        answer = entity_json(view)
        answer["registry"] = str(self.identity.did)
        answer["timeEvaluated"] = format_time(evaluated)
        answer["evidence"] = self._evidence(
            self._current_checkpoint(),
            (0, *view.leaves),
            consistency_from,
        )
        return answer

    async def authorization(
        self, query: dict[str, Any], *, consistency_from: int | None = None
    ) -> dict[str, Any]:
        """A TRQP v2 authorization answer, with evidence."""
        return await self._trqp("authorized", query, consistency_from)

    async def recognition(
        self, query: dict[str, Any], *, consistency_from: int | None = None
    ) -> dict[str, Any]:
        """A TRQP v2 recognition answer, with evidence."""
        return await self._trqp("recognized", query, consistency_from)

    async def _trqp(
        self, kind: str, query: dict[str, Any], consistency_from: int | None
    ) -> dict[str, Any]:
        await self._catch_up()
        evaluated = self.now()
        context = query.get("context") or {}
        requested = context.get("time")
        at = _parse_query_time(requested) if requested else evaluated
        ask = self.state.authorized if kind == "authorized" else self.state.recognized
        decision: Decision = ask(
            query["entity_id"],
            query["authority_id"],
            query["action"],
            query["resource"],
            at,
        )
        answer: dict[str, Any] = {
            "entity_id": query["entity_id"],
            "authority_id": query["authority_id"],
            "action": query["action"],
            "resource": query["resource"],
            kind: bool(decision),
            "time_evaluated": format_time(evaluated),
            "message": decision.message,
        }
        if requested:
            answer["time_requested"] = requested
        if context:
            answer["context"] = context
        answer["evidence"] = self._evidence(
            self._current_checkpoint(),
            (0, *decision.leaves),
            consistency_from,
        )
        return answer

    async def list_entities(
        self,
        *,
        at: datetime | None = None,
        role: Role | None = None,
        resource: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """A page of the DIDs effective at ``at``, by role and resource."""
        await self._catch_up()
        evaluated = self.now()
        dids, next_cursor = self.state.list_entities(
            at=at or evaluated, role=role, resource=resource, cursor=cursor, limit=limit
        )
        return {
            "entities": dids,
            "next": next_cursor,
            "at": format_time(at or evaluated),
            "timeEvaluated": format_time(evaluated),
        }


def _parse_query_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("context.time must be an RFC 3339 string")
    if not value.endswith(("Z", "z", "+00:00")):
        raise ValueError("context.time must use the Z (+00:00) offset")
    return parse_time(value)
