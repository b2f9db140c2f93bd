"""Request size limits against a real server, spoken to over a raw TCP socket.

The app is ``create_app`` with small limits (so each test also proves that the
setting, not aiohttp's default, applies), served by a real aiohttp server on
loopback. Requests are written byte by byte as an attacker would, without an
HTTP client library that would refuse to send them.

What aiohttp 3.14 answers (asserted below): a request line, header field or
header count over the limit is refused by the parser itself with a bare
``400 Bad Request`` (``text/plain``, HTTP/1.0, connection closed), never 414 or
431, and before any middleware runs; a body over ``max_request_body`` reaches
the handler, whose read raises, and is answered ``413`` as
``application/problem+json``. Neither leaves a traceback in the logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest

from didtrust.app import create_app
from didtrust.settings import Settings
from tests.helpers.registry import init_registry

LIMITS: dict[str, Any] = {
    "max_request_line": 1024,
    "max_header_size": 1024,
    "max_headers": 16,
    "max_request_body": 2048,
}


@dataclass
class Answer:
    version: str
    status: int
    headers: dict[str, str]
    body: bytes


@pytest.fixture
async def server(aiohttp_server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    data = tmp_path / "data"
    await init_registry(data)
    return await aiohttp_server(create_app(Settings(data_dir=str(data), **LIMITS)))


async def exchange(server, request: bytes) -> Answer:
    """Send raw bytes, read until the server closes, parse the answer."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(request)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, status, _reason = status_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(version, int(status), headers, body)


def get(target: str = "/health", extra: bytes = b"") -> bytes:
    return (
        f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n".encode()
        + extra
        + b"\r\n"
    )


def post(path: str, ctype: str, body: bytes, *, chunked: bool = False) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Type: {ctype}\r\n"
    ).encode()
    if not chunked:
        return head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    chunks = b"".join(
        f"{len(body[i : i + 1000]):x}\r\n".encode() + body[i : i + 1000] + b"\r\n"
        for i in range(0, len(body), 1000)
    )
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"


async def assert_still_serving(server) -> None:
    answer = await exchange(server, get())
    assert answer.status == 200
    assert json.loads(answer.body)["status"] == "ok"


def assert_no_traceback(caplog) -> None:
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "Traceback" not in caplog.text


def assert_parser_refusal(answer: Answer) -> None:
    # aiohttp's parser answers before the app: a bare 400, never 414/431.
    assert answer.status == 400
    assert answer.headers["content-type"].startswith("text/plain")
    assert b"Traceback" not in answer.body


async def test_requests_within_the_limits_are_served(server, caplog):
    # 900-byte target and 900-byte header field (limits: 1024 each).
    pad = get("/health?pad=" + "a" * 900, b"X-Pad: " + b"b" * 900 + b"\r\n")
    assert (await exchange(server, pad)).status == 200
    # Host, Connection and 14 more: 16 header fields, the limit.
    extra = b"".join(b"X-H%d: 1\r\n" % i for i in range(14))
    assert (await exchange(server, get(extra=extra))).status == 200
    assert_no_traceback(caplog)


async def test_request_line_longer_than_the_limit_is_refused_with_400(server, caplog):
    # Default aiohttp limit is 8190: a 2000-byte target passes only if the
    # setting is ignored.
    answer = await exchange(server, get("/health?pad=" + "a" * 2000))
    assert_parser_refusal(answer)
    assert b"1024" in answer.body
    await assert_still_serving(server)
    assert_no_traceback(caplog)


async def test_oversized_header_field_is_refused_with_400(server, caplog):
    answer = await exchange(server, get(extra=b"X-Big: " + b"a" * 2000 + b"\r\n"))
    assert_parser_refusal(answer)
    assert b"1024" in answer.body
    await assert_still_serving(server)
    assert_no_traceback(caplog)


async def test_oversized_header_name_is_refused_with_400(server, caplog):
    answer = await exchange(server, get(extra=b"X-" + b"n" * 2000 + b": 1\r\n"))
    assert_parser_refusal(answer)
    await assert_still_serving(server)
    assert_no_traceback(caplog)


async def test_header_flood_is_refused_with_400_not_431(server, caplog):
    flood = b"".join(b"X-Flood-%d: 1\r\n" % i for i in range(200))
    answer = await exchange(server, get(extra=flood))
    assert_parser_refusal(answer)
    assert b"Too many headers" in answer.body
    await assert_still_serving(server)
    assert_no_traceback(caplog)


@pytest.mark.parametrize(
    ("path", "ctype", "chunked"),
    [
        ("/registry/v1/statements", "application/jose", False),
        ("/registry/v1/statements", "application/jose", True),
        ("/credentials/verify", "application/json", False),
        ("/credentials/verify", "application/json", True),
    ],
    ids=["statement", "statement-chunked", "verify", "verify-chunked"],
)
async def test_oversized_body_is_refused_with_413_problem(
    server, caplog, path, ctype, chunked
):
    body = b"a" * (1 << 20)  # a megabyte, against a limit of 2048 bytes
    answer = await exchange(server, post(path, ctype, body, chunked=chunked))
    assert answer.status == 413
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = json.loads(answer.body)
    assert problem["status"] == 413
    assert "2048" in problem["detail"]
    await assert_still_serving(server)
    assert_no_traceback(caplog)


async def test_body_just_under_the_limit_reaches_the_handler(server, caplog):
    body = json.dumps({"verifiableCredential": "x" * 1900}).encode()
    assert len(body) < LIMITS["max_request_body"]
    answer = await exchange(
        server, post("/credentials/verify", "application/json", body)
    )
    # The verifier read it and answered with a report: the "credential" failed.
    assert answer.status == 200
    assert json.loads(answer.body)["verified"] is False
    assert_no_traceback(caplog)


def announced(path: str, length: int, expect: str = "100-continue") -> bytes:
    """A POST head announcing ``length`` bytes and waiting for 100 Continue."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
        f"Expect: {expect}\r\n\r\n"
    ).encode()


@pytest.mark.parametrize(
    "path", ["/credentials/verify", "/registry/v1/statements", "/trqp/authorization"]
)
async def test_oversized_declared_body_gets_413_not_100_continue(server, path, caplog):
    answer = await exchange(server, announced(path, 10_000_000))
    assert answer.status == 413  # the first answer: no interim 100 before it
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "2048" in json.loads(answer.body)["detail"]
    await assert_still_serving(server)
    assert_no_traceback(caplog)


async def test_declared_body_within_the_limit_gets_100_continue(server):
    body = json.dumps({"verifiableCredential": "x"}).encode()
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(announced("/credentials/verify", len(body)))
        await writer.drain()
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(body)
        final = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    assert final.startswith(b"HTTP/1.1 200 ")


async def test_unknown_expectation_is_417(server):
    answer = await exchange(server, announced("/credentials/verify", 10, "magic"))
    assert answer.status == 417


async def test_answers_name_no_versions(server):
    answer = await exchange(server, get())
    assert answer.headers["server"] == "didtrust"
    assert json.loads(answer.body) == {"status": "ok"}
    # The parser's own refusals too (they never reach the app).
    refused = await exchange(server, get("/health?pad=" + "a" * 2000))
    assert refused.status == 400
    assert refused.headers["server"] == "didtrust"


async def test_metrics_are_refused_to_a_public_client_behind_a_trusted_proxy(
    aiohttp_client, tmp_path
):
    settings = Settings(
        data_dir=str(tmp_path / "data"), trusted_proxies=("127.0.0.1/32",)
    )
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/metrics")).status == 200  # the operator, locally
    public = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert public.status == 404
    closed = await aiohttp_client(
        create_app(Settings(data_dir=str(tmp_path / "d2"), metrics_allow=()))
    )
    assert (await closed.get("/metrics")).status == 404
