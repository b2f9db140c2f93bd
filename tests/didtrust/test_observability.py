"""Metrics at /metrics, request ids and JSON request logs (didtrust.observability).

Apps are built with ``create_app`` and instrumented here with
``setup_observability`` (as ``create_app`` will do once it is wired in).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from didtrust.app import create_app
from didtrust.appkeys import METRICS
from didtrust.observability import (
    JsonLogFormatter,
    Metrics,
    _Observer,
    configure_json_logging,
    multiprocess_metrics_dir,
    request_id_var,
    sane_request_id,
    worker_exited,
)
from didtrust.settings import Settings
from tests.helpers.clock import Clock
from tests.helpers.metrics import scrape, value
from tests.helpers.paths import REPO
from tests.helpers.registry import (
    ACCREDITOR,
    ROOT,
    init_registry,
    make_statement,
)

BASE = "/1.0/identifiers/"
ROUTE = "/1.0/identifiers/{identifier}"


def instrumented(settings: Settings, **kwargs):
    """The app as served with DIDTRUST_ACCESS_LOG on: metrics and request log."""
    app = create_app(dataclasses.replace(settings, access_log=True), **kwargs)
    return app, app[METRICS]


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    app, _ = instrumented(Settings(data_dir=str(tmp_path / "data")))
    return await aiohttp_client(app)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG and above, as the server writes it (JSON lines)."""
    stream = io.StringIO()
    root = logging.getLogger()
    quiet = logging.getLogger("aiosqlite")
    saved = root.handlers[:], root.level, quiet.level
    configure_json_logging("DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        quiet.setLevel(saved[2])


def parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# -- metrics -----------------------------------------------------------------


async def test_requests_counted_by_route_template_not_raw_path(client):
    for _ in range(2):
        assert (await client.get(BASE + ROOT.did)).status == 200
    samples = await scrape(client)
    labels = {"route": ROUTE, "method": "GET", "status": "200"}
    assert value(samples, "didtrust_http_requests_total", **labels) == 2
    count = value(
        samples,
        "didtrust_http_request_duration_seconds_count",
        route=ROUTE,
        method="GET",
    )
    assert count == 2
    assert not any("did:key" in v for _, ls in samples for _, v in ls)


async def test_unmatched_path_is_one_label_not_the_path(client):
    assert (await client.get("/no/such/path-1")).status == 404
    assert (await client.get("/no/such/path-2")).status == 404
    samples = await scrape(client)
    labels = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(samples, "didtrust_http_requests_total", **labels) == 2


async def test_cache_hit_after_two_resolutions_of_one_did(client):
    for _ in range(2):
        assert (await client.get(BASE + ROOT.did)).status == 200
    samples = await scrape(client)
    events = "didtrust_cache_events_total"
    assert value(samples, events, cache="resolution", event="miss") == 1
    assert value(samples, events, cache="resolution", event="hit") == 1
    assert value(samples, "didtrust_cache_entries", cache="resolution") == 1


async def test_resolutions_by_did_method_and_outcome(client):
    assert (await client.get(BASE + ROOT.did)).status == 200
    assert (await client.get(BASE + "did:nosuch:abc")).status == 501
    assert (await client.get(BASE + "did:key:zNotAKey")).status == 400
    samples = await scrape(client)
    name = "didtrust_resolutions_total"
    assert value(samples, name, did_method="key", outcome="ok") == 1
    assert value(samples, name, did_method="key", outcome="invalid") == 1
    assert value(samples, name, did_method="other", outcome="method_not_supported") == 1
    # A stranger's method name never becomes a label.
    assert not any("nosuch" in v for _, ls in samples for _, v in ls)


async def test_verifications_counted_by_request_outcome(client):
    resp = await client.post("/credentials/verify", data=b"{not json")
    assert resp.status == 400
    samples = await scrape(client)
    name = "didtrust_credential_verifications_total"
    assert value(samples, name, outcome="bad_request") == 1


async def test_registry_appends_log_size_and_refusals_by_reason(
    aiohttp_client, tmp_path
):
    data = tmp_path / "data"
    identity = await init_registry(data)
    clock = Clock()
    app, _ = instrumented(Settings(data_dir=str(data)), clock=clock)
    client = await aiohttp_client(app)
    jws = make_statement(
        ROOT,
        aud=str(identity.did),
        sub=ACCREDITOR.did,
        iat=clock.iat,
        actions=("issue", "accredit"),
    )
    headers = {"Content-Type": "application/jose"}
    url = "/registry/v1/statements"
    assert (await client.post(url, data=jws, headers=headers)).status == 201
    replay = await client.post(url, data=jws, headers=headers)
    assert replay.status == 409
    samples = await scrape(client)
    assert value(samples, "didtrust_registry_statements_appended_total") == 1
    assert value(samples, "didtrust_registry_log_size") == 2
    refused = "didtrust_registry_statements_refused_total"
    assert value(samples, refused, reason="replay") == 1


def test_metrics_of_two_apps_do_not_mix():
    # One registry per app: a second app in the same process starts at zero
    # (the global REGISTRY would refuse the duplicate names, or mix them).
    one, two = Metrics(), Metrics()
    one.requests.labels(route="/x", method="GET", status="200").inc()
    assert b'route="/x"' in one.exposition()
    assert b'route="/x"' not in two.exposition()


MULTIPROCESS_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from aiohttp.test_utils import TestClient, TestServer
    from didtrust.app import create_app
    from didtrust.settings import Settings

    async def main(did):
        app = create_app(Settings(data_dir=sys.argv[2]))
        async with TestClient(TestServer(app)) as client:
            for _ in range(2):
                assert (await client.get("/1.0/identifiers/" + did)).status == 200

    asyncio.run(main(sys.argv[1]))
    """
)


@pytest.mark.slow  # runs worker child processes
async def test_several_workers_add_up_in_multiprocess_mode(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    for worker in range(2):
        subprocess.run(  # noqa: ASYNC221  # a test: blocking is fine
            [sys.executable, "-c", MULTIPROCESS_WORKER, ROOT.did, str(tmp_path / "d")],
            env=env,
            cwd=REPO,
            check=True,
            timeout=60,
        )
        assert len(list(metrics_dir.glob("counter_*.db"))) == worker + 1
    # A third process (the one a scrape lands on) reports the sum of both.
    script = textwrap.dedent(
        """
        from didtrust.observability import Metrics
        print(Metrics(multiprocess=True).exposition().decode())
        """
    )
    out = subprocess.run(  # noqa: ASYNC221  # a test: blocking is fine
        [sys.executable, "-c", script],
        env=env,
        cwd=REPO,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    samples = {}
    for family in text_string_to_metric_families(out):
        for s in family.samples:
            samples[s.name, tuple(sorted(s.labels.items()))] = s.value
    labels = {"route": ROUTE, "method": "GET", "status": "200"}
    assert value(samples, "didtrust_http_requests_total", **labels) == 4
    events = "didtrust_cache_events_total"
    assert value(samples, events, cache="resolution", event="hit") == 2
    assert value(samples, events, cache="resolution", event="miss") == 2


# -- request ids -----------------------------------------------------------------


async def test_request_id_given_is_echoed(client):
    resp = await client.get("/health", headers={"X-Request-ID": "abc.DEF-123_x"})
    assert resp.headers["X-Request-ID"] == "abc.DEF-123_x"


async def test_request_id_generated_when_absent(client):
    resp = await client.get("/health")
    rid = resp.headers["X-Request-ID"]
    assert len(rid) == 32
    int(rid, 16)


async def test_request_id_echoed_on_error_answers(client):
    resp = await client.get("/no/such/path", headers={"X-Request-ID": "e-1"})
    assert resp.status == 404
    assert resp.headers["X-Request-ID"] == "e-1"


@pytest.mark.parametrize(
    "hostile",
    ["a b", "x" * 1024, "x" * 65, "a;b", 'a"b', "é"],
    ids=["space", "1kb", "65-chars", "semicolon", "quote", "non-ascii"],
)
async def test_request_id_hostile_is_replaced(client, hostile):
    resp = await client.get("/health", headers={"X-Request-ID": hostile})
    rid = resp.headers["X-Request-ID"]
    assert rid != hostile
    assert len(rid) == 32


@pytest.mark.parametrize(
    "hostile",
    ["a\nb", "a\r\nX-Admin: 1", "", "x" * 1024],
    ids=["newline", "header-injection", "empty", "1kb"],
)
def test_sane_request_id_replaces_log_and_header_forgery(hostile):
    rid = sane_request_id(hostile)
    assert rid != hostile
    assert len(rid) == 32


# -- JSON logs -------------------------------------------------------------------


async def test_one_json_access_line_per_request_with_its_request_id(client, log_lines):
    resp = await client.get(
        BASE + "did:nosuch:abc",
        headers={"X-Request-ID": "req-42", "User-Agent": "u" * 1000},
    )
    assert resp.status == 501
    lines = parsed(log_lines)
    access = [line for line in lines if line["logger"] == "didtrust.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "req-42"
    assert line["route"] == ROUTE
    assert line["status"] == 501
    assert line["method"] == "GET"
    assert isinstance(line["duration_ms"], float)
    assert len(line["user_agent"]) == 200
    assert {"ts", "level", "message", "remote"} <= line.keys()
    # A record emitted by the resolver while serving carries the id too.
    inner = [
        line
        for line in lines
        if line["logger"] == "resolver.http" and "nosuch" in line["message"]
    ]
    assert inner
    assert all(line["request_id"] == "req-42" for line in inner)


async def test_secrets_never_logged(aiohttp_client, tmp_path, log_lines):
    data = tmp_path / "data"
    identity = await init_registry(data)
    seed = json.loads((data / "registry-key.json").read_text())["seed"]
    clock = Clock()
    app, _ = instrumented(Settings(data_dir=str(data)), clock=clock)
    client = await aiohttp_client(app)
    jws = make_statement(
        ROOT,
        aud=str(identity.did),
        sub=ACCREDITOR.did,
        iat=clock.iat,
        actions=("issue", "accredit"),
    )
    headers = {
        "Content-Type": "application/jose",
        "Authorization": "Bearer sekrit-token-123",
    }
    url = "/registry/v1/statements"
    assert (await client.post(url, data=jws, headers=headers)).status == 201
    assert (await client.post(url, data=jws, headers=headers)).status == 409
    tampered = jws[:-4] + ("AAAA" if not jws.endswith("AAAA") else "BBBB")
    assert (await client.post(url, data=tampered, headers=headers)).status == 401
    text = log_lines.getvalue()
    assert text.count('"logger":"didtrust.access"') == 3
    for secret in (seed, jws, jws.split(".")[2], jws.split(".")[1], "sekrit"):
        assert secret not in text


def test_formatter_redacts_secret_looking_extras_and_keeps_others():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hi %s", ("x",), None)
    record.seed = "s33d"
    record.authorization = "Bearer t"
    record.route = "/r"
    token = request_id_var.set("rid-1")
    try:
        line = json.loads(JsonLogFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hi x"
    assert line["request_id"] == "rid-1"
    assert line["route"] == "/r"
    assert line["seed"] == "[redacted]"
    assert line["authorization"] == "[redacted]"


def test_formatter_writes_exception_on_the_same_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    out = JsonLogFormatter().format(record)
    assert "\n" not in out
    assert "ValueError: boom" in json.loads(out)["exc"]


def test_configure_json_logging_replaces_root_handlers(log_lines):
    configure_json_logging("warning", stream=log_lines)
    root = logging.getLogger()
    assert root.level == logging.WARNING
    assert len(root.handlers) == 1
    assert isinstance(root.handlers[0].formatter, JsonLogFormatter)
    logging.getLogger("x").info("dropped")
    logging.getLogger("x").warning("kept")
    assert [line["message"] for line in parsed(log_lines)] == ["kept"]


def test_debug_logging_keeps_aiosqlite_arguments_out(log_lines):
    # aiosqlite logs each call with its arguments at DEBUG: stored statements.
    assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)


def test_configure_json_logging_rejects_unknown_level():
    with pytest.raises(ValueError, match="unknown log level"):
        configure_json_logging("LOUD")


def test_multiprocess_dir_is_fresh_exported_and_removed(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with multiprocess_metrics_dir() as path:
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(path)
        assert list(path.iterdir()) == []
        (path / "gauge_livesum_4242.db").write_bytes(b"")
        worker_exited(4242, path)
        assert list(path.iterdir()) == []
    assert not path.exists()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


async def test_access_log_is_off_by_default(aiohttp_client, tmp_path, log_lines):
    client = await aiohttp_client(create_app(Settings(data_dir=str(tmp_path / "d"))))
    resp = await client.get("/health")
    assert resp.headers["X-Request-ID"]
    assert '"route"' not in log_lines.getvalue()


async def test_generated_request_ids_are_unique(client):
    ids = {(await client.get("/health")).headers["X-Request-ID"] for _ in range(50)}
    assert len(ids) == 50


async def test_idle_worker_flushes_its_last_counts_without_a_scrape(
    aiohttp_client, tmp_path, monkeypatch
):
    # In multiprocess mode a scrape reaches one worker: another one that has
    # gone quiet must still write its last request counts by itself.
    monkeypatch.setattr(_Observer, "SYNC_INTERVAL", 0.05)
    app, metrics = instrumented(Settings(data_dir=str(tmp_path / "data")))
    client = await aiohttp_client(app)
    # Both counts wait in the pending counts until the background sync.
    for _ in range(2):
        assert (await client.get(BASE + ROOT.did)).status == 200

    def counted() -> float:
        # Read the registry directly: exposition() does not sync, the handler does.
        text = metrics.exposition().decode()
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if (
                    s.name == "didtrust_http_requests_total"
                    and s.labels.get("route") == ROUTE
                ):
                    return s.value
        return 0.0

    for _ in range(100):
        if counted() == 2:
            break
        await asyncio.sleep(0.02)
    assert counted() == 2
