"""Errors of the trust registry: one tree, ordered by what a caller can do.

::

    DidTrustError                            (resolver.errors)
    └── RegistryError
        │  writes refused: fix the statement; nothing was written
        ├── StatementError                   the statement JWS must not be believed
        │   ├── MalformedStatementError      structure, header or claims (400)
        │   ├── UnsupportedAlgorithmError    none, HMAC, RSA, … (400)
        │   ├── UnknownKeyError              kid names no usable key of iss (401)
        │   └── StatementSignatureError      bad signature, alg unfit for the key (401)
        ├── RejectedStatementError           signed, but refused by the rules (422)
        │   ├── WrongAudienceError           aud is another registry
        │   ├── ReplayError                  jti already used (409)
        │   ├── ExpiredStatementError        iat too old
        │   ├── FutureStatementError         iat too far ahead
        │   ├── InvalidStatementError        nonsense whatever the state
        │   ├── ConflictError                impossible transition (409)
        │   └── NotAuthorizedError           no authority for this act (403)
        │       ├── ScopeWideningError
        │       └── DepthExceededError
        │  queries that cannot be answered as asked
        ├── UnknownEntityError               no statement names it (also LookupError)
        ├── EntryNotFoundError               no leaf at that index (also LookupError)
        ├── StateError                       an entry cannot be applied, or no answer
        │   ├── EntryOrderError
        │   ├── InconsistentEntryError       .kind: RefusalKind
        │   └── InvalidCursorError           a cursor not made by us (also ValueError)
        │  the registry cannot serve now: initialise it, or try again later
        ├── NotInitializedError              no genesis: run `didtrust registry init`
        ├── ServiceUnavailableError          stopping, or the writer failed
        ├── KeyFileError                     the key file is missing, bad or exposed
        ├── StorageError                     the store failed (wraps the driver's error)
        │   ├── StorageBusyError             transient: the write lock stayed busy
        │   ├── SchemaVersionError           the schema is newer than this code
        │   ├── DuplicateJtiError            a jti already in the log
        │   └── CheckpointMismatchError      a checkpoint not of the tree
        │  do not believe this answer: never transient
        ├── MerkleProofError                 a Merkle proof is invalid or cannot be made
        │   ├── InclusionProofError          RFC 9162 §2.1.3
        │   └── ConsistencyProofError        RFC 9162 §2.1.4
        ├── CheckpointError                  a signed checkpoint cannot be trusted
        │   ├── SignatureError               no valid signature by the known key
        │   ├── OriginMismatchError          signed, but for another log
        │   ├── MalformedCheckpointError     bytes break c2sp.org/signed-note or
        │   │                                c2sp.org/tlog-checkpoint syntax
        │   └── InvalidKeyError              a key name or verifier key string is
        │                                    malformed (also ValueError)
        ├── AnswerSignatureError             a signed answer is bad, foreign or expired
        ├── AnswerFormatError                neither a JSON answer nor a compact JWS
        ├── SecurityError                    the log is not the one seen before
        │   ├── RollbackError                smaller than a checkpoint seen before
        │   ├── ForkError                    not an extension of it (split view)
        │   └── ConsistencyUnavailableError  grew, and nothing proves it extends it
        │  a client of a remote registry cannot reach or remember it
        ├── RegistryFetchError               an answer or proof could not be fetched
        └── CheckpointStoreError             the checkpoint file is unusable

    ``didtrust.registry_backup.BackupError`` hangs from ``RegistryError`` too.

The statuses in parentheses are those ``didtrust.problems`` gives them: this
module carries no HTTP statuses and formats nothing for users.
"""

from __future__ import annotations

from enum import StrEnum

from resolver.errors import DidTrustError

__all__ = [
    "AnswerFormatError",
    "AnswerSignatureError",
    "CheckpointError",
    "CheckpointMismatchError",
    "CheckpointStoreError",
    "ConflictError",
    "ConsistencyProofError",
    "ConsistencyUnavailableError",
    "DepthExceededError",
    "DuplicateJtiError",
    "EntryNotFoundError",
    "EntryOrderError",
    "ExpiredStatementError",
    "ForkError",
    "FutureStatementError",
    "InclusionProofError",
    "InconsistentEntryError",
    "InvalidCursorError",
    "InvalidKeyError",
    "InvalidStatementError",
    "KeyFileError",
    "MalformedCheckpointError",
    "MalformedStatementError",
    "MerkleProofError",
    "NotAuthorizedError",
    "NotInitializedError",
    "OriginMismatchError",
    "RefusalKind",
    "RegistryError",
    "RegistryFetchError",
    "RejectedStatementError",
    "ReplayError",
    "RollbackError",
    "SchemaVersionError",
    "ScopeWideningError",
    "SecurityError",
    "ServiceUnavailableError",
    "SignatureError",
    "StateError",
    "StatementError",
    "StatementSignatureError",
    "StorageBusyError",
    "StorageError",
    "UnknownEntityError",
    "UnknownKeyError",
    "UnsupportedAlgorithmError",
    "WrongAudienceError",
]


class RegistryError(DidTrustError):
    """Root of every error the trust registry raises on purpose."""


# -- Writes refused: fix the statement and submit again; nothing was written.


class StatementError(RegistryError):
    """A statement JWS must not be believed (or cannot be produced)."""


class MalformedStatementError(StatementError):
    """The JWS breaks the statement format: structure, header or claims."""


class UnsupportedAlgorithmError(StatementError):
    """The ``alg`` is not one a statement may use (``none``, HMAC, RSA, …)."""


class UnknownKeyError(StatementError):
    """The ``kid`` names no usable key of the statement's issuer.

    Not in the document, not referenced from an allowed relationship,
    controlled by another DID, of an unsupported type, or of another DID than
    ``iss``.
    """


class StatementSignatureError(StatementError):
    """The signature does not verify, or ``alg`` does not fit the key."""


class RejectedStatementError(RegistryError):
    """A statement was refused; nothing was written."""


class WrongAudienceError(RejectedStatementError):
    """The statement's ``aud`` is not this registry's DID."""


class ReplayError(RejectedStatementError):
    """The statement's ``jti`` was already used by an accepted statement."""


class ExpiredStatementError(RejectedStatementError):
    """The statement's ``iat`` is older than the allowed age."""


class FutureStatementError(RejectedStatementError):
    """The statement's ``iat`` is further in the future than the allowed skew."""


class InvalidStatementError(RejectedStatementError):
    """The statement makes no sense (self-accreditation, missing role, …)."""


class ConflictError(RejectedStatementError):
    """The state transition is impossible (accredit twice, suspend a revoked one)."""


class NotAuthorizedError(RejectedStatementError):
    """The issuer has no authority for this act on this subject at that time."""


class ScopeWideningError(NotAuthorizedError):
    """The statement grants a scope wider than its issuer's, or than it replaces."""


class DepthExceededError(NotAuthorizedError):
    """Accrediting the subject would put it deeper than the registry's cap."""


# -- Queries that cannot be answered as asked.


class UnknownEntityError(RegistryError, LookupError):
    """No statement in the log names this DID."""


class EntryNotFoundError(RegistryError, LookupError):
    """No leaf at that index (the log is smaller)."""


class StateError(RegistryError):
    """An entry cannot be applied to the state, or the state cannot answer."""


class EntryOrderError(StateError):
    """Entries out of index order, a genesis anywhere but leaf 0, or no genesis."""


class RefusalKind(StrEnum):
    """Why an entry is inconsistent with the state; ``registry.rules`` maps it."""

    INVALID = "invalid"
    """The statement is nonsense whatever the state (no role, iss == sub, …)."""
    CONFLICT = "conflict"
    """The state transition is impossible (suspend a revoked one, accredit twice)."""
    NOT_AUTHORIZED = "not-authorized"
    """The issuer holds no accreditation of the subject to act on."""
    SCOPE_WIDENING = "scope-widening"
    """An update asks for a scope wider than the one it replaces."""


class InconsistentEntryError(StateError):
    """A statement cannot be applied to this state; nothing was changed.

    Attributes:
        kind: Why, for ``registry.rules`` to pick its own error class.
    """

    def __init__(self, message: str, kind: RefusalKind) -> None:
        super().__init__(message)
        self.kind = kind


class InvalidCursorError(StateError, ValueError):
    """A ``list_entities`` cursor was not made by ``list_entities``."""


# -- The registry cannot serve now: initialise it, or try again later.


class NotInitializedError(RegistryError):
    """The store holds no genesis entry: ``didtrust registry init`` was not run."""


class ServiceUnavailableError(RegistryError):
    """The registry is shutting down or its writer failed; try again later."""


class KeyFileError(RegistryError):
    """The registry key file is missing, malformed, exposed or already exists."""


class StorageError(RegistryError):
    """The store failed, or refused a write that would break its guarantees.

    Errors of the database driver are wrapped in this (``raise ... from e``);
    the original is the ``__cause__``. A write transaction in which one was
    raised is rolled back.
    """


class StorageBusyError(StorageError):
    """The write lock (or the database) stayed busy past the busy timeout.

    Transient: another writer held the lock; retrying later may succeed.
    """


class SchemaVersionError(StorageError):
    """The database schema is newer than any this code knows; it is not opened."""


class DuplicateJtiError(StorageError):
    """A statement's ``jti`` is already in the log (a replay).

    Attributes:
        jti: The duplicate ``jti``.
        index: The leaf index already holding it, or ``None`` when the
            duplicate is within the rows being added.
    """

    def __init__(self, jti: str, index: int | None) -> None:
        where = f"leaf {index}" if index is not None else "the same batch"
        super().__init__(f"jti {jti!r} is already in the log at {where}")
        self.jti = jti
        self.index = index


class CheckpointMismatchError(StorageError):
    """A checkpoint's size or root is not the tree's in the transaction."""


# -- Do not believe this answer: never transient, retrying the same bytes cannot help.


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


class AnswerSignatureError(RegistryError):
    """A signed answer is malformed, not by the registry key, or expired."""


class AnswerFormatError(RegistryError):
    """The text is neither a JSON answer nor a compact JWS."""


class SecurityError(RegistryError):
    """The registry's log is not the one seen before: do not trust it.

    Kept apart from an answer that merely fails to verify: these mean the
    registry showed two different histories (or refuses to prove it did not).
    """


class RollbackError(SecurityError):
    """The log is smaller than a checkpoint of it seen before."""


class ForkError(SecurityError):
    """The log is not an extension of the one seen before (a split view)."""


class ConsistencyUnavailableError(SecurityError):
    """The log grew, and nothing proves the new one extends the one seen before."""


# -- A client of a remote registry cannot reach it or remember it.


class RegistryFetchError(RegistryError):
    """An answer or a proof could not be fetched from the server."""


class CheckpointStoreError(RegistryError):
    """The checkpoint file cannot be read, trusted or written."""
