"""``DIDTRUST_DATABASE_URL``: which store the app and the CLI open.

The default keeps the old place (``<data_dir>/registry.sqlite3``); a URL names
a SQLite file elsewhere or the in-memory store; a bad one is a one-line
settings error; what needs a file (``registry init``, ``registry backup``)
refuses the in-memory store with a clear message.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from didtrust.app import create_app
from didtrust.cli import EXIT_USAGE, main
from didtrust.registry_backup import BackupError, backup_registry
from didtrust.settings import Settings, SettingsError
from registry.database import DatabaseUrl
from registry.memory import InMemoryStore
from registry.sqlite import SqliteStore
from tests.helpers.clock import Clock
from tests.helpers.registry import ROOT, init_registry


def test_default_database_is_the_file_in_the_data_dir(tmp_path):
    settings = Settings(data_dir=str(tmp_path / "data"))
    database = settings.database()
    assert database.scheme == "sqlite"
    assert database.path == tmp_path / "data" / "registry.sqlite3"
    assert Settings().database().path == Path("data/registry.sqlite3")


@pytest.mark.parametrize(
    ("url", "scheme", "path"),
    [
        ("sqlite:///relative/log.db", "sqlite", Path("relative/log.db")),
        (
            "sqlite:////var/lib/didtrust/log.db",
            "sqlite",
            Path("/var/lib/didtrust/log.db"),
        ),
        ("SQLite:///with%20space.db", "sqlite", Path("with space.db")),
        ("memory:", "memory", None),
        ("memory://", "memory", None),
    ],
    ids=["relative", "absolute", "escaped", "memory", "memory-slashes"],
)
def test_database_url_names_a_sqlite_file_or_memory(url, scheme, path):
    database = Settings.load(environ={"DIDTRUST_DATABASE_URL": url}).database()
    assert (database.scheme, database.path) == (scheme, path)
    assert str(database) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://db.example/registry", "unknown database scheme 'postgresql'"),
        ("registry.sqlite3", "is not a database URL"),
        ("sqlite:registry.sqlite3", "starts sqlite:///"),
        ("sqlite://host/registry.sqlite3", "takes no host"),
        ("sqlite:///", "must name a file"),
        ("sqlite:///data/", "must name a file"),
        ("sqlite:///log.db?mode=ro", "no query or fragment"),
        ("memory:registry", "takes nothing after it"),
    ],
    ids=[
        "unknown-scheme",
        "no-scheme",
        "no-slashes",
        "host",
        "no-path",
        "directory",
        "query",
        "memory-with-a-name",
    ],
)
def test_bad_database_url_is_a_settings_error_naming_the_setting(url, message):
    with pytest.raises(SettingsError, match=message) as caught:
        Settings.load(environ={"DIDTRUST_DATABASE_URL": url})
    assert str(caught.value).startswith("database_url: ")
    assert "\n" not in str(caught.value)


def test_bad_database_url_on_the_command_line_is_one_line_not_a_traceback(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("DIDTRUST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DIDTRUST_DATABASE_URL", "postgres://db.example/registry")
    assert main(["registry", "backup", str(tmp_path / "copy.db")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("didtrust: database_url: ")
    assert "unknown database scheme 'postgres'" in err
    assert "Traceback" not in err


def test_memory_database_with_several_workers_is_refused():
    with pytest.raises(SettingsError, match="inside one process: use workers = 1"):
        Settings(workers=2, database_url="memory:")


async def test_factory_opens_the_backend_the_url_names(tmp_path):
    async with await DatabaseUrl.parse("memory:").open() as memory:
        assert isinstance(memory, InMemoryStore)
        assert not memory.persistent
    path = tmp_path / "elsewhere" / "log.db"
    async with await DatabaseUrl.sqlite(path).open() as sqlite:
        assert isinstance(sqlite, SqliteStore)
        assert sqlite.path == path
    assert path.is_file()


async def test_app_serves_the_registry_at_the_database_url(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    await init_registry(data)
    moved = tmp_path / "db" / "moved.sqlite3"
    moved.parent.mkdir()
    shutil.move(data / "registry.sqlite3", moved)
    settings = Settings(data_dir=str(data), database_url=f"sqlite:///{moved}")
    client = await aiohttp_client(create_app(settings, clock=Clock()))
    resp = await client.get(f"/registry/v1/entities/{ROOT.did}")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["isRoot"] is True
    assert not (data / "registry.sqlite3").exists()


def test_registry_init_into_memory_is_refused(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DIDTRUST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DIDTRUST_DATABASE_URL", "memory:")
    argv = ["registry", "init", "--root", ROOT.did, "--governance-uri"]
    argv += ["https://example.org/rules", "--governance-sha256", "0" * 64]
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "registry init needs a database that outlives the process" in err
    assert not (tmp_path / "registry-key.json").exists()


async def test_backup_of_the_memory_store_is_refused(tmp_path):
    data = tmp_path / "data"
    await init_registry(data)
    copy = tmp_path / "copy.sqlite3"
    with pytest.raises(
        BackupError, match=r"in-memory store \(memory:\) cannot be backed up"
    ):
        await backup_registry(
            DatabaseUrl.parse("memory:"), data / "registry-key.json", copy
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
