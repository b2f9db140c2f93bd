"""The README's registry worked example, run as real ``didtrust`` processes.

Keys, ``registry init``, ``serve`` on a free port, ``registry sign`` and
``registry submit``, then queries over HTTP, and SIGTERM. Everything lives in a
temporary data directory (``DIDTRUST_DATA_DIR``); the server runs on the real
clock, so the statements are signed with the real time too.

NOTE: the README backdates the university (``--valid-from 2021-01-01``) but
not the board, which the rules then refuse (403: the board must hold its
accreditation at the statement's effective time). Here the board is
backdated as well, to 2020.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from registry.answers import verify_answer
from registry.checkpoint import NoteVerifier, open_checkpoint
from registry.merkle import verify_inclusion
from resolver.did import DID
from resolver.keys import decode_multikey
from tests.helpers.processes import didtrust as run_didtrust
from tests.helpers.processes import free_port, in_parallel, registry_init, serving
from tests.helpers.registry import ACCREDITOR, ROOT

pytestmark = pytest.mark.slow  # each test runs ``didtrust`` as a child process

GOVERNANCE = b"# Accreditation rules\n\nThe board accredits universities.\n"


def didtrust(
    *args: str, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    out = run_didtrust(*args, env=env)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def sign_command(
    key: Path, aud: str, sub: str, flags: dict[str, str], out: Path
) -> tuple[str, ...]:
    """``didtrust registry sign … --act accredit`` with ``flags``."""
    args = ["registry", "sign", "--key", str(key), "--aud", aud, "--sub", sub]
    args += ["--act", "accredit", "--out", str(out)]
    for flag, value in flags.items():
        args += [flag, value]
    return tuple(args)


def http(
    url: str, body: dict[str, Any] | None = None, accept: str = "application/json"
) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        headers={"Accept": accept, "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_worked_example(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "DIDTRUST_DATA_DIR": str(data)}
    work = tmp_path / "work"
    work.mkdir()
    (work / "rules.md").write_bytes(GOVERNANCE)

    # Keys for the root authority (a ministry), an accreditor and a university.
    keys = in_parallel(
        ("key", "generate", "--out", str(work / "ministry.pem")),
        ("key", "generate", "--out", str(work / "board.pem")),
        ("key", "generate", "--out", str(work / "uni.pem"), "--type", "p-256"),
        env=env,
    )
    assert [k.returncode for k in keys] == [0, 0, 0], [k.stderr for k in keys]
    ministry, board, uni = (json.loads(k.stdout) for k in keys)
    assert ministry["did"].startswith("did:key:z6Mk")
    assert uni["did"].startswith("did:key:zDna")
    assert board["kid"] == f"{board['did']}#{board['did'][8:]}"
    assert (work / "ministry.pem").stat().st_mode & 0o077 == 0

    # 1. Create the registry, once.
    init = didtrust(
        "registry",
        "init",
        "--root",
        ministry["did"],
        "--governance-uri",
        "https://ministry.example/accreditation-rules",
        "--governance-file",
        str(work / "rules.md"),
        env=env,
    )
    created = json.loads(init.stdout)
    registry = created["registry"]
    key_file = Path(created["keyFile"])
    assert key_file == data / "registry-key.json"
    assert created["root"] == ministry["did"]
    key_bytes = key_file.read_bytes()
    again = didtrust(
        *registry_init(board["did"], uri="https://example.org/other"),
        env=env,
        check=False,
    )
    assert again.returncode == 1
    assert "already holds a registry" in again.stderr
    assert "Traceback" not in again.stderr
    assert key_file.read_bytes() == key_bytes

    with serving(env=env) as served:
        server = served.url

        # 2-3. The ministry accredits the board; the board, the university.
        board_args = {
            "--role": "accreditor",
            "--actions": "issue,accredit",
            "--resources": "UniversityDegreeCredential,OpenBadgeCredential",
            "--name": "Higher Education Board",
            "--valid-from": "2020-01-01T00:00:00Z",
        }
        uni_args = {
            "--role": "issuer",
            "--actions": "issue",
            "--resources": "UniversityDegreeCredential",
            "--name": "Example University",
            "--country": "DE",
            "--valid-from": "2021-01-01T00:00:00Z",
        }
        signed = in_parallel(
            sign_command(
                work / "ministry.pem",
                registry,
                board["did"],
                board_args,
                work / "board.jws",
            ),
            sign_command(
                work / "board.pem", registry, uni["did"], uni_args, work / "uni.jws"
            ),
            env=env,
        )
        assert [s.returncode for s in signed] == [0, 0], signed
        receipts = []
        for name in ("board.jws", "uni.jws"):
            out = didtrust(
                "registry", "submit", str(work / name), "--server", server, env=env
            )
            receipts.append(json.loads(out.stdout))
        assert [r["index"] for r in receipts] == [1, 2]
        public_key = decode_multikey(DID(registry).method_specific_id).raw

        # The receipt proves the statement is in the registry's signed log,
        # under the verifier key init printed. NOTE: built from the registry's
        # did:key rather than parsed with NoteVerifier.from_vkey, which refuses
        # a key whose base64 contains "+" (about half of all keys).
        verifier = NoteVerifier(registry, public_key)
        assert verifier.vkey() == created["vkey"]
        checkpoint = open_checkpoint(
            receipts[1]["checkpoint"].encode(), verifier, origin=registry
        )
        verify_inclusion(
            base64.b64decode(receipts[1]["leafHash"]),
            2,
            checkpoint.size,
            [base64.b64decode(h) for h in receipts[1]["inclusionProof"]],
            checkpoint.root_hash,
        )

        # A replayed statement is refused: exit 1, the problem on stderr.
        replay = didtrust(
            "registry",
            "submit",
            str(work / "board.jws"),
            "--server",
            server,
            env=env,
            check=False,
        )
        assert replay.returncode == 1
        assert "refused (409)" in replay.stderr
        assert "already used" in replay.stderr
        assert json.loads(replay.stdout)["type"] == "urn:didtrust:problem:replay"

        # The university's entity: accredited by the board, chained to the ministry.
        status, body = http(f"{server}/registry/v1/entities/{uni['did']}")
        assert status == 200
        entity = json.loads(body)
        assert entity["roles"] == ["issuer"]
        assert entity["subject"] == {"name": "Example University", "country": "DE"}
        (acc,) = entity["accreditations"]
        assert acc["validFrom"] == "2021-01-01T00:00:00Z"
        assert [(c["subject"], c["authority"]) for c in acc["chain"]] == [
            (uni["did"], board["did"]),
            (board["did"], ministry["did"]),
        ]
        assert entity["evidence"]["treeSize"] == 3

        # 4. Was the university accredited to issue degrees on 2021-06-30?
        query = {
            "entity_id": uni["did"],
            "authority_id": ministry["did"],
            "action": "issue",
            "resource": "UniversityDegreeCredential",
            "context": {"time": "2021-06-30T00:00:00Z"},
        }
        status, token = http(
            f"{server}/trqp/authorization", query, accept="application/jwt"
        )
        assert status == 200
        payload = verify_answer(
            token.decode(),
            public_key=public_key,
            now=datetime.now(UTC),
            query={"type": "authorization", **query},
        )
        assert payload["answer"]["authorized"] is True
        assert payload["at"] == "2021-06-30T00:00:00Z"
    assert served.returncode == 0, served.stderr.decode()
    assert b"Traceback" not in served.stderr


def test_submit_to_a_server_that_is_not_there_exits_1(tmp_path: Path) -> None:
    jws = tmp_path / "s.jws"
    jws.write_text("a.b.c\n")
    out = didtrust(
        "registry",
        "submit",
        str(jws),
        "--server",
        f"http://127.0.0.1:{free_port()}",
        env={**os.environ, "DIDTRUST_DATA_DIR": str(tmp_path)},
        check=False,
    )
    assert out.returncode == 1
    assert "cannot reach" in out.stderr
    assert "Traceback" not in out.stderr


def test_key_and_statement_into_a_missing_directory_fail_cleanly(
    tmp_path: Path,
) -> None:
    key = tmp_path / "root.pem"
    key.write_bytes(ROOT.pem())
    key.chmod(0o600)
    missing = tmp_path / "no" / "such" / "dir"
    results = in_parallel(
        ("key", "generate", "--out", str(missing / "k.pem")),
        sign_command(key, ROOT.did, ACCREDITOR.did, {}, missing / "s.jws"),
        env={**os.environ, "DIDTRUST_DATA_DIR": str(tmp_path)},
    )
    for result in results:
        assert result.returncode == 1, result.stderr
        assert "No such file or directory" in result.stderr
        assert "Traceback" not in result.stderr
