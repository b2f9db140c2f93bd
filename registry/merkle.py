"""RFC 9162 (Certificate Transparency 2.0) Merkle tree hashes and proofs.

What this module does, all of it pure, synchronous and without I/O:

- hashing (RFC 9162 §2.1.1): a leaf hash is ``SHA-256(0x00 || leaf)``, an interior
  node ``SHA-256(0x01 || left || right)``, the root of the empty tree
  ``SHA-256("")``; a tree of ``n > 1`` leaves splits at ``k``, the largest power
  of two smaller than ``n``;
- generation of inclusion proofs (§2.1.3.1, ``PATH``) and consistency proofs
  (§2.1.4.1, ``PROOF``/``SUBPROOF``) over a :class:`HashSource`;
- verification of both (§2.1.3.2 and §2.1.4.2), raising
  :class:`~registry.errors.InclusionProofError` or
  :class:`~registry.errors.ConsistencyProofError`;
- :class:`MemoryTree`, an in-memory log that the SQLite store mirrors.

It does not store anything, sign anything (see ``registry.checkpoint``) or know
what a leaf means.

Storage model
-------------
Every proof element is the root of a subtree of the RFC tree. Such a subtree is
either *perfect* (``2**level`` leaves starting at a multiple of ``2**level``) or
sits on the right edge of the tree and is a short run of perfect subtrees of
decreasing size. Perfect subtrees never change once their last leaf is appended,
so a log keeps one immutable hash per perfect subtree, keyed by
``Node(level, idx)`` (it covers leaves ``[idx << level, (idx + 1) << level)``;
level 0 holds the leaf hashes). Appending leaf ``i`` adds ``1 + ctz(i + 1)``
nodes (about two per leaf overall), and any root, inclusion proof or consistency
proof, *at any past tree size*, needs O(log n) of them (:func:`root_nodes`,
:func:`inclusion_proof_nodes`, :func:`consistency_proof_nodes`): never a
recomputation of the tree.

A :class:`HashSource` answers ``subtree_hash(level, index)``. An async store
cannot answer synchronously, so it works in three steps: ask the ``*_nodes``
function which nodes a proof needs, fetch them in one query, and hand them to
the proof function wrapped in :class:`NodeHashes`. The store appends the same
way: :func:`append_dependencies` names the stored nodes it needs and
:func:`appended_nodes` returns the rows to insert.

Recommended SQLite layout (what :class:`MemoryTree` holds in lists)::

    CREATE TABLE merkle_node (
        level INTEGER NOT NULL CHECK (level >= 0),
        idx   INTEGER NOT NULL CHECK (idx >= 0),
        hash  BLOB    NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID;

Rows are only ever inserted, in the same transaction as the leaf (entry) row;
the log size is ``max(idx) + 1`` over the ``level = 0`` rows (one index seek,
unlike ``count(*)``). A proof's nodes are fetched in one query, ``SELECT
level, idx, hash FROM merkle_node WHERE (level = ? AND idx = ?) OR ...``: one
primary-key search per node (the row-value form ``(level, idx) IN (VALUES
...)`` scans the whole table in SQLite 3.40; see ``registry.sqlite``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple, Protocol

from registry.errors import ConsistencyProofError, InclusionProofError, MerkleProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "HashSource",
    "MemoryTree",
    "Node",
    "NodeHashes",
    "append_dependencies",
    "appended_nodes",
    "consistency_proof",
    "consistency_proof_nodes",
    "inclusion_proof",
    "inclusion_proof_nodes",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "root_hash",
    "root_nodes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""``MTH({})``: the root hash of the empty tree (RFC 9162 §2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class Node(NamedTuple):
    """A perfect subtree: ``2**level`` leaves, from leaf ``idx << level`` on.

    Level 0 nodes are leaves. A node is the storage key of its hash (the field
    is ``idx``, not ``index``, which tuples already define).
    """

    level: int
    idx: int

    @property
    def start(self) -> int:
        """Index of the first leaf under the node."""
        return self.idx << self.level

    @property
    def end(self) -> int:
        """One past the index of the last leaf under the node."""
        return (self.idx + 1) << self.level


class HashSource(Protocol):
    """Read access to the hashes of the perfect subtrees of a log."""

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Return the hash of the perfect subtree ``Node(level, index)``.

        Raises:
            KeyError: The node is not complete (or not stored).
        """
        ...


class NodeHashes:
    """A :class:`HashSource` over a mapping of nodes to hashes.

    What an async store builds from the rows it fetched for a proof.
    """

    def __init__(self, hashes: Mapping[Node, bytes]) -> None:
        self._hashes = hashes

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Return the hash stored for ``Node(level, index)``.

        Raises:
            KeyError: The mapping does not hold that node.
        """
        try:
            return self._hashes[Node(level, index)]
        except KeyError:
            raise KeyError(f"node (level {level}, index {index}) not fetched") from None


# --- hashing ------------------------------------------------------------------


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ValueError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``.

    Raises:
        ValueError: A child hash is not 32 bytes long.
    """
    _check_hash(left, "left hash")
    _check_hash(right, "right hash")
    return _node(left, right)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return ``MTH`` of the tree with these leaf hashes, in O(n) time.

    Raises:
        ValueError: A leaf hash is not 32 bytes long.
    """
    # Keep the perfect subtrees of the prefix seen so far, largest first (a
    # "compact range"); their levels are the binary digits of the count.
    stack: list[tuple[int, bytes]] = []
    for i, h in enumerate(hashes):
        _check_hash(h, f"leaf hash {i}")
        level, cur = 0, h
        while stack and stack[-1][0] == level:
            cur = _node(stack.pop()[1], cur)
            level += 1
        stack.append((level, cur))
    return _fold([h for _, h in stack])


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Hash a run of perfect subtrees of strictly decreasing size into their MTH.

    The split rule puts the largest perfect subtree on the left and recurses on
    the rest, so the run folds from the right.
    """
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = _node(left, root)
    return root


# --- which subtrees a proof needs ---------------------------------------------


def _split(n: int) -> int:
    """Return the largest power of two smaller than ``n`` (for ``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect_nodes(start: int, end: int) -> list[Node]:
    """Decompose ``[start, end)`` into perfect subtrees, largest first.

    For a subtree of the RFC tree (the only ranges asked for here) these are the
    subtrees :func:`_fold` combines into its ``MTH``.
    """
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append(Node(level, start >> level))
        start += 1 << level
    return nodes


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose MTHs make ``PATH(index, D[0:size])``, in order."""
    siblings: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + _split(end - start)
        if index < mid:
            siblings.append((mid, end))
            end = mid
        else:
            siblings.append((start, mid))
            start = mid
    # PATH appends the sibling after the deeper path: deepest first.
    siblings.reverse()
    return siblings


def _consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose MTHs make ``PROOF(first, D[0:second])``.

    Requires ``0 < first < second``.
    """
    siblings: list[tuple[int, int]] = []
    start, end, m, whole = 0, second, first, True  # ``m`` counts from ``start``
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            siblings.append((start + k, end))
            end = start + k
        else:
            siblings.append((start, start + k))
            start += k
            m -= k
            whole = False
    siblings.reverse()
    if not whole:
        # SUBPROOF(m, D[m], false) = [MTH(D[m])]: the old tree is not a single
        # subtree of the new one, so its last subtree is named explicitly.
        siblings.insert(0, (start, end))
    return siblings


def _nodes_of(ranges: Iterable[tuple[int, int]]) -> list[Node]:
    return sorted({n for s, e in ranges for n in _perfect_nodes(s, e)})


def _range_hash(start: int, end: int, source: HashSource) -> bytes:
    return _fold([source.subtree_hash(*n) for n in _perfect_nodes(start, end)])


def _check_inclusion_args(index: int, tree_size: int) -> None:
    if tree_size <= 0:
        raise InclusionProofError(f"no leaf is included in a tree of size {tree_size}")
    if not 0 <= index < tree_size:
        raise InclusionProofError(
            f"leaf index {index} is out of range for tree size {tree_size}"
        )


def _check_consistency_args(first: int, second: int) -> None:
    if first < 0:
        raise ConsistencyProofError(f"tree size {first} is negative")
    if second < first:
        raise ConsistencyProofError(
            f"second tree size {second} is smaller than first tree size {first}"
        )


def root_nodes(tree_size: int) -> list[Node]:
    """Return the perfect subtrees whose hashes give the root at ``tree_size``.

    Raises:
        MerkleProofError: ``tree_size`` is negative.
    """
    if tree_size < 0:
        raise MerkleProofError(f"tree size {tree_size} is negative")
    return _perfect_nodes(0, tree_size)


def inclusion_proof_nodes(index: int, tree_size: int) -> list[Node]:
    """Return the nodes :func:`inclusion_proof` will read, sorted, O(log n) of them.

    Raises:
        InclusionProofError: ``index`` is not a leaf of a tree of ``tree_size``.
    """
    _check_inclusion_args(index, tree_size)
    return _nodes_of(_inclusion_ranges(index, tree_size))


def consistency_proof_nodes(first: int, second: int) -> list[Node]:
    """Return the nodes :func:`consistency_proof` will read, sorted.

    Raises:
        ConsistencyProofError: ``first`` is negative or larger than ``second``.
    """
    _check_consistency_args(first, second)
    if first in (0, second):
        return []
    return _nodes_of(_consistency_ranges(first, second))


# --- generation ---------------------------------------------------------------


def root_hash(tree_size: int, source: HashSource) -> bytes:
    """Return ``MTH(D[0:tree_size])`` from at most log2(n) + 1 stored nodes.

    Raises:
        MerkleProofError: ``tree_size`` is negative.
        KeyError: ``source`` lacks a node (the tree is smaller than ``tree_size``).
    """
    return _fold([source.subtree_hash(*n) for n in root_nodes(tree_size)])


def inclusion_proof(index: int, tree_size: int, source: HashSource) -> list[bytes]:
    """Return the RFC 9162 inclusion proof of leaf ``index`` in tree ``tree_size``.

    Args:
        index: Zero-based index of the leaf.
        tree_size: Size of the tree the proof leads to (any past size works).
        source: The log's perfect subtree hashes.

    Returns:
        The audit path, deepest sibling first (``PATH`` of §2.1.3.1).

    Raises:
        InclusionProofError: ``index`` is not a leaf of a tree of ``tree_size``.
        KeyError: ``source`` lacks a node (the tree is smaller than ``tree_size``).
    """
    _check_inclusion_args(index, tree_size)
    return [_range_hash(s, e, source) for s, e in _inclusion_ranges(index, tree_size)]


def consistency_proof(first: int, second: int, source: HashSource) -> list[bytes]:
    """Return the RFC 9162 consistency proof from tree size ``first`` to ``second``.

    The proof is empty when there is nothing to prove: ``first == second``, or
    ``first == 0`` (every tree extends the empty tree).

    Raises:
        ConsistencyProofError: ``first`` is negative or larger than ``second``.
        KeyError: ``source`` lacks a node (the tree is smaller than ``second``).
    """
    _check_consistency_args(first, second)
    if first in (0, second):
        return []
    return [_range_hash(s, e, source) for s, e in _consistency_ranges(first, second)]


# --- appending ----------------------------------------------------------------


def append_dependencies(index: int) -> list[Node]:
    """Return the stored nodes :func:`appended_nodes` reads to append leaf ``index``.

    They are the left siblings on the way up from the new leaf; all lie in the
    tree of size ``index``.

    Raises:
        ValueError: ``index`` is negative.
    """
    if index < 0:
        raise ValueError(f"leaf index {index} is negative")
    deps: list[Node] = []
    level, i = 0, index
    while i & 1:
        deps.append(Node(level, i - 1))
        level, i = level + 1, i >> 1
    return deps


def appended_nodes(
    index: int, leaf: bytes, source: HashSource
) -> list[tuple[Node, bytes]]:
    """Return the nodes to store when the leaf hash ``leaf`` becomes leaf ``index``.

    ``index`` must be the current tree size. The list holds the leaf itself
    (level 0) and every perfect subtree the leaf completes, lowest first. When a
    store appends several leaves in one transaction, ``source`` must see the
    nodes of the earlier ones.

    Raises:
        ValueError: ``leaf`` is not 32 bytes or ``index`` is negative.
        KeyError: ``source`` lacks a dependency (the tree is smaller than ``index``).
    """
    _check_hash(leaf, "leaf hash")
    out = [(Node(0, index), leaf)]
    h = leaf
    for dep in append_dependencies(index):
        h = _node(source.subtree_hash(*dep), h)
        out.append((Node(dep.level + 1, dep.idx >> 1), h))
    return out


# --- verification -------------------------------------------------------------


def _require_hashes(
    error: type[MerkleProofError],
    named: Iterable[tuple[str, bytes]],
    proof: Sequence[bytes],
) -> None:
    for what, value in named:
        if len(value) != HASH_SIZE:
            raise error(f"{what} is {len(value)} bytes, not {HASH_SIZE}")
    for i, value in enumerate(proof):
        if len(value) != HASH_SIZE:
            raise error(f"proof hash {i} is {len(value)} bytes, not {HASH_SIZE}")


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``proof`` proves ``leaf_hash`` is leaf ``index`` of tree ``root``.

    Follows RFC 9162 §2.1.3.2; the step numbers below are the RFC's. The proof
    binds ``tree_size`` only through ``root`` (trees of nearby sizes can share a
    path's shape), so take both from one verified checkpoint.

    Args:
        leaf_hash: The leaf hash (not the leaf data): see :func:`leaf_hash`.
        index: Zero-based index of the leaf.
        tree_size: Size of the tree whose root is ``root``.
        proof: The inclusion path, deepest sibling first.
        root: The trusted root hash of the tree of ``tree_size``.

    Raises:
        InclusionProofError: The proof does not prove inclusion, has the wrong
            number of hashes, or any argument is out of range or the wrong size.
    """
    _require_hashes(
        InclusionProofError, [("leaf hash", leaf_hash), ("root", root)], proof
    )
    # (1) leaf_index must be smaller than tree_size.
    _check_inclusion_args(index, tree_size)
    expected = len(_inclusion_ranges(index, tree_size))
    if len(proof) != expected:
        raise InclusionProofError(
            f"inclusion proof has {len(proof)} hashes, expected {expected} "
            f"for leaf {index} in tree size {tree_size}"
        )
    # (2) fn = leaf_index, sn = tree_size - 1; (3) r = hash.
    fn, sn = index, tree_size - 1
    r = leaf_hash
    # (4) for each p in the inclusion path:
    for p in proof:
        # (a) a path longer than the tree is tall fails.
        if sn == 0:
            raise InclusionProofError("inclusion proof is too long")
        # (b) p is a left sibling if fn is a right child or the last node.
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        # (c)
        fn >>= 1
        sn >>= 1
    # (5) sn must reach 0 and r must be the root.
    if sn != 0:
        raise InclusionProofError("inclusion proof is too short")
    if r != root:
        raise InclusionProofError(
            f"inclusion proof of leaf {index} does not lead to the root "
            f"of tree size {tree_size}"
        )


def verify_consistency(
    first_size: int,
    second_size: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Check that ``proof`` proves tree ``first_root`` is a prefix of ``second_root``.

    Follows RFC 9162 §2.1.4.2 for ``0 < first_size < second_size`` (step
    numbers below are the RFC's). The trivial cases take an empty proof: equal
    sizes need equal roots, and a first size of 0 needs the empty-tree root.
    As with inclusion, each size is bound only through its root: take each
    (size, root) pair from one verified checkpoint.

    Raises:
        ConsistencyProofError: The proof does not prove consistency, has the
            wrong number of hashes, the second tree is smaller than the first
            (a rollback), or any argument is out of range or the wrong size.
    """
    _require_hashes(
        ConsistencyProofError,
        [("first root", first_root), ("second root", second_root)],
        proof,
    )
    _check_consistency_args(first_size, second_size)
    if first_size == 0 or first_size == second_size:
        if proof:
            raise ConsistencyProofError(
                f"consistency proof from size {first_size} to {second_size} "
                f"must be empty, has {len(proof)} hashes"
            )
        if first_size == 0 and first_root != EMPTY_ROOT:
            raise ConsistencyProofError("first root is not the empty tree's root")
        if first_size == second_size and first_root != second_root:
            raise ConsistencyProofError(
                f"roots differ for equal tree sizes {first_size} and {second_size}"
            )
        return
    expected = len(_consistency_ranges(first_size, second_size))
    # (1) an empty path fails (caught here too: ``expected`` is never 0).
    if len(proof) != expected:
        raise ConsistencyProofError(
            f"consistency proof has {len(proof)} hashes, expected {expected} "
            f"from size {first_size} to {second_size}"
        )
    path = list(proof)
    # (2) a power-of-two first tree is a node of the second: its root is implied.
    if first_size & (first_size - 1) == 0:
        path.insert(0, first_root)
    # (3)
    fn, sn = first_size - 1, second_size - 1
    # (4)
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # (5)
    fr = sr = path[0]
    # (6)
    for c in path[1:]:
        # (a)
        if sn == 0:
            raise ConsistencyProofError("consistency proof is too long")
        # (b)
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    # (7)
    if sn != 0:
        raise ConsistencyProofError("consistency proof is too short")
    if fr != first_root:
        raise ConsistencyProofError(
            f"consistency proof does not lead to the root of tree size {first_size}"
        )
    if sr != second_root:
        raise ConsistencyProofError(
            f"consistency proof does not lead to the root of tree size {second_size}"
        )


# --- in-memory log ------------------------------------------------------------


class MemoryTree:
    """An append-only RFC 9162 log in memory; the model for the SQLite store.

    It keeps every perfect subtree hash (``levels[level][index]``, exactly the
    ``merkle_node`` table of the module docstring), so an append costs O(1)
    amortized hashes and O(log n) at worst, and a root or proof at any size up
    to the current one costs O(log n) lookups.
    """

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> MemoryTree:
        """Return a tree holding these leaf hashes, in order.

        Raises:
            ValueError: A leaf hash is not 32 bytes long.
        """
        tree = cls()
        for h in hashes:
            tree.append_leaf_hash(h)
        return tree

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"MemoryTree(size={self.size})"

    def append(self, data: bytes) -> int:
        """Append a leaf (its data, hashed here) and return its index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, leaf: bytes) -> int:
        """Append a leaf by its leaf hash and return its index.

        Raises:
            ValueError: ``leaf`` is not 32 bytes long.
        """
        index = self.size
        for node, h in appended_nodes(index, leaf, self):
            if node.level == len(self._levels):
                self._levels.append([])
            self._levels[node.level].append(h)
        return index

    def nodes(self) -> Iterator[tuple[Node, bytes]]:
        """Yield every perfect subtree of the tree with its hash, level by level."""
        for level, hashes in enumerate(self._levels):
            for index, h in enumerate(hashes):
                yield Node(level, index), h

    def leaf_hash(self, index: int) -> bytes:
        """Return the hash of leaf ``index``.

        Raises:
            KeyError: There is no such leaf.
        """
        return self.subtree_hash(0, index)

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Return the hash of the perfect subtree ``Node(level, index)``.

        Raises:
            KeyError: The node is not complete in the current tree.
        """
        # Explicit bounds: a negative index must not wrap around the list.
        if 0 <= level < len(self._levels) and 0 <= index < len(self._levels[level]):
            return self._levels[level][index]
        raise KeyError(f"node (level {level}, index {index}) is not in the tree")

    def _size_or_current(
        self, tree_size: int | None, error: type[MerkleProofError]
    ) -> int:
        if tree_size is None:
            return self.size
        if tree_size > self.size:
            raise error(f"tree size {tree_size} exceeds log size {self.size}")
        return tree_size

    def root(self, tree_size: int | None = None) -> bytes:
        """Return the root hash at ``tree_size`` (default: the current size).

        Raises:
            MerkleProofError: ``tree_size`` is negative or exceeds the current size.
        """
        return root_hash(self._size_or_current(tree_size, MerkleProofError), self)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """Return the inclusion proof of leaf ``index`` in the tree of ``tree_size``.

        Raises:
            InclusionProofError: ``tree_size`` exceeds the current size, or
                ``index`` is not a leaf of it.
        """
        size = self._size_or_current(tree_size, InclusionProofError)
        _check_inclusion_args(index, size)
        # The same proof as ``inclusion_proof``, walked level by level over the
        # stored nodes: a left sibling is always a perfect subtree; a right one
        # is perfect, or (on the right edge) the fold of the perfect subtrees
        # that make it up; a node with no sibling moves up unchanged.
        levels = self._levels
        proof: list[bytes] = []
        node, last, level = index, size - 1, 0
        while last > 0:
            if node & 1:
                proof.append(levels[level][node - 1])
            elif node < last:
                sibling = node + 1
                if (sibling + 1) << level <= size:
                    proof.append(levels[level][sibling])
                else:
                    proof.append(_range_hash(sibling << level, size, self))
            node, last, level = node >> 1, last >> 1, level + 1
        return proof

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """Return the consistency proof from ``first`` to ``second`` (default: now).

        Raises:
            ConsistencyProofError: ``second`` exceeds the current size, or
                ``first`` is negative or larger than ``second``.
        """
        size = self._size_or_current(second, ConsistencyProofError)
        return consistency_proof(first, size, self)
