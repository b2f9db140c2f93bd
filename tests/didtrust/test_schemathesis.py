"""Schema-driven fuzzing of the real server against its own OpenAPI document.

``didtrust serve`` runs as a real process on a free loopback port, over a
temporary data directory where ``didtrust registry init`` created a registry
(so the registry and TRQP routes answer) and two accreditations were then
submitted over HTTP. The schema is loaded from the running server's
``/openapi.json`` with schemathesis (4.x Python API), and each documented
operation is one test case: schemathesis generates requests that conform to the
document and, for an operation with a query or a body, requests that break it;
every answer must pass

- ``not_a_server_error``: no 5xx, whatever the request;
- ``status_code_conformance``: the status is documented for the operation;
- ``content_type_conformance``: the media type is documented for that status;
- ``response_schema_conformance``: the body validates against its schema
  (the resolver's own JSON media types and text/plain are registered below:
  schemathesis would otherwise skip them silently; ``application/jwt``, which
  schemathesis takes for JSON, is checked here against its pattern);
- ``response_headers_conformance``: the documented required headers are
  there and valid.

schemathesis never sends a documented ``Accept`` parameter (OpenAPI ignores
one), so each value listed in its schema's ``examples`` gets requests of its
own: every representation of the resolver and the registry is fuzzed.

Runs are reproducible (Hypothesis ``derandomize``, no example database) and
bounded (``EXAMPLES`` per operation and mode). The server never reaches the
network: its only DNS server is a loopback responder in this process answering
NXDOMAIN to every question, so did:web and status list fetches fail fast and
the same way each time, and IP-literal hosts are refused by the fetcher before
any connection. The per-client write limits are raised far above what the
fuzz sends from its one address.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.rcode
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from jsonschema import Draft202012Validator
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.schemas import OpenApiSchema

from didtrust.apidocs import operations
from tests.helpers.openapi import DOC, deref
from tests.helpers.processes import didtrust as run_didtrust
from tests.helpers.processes import registry_init, serving
from tests.helpers.registry import ACCREDITOR, ROOT, UNIVERSITY, make_statement

pytestmark = (
    pytest.mark.slow
)  # a ``didtrust serve`` child process, fuzzed by schemathesis

OPERATIONS = [(path, method) for path, method, _op in operations(DOC)]

EXAMPLES = 80
"""Generated requests per operation and generation mode (positive, negative)."""

EXAMPLES_PER_HEADER_VALUE = 12
"""Generated requests with a header fixed to each of its schema's examples."""

SCHEMA_CHECK = schemathesis.checks.response_schema_conformance

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    SCHEMA_CHECK,
    schemathesis.checks.response_headers_conformance,
]

FUZZ_SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # No shrinking: each failure already comes with a curl command that
    # reproduces it, and shrinking against a live server is slow.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)

# Bodies that are a compact JWS or JWT go on the wire as the text they are
# (application/jwt bodies go as JSON strings all the same: schemathesis's JSON
# serializer claims that type first; the server must refuse them just as well).
schemathesis.serializer.alias(
    ["application/jose", "application/jwt", "application/vc+jwt"], "text/plain"
)


# The resolver's JSON media types have no "+json" suffix that schemathesis
# would recognise; without these, their bodies would go unchecked.
@schemathesis.deserializer(
    "application/did-resolution", "application/did-url-dereferencing", "application/did"
)
def _json_body(ctx: schemathesis.DeserializationContext, response: Any) -> Any:
    return json.loads(response.content)


# Checkpoints and the parser's refusals are text (text/plain).
@schemathesis.deserializer("text/plain")
def _text_body(ctx: schemathesis.DeserializationContext, response: Any) -> Any:
    return response.content.decode("utf-8")


class NxdomainServer:
    """A loopback DNS server answering NXDOMAIN to every query, in a thread."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        # A blocked recvfrom is not woken by close(): poll, and check _stop.
        self.sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue  # not a DNS query: no answer
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), addr)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@dataclass(frozen=True)
class Server:
    url: str
    registry: str
    proc: subprocess.Popen[bytes]


def server_env(data: Path, dns_port: int) -> dict[str, str]:
    # Only this test's DIDTRUST_* settings: none leak in from the caller.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIDTRUST_")}
    env.update(
        {
            "DIDTRUST_DATA_DIR": str(data),
            "DIDTRUST_LOG_LEVEL": "WARNING",
            "DIDTRUST_FETCH_NAMESERVERS": f"127.0.0.1:{dns_port}",
            "DIDTRUST_FETCH_CONNECT_TIMEOUT": "1",
            "DIDTRUST_FETCH_TOTAL_TIMEOUT": "2",
            "DIDTRUST_RESOLVE_TIMEOUT": "3",
            # One client sends every request of the fuzz: far over the budgets
            # a real server keeps per client (settings unknown to an older
            # server are ignored).
            "DIDTRUST_RATE_LIMIT_WRITES": "1000000",
            "DIDTRUST_RATE_LIMIT_WRITES_BURST": "1000000",
            "DIDTRUST_RATE_LIMIT_VERIFY": "1000000",
            "DIDTRUST_RATE_LIMIT_VERIFY_BURST": "1000000",
            "DIDTRUST_RATE_LIMIT_RESOLVE": "1000000",
            "DIDTRUST_RATE_LIMIT_RESOLVE_BURST": "1000000",
        }
    )
    return env


def didtrust(*args: str, env: dict[str, str]) -> str:
    out = run_didtrust(*args, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def submit(url: str, statement: str) -> None:
    request = urllib.request.Request(
        url + "/registry/v1/statements",
        data=statement.encode(),
        headers={"Content-Type": "application/jose"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 201


def server_errors(stderr: str) -> list[str]:
    """The server's log lines at ERROR or above, and any line that is not JSON.

    aiohttp's parser refusals (a request line or header over its limit, which
    the fuzz sends) are logged as one INFO line by ``app.ServerLog``, so none
    is excused here.
    """
    out = []
    for line in stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            out.append(line[:2000])
            continue
        if record.get("level") in ("ERROR", "CRITICAL"):
            out.append(line[:2000])
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    dns_server = NxdomainServer()
    env = server_env(data, dns_server.port)
    created = json.loads(didtrust(*registry_init(ROOT.did), env=env))
    try:
        with serving(env=env, stop_timeout=30) as served:
            url = served.url
            registry = created["registry"]
            now = int(time.time())
            # The root accredits an accreditor, which accredits a university: the
            # entity, entries and proof routes then have something to answer with.
            submit(
                url,
                make_statement(
                    ROOT,
                    aud=registry,
                    sub=ACCREDITOR.did,
                    iat=now,
                    actions=("issue", "accredit"),
                    resources=("UniversityDegreeCredential",),
                ),
            )
            submit(
                url,
                make_statement(
                    ACCREDITOR,
                    aud=registry,
                    sub=UNIVERSITY.did,
                    iat=now,
                    resources=("UniversityDegreeCredential",),
                ),
            )
            yield Server(url=url, registry=registry, proc=served.proc)
    finally:
        dns_server.close()
    assert served.returncode == 0, served.stderr.decode()
    errors = server_errors(served.stderr.decode())
    assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def schema(server: Server) -> OpenApiSchema:
    # An explicit default config: no schemathesis.toml found on disk applies.
    return schemathesis.openapi.from_url(
        server.url + "/openapi.json", config=schemathesis.Config(), timeout=10
    )


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def has_inputs(path: str, method: str) -> bool:
    """Whether the operation takes a body or a query, which a request can break.

    Operations without either still get conforming requests; schemathesis
    cannot make a header-only or unconstrained-path request that breaks them.
    """
    operation = DOC["paths"][path][method]
    params = operation.get("parameters", [])
    return "requestBody" in operation or any(p.get("in") == "query" for p in params)


def header_examples(path: str, method: str) -> list[dict[str, str]]:
    """One ``{name: value}`` per example in a header parameter's schema.

    OpenAPI has generators ignore an ``Accept`` parameter (3.1 §4.8.12.1), so
    schemathesis always sends ``Accept: */*``; each documented value is sent
    with requests of its own instead, so that every representation is fuzzed.
    """
    out = []
    for raw in DOC["paths"][path][method].get("parameters", []):
        param = deref(raw)
        if param["in"] == "header":
            for value in param.get("schema", {}).get("examples", []):
                out.append({param["name"]: value})
    return out


def assert_jwt_conforms(path: str, method: str, status: int, text: str) -> None:
    """An ``application/jwt`` answer validates against its documented schema."""
    response = deref(DOC["paths"][path][method]["responses"][str(status)])
    schema = deref(response["content"]["application/jwt"]["schema"])
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(text)]
    assert not errors, f"{method.upper()} {path} {status} application/jwt: {errors}"


def fuzz(
    server: Server,
    schema: OpenApiSchema,
    session: requests.Session,
    path: str,
    method: str,
    mode: GenerationMode,
    *,
    headers: dict[str, str] | None = None,
    examples: int = EXAMPLES,
) -> None:
    """Send ``examples`` generated requests for one operation; check each answer.

    Raises:
        FailureGroup: an answer failed a check (with a curl to reproduce it).
    """
    operation = schema[path][method]

    @hypothesis.settings(FUZZ_SETTINGS, max_examples=examples)
    @given(case=operation.as_strategy(mode))
    def run(case: schemathesis.Case) -> None:
        # A copy each time: the transport adds its own headers to the dict.
        sent = dict(headers) if headers else None
        response = case.call(
            base_url=server.url, session=session, headers=sent, timeout=15
        )
        checks = CHECKS
        if response.headers.get("content-type", [""])[0].startswith("application/jwt"):
            # schemathesis 4 reads application/jwt as JSON, which a compact
            # JWS is not: its documented schema is checked here instead.
            checks = [c for c in CHECKS if c is not SCHEMA_CHECK]
            assert_jwt_conforms(path, method, response.status_code, response.text)
        try:
            case.validate_response(
                response,
                checks=checks,
                headers=sent,
                transport_kwargs={"base_url": server.url, "session": session},
            )
        except FailureGroup as exc:
            if headers:  # the curl in the report leaves them out
                exc.add_note(f"sent with the headers {headers}")
            raise

    run()


@pytest.mark.parametrize(
    ("path", "method"),
    OPERATIONS,
    ids=[f"{method.upper()} {path}" for path, method in OPERATIONS],
)
def test_operation_answers_conform_to_the_schema(
    server: Server,
    schema: OpenApiSchema,
    session: requests.Session,
    path: str,
    method: str,
):
    fuzz(server, schema, session, path, method, GenerationMode.POSITIVE)
    if has_inputs(path, method):
        fuzz(server, schema, session, path, method, GenerationMode.NEGATIVE)
    for headers in header_examples(path, method):
        fuzz(
            server,
            schema,
            session,
            path,
            method,
            GenerationMode.POSITIVE,
            headers=headers,
            examples=EXAMPLES_PER_HEADER_VALUE,
        )
    assert server.proc.poll() is None, "the server died"


def test_served_schema_is_the_packaged_document(server: Server):
    with urllib.request.urlopen(server.url + "/openapi.json", timeout=10) as resp:
        assert json.loads(resp.read()) == DOC


def test_operations_with_inputs_get_requests_that_break_them():
    """The negative half of the fuzz cannot silently vanish for these."""
    with_inputs = {f"{m.upper()} {p}" for p, m in OPERATIONS if has_inputs(p, m)}
    assert {
        "POST /registry/v1/statements",
        "POST /trqp/authorization",
        "POST /credentials/verify",
        "GET /1.0/identifiers/{identifier}",
        "GET /registry/v1/entities",
    } <= with_inputs


# -- the checks can fail ---------------------------------------------------------


def _schema_with(change: Any) -> OpenApiSchema:
    document = copy.deepcopy(DOC)
    change(document)
    return schemathesis.openapi.from_dict(document, config=schemathesis.Config())


@pytest.mark.parametrize(
    ("component", "path", "method"),
    [
        ("Health", "/health", "get"),
        ("ResolutionResult", "/1.0/identifiers/{identifier}", "get"),
    ],
    ids=["json", "did-resolution"],
)
def test_fuzz_catches_a_body_that_breaks_its_schema(
    server, session, component, path, method
):
    """An answer without a property its schema requires fails the check."""

    def require_more(document: dict[str, Any]) -> None:
        document["components"]["schemas"][component]["required"].append("nope")

    broken = _schema_with(require_more)
    with pytest.raises(FailureGroup, match="Response violates schema"):
        fuzz(server, broken, session, path, method, GenerationMode.POSITIVE)


def test_signed_answers_are_checked_against_their_schema():
    query = ("/trqp/authorization", "post", 200)
    assert_jwt_conforms(*query, "eyJhbGciOiJFZERTQSJ9.e30.c2ln")
    with pytest.raises(AssertionError, match="application/jwt"):
        assert_jwt_conforms(*query, '{"authorized": true}')


def test_fuzz_catches_an_undocumented_status(server, session):
    """Without its documented 400, a bad TRQP query is an undocumented status."""

    def drop_400(document: dict[str, Any]) -> None:
        del document["paths"]["/trqp/authorization"]["post"]["responses"]["400"]

    broken = _schema_with(drop_400)
    with pytest.raises(FailureGroup, match="Undocumented status code"):
        fuzz(
            server,
            broken,
            session,
            "/trqp/authorization",
            "post",
            GenerationMode.NEGATIVE,
        )


def test_fuzz_catches_an_undocumented_media_type(server, session):
    """The parser's bare text/plain 400 counts only because it is documented."""

    def drop_text(document: dict[str, Any]) -> None:
        op = document["paths"]["/1.0/identifiers/{identifier}"]["get"]
        del op["responses"]["400"]["content"]["text/plain"]

    broken = _schema_with(drop_text)
    operation = broken["/1.0/identifiers/{identifier}"]["get"]
    case = operation.Case(path_parameters={"identifier": "x" * 9000})
    with pytest.raises(FailureGroup, match="Undocumented Content-Type"):
        case.call_and_validate(
            base_url=server.url, session=session, checks=CHECKS, timeout=15
        )
