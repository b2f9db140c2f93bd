"""RFC 9162 Merkle hashing, proofs and verification (registry.merkle).

Checked three ways: against the published RFC 6962 reference vectors, against a
naive recursive recomputation written straight from the RFC's definitions, and
by attacks on valid proofs.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.errors import ConsistencyProofError, InclusionProofError, MerkleProofError
from registry.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    Node,
    NodeHashes,
    append_dependencies,
    appended_nodes,
    consistency_proof,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    root_hash,
    root_nodes,
    verify_consistency,
    verify_inclusion,
)

# --- reference vectors --------------------------------------------------------
# The RFC 6962 test data shared by Certificate Transparency's C++ merkle tree
# tests and transparency-dev/merkle, copied from transparency-dev/merkle
# proof/verify_test.go (`leaves`, `roots`, `inclusionProofs`,
# `consistencyProofs`). Leaf indices there are 1-based; here they are 0-based.
REF_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
REF_ROOTS = {
    size: bytes.fromhex(h)
    for size, h in enumerate(
        (
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ),
        start=1,
    )
}
_H = bytes.fromhex
REF_INCLUSION = [  # (leaf index, tree size, proof)
    (0, 1, []),
    (
        0,
        8,
        [
            _H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            _H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            _H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            _H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            _H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        3,
        [_H("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")],
    ),
    (
        1,
        5,
        [
            _H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            _H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]
REF_CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            _H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            _H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            _H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            _H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            _H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            _H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            _H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            _H("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            _H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]
# SHA-256 of the empty string (FIPS 180-2 example; also `sha256EmptyTreeHash`).
REF_EMPTY_ROOT = _H("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

REF_TREE = MemoryTree()
for _leaf in REF_LEAVES:
    REF_TREE.append(_leaf)


def _incl_id(v: tuple[int, int, list[bytes]]) -> str:
    return f"leaf{v[0]}-of-{v[1]}"


def _cons_id(v: tuple[int, int, list[bytes]]) -> str:
    return f"{v[0]}-to-{v[1]}"


# --- naive reference, straight from RFC 9162 §2.1 -----------------------------


class NaiveTree:
    """MTH, PATH and PROOF exactly as RFC 9162 §2.1 defines them, recursively.

    Shares no code with registry.merkle; MTH results are memoized per range so
    that thousands of proofs over one tree stay fast.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = leaves
        self._memo: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def _k(n: int) -> int:
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    def mth(self, lo: int, hi: int) -> bytes:
        key = (lo, hi)
        if key not in self._memo:
            n = hi - lo
            if n == 0:
                value = hashlib.sha256(b"").digest()
            elif n == 1:
                value = hashlib.sha256(b"\x00" + self.leaves[lo]).digest()
            else:
                k = self._k(n)
                value = hashlib.sha256(
                    b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi)
                ).digest()
            self._memo[key] = value
        return self._memo[key]

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        """PATH(m, D[lo:hi]), with m counted from lo."""
        n = hi - lo
        if n == 1:
            return []
        k = self._k(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        """SUBPROOF(m, D[lo:hi], b), with m counted from lo."""
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = self._k(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        """PROOF(m, D[n])."""
        return self.subproof(m, 0, n, True)


# Seeded, so every run checks the same trees; test data, not secrets.
RNG = random.Random(9162)  # noqa: S311
BIG_N = 2500
BIG_LEAVES = [RNG.randbytes(RNG.randrange(0, 40)) for _ in range(BIG_N)]
BIG_TREE = MemoryTree()
for _leaf in BIG_LEAVES:
    BIG_TREE.append(_leaf)
NAIVE = NaiveTree(BIG_LEAVES)
SMALL = 48  # every index, every size pair up to here


# --- hashing ------------------------------------------------------------------


def test_empty_tree_root_is_sha256_of_nothing():
    assert EMPTY_ROOT == REF_EMPTY_ROOT
    assert root_from_leaf_hashes([]) == REF_EMPTY_ROOT
    assert MemoryTree().root() == REF_EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated():
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert leaf_hash(left + right) != node_hash(left, right)


@pytest.mark.parametrize("size", sorted(REF_ROOTS), ids=lambda s: f"size{s}")
def test_root_matches_reference_vector(size):
    hashes = [leaf_hash(leaf) for leaf in REF_LEAVES[:size]]
    assert root_from_leaf_hashes(hashes) == REF_ROOTS[size]
    assert REF_TREE.root(size) == REF_ROOTS[size]


@pytest.mark.parametrize("bad", [b"", b"\x00" * 31, b"\x00" * 33], ids=len)
def test_hashing_rejects_non_32_byte_hashes(bad):
    with pytest.raises(ValueError, match="not 32"):
        node_hash(bad, EMPTY_ROOT)
    with pytest.raises(ValueError, match="leaf hash 1"):
        root_from_leaf_hashes([EMPTY_ROOT, bad])
    with pytest.raises(ValueError, match="not 32"):
        MemoryTree().append_leaf_hash(bad)


# --- proofs against the reference vectors -------------------------------------


@pytest.mark.parametrize("vector", REF_INCLUSION, ids=_incl_id)
def test_inclusion_proof_matches_reference_vector(vector):
    index, size, proof = vector
    assert REF_TREE.inclusion_proof(index, size) == proof
    verify_inclusion(leaf_hash(REF_LEAVES[index]), index, size, proof, REF_ROOTS[size])


@pytest.mark.parametrize("vector", REF_CONSISTENCY, ids=_cons_id)
def test_consistency_proof_matches_reference_vector(vector):
    first, second, proof = vector
    assert REF_TREE.consistency_proof(first, second) == proof
    verify_consistency(first, second, REF_ROOTS[first], REF_ROOTS[second], proof)


# --- proofs against the naive RFC recomputation -------------------------------


def test_roots_match_naive_recomputation():
    sizes = [*range(SMALL + 1), *RNG.sample(range(SMALL + 1, BIG_N + 1), 150), BIG_N]
    for size in sizes:
        assert BIG_TREE.root(size) == NAIVE.mth(0, size), size
    assert root_from_leaf_hashes([leaf_hash(x) for x in BIG_LEAVES]) == NAIVE.mth(
        0, BIG_N
    )


def _inclusion_cases() -> list[tuple[int, int]]:
    cases = [(i, n) for n in range(1, SMALL + 1) for i in range(n)]
    for n in [*RNG.sample(range(SMALL + 1, BIG_N + 1), 200), BIG_N, 1024, 1025]:
        cases.extend([(0, n), (n - 1, n), (RNG.randrange(n), n)])
    return cases


def _consistency_cases() -> list[tuple[int, int]]:
    cases = [(m, n) for n in range(1, SMALL + 1) for m in range(1, n + 1)]
    for _ in range(300):
        n = RNG.randrange(2, BIG_N + 1)
        cases.append((RNG.randrange(1, n), n))
    cases.extend([(1024, BIG_N), (1023, 1024), (1, BIG_N), (BIG_N - 1, BIG_N)])
    return cases


def test_inclusion_proofs_match_naive_recomputation_and_verify():
    for index, size in _inclusion_cases():
        proof = BIG_TREE.inclusion_proof(index, size)
        assert proof == NAIVE.path(index, 0, size), (index, size)
        verify_inclusion(
            leaf_hash(BIG_LEAVES[index]), index, size, proof, NAIVE.mth(0, size)
        )


def test_consistency_proofs_match_naive_recomputation_and_verify():
    for first, second in _consistency_cases():
        proof = BIG_TREE.consistency_proof(first, second)
        assert proof == NAIVE.proof(first, second), (first, second)
        verify_consistency(
            first, second, NAIVE.mth(0, first), NAIVE.mth(0, second), proof
        )


def test_trivial_consistency_proofs_are_empty_and_verify():
    assert BIG_TREE.consistency_proof(0, 7) == []
    assert BIG_TREE.consistency_proof(7, 7) == []
    verify_consistency(0, 7, EMPTY_ROOT, BIG_TREE.root(7), [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(7, 7, BIG_TREE.root(7), BIG_TREE.root(7), [])


# --- storage-friendly generation ----------------------------------------------


class CountingSource:
    """A HashSource that counts the lookups made through it."""

    def __init__(self, tree: MemoryTree) -> None:
        self.tree = tree
        self.reads: list[Node] = []

    def subtree_hash(self, level: int, index: int) -> bytes:
        self.reads.append(Node(level, index))
        return self.tree.subtree_hash(level, index)


@pytest.fixture(scope="module")
def tree_100k():
    n = 100_003
    return MemoryTree.from_leaf_hashes(
        hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)
    )


def test_proofs_at_100k_leaves_read_logarithmically_many_nodes(tree_100k):
    n = tree_100k.size
    bound = 2 * n.bit_length()  # 34 for 100,003 leaves
    root = tree_100k.root()
    for index in (0, 1, 65_535, 65_536, 99_999, n - 1):
        source = CountingSource(tree_100k)
        proof = inclusion_proof(index, n, source)
        verify_inclusion(tree_100k.leaf_hash(index), index, n, proof, root)
        assert len(source.reads) <= bound
        assert sorted(source.reads) == inclusion_proof_nodes(index, n)
    for first in (1, 3, 65_536, 70_001, n - 1):
        source = CountingSource(tree_100k)
        proof = consistency_proof(first, n, source)
        verify_consistency(first, n, tree_100k.root(first), root, proof)
        assert len(source.reads) <= bound
        assert sorted(source.reads) == consistency_proof_nodes(first, n)
    source = CountingSource(tree_100k)
    assert root_hash(n, source) == root
    assert len(source.reads) == bin(n).count("1")


def test_proofs_need_only_the_planned_nodes():
    # What an async store does: plan, fetch those rows, then build the proof.
    tree, n = BIG_TREE, 1999

    def fetched(nodes: list[Node]) -> NodeHashes:
        return NodeHashes({node: tree.subtree_hash(*node) for node in nodes})

    for index in (0, 777, 1998):
        source = fetched(inclusion_proof_nodes(index, n))
        assert inclusion_proof(index, n, source) == tree.inclusion_proof(index, n)
    for first in (1, 640, 1024, 1998):
        source = fetched(consistency_proof_nodes(first, n))
        assert consistency_proof(first, n, source) == tree.consistency_proof(first, n)
    assert root_hash(n, fetched(root_nodes(n))) == tree.root(n)


def test_node_hashes_names_a_missing_node():
    with pytest.raises(KeyError, match="level 3, index 1"):
        NodeHashes({}).subtree_hash(3, 1)


def test_store_append_recipe_builds_the_memory_tree_layout():
    # The SQLite store's append: read the dependencies, insert appended_nodes().
    table: dict[Node, bytes] = {}
    for i, leaf in enumerate(BIG_LEAVES[:300]):
        assert all(dep in table for dep in append_dependencies(i))
        table.update(appended_nodes(i, leaf_hash(leaf), NodeHashes(table)))
    # 2n - popcount(n) rows: about two per leaf.
    assert len(table) == 2 * 300 - bin(300).count("1")
    for node, h in table.items():
        assert h == BIG_TREE.subtree_hash(*node)
        assert h == NAIVE.mth(node.start, node.end)
    assert root_hash(300, NodeHashes(table)) == NAIVE.mth(0, 300)


def test_append_dependencies_are_the_left_siblings_up_the_tree():
    assert append_dependencies(0) == []
    assert append_dependencies(6) == []
    assert append_dependencies(7) == [Node(0, 6), Node(1, 2), Node(2, 0)]
    with pytest.raises(ValueError, match="negative"):
        append_dependencies(-1)


def test_memory_tree_append_returns_indices_and_keeps_history():
    tree = MemoryTree()
    assert [tree.append(leaf) for leaf in REF_LEAVES] == list(range(8))
    assert len(tree) == 8
    assert tree.leaf_hash(3) == leaf_hash(REF_LEAVES[3])
    assert tree.root(3) == REF_ROOTS[3]  # a past size stays answerable
    assert repr(tree) == "MemoryTree(size=8)"


def test_memory_tree_does_not_wrap_negative_indices():
    with pytest.raises(KeyError):
        REF_TREE.subtree_hash(0, -1)
    with pytest.raises(KeyError):
        REF_TREE.subtree_hash(-1, 0)
    with pytest.raises(KeyError):
        REF_TREE.subtree_hash(3, 1)  # leaves 8..15 do not exist yet


def test_memory_tree_refuses_sizes_it_does_not_have():
    with pytest.raises(MerkleProofError, match="tree size 9 exceeds log size 8"):
        REF_TREE.root(9)
    with pytest.raises(MerkleProofError, match="negative"):
        REF_TREE.root(-1)
    with pytest.raises(InclusionProofError, match="exceeds log size"):
        REF_TREE.inclusion_proof(0, 9)
    with pytest.raises(ConsistencyProofError, match="exceeds log size"):
        REF_TREE.consistency_proof(1, 9)


@pytest.mark.parametrize(
    ("index", "size"),
    [(0, 0), (8, 8), (9, 8), (-1, 8)],
    ids=["empty-tree", "index-equals-size", "index-beyond-size", "negative-index"],
)
def test_inclusion_proof_generation_refuses_leaves_outside_the_tree(index, size):
    with pytest.raises(InclusionProofError):
        inclusion_proof(index, size, REF_TREE)
    with pytest.raises(InclusionProofError):
        inclusion_proof_nodes(index, size)


def test_consistency_proof_generation_refuses_rollback():
    with pytest.raises(ConsistencyProofError, match="second tree size 3 is smaller"):
        consistency_proof(5, 3, REF_TREE)
    with pytest.raises(ConsistencyProofError, match="negative"):
        consistency_proof_nodes(-1, 3)


# --- attacks on inclusion proofs ----------------------------------------------

ATTACK_INDEX, ATTACK_SIZE = 1234, 2001
ATTACK_LEAF = leaf_hash(BIG_LEAVES[ATTACK_INDEX])
ATTACK_PROOF = BIG_TREE.inclusion_proof(ATTACK_INDEX, ATTACK_SIZE)
ATTACK_ROOT = BIG_TREE.root(ATTACK_SIZE)


def test_attack_baseline_verifies():
    verify_inclusion(ATTACK_LEAF, ATTACK_INDEX, ATTACK_SIZE, ATTACK_PROOF, ATTACK_ROOT)


def test_inclusion_rejects_tampered_leaf():
    tampered = leaf_hash(BIG_LEAVES[ATTACK_INDEX] + b"!")
    with pytest.raises(InclusionProofError, match="does not lead to the root"):
        verify_inclusion(tampered, ATTACK_INDEX, ATTACK_SIZE, ATTACK_PROOF, ATTACK_ROOT)


def test_inclusion_rejects_leaf_hashed_without_domain_prefix():
    # A caller that hashes the leaf with plain SHA-256 must not get a pass.
    plain = hashlib.sha256(BIG_LEAVES[ATTACK_INDEX]).digest()
    with pytest.raises(InclusionProofError, match="does not lead to the root"):
        verify_inclusion(plain, ATTACK_INDEX, ATTACK_SIZE, ATTACK_PROOF, ATTACK_ROOT)


def test_inclusion_rejects_truncated_proof():
    with pytest.raises(InclusionProofError, match="expected 11"):
        verify_inclusion(
            ATTACK_LEAF, ATTACK_INDEX, ATTACK_SIZE, ATTACK_PROOF[:-1], ATTACK_ROOT
        )


@pytest.mark.parametrize(
    "extra",
    [ATTACK_ROOT, EMPTY_ROOT, b"\x00" * 32],
    ids=["root", "empty-root", "zeros"],
)
def test_inclusion_rejects_extended_proof(extra):
    with pytest.raises(InclusionProofError, match="has 12 hashes, expected 11"):
        verify_inclusion(
            ATTACK_LEAF, ATTACK_INDEX, ATTACK_SIZE, [*ATTACK_PROOF, extra], ATTACK_ROOT
        )
    with pytest.raises(InclusionProofError, match="has 12 hashes, expected 11"):
        verify_inclusion(
            ATTACK_LEAF, ATTACK_INDEX, ATTACK_SIZE, [extra, *ATTACK_PROOF], ATTACK_ROOT
        )


@pytest.mark.parametrize(
    "index",
    [ATTACK_INDEX - 1, ATTACK_INDEX + 1, ATTACK_INDEX ^ 2, 0, ATTACK_SIZE - 1],
    ids=["minus-1", "plus-1", "xor-2", "first", "last"],
)
def test_inclusion_rejects_wrong_index(index):
    with pytest.raises(InclusionProofError):
        verify_inclusion(ATTACK_LEAF, index, ATTACK_SIZE, ATTACK_PROOF, ATTACK_ROOT)


@pytest.mark.parametrize(
    "size",
    [ATTACK_SIZE * 2, 1500, ATTACK_INDEX + 1, 4096],
    ids=["double", "smaller", "just-fits", "next-power-of-two"],
)
def test_inclusion_rejects_wrong_tree_size(size):
    # NOTE: sizes whose tree has the same shape along this leaf's path (2002
    # here) give the same computation: only the signed (size, root) pair of a
    # checkpoint binds the size, which is why the verifier takes both from one.
    with pytest.raises(InclusionProofError):
        verify_inclusion(ATTACK_LEAF, ATTACK_INDEX, size, ATTACK_PROOF, ATTACK_ROOT)


def test_inclusion_rejects_wrong_root():
    for root in (EMPTY_ROOT, BIG_TREE.root(ATTACK_SIZE + 1)):
        with pytest.raises(InclusionProofError, match="does not lead to the root"):
            verify_inclusion(ATTACK_LEAF, ATTACK_INDEX, ATTACK_SIZE, ATTACK_PROOF, root)


def test_inclusion_rejects_interior_node_posing_as_leaf():
    # node(L0, L1) with proof [node(L2, L3)] hashes to the root of size 4: only
    # the proof length (fixed by the signed tree size) exposes the forgery.
    interior = node_hash(REF_TREE.leaf_hash(0), REF_TREE.leaf_hash(1))
    forged = [node_hash(REF_TREE.leaf_hash(2), REF_TREE.leaf_hash(3))]
    with pytest.raises(InclusionProofError, match="has 1 hashes, expected 2"):
        verify_inclusion(interior, 0, 4, forged, REF_ROOTS[4])


@pytest.mark.parametrize(
    ("index", "size"),
    [(0, 0), (1, 0), (8, 8), (9, 8), (2**70, 8), (-1, 8)],
    ids=[
        "empty-tree",
        "empty-tree-index-1",
        "index-equals-size",
        "index-beyond",
        "huge-index",
        "negative",
    ],
)
def test_inclusion_rejects_index_outside_tree_without_index_error(index, size):
    with pytest.raises(InclusionProofError, match=r"tree size|tree of size"):
        verify_inclusion(REF_TREE.leaf_hash(0), index, size, [], REF_ROOTS[8])


@pytest.mark.parametrize(
    "where",
    ["leaf", "root", "proof"],
    ids=["short-leaf", "long-root", "empty-proof-hash"],
)
def test_inclusion_rejects_non_32_byte_hashes(where):
    leaf, root, proof = ATTACK_LEAF, ATTACK_ROOT, list(ATTACK_PROOF)
    if where == "leaf":
        leaf = leaf[:31]
    elif where == "root":
        root += b"\x00"
    else:
        proof[3] = b""
    with pytest.raises(InclusionProofError, match="bytes, not 32"):
        verify_inclusion(leaf, ATTACK_INDEX, ATTACK_SIZE, proof, root)


def test_inclusion_rejects_single_leaf_tree_with_other_root():
    h = leaf_hash(b"data")
    verify_inclusion(h, 0, 1, [], h)  # the root of one leaf is its hash
    with pytest.raises(InclusionProofError):
        verify_inclusion(h, 0, 1, [], leaf_hash(b"other"))


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(min_value=2, max_value=BIG_N),
    data=st.data(),
)
def test_inclusion_rejects_any_flipped_proof_bit(size, data):
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = BIG_TREE.inclusion_proof(index, size)
    which = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="hash")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    tampered = list(proof)
    flipped = bytearray(tampered[which])
    flipped[bit // 8] ^= 1 << (bit % 8)
    tampered[which] = bytes(flipped)
    with pytest.raises(InclusionProofError):
        verify_inclusion(
            BIG_TREE.leaf_hash(index), index, size, tampered, BIG_TREE.root(size)
        )


# --- attacks on consistency proofs --------------------------------------------

C_FIRST, C_SECOND = 1337, 2203
C_ROOT1, C_ROOT2 = BIG_TREE.root(C_FIRST), BIG_TREE.root(C_SECOND)
C_PROOF = BIG_TREE.consistency_proof(C_FIRST, C_SECOND)


def test_consistency_attack_baseline_verifies():
    verify_consistency(C_FIRST, C_SECOND, C_ROOT1, C_ROOT2, C_PROOF)


def test_consistency_rejects_rollback():
    # A log that presents a smaller tree after a larger one is rolling back.
    with pytest.raises(
        ConsistencyProofError, match="1337 is smaller than first tree size 2203"
    ):
        verify_consistency(C_SECOND, C_FIRST, C_ROOT2, C_ROOT1, C_PROOF)
    with pytest.raises(ConsistencyProofError, match="smaller"):
        verify_consistency(C_SECOND, C_FIRST, C_ROOT2, C_ROOT1, [])


def test_consistency_rejects_forked_root():
    # A fork: same size, same first 1336 leaves, but leaf 1000 rewritten.
    forked_leaves = list(BIG_LEAVES[:C_SECOND])
    forked_leaves[1000] = b"rewritten history"
    fork = MemoryTree.from_leaf_hashes(leaf_hash(x) for x in forked_leaves)
    assert fork.root(C_SECOND) != C_ROOT2
    # The fork's own proof cannot link our old root to its new root...
    with pytest.raises(ConsistencyProofError, match="root of tree size 1337"):
        verify_consistency(
            C_FIRST,
            C_SECOND,
            C_ROOT1,
            fork.root(C_SECOND),
            fork.consistency_proof(C_FIRST, C_SECOND),
        )
    # ...and our proof cannot link to the forked root either.
    with pytest.raises(ConsistencyProofError, match="root of tree size 2203"):
        verify_consistency(C_FIRST, C_SECOND, C_ROOT1, fork.root(C_SECOND), C_PROOF)


def test_consistency_rejects_forked_root_at_power_of_two_size():
    # With a power-of-two first size the first root is implied, not sent.
    fork = MemoryTree.from_leaf_hashes(
        leaf_hash(b"fork" if i == 5 else x) for i, x in enumerate(BIG_LEAVES[:100])
    )
    with pytest.raises(ConsistencyProofError):
        verify_consistency(
            64, 100, BIG_TREE.root(64), fork.root(100), fork.consistency_proof(64, 100)
        )


def test_consistency_rejects_truncated_proof():
    with pytest.raises(ConsistencyProofError, match="expected"):
        verify_consistency(C_FIRST, C_SECOND, C_ROOT1, C_ROOT2, C_PROOF[:-1])


def test_consistency_rejects_extended_proof():
    for proof in ([*C_PROOF, C_ROOT2], [C_ROOT1, *C_PROOF], [*C_PROOF, C_PROOF[0]]):
        with pytest.raises(ConsistencyProofError, match="expected"):
            verify_consistency(C_FIRST, C_SECOND, C_ROOT1, C_ROOT2, proof)


def test_consistency_rejects_empty_proof_when_tree_grew():
    with pytest.raises(ConsistencyProofError, match="has 0 hashes"):
        verify_consistency(C_FIRST, C_SECOND, C_ROOT1, C_ROOT2, [])


def test_consistency_rejects_swapped_roots():
    with pytest.raises(ConsistencyProofError):
        verify_consistency(C_FIRST, C_SECOND, C_ROOT2, C_ROOT1, C_PROOF)


@pytest.mark.parametrize(
    ("first", "second"),
    [(C_FIRST - 1, C_SECOND), (C_FIRST + 1, C_SECOND), (C_FIRST, 2 * C_SECOND)],
    ids=["first-minus-1", "first-plus-1", "second-doubled"],
)
def test_consistency_rejects_wrong_sizes(first, second):
    with pytest.raises(ConsistencyProofError):
        verify_consistency(first, second, C_ROOT1, C_ROOT2, C_PROOF)


def test_consistency_rejects_equal_sizes_with_different_roots():
    with pytest.raises(ConsistencyProofError, match="roots differ"):
        verify_consistency(5, 5, REF_ROOTS[5], REF_ROOTS[6], [])


def test_consistency_rejects_proof_where_none_is_needed():
    with pytest.raises(ConsistencyProofError, match="must be empty"):
        verify_consistency(5, 5, REF_ROOTS[5], REF_ROOTS[5], [REF_ROOTS[5]])
    with pytest.raises(ConsistencyProofError, match="must be empty"):
        verify_consistency(0, 5, EMPTY_ROOT, REF_ROOTS[5], [EMPTY_ROOT])


def test_consistency_rejects_empty_tree_with_non_empty_root():
    with pytest.raises(ConsistencyProofError, match="empty tree"):
        verify_consistency(0, 5, REF_ROOTS[1], REF_ROOTS[5], [])
    with pytest.raises(ConsistencyProofError, match="roots differ"):
        verify_consistency(0, 0, EMPTY_ROOT, REF_ROOTS[1], [])


def test_consistency_rejects_negative_size():
    with pytest.raises(ConsistencyProofError, match="negative"):
        verify_consistency(-1, 5, EMPTY_ROOT, REF_ROOTS[5], [])


@pytest.mark.parametrize("where", ["first", "second", "proof"])
def test_consistency_rejects_non_32_byte_hashes(where):
    r1, r2, proof = C_ROOT1, C_ROOT2, list(C_PROOF)
    if where == "first":
        r1 = r1[:16]
    elif where == "second":
        r2 = r2.hex().encode()
    else:
        proof[0] = proof[0][:-1]
    with pytest.raises(ConsistencyProofError, match="bytes, not 32"):
        verify_consistency(C_FIRST, C_SECOND, r1, r2, proof)


@settings(max_examples=150, deadline=None)
@given(
    second=st.integers(min_value=2, max_value=BIG_N),
    data=st.data(),
)
def test_consistency_rejects_any_flipped_proof_bit(second, data):
    first = data.draw(st.integers(min_value=1, max_value=second - 1), label="first")
    proof = BIG_TREE.consistency_proof(first, second)
    which = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="hash")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    tampered = list(proof)
    flipped = bytearray(tampered[which])
    flipped[bit // 8] ^= 1 << (bit % 8)
    tampered[which] = bytes(flipped)
    with pytest.raises(ConsistencyProofError):
        verify_consistency(
            first, second, BIG_TREE.root(first), BIG_TREE.root(second), tampered
        )


def test_memory_tree_level_walk_proofs_equal_the_rfc_construction():
    # MemoryTree walks levels for speed; every proof must be the RFC's.
    tree = MemoryTree()
    for i in range(300):
        tree.append(i.to_bytes(2, "big"))
    for size in range(1, 301):
        root = tree.root(size)
        for index in range(size):
            fast = tree.inclusion_proof(index, size)
            assert fast == inclusion_proof(index, size, tree), (index, size)
            verify_inclusion(tree.leaf_hash(index), index, size, fast, root)
