"""The ``didtrust`` CLI, run as a real process the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from didtrust import __version__
from tests.helpers.fakes import ED25519_DID
from tests.helpers.processes import didtrust, free_port, serving

pytestmark = pytest.mark.slow  # each test runs ``didtrust`` as a child process


def run(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return didtrust(*args, env={**os.environ, **(env or {})})


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"didtrust {__version__}"


def test_resolve_prints_resolution_result():
    out = run("resolve", ED25519_DID)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["didDocument"]["id"] == ED25519_DID
    assert body["didResolutionMetadata"]["driver"] == "did-key"


def test_resolve_with_accept_and_option():
    out = run(
        "resolve",
        ED25519_DID,
        "--accept",
        "application/did+ld+json",
        "--option",
        "publicKeyFormat=JsonWebKey2020",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["verificationMethod"][0]["type"] == "JsonWebKey2020"
    assert doc["verificationMethod"][0]["publicKeyJwk"]["crv"] == "Ed25519"


def test_resolve_dereferences_a_fragment():
    out = run(
        "resolve",
        f"{ED25519_DID}#{ED25519_DID[8:]}",
        "--accept",
        "application/did+json",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["type"] == "Multikey"


@pytest.mark.parametrize(
    ("did", "error_type"),
    [
        ("did:key:", "INVALID_DID"),
        # 0xed01 (ed25519-pub) followed by a 31-byte key: one byte short.
        (
            "did:key:z2DQUyFVAEfvDjYRPtvHSJtztMsCSrYpntBE51RxhhkqQhb",
            "INVALID_PUBLIC_KEY_LENGTH",
        ),
        ("did:nope:1", "METHOD_NOT_SUPPORTED"),
    ],
    ids=["empty", "truncated-key", "unknown-method"],
)
def test_resolve_failure_exits_non_zero_with_error_type(did, error_type):
    out = run("resolve", did)
    assert out.returncode == 1
    assert f"didtrust: {error_type}" in out.stderr
    body = json.loads(out.stdout)
    assert body["didResolutionMetadata"]["error"]["type"] == (
        f"https://www.w3.org/ns/did#{error_type}"
    )


def test_resolve_failure_prints_the_servers_error_result():
    # The CLI built its own copy of the error result, without the status the
    # server's carries; now both come from one builder.
    out = run("resolve", "did:nope:1")
    assert out.returncode == 1
    body = json.loads(out.stdout)
    assert body["didDocument"] is None
    assert body["didDocumentMetadata"] == {}
    assert body["didResolutionMetadata"]["error"] == {
        "type": "https://www.w3.org/ns/did#METHOD_NOT_SUPPORTED",
        "title": "method not supported",
        "status": 501,
        "detail": body["didResolutionMetadata"]["error"]["detail"],
    }


def test_bad_option_syntax_is_a_usage_error():
    out = run("resolve", ED25519_DID, "--option", "noequals")
    assert out.returncode == 2
    assert "NAME=VALUE" in out.stderr


def test_bad_setting_is_a_usage_error_not_a_traceback():
    out = run("resolve", ED25519_DID, env={"DIDTRUST_RESOLVE_TIMEOUT": "soon"})
    assert out.returncode == 2
    assert "resolve_timeout" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers"])
def test_serve_answers_resolution_and_stops_cleanly(workers: int, tmp_path: Path):
    env = {**os.environ, "DIDTRUST_DATA_DIR": str(tmp_path)}
    with serving("--workers", str(workers), env=env) as server:
        req = urllib.request.Request(
            f"{server.url}/1.0/identifiers/{ED25519_DID}",
            headers={"Accept": "application/did+json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
            assert json.loads(resp.read())["id"] == ED25519_DID
    assert server.returncode == 0, server.stderr.decode()
    assert b"Traceback" not in server.stderr


def test_serve_with_an_exposed_registry_key_exits_with_a_message(tmp_path):
    key = tmp_path / "registry-key.json"
    key.write_text("{}")
    key.chmod(0o644)
    out = run(
        "serve", "--port", str(free_port()), env={"DIDTRUST_DATA_DIR": str(tmp_path)}
    )
    assert out.returncode == 2
    assert "readable by other users" in out.stderr
    assert "Traceback" not in out.stderr
