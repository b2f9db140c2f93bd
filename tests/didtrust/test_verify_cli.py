"""``didtrust verify FILE`` run as a real process, the way a user runs it (issue 5).

Exit 0 only when verified, 1 when not, 2 when the input is not a credential.
The readable report names every check; ``--json`` prints the full report. With
a registry initialised in ``DIDTRUST_DATA_DIR`` (accreditations made in 2021
and 2024 through the app with an injected clock), the trust checks run against
it on the real clock. Independent commands run in parallel: start-up time
dominates.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from didtrust.app import create_app
from didtrust.settings import Settings
from registry.answers import verify_answer
from registry.identity import RegistryIdentity
from tests.helpers import processes
from tests.helpers.clock import Clock
from tests.helpers.issuers import ED25519_JWK, ED25519_KEY, P256_KEY
from tests.helpers.paths import VECTORS
from tests.helpers.registry import (
    ACCREDITOR,
    ROOT,
    init_registry,
    make_statement,
)
from tests.helpers.verifier import (
    BADGE_TYPE,
    VALID_FROM,
    ecdsa_rdfc,
    eddsa_rdfc,
    vc_jwt,
)

pytestmark = pytest.mark.slow  # each test runs ``didtrust verify`` as a child process

CHECK_NAMES = (
    "format",
    "issuer resolved",
    "proof",
    "method bound to issuer",
    "validity",
    "accredited at issuance",
    "accredited now",
)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def env_for(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIDTRUST_")}
    env["DIDTRUST_DATA_DIR"] = str(data_dir)
    return env


def in_parallel(
    *commands: tuple[str, ...], env: dict[str, str], stdin: str | None = None
) -> list[Run]:
    """Run several ``didtrust`` commands at once and wait for them all."""
    runs = processes.in_parallel(*commands, env=env, stdin=stdin)
    return [Run(r.returncode, r.stdout, r.stderr) for r in runs]


def marks(run: Run) -> dict[str, set[str]]:
    """Check name → the marks (✓ ✗ -) the readable report gave it."""
    found: dict[str, set[str]] = {}
    for line in run.lines():
        stripped = line.strip()
        if stripped[:1] in ("✓", "✗", "-") and ":" in stripped:
            name = stripped[2:].split(":", 1)[0]
            found.setdefault(name, set()).add(stripped[0])
    return found


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Credentials and not-credentials, one per file."""
    root = tmp_path_factory.mktemp("credentials")
    tampered = eddsa_rdfc()
    tampered["credentialSubject"]["id"] = "did:example:mallory"
    contents = {
        "own.json": json.dumps(eddsa_rdfc(), indent=2),
        "api-body.json": json.dumps({"verifiableCredential": eddsa_rdfc()}),
        "own.jwt": vc_jwt() + "\n",
        "p256.json": json.dumps(ecdsa_rdfc()),
        "tampered.json": json.dumps(tampered),
        "vector.json": (
            VECTORS / "vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json"
        ).read_text(),
        "malformed.json": '{"verifiableCredential": {"issuer": ',
        "not-a-credential.json": '{"verifiableCredential": 5}',
        "deep.json": '{"a":' * 10_000 + "1" + "}" * 10_000,
        "empty.json": "\n",
        "wrong-envelope.json": json.dumps(
            {
                "verifiableCredential": {
                    "type": "EnvelopedVerifiableCredential",
                    "id": "data:text/plain,hello",
                }
            }
        ),
    }
    for name, text in contents.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "latin1.json").write_bytes(b'{"name": "\xe9cole"}')
    surrogate = json.dumps(eddsa_rdfc()).replace("Example University", "\\udc00")
    (root / "lone-surrogate.json").write_text(surrogate, encoding="utf-8")
    # A fake issuer first, the signed credential's own last.
    forged = '{"issuer": "did:example:fake", ' + json.dumps(eddsa_rdfc())[1:]
    (root / "duplicate-issuer.json").write_text(forged, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def no_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-registry")


async def _accredit(data_dir: Path) -> RegistryIdentity:
    """Accredit the Ed25519 and did:jwk issuers in 2021; P-256 in 2021, revoked 2024."""
    identity = await init_registry(data_dir)
    clock = Clock()
    app = create_app(Settings(data_dir=str(data_dir)), clock=clock)
    async with TestClient(TestServer(app)) as client:

        async def submit(signer: Any, **claims: Any) -> None:
            jws = make_statement(signer, aud=str(identity.did), iat=clock.iat, **claims)
            resp = await client.post(
                "/registry/v1/statements",
                data=jws.encode(),
                headers={"Content-Type": "application/jose"},
            )
            assert resp.status == 201, await resp.text()

        await submit(
            ROOT,
            sub=ACCREDITOR.did,
            actions=("issue", "accredit"),
            resources=(BADGE_TYPE,),
        )
        for issuer in (ED25519_KEY, ED25519_JWK, P256_KEY):
            await submit(ACCREDITOR, sub=str(issuer.did), resources=(BADGE_TYPE,))
        clock.set(datetime(2024, 5, 1, tzinfo=UTC))
        await submit(ACCREDITOR, sub=P256_KEY.did, act="revoke", reason="closed")
    return identity


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RegistryIdentity]:
    data_dir = tmp_path_factory.mktemp("registry")
    return data_dir, asyncio.run(_accredit(data_dir))


def test_verified_credentials_exit_0_with_a_readable_report(files, no_registry):
    runs = in_parallel(
        ("verify", str(files / "own.json")),
        ("verify", str(files / "api-body.json")),
        ("verify", str(files / "own.jwt")),
        env=env_for(no_registry),
    )
    for run, form in zip(
        runs, ("data-integrity", "data-integrity", "vc+jwt"), strict=True
    ):
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.lines()[0] == f"VERIFIED  ({form})"
        assert "issuer: Example University did:" in run.stdout
        assert f"types:  VerifiableCredential, {BADGE_TYPE}" in run.stdout
        checks = marks(run)
        assert set(checks) == set(CHECK_NAMES)
        for name in CHECK_NAMES[:5]:
            assert checks[name] == {"✓"}, name
        # No registry in the data directory: trust is not checked, and says so.
        assert checks["accredited now"] == {"-"}
        assert "no trust registry" in run.stdout
        assert run.stderr == ""


def test_credential_on_standard_input_is_read(no_registry):
    (run,) = in_parallel(("verify", "-"), env=env_for(no_registry), stdin=vc_jwt())
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.lines()[0] == "VERIFIED  (vc+jwt)"


def test_credentials_that_do_not_verify_exit_1_naming_the_failed_check(
    files, no_registry
):
    tampered, vector = in_parallel(
        ("verify", str(files / "tampered.json")),
        ("verify", str(files / "vector.json")),
        env=env_for(no_registry),
    )
    assert tampered.returncode == 1, tampered.stderr
    assert tampered.lines()[0].startswith("NOT VERIFIED")
    assert marks(tampered)["proof"] == {"✗"}
    assert "does not verify" in tampered.stdout

    # The official vector: its proof verifies, but not by the issuer's key.
    assert vector.returncode == 1, vector.stderr
    assert marks(vector)["proof"] == {"✓"}
    assert marks(vector)["method bound to issuer"] == {"✗"}
    assert "https://vc.example/issuers/5678" in vector.stdout


BAD_INPUTS = (
    "malformed.json",
    "not-a-credential.json",
    "deep.json",
    "empty.json",
    "wrong-envelope.json",
    "latin1.json",
    "lone-surrogate.json",
    "duplicate-issuer.json",
    "missing.json",
)


@pytest.fixture(scope="module")
def bad_input_runs(files: Path, no_registry: Path) -> dict[str, Run]:
    """Every bad-input case, run at once (one process each)."""
    runs = in_parallel(
        *(("verify", str(files / name)) for name in BAD_INPUTS),
        env=env_for(no_registry),
    )
    return dict(zip(BAD_INPUTS, runs, strict=True))


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_input_that_is_not_a_credential_exits_2(bad_input_runs, name):
    run = bad_input_runs[name]
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stdout == ""
    assert run.stderr.startswith("didtrust: ")
    assert "Traceback" not in run.stderr


def test_duplicate_member_in_credential_file_refused(bad_input_runs):
    run = bad_input_runs["duplicate-issuer.json"]
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "duplicate member 'issuer'" in run.stderr


def test_json_option_prints_the_full_report(files, no_registry):
    (run,) = in_parallel(
        ("verify", str(files / "p256.json"), "--json"), env=env_for(no_registry)
    )
    assert run.returncode == 0, run.stderr
    report = run.json()
    assert report["verified"] is True
    assert report["checks"] == sorted(CHECK_NAMES[:5])
    assert report["errors"] == []
    assert report["warnings"] == [
        "accredited at issuance: no trust registry on this server",
        "accredited now: no trust registry on this server",
    ]
    assert report["format"] == "data-integrity"
    assert report["issuer"] == {"id": P256_KEY.did, "name": "Example University"}
    assert report["types"] == ["VerifiableCredential", BADGE_TYPE]
    assert report["issued"] == VALID_FROM
    assert [c["name"] for c in report["results"]] == [
        "format",
        "issuer resolved",
        "proof",
        "method bound to issuer",
        "validity",
        "accredited at issuance",
        "accredited now",
    ]
    assert "ecdsa-rdfc-2019" in report["results"][2]["detail"]


def test_registry_in_the_data_directory_decides_trust(files, registry):
    data_dir, identity = registry
    trusted, trusted_json, revoked = in_parallel(
        ("verify", str(files / "own.json")),
        ("verify", str(files / "own.jwt"), "--json"),
        ("verify", str(files / "p256.json"), "--json"),
        env=env_for(data_dir),
    )

    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    checks = marks(trusted)
    assert checks["accredited at issuance"] == {"✓"}
    assert checks["accredited now"] == {"✓"}

    assert trusted_json.returncode == 0, trusted_json.stderr
    report = trusted_json.json()
    assert report["verified"] is True
    answers = {
        c["name"]: c["registryAnswer"]
        for c in report["results"]
        if c["name"].startswith("accredited")
    }
    now = datetime.now(UTC)
    at_issuance = verify_answer(
        answers["accredited at issuance"],
        public_key=identity.public_key,
        now=now,
        query={
            "type": "authorization",
            "entity_id": ED25519_JWK.did,
            "authority_id": ROOT.did,
            "action": "issue",
            "resource": BADGE_TYPE,
            "context": {"time": VALID_FROM},
        },
    )
    assert at_issuance["answer"]["authorized"] is True
    assert at_issuance["iss"] == str(identity.did)
    current = verify_answer(
        answers["accredited now"], public_key=identity.public_key, now=now
    )
    assert current["answer"]["authorized"] is True

    # P-256 issuer: accredited in 2021, revoked in 2024; its 2022 badge still
    # verifies cryptographically but is not from a currently accredited issuer.
    assert revoked.returncode == 1, revoked.stderr
    report = revoked.json()
    assert report["verified"] is False
    (error,) = report["errors"]
    assert error.startswith("accredited now: ")
    assert "revoked" in error
    assert "accredited at issuance" in report["checks"]
    assert "proof" in report["checks"]
