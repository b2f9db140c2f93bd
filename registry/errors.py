"""Errors of the trust registry, ordered by what a caller can do about each one.

::

    DidTrustError                        (resolver.errors)
    └── RegistryError
        ├── MerkleProofError             a Merkle proof is invalid or cannot be made
        │   ├── InclusionProofError      RFC 9162 §2.1.3
        │   └── ConsistencyProofError    RFC 9162 §2.1.4
        └── CheckpointError              a signed checkpoint cannot be trusted
            ├── SignatureError           no valid signature by the known key
            ├── OriginMismatchError      signed, but for another log
            ├── MalformedCheckpointError bytes break c2sp.org/signed-note or
            │                            c2sp.org/tlog-checkpoint syntax
            └── InvalidKeyError          a key name or verifier key string is
                                         malformed (also ValueError)

A proof or checkpoint error always means "do not believe this answer"; none of
them is transient, so retrying the same bytes cannot help.

This module carries no HTTP statuses and formats nothing for users: the
composition root owns the one table that maps errors to responses.
"""

from __future__ import annotations

from resolver.errors import DidTrustError

__all__ = [
    "CheckpointError",
    "ConsistencyProofError",
    "InclusionProofError",
    "InvalidKeyError",
    "MalformedCheckpointError",
    "MerkleProofError",
    "OriginMismatchError",
    "RegistryError",
    "SignatureError",
]


class RegistryError(DidTrustError):
    """Root of every error the trust registry raises on purpose."""


class MerkleProofError(RegistryError):
    """A Merkle proof failed to verify, or was asked for outside the tree."""


class InclusionProofError(MerkleProofError):
    """An inclusion proof does not prove the leaf at that index in that tree."""


class ConsistencyProofError(MerkleProofError):
    """A consistency proof does not prove the first tree is a prefix of the second.

    Raised as well for a rollback (a second tree smaller than the first).
    """


class CheckpointError(RegistryError):
    """A signed checkpoint (or signed note) must not be trusted."""


class SignatureError(CheckpointError):
    """The note has no valid signature by the known key, or a bad one from it."""


class OriginMismatchError(CheckpointError):
    """The checkpoint is validly signed but names another log as its origin."""


class MalformedCheckpointError(CheckpointError):
    """The bytes are not a well-formed signed note or checkpoint body."""


class InvalidKeyError(CheckpointError, ValueError):
    """A note key name, seed, or verifier key string is malformed.

    Also a ``ValueError``: it is raised for bad configuration or arguments,
    before any note is looked at.
    """
