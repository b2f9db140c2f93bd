"""The ``didtrust`` CLI, run as a real process the way a user runs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from didtrust import __version__

ED25519_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def run(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "didtrust", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/ready", timeout=1
            ) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become ready")


@pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers"])
def test_serve_answers_resolution_and_stops_cleanly(workers: int, tmp_path: Path):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "didtrust",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "DIDTRUST_DATA_DIR": str(tmp_path)},
    )
    try:
        wait_ready(port, proc)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/1.0/identifiers/{ED25519_DID}",
            headers={"Accept": "application/did+json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
            assert json.loads(resp.read())["id"] == ED25519_DID
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err


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
