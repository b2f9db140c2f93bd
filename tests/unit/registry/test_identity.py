"""The registry key file (registry.identity)."""

from __future__ import annotations

import json
import string

import pytest

from registry.errors import KeyFileError
from registry.identity import create_key_file, load_key_file

B64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def _set_unused_bit(seed: str) -> str:
    # 32 bytes take 43 characters; the last one carries 2 unused bits.
    return seed[:-1] + B64URL[B64URL.index(seed[-1]) ^ 1]


@pytest.mark.parametrize(
    "change",
    [
        lambda seed: seed[:20] + "!" + seed[20:],
        lambda seed: seed[:20] + " " + seed[20:],
        lambda seed: seed + "=",
        _set_unused_bit,
    ],
    ids=["stray-bang", "stray-space", "padded", "unused-bit-set"],
)
def test_key_file_seed_that_is_not_canonical_base64url_refused(tmp_path, change):
    # The seed was once read with base64.urlsafe_b64decode, which drops
    # characters outside its alphabet: a damaged file loaded as if intact.
    path = tmp_path / "registry.key"
    create_key_file(path)
    body = json.loads(path.read_text())
    body["seed"] = change(body["seed"])
    path.write_text(json.dumps(body))
    with pytest.raises(KeyFileError, match="malformed"):
        load_key_file(path)


def test_key_file_round_trips(tmp_path):
    path = tmp_path / "registry.key"
    identity = create_key_file(path)
    assert load_key_file(path).multikey == identity.multikey
