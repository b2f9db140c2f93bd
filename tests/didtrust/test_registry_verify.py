"""``didtrust registry verify``, run as a real process the way a user runs it.

Answers come from real registries (see tests/helpers/registry_answers.py);
signed answers are re-signed at the real current time, since the CLI checks
``exp`` against the wall clock. HOME and XDG_CONFIG_HOME point into the test's
directory so no run touches the real checkpoint file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import stat
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from didtrust.registry_verify import add_arguments, default_state_path, run
from registry.answers import sign_answer
from registry.identity import RegistryIdentity
from registry.statements import sign_statement
from resolver.timefmt import parse_time
from tests.helpers.dns_server import serve_dns
from tests.helpers.https_server import TestPKI, serve_app
from tests.helpers.processes import didtrust, registry_init, serving
from tests.helpers.registry_answers import (
    BOARD,
    COLLEGE,
    IDENTITY,
    ISSUER_SCOPE,
    ROOT,
    TTL,
    UNI,
    World,
    build_world,
    entity_query,
    signing_key,
)

ACCREDITOR_SCOPE = {"actions": ["accredit", "issue"], "resources": ["Diploma"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return asyncio.run(build_world(tmp_path_factory.mktemp("registry")))


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment whose HOME and XDG_CONFIG_HOME are the test's own."""
    (tmp_path / "home").mkdir()
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
        "DIDTRUST_DATA_DIR": str(tmp_path / "data"),
    }


def cli(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return didtrust("registry", "verify", *args, env={**os.environ, **env}, stdin=stdin)


def write(path: Path, answer: dict[str, Any] | str) -> str:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    path.write_text(text)
    return str(path)


def fresh_jws(answer: dict[str, Any], *, evaluated: datetime | None = None) -> str:
    """The answer signed by the registry now (or at ``evaluated``)."""
    return sign_answer(
        answer,
        identity=IDENTITY,
        query=entity_query(answer),
        at=parse_time(answer["at"]),
        evaluated=evaluated or datetime.now(UTC),
        ttl=TTL,
        checkpoint={
            "origin": IDENTITY.origin,
            "size": answer["evidence"]["treeSize"],
            "note": answer["evidence"]["checkpoint"],
        },
    )


# -- answers from files -----------------------------------------------------------


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_verifies_answer_file_and_remembers_checkpoint(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    state = tmp_path / "state" / "checkpoints.json"
    answer = write(tmp_path / "answer.json", world.entity5)
    out = cli(answer, "--registry", world.did, "--state", str(state), env=home)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"answer:     entity {UNI.did} at {world.entity5['at']}"
    assert lines[1] == f"registry:   {world.did} (key from the did:key)"
    assert "  \u2713 statement (leaf 2): accredit of " + UNI.did in out.stdout
    assert "  \u2013 signed answer: unsigned json answer" in out.stdout
    assert lines[-1].startswith("VERIFIED")
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert json.loads(state.read_text())[world.did]["size"] == 5


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_prints_json_report_for_signed_answer(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    answer = write(tmp_path / "answer.jwt", fresh_jws(world.entity5))
    state = str(tmp_path / "checkpoints.json")
    out = cli(answer, "--registry", world.did, "--state", state, "--json", env=home)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["verified"] is True
    assert report["registryKey"] == "from the did:key"
    assert report["checkpoint"]["size"] == 5
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["signed answer"] == "passed"
    assert statuses["query"] == "passed"
    assert statuses["answer matches statements"] == "passed"
    assert statuses["consistency"] == "skipped"  # the first checkpoint seen


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_reads_answer_from_stdin(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    state = str(tmp_path / "checkpoints.json")
    out = cli(
        "-",
        "--registry",
        world.did,
        "--state",
        state,
        env=home,
        stdin=json.dumps(world.authorized),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "the statements prove it" in out.stdout


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_keeps_state_in_xdg_config_home_by_default(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    answer = write(tmp_path / "answer.json", world.entity5)
    out = cli(answer, "--registry", world.did, env=home)
    assert out.returncode == 0, out.stdout + out.stderr
    state = Path(home["XDG_CONFIG_HOME"]) / "didtrust" / "checkpoints.json"
    assert json.loads(state.read_text())[world.did]["size"] == 5


def test_default_state_path_falls_back_to_home_config() -> None:
    assert default_state_path({"XDG_CONFIG_HOME": "relative"}) == (
        Path.home() / ".config" / "didtrust" / "checkpoints.json"
    )
    assert default_state_path({"XDG_CONFIG_HOME": "/cfg"}) == Path(
        "/cfg/didtrust/checkpoints.json"
    )


@pytest.mark.parametrize(
    ("mangle", "says"),
    [
        (
            lambda a: a["accreditations"][0].update(status="revoked"),
            "\u2717 answer matches statements: accreditations[0].status",
        ),
        (
            lambda a: a["evidence"]["leaves"]["2"]["inclusionProof"].pop(),
            "\u2717 inclusion proofs: inclusion proof has",
        ),
    ],
    ids=["lying-status", "truncated-proof"],
)
@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_not_verified_exits_1(
    world: World, tmp_path: Path, home: dict[str, str], mangle: Any, says: str
) -> None:
    answer = json.loads(json.dumps(world.entity5))
    mangle(answer)
    state = tmp_path / "checkpoints.json"
    path = write(tmp_path / "answer.json", answer)
    out = cli(path, "--registry", world.did, "--state", str(state), env=home)
    assert out.returncode == 1
    assert says in out.stdout
    assert out.stdout.splitlines()[-1] == "NOT VERIFIED"
    assert not state.exists()


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_rejects_expired_signed_answer(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    old = datetime.now(UTC) - timedelta(hours=1)
    path = write(tmp_path / "answer.jwt", fresh_jws(world.entity5, evaluated=old))
    state = str(tmp_path / "checkpoints.json")
    out = cli(path, "--registry", world.did, "--state", state, env=home)
    assert out.returncode == 1
    assert "\u2717 signed answer: signed answer has expired" in out.stdout


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_rejects_answer_of_another_registry(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    other = RegistryIdentity.for_key(signing_key(77))
    path = write(tmp_path / "answer.json", world.entity5)
    state = str(tmp_path / "checkpoints.json")
    out = cli(path, "--registry", str(other.did), "--state", state, env=home)
    assert out.returncode == 1
    assert "NOT VERIFIED" in out.stdout


# -- history ------------------------------------------------------------------------


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_exit_3_on_rollback(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    state = str(tmp_path / "checkpoints.json")
    args = ("--registry", world.did, "--state", state)
    for name, code in (("entity5", 0), ("entity6_proof", 0), ("entity5", 3)):
        path = write(tmp_path / f"{name}.json", getattr(world, name))
        out = cli(path, *args, env=home)
        assert out.returncode == code, (name, out.stdout, out.stderr)
    assert "security error: the registry log was rolled back" in out.stderr
    assert out.stdout.splitlines()[-1] == "NOT VERIFIED"
    assert json.loads(Path(state).read_text())[world.did]["size"] == 6


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_exit_3_on_fork(world: World, tmp_path: Path, home: dict[str, str]) -> None:
    state = str(tmp_path / "checkpoints.json")
    args = ("--registry", world.did, "--state", state)
    first = cli(write(tmp_path / "a.json", world.entity5), *args, env=home)
    assert first.returncode == 0
    out = cli(write(tmp_path / "b.json", world.fork5), *args, env=home)
    assert out.returncode == 3
    assert "the registry log forked: two checkpoints of size 5" in out.stderr
    kept = json.loads(Path(state).read_text())[world.did]
    assert kept["note"] == world.entity5["evidence"]["checkpoint"]


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_offline_demands_consistency_proof(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    state = str(tmp_path / "checkpoints.json")
    args = ("--registry", world.did, "--state", state, "--offline")
    assert (
        cli(write(tmp_path / "a.json", world.entity5), *args, env=home).returncode == 0
    )
    out = cli(write(tmp_path / "b.json", world.entity6), *args, env=home)
    assert out.returncode == 1
    assert "re-query with consistency_from=5 or pass --server" in out.stdout
    assert json.loads(Path(state).read_text())[world.did]["size"] == 5


# -- usage --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--registry", "did:web:registry.example", "--offline"],
            "needs --registry-key",
        ),
        (["--registry", "not-a-did"], "--registry"),
        (["--registry", "did:jwk:eyJrdHkiOiJPS1AifQ"], "did:key or did:web"),
        (
            [
                "--registry",
                "{did}",
                "--registry-key",
                ROOT.did.removeprefix("did:key:"),
            ],
            "not the key of the registry did:key",
        ),
        (["--registry", "{did}", "--registry-key", "zNotAKey"], "--registry-key"),
        (["--registry", "{did}", "--server", "ftp://registry.example"], "--server"),
        (
            ["--registry", "{did}", "--offline", "--server", "https://r.example"],
            "exclude",
        ),
    ],
    ids=[
        "did-web-offline-without-key",
        "bad-registry",
        "registry-method",
        "key-mismatch",
        "bad-key",
        "bad-server",
        "offline-with-server",
    ],
)
@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_usage_errors_exit_2(
    world: World, tmp_path: Path, home: dict[str, str], args: list[str], says: str
) -> None:
    path = write(tmp_path / "answer.json", world.entity5)
    argv = [a.replace("{did}", world.did) for a in args]
    out = cli(path, *argv, "--state", str(tmp_path / "s.json"), env=home)
    assert out.returncode == 2, out.stdout + out.stderr
    assert says in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_offline_cannot_fetch_url(world: World, home: dict[str, str]) -> None:
    out = cli(
        "https://registry.example/x", "--registry", world.did, "--offline", env=home
    )
    assert out.returncode == 2
    assert "--offline cannot fetch" in out.stderr


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_missing_answer_file_exits_2(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    out = cli(str(tmp_path / "nope.json"), "--registry", world.did, env=home)
    assert out.returncode == 2
    assert "cannot read" in out.stderr


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_corrupt_state_file_exits_2(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    state = tmp_path / "checkpoints.json"
    state.write_text("{broken")
    path = write(tmp_path / "answer.json", world.entity5)
    out = cli(path, "--registry", world.did, "--state", str(state), env=home)
    assert out.returncode == 2
    assert "is malformed" in out.stderr


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_file_that_is_no_answer_exits_1(
    world: World, tmp_path: Path, home: dict[str, str]
) -> None:
    path = write(tmp_path / "answer.txt", "hello")
    out = cli(path, "--registry", world.did, env=home)
    assert out.returncode == 1
    assert "neither a json object nor a compact jws" in out.stderr


# -- did:web registries -------------------------------------------------------------


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_did_web_registry_with_registry_key_offline(
    tmp_path: Path, home: dict[str, str]
) -> None:
    identity = RegistryIdentity.for_key(
        signing_key(101), did="did:web:registry.example"
    )
    web_world = asyncio.run(build_world(tmp_path / "w", identity))
    path = write(tmp_path / "answer.json", web_world.entity5)
    state = str(tmp_path / "checkpoints.json")
    args = ("--registry", "did:web:registry.example", "--state", state, "--offline")
    out = cli(path, *args, "--registry-key", identity.multikey, env=home)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "(key from --registry-key)" in out.stdout
    wrong = RegistryIdentity.for_key(signing_key(102)).multikey
    out = cli(path, *args, "--registry-key", wrong, env=home)
    assert out.returncode == 1
    assert "\u2717 checkpoint: none of 1 signatures is by a known key" in out.stdout


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


async def test_run_takes_did_web_registry_key_from_its_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from didtrust.settings import Settings

    pki = TestPKI(tmp_path)
    site = web.Application()
    documents: dict[str, Any] = {}

    async def did_json(request: web.Request) -> web.Response:
        return web.json_response(documents["doc"])

    site.router.add_get("/.well-known/did.json", did_json)
    async with (
        serve_dns({"registry.test": ["127.0.0.1"]}) as dns,
        serve_app(site, ssl_context=pki.server_context("registry.test")) as srv,
    ):
        did = f"did:web:registry.test%3A{srv.port}"
        identity = RegistryIdentity.for_key(signing_key(103), did=did)
        documents["doc"] = identity.did_document()
        web_world = await build_world(tmp_path / "w", identity)
        path = write(tmp_path / "answer.json", web_world.entity5)
        settings = Settings(
            data_dir=str(tmp_path / "data"),
            fetch_ca_file=pki.ca_file,
            fetch_nameservers=(f"{dns.address[0]}:{dns.address[1]}",),
            unsafe_fetch_allow_private_networks=("127.0.0.0/8",),
        )
        state = str(tmp_path / "checkpoints.json")
        code = await run(parse(path, "--registry", did, "--state", state), settings)
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"(key from the DID document of {did})" in out
    assert srv.requests == ["/.well-known/did.json"]


@pytest.mark.parametrize(
    ("asked", "code", "says"),
    [
        (UNI.did, 0, f"\u2713 requested entity: the answer is about {UNI.did}"),
        (
            UNI.did.replace(":", "%3A"),
            0,
            f"\u2713 requested entity: the answer is about {UNI.did}",
        ),
        (BOARD.did, 1, f"\u2717 requested entity: asked about {BOARD.did}"),
    ],
    ids=["as-asked", "fully-encoded", "another-entity"],
)
async def test_run_checks_answer_is_about_the_entity_asked(
    world: World,
    tmp_path: Path,
    aiohttp_server: Any,
    capsys: pytest.CaptureFixture[str],
    asked: str,
    code: int,
    says: str,
) -> None:
    from didtrust.settings import Settings

    async def entity(request: web.Request) -> web.Response:
        # Whatever is asked, the server answers about the university.
        return web.Response(
            text=fresh_jws(world.entity5), content_type="application/jwt"
        )

    app = web.Application()
    app.router.add_get("/registry/v1/entities/{did}", entity)
    server = await aiohttp_server(app)
    url = str(server.make_url("/")).rstrip("/") + "/registry/v1/entities/" + asked
    state = str(tmp_path / "checkpoints.json")
    settings = Settings(data_dir=str(tmp_path / "data"))
    result = await run(parse(url, "--registry", world.did, "--state", state), settings)
    out = capsys.readouterr().out
    assert result == code, out
    assert says in out


# -- against a real server ----------------------------------------------------------


def submit(port: int, registry: str, by: Any, sub: Any, **fields: Any) -> None:
    claims = {
        "iss": by.did,
        "sub": sub.did,
        "aud": registry,
        "iat": int(time.time()),
        "jti": f"e2e-{time.monotonic_ns()}",
        **fields,
    }
    jws = sign_statement(claims, private_key=by.key, kid=by.kid)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/registry/v1/statements",
        data=jws.encode(),
        headers={"Content-Type": "application/jose"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 201


@pytest.mark.slow  # runs ``didtrust registry verify`` as a child process
def test_cli_verifies_urls_from_a_live_registry_and_catches_rollback(
    tmp_path: Path, home: dict[str, str]
) -> None:
    init = didtrust(
        *registry_init(
            ROOT.did, uri="https://registry.example/governance", sha256="ab" * 32
        ),
        env={**os.environ, **home},
    )
    assert init.returncode == 0, init.stderr
    registry = json.loads(init.stdout)["registry"]
    with serving(env={**os.environ, **home}) as server:
        port = server.port
        state = str(tmp_path / "checkpoints.json")
        url = f"http://127.0.0.1:{port}/registry/v1/entities/{UNI.did}"
        submit(
            port,
            registry,
            ROOT,
            BOARD,
            act="accredit",
            role="accreditor",
            scope=ACCREDITOR_SCOPE,
        )
        submit(
            port,
            registry,
            BOARD,
            UNI,
            act="accredit",
            role="issuer",
            scope=ISSUER_SCOPE,
        )
        first = cli(url, "--registry", registry, "--state", state, env=home)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "\u2713 requested entity" in first.stdout
        assert "\u2713 signed answer" in first.stdout
        with urllib.request.urlopen(url, timeout=10) as resp:
            old_answer = write(tmp_path / "old.json", json.loads(resp.read()))
        submit(
            port,
            registry,
            ROOT,
            COLLEGE,
            act="accredit",
            role="issuer",
            scope=ISSUER_SCOPE,
        )
        second = cli(url, "--registry", registry, "--state", state, env=home)
        assert second.returncode == 0, second.stdout + second.stderr
        assert (
            f"size 4 extends size 3 seen before (proof from http://127.0.0.1:{port})"
            in second.stdout
        )
        rolled_back = cli(
            old_answer, "--registry", registry, "--state", state, env=home
        )
        assert rolled_back.returncode == 3, rolled_back.stdout
        assert "rolled back: checkpoint size 3 is smaller than size 4" in (
            rolled_back.stderr
        )
