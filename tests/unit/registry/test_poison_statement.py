"""One statement can only ever fail itself (issue 18, item 3).

The attack: a self-signed statement whose ``iat`` is ``10**400``. It used to
pass parsing, then raise ``OverflowError`` in the rules inside the writer's
batch — not a registry error — so every statement of that batch got a 503 and
the log was replayed. Two of those a second cut honest writes six-fold.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.errors import StatementError
from registry.models import STATEMENT_TYP
from resolver.timefmt import MAX_NUMERIC_DATE
from tests.helpers.encoding import b64
from tests.helpers.registry import ACCREDITOR, ROOT, STRANGER, Authority
from tests.helpers.registry_service import ACCREDIT_DIPLOMAS


def sign_unchecked(signer: Authority, claims: dict[str, Any]) -> str:
    """A real EdDSA statement JWS over claims our own signer would refuse."""
    key = signer.private_key
    assert isinstance(key, Ed25519PrivateKey)
    header = {"alg": "EdDSA", "kid": signer.kid, "typ": STATEMENT_TYP}
    signing_input = (
        b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    )
    return signing_input + "." + b64(key.sign(signing_input.encode()))


@pytest.mark.parametrize("iat", [10**400, MAX_NUMERIC_DATE + 1, 2**63])
async def test_huge_iat_fails_only_its_own_statement(registry, iat):
    honest = registry.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    poison = sign_unchecked(
        STRANGER,
        {
            "iss": STRANGER.did,
            "sub": ACCREDITOR.did,
            "act": "suspend",
            "aud": registry.aud,
            "iat": iat,
            "jti": f"poison-{iat % 997}",
        },
    )
    results = await asyncio.gather(
        registry.service.submit(poison),
        registry.service.submit(honest),
        return_exceptions=True,
    )
    # Refused when parsed: out of the JSON integer range, or of the claim's.
    assert isinstance(results[0], StatementError)
    assert "iat" in str(results[0]) or "out of range" in str(results[0])
    receipt = results[1]
    assert not isinstance(receipt, BaseException), receipt
    assert receipt.index == 1
