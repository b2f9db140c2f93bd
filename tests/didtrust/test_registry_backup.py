"""``didtrust registry backup``: a live copy of the log, checked before it is kept.

The CLI runs as a real process against a registry in a real SQLite file, while
the app that appended to it is still open; the copy is then served by a new
app (a restore) and answers like the original.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from didtrust.app import create_app
from didtrust.settings import Settings
from registry.sqlite import SqliteStore
from tests.helpers.clock import Clock
from tests.helpers.paths import REPO
from tests.helpers.registry import (
    ACCREDITOR,
    ROOT,
    init_registry,
    make_statement,
)

pytestmark = (
    pytest.mark.slow
)  # each test runs ``didtrust registry backup`` as a child process


def backup(data: Path, destination: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIDTRUST_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "didtrust", "registry", "backup", str(destination)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def live(aiohttp_client, tmp_path):
    """A registry with two accreditations, its app still running."""
    data = tmp_path / "data"
    identity = await init_registry(data)
    clock = Clock()
    client = await aiohttp_client(create_app(Settings(data_dir=str(data)), clock=clock))
    for signer, sub in ((ROOT, ACCREDITOR.did), (ACCREDITOR, "did:web:uni.example")):
        jws = make_statement(
            signer,
            aud=str(identity.did),
            sub=sub,
            iat=clock.iat,
            actions=("issue", "accredit") if signer is ROOT else ("issue",),
            resources=("Diploma",),
        )
        resp = await client.post(
            "/registry/v1/statements",
            data=jws.encode(),
            headers={"Content-Type": "application/jose"},
        )
        assert resp.status == 201, await resp.text()
    return data, client


async def test_backup_of_a_running_registry_restores_to_the_same_answers(
    live, aiohttp_client, tmp_path
):
    data, client = live
    copy = tmp_path / "backups" / "registry-copy.sqlite3"
    copy.parent.mkdir()
    done = backup(data, copy)
    assert done.returncode == 0, done.stderr
    assert "backed up 3 log entries" in done.stdout
    assert "checkpoint of size 3 verified" in done.stdout
    assert sorted(p.name for p in copy.parent.iterdir()) == [copy.name]

    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(data / "registry-key.json", restored / "registry-key.json")
    shutil.copy(copy, restored / "registry.sqlite3")
    again = await aiohttp_client(
        create_app(Settings(data_dir=str(restored)), clock=Clock())
    )
    path = "/registry/v1/entities/did:web:uni.example"
    original = await (await client.get(path)).json()
    answer = await again.get(path)
    assert answer.status == 200
    body = await answer.json()
    assert body["accreditations"] == original["accreditations"]
    checkpoint = await (await again.get("/registry/v1/log/checkpoint")).read()
    assert checkpoint == await (await client.get("/registry/v1/log/checkpoint")).read()


async def test_backup_refuses_to_overwrite_an_existing_file(live, tmp_path):
    data, _ = live
    existing = tmp_path / "keep.sqlite3"
    existing.write_bytes(b"precious")
    done = backup(data, existing)
    assert done.returncode == 1
    assert "exists" in done.stderr
    assert existing.read_bytes() == b"precious"


async def test_backup_of_a_backdated_log_entry_is_refused_and_leaves_nothing(
    live, tmp_path
):
    data, client = live
    await client.close()  # the server is gone; someone edits the file
    db = sqlite3.connect(data / "registry.sqlite3")
    with db:
        db.execute("DROP TRIGGER leaf_no_update")
        (entry,) = db.execute("SELECT data FROM leaf WHERE idx = 2").fetchone()
        # Backdate the accreditation: as if recorded a year earlier.
        forged = bytes(entry).replace(b'"2021-03-01T', b'"2020-03-01T')
        assert forged != bytes(entry)
        db.execute("UPDATE leaf SET data = ? WHERE idx = 2", (forged,))
    db.close()
    before = sorted(tmp_path.iterdir())
    done = backup(data, tmp_path / "copy.sqlite3")
    assert done.returncode == 1
    assert "do not hash to the signed checkpoint's root" in done.stderr
    assert sorted(tmp_path.iterdir()) == before


async def test_backup_with_a_damaged_merkle_node_is_refused(live, tmp_path):
    # The entries still hash to the checkpoint, but a server restored from the
    # copy would extend its tree from the stored nodes and sign a wrong root.
    data, client = live
    await client.close()
    db = sqlite3.connect(data / "registry.sqlite3")
    with db:
        db.execute("DROP TRIGGER merkle_node_no_update")
        db.execute(
            "UPDATE merkle_node SET hash = zeroblob(32) WHERE level = 1 AND idx = 0"
        )
    db.close()
    before = sorted(tmp_path.iterdir())
    done = backup(data, tmp_path / "copy.sqlite3")
    assert done.returncode == 1
    assert "merkle node (level 1, index 0) does not match" in done.stderr
    assert sorted(tmp_path.iterdir()) == before


async def test_backup_does_not_follow_a_dangling_symlink_at_the_destination(
    live, tmp_path
):
    data, _ = live
    victim = tmp_path / "elsewhere" / "victim"
    link = tmp_path / "copy.sqlite3"
    link.symlink_to(victim)
    done = backup(data, link)
    assert done.returncode == 1
    assert "exists" in done.stderr
    assert link.is_symlink()
    assert not victim.exists()


async def test_backup_checked_against_another_registrys_key_is_refused(live, tmp_path):
    data, client = live
    await client.close()
    other = tmp_path / "other"
    await init_registry(other)
    shutil.copy(other / "registry-key.json", data / "registry-key.json")
    before = sorted(tmp_path.iterdir())
    done = backup(data, tmp_path / "copy.sqlite3")
    assert done.returncode == 1
    assert "signature" in done.stderr
    assert sorted(tmp_path.iterdir()) == before


async def test_backup_into_a_missing_directory_says_so(live, tmp_path):
    data, _ = live
    done = backup(data, tmp_path / "no" / "such" / "copy.sqlite3")
    assert done.returncode == 1
    assert "cannot write in" in done.stderr
    assert "Traceback" not in done.stderr


def test_backup_without_a_registry_says_so(tmp_path):
    done = backup(tmp_path / "empty", tmp_path / "copy.sqlite3")
    assert done.returncode == 1
    assert "no registry key" in done.stderr
    assert "registry init" in done.stderr
    assert not (tmp_path / "copy.sqlite3").exists()


async def test_backup_copy_is_one_private_file_in_rollback_journal_mode(live, tmp_path):
    data, _ = live
    copy = tmp_path / "copy.sqlite3"
    assert backup(data, copy).returncode == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("copy")] == [
        copy.name
    ]
    # File format write/read versions 1: a rollback journal, not WAL (2).
    assert copy.read_bytes()[18:20] == b"\x01\x01"
    assert copy.stat().st_mode & 0o077 == 0
    store = await SqliteStore.open(copy)
    try:
        assert await store.size() == 3
    finally:
        await store.close()
