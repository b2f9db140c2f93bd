"""The tests' own base64 helpers, written with the standard library only.

Kept apart from the project's decoders on purpose: a test that checks the
project's strict base64url decoding must not build its inputs with the code
under test.
"""

from __future__ import annotations

import base64


def b64(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """Decode base64url, with or without padding (lenient: for reading outputs)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def std_unb64(text: str) -> bytes:
    """Decode standard (padded) base64, as the C2SP notes and tiles use."""
    return base64.b64decode(text)
