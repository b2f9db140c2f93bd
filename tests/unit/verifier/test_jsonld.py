"""verifier.jsonld: shipped contexts, the offline loader, RDFC-1.0 and its limits."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.paths import VECTORS
from verifier import jsonld
from verifier.contexts import FILES
from verifier.errors import JsonLdError, MalformedCredentialError, UnknownContextError

CONTEXTS_DIR = Path(jsonld.__file__).parent / "contexts"
DATA = Path(__file__).parent / "data"
EDDSA = VECTORS / "vc-di-eddsa"
ECDSA = VECTORS / "vc-di-ecdsa"

V1 = "https://www.w3.org/2018/credentials/v1"
V2 = "https://www.w3.org/ns/credentials/v2"


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


# --- the test vectors -------------------------------------------------------


def rdfc_vectors() -> list[Any]:
    """(input document, expected canonical N-Quads, RDFC-1.0 hash) per vector."""
    cases = []
    for root, suite, tag, hash_algorithm in [
        (EDDSA, "eddsa-rdfc-2022", "DataInt", "sha256"),
        (EDDSA, "Ed25519Signature2020", "EdSig", "sha256"),
        (ECDSA, "ecdsa-rdfc-2019-p256", "ECDSAP256", "sha256"),
        (ECDSA, "ecdsa-rdfc-2019-p384", "ECDSAP384", "sha384"),
    ]:
        for variant, source in [
            ("", "unsigned.json"),
            ("employ", "employmentAuth.json"),
        ]:
            folder = root / suite / variant
            name = f"{suite}-{variant}" if variant else suite
            if not (folder / f"canonDoc{tag}.txt").exists():
                continue  # Ed25519Signature2020 has no employ/ variant
            cases.append(
                pytest.param(
                    root / source,
                    folder / f"canonDoc{tag}.txt",
                    hash_algorithm,
                    id=name,
                )
            )
            cases.append(
                pytest.param(
                    folder / f"proofConfig{tag}.json",
                    folder / f"proofCanon{tag}.txt",
                    hash_algorithm,
                    id=f"{name}-proof",
                )
            )
    return cases


RDFC_VECTORS = rdfc_vectors()


def test_every_rdfc_vector_is_found():
    assert len(RDFC_VECTORS) == 14


@pytest.mark.parametrize(("source", "expected", "hash_algorithm"), RDFC_VECTORS)
def test_canonicalize_reproduces_vector(source, expected, hash_algorithm):
    canonical = jsonld.canonicalize(load(source), hash_algorithm=hash_algorithm)
    assert canonical == expected.read_text(encoding="utf-8")


def test_p384_vector_labels_blank_nodes_with_sha384():
    # The employ credential has three blank nodes: the hash inside RDFC-1.0
    # decides their labels, and the P-384 vector was made with SHA-384.
    document = load(ECDSA / "employmentAuth.json")
    expected = (
        ECDSA / "ecdsa-rdfc-2019-p384" / "employ" / "canonDocECDSAP384.txt"
    ).read_text()
    assert jsonld.canonicalize(document, hash_algorithm="sha384") == expected
    assert jsonld.canonicalize(document, hash_algorithm="sha256") != expected


def test_signed_vectors_are_their_unsigned_inputs_plus_a_proof():
    # What the canonical forms above are checked against is what gets signed.
    p384_employ = ECDSA / "ecdsa-rdfc-2019-p384" / "employ"
    for signed, unsigned in [
        (EDDSA / "eddsa-rdfc-2022" / "signedDataInt.json", EDDSA / "unsigned.json"),
        (p384_employ / "signedECDSAP384.json", ECDSA / "employmentAuth.json"),
    ]:
        document = load(signed)
        del document["proof"]
        assert document == load(unsigned)


def vector_context_urls() -> set[str]:
    urls: set[str] = set()
    for path in [*EDDSA.rglob("*.json"), *ECDSA.rglob("*.json")]:
        context = load(path).get("@context", [])
        urls.update(
            c
            for c in (context if isinstance(context, list) else [context])
            if isinstance(c, str)
        )
    return urls


def test_every_context_the_vectors_use_is_shipped():
    urls = vector_context_urls()
    assert urls  # the vectors were found
    assert urls <= set(jsonld.CONTEXTS)


def test_canonicalize_leaves_the_input_unchanged():
    document = load(EDDSA / "employmentAuth.json")
    before = copy.deepcopy(document)
    jsonld.canonicalize(document)
    assert document == before


# --- the shipped contexts ---------------------------------------------------


def sources_table() -> dict[str, tuple[str, str]]:
    """URL → (file, sha256) from the table in SOURCES.md."""
    rows: dict[str, tuple[str, str]] = {}
    for line in (CONTEXTS_DIR / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("https://"):
            url, name, _package, _path, digest = cells
            assert url not in rows, f"{url} listed twice"
            rows[url] = (name, digest)
    return rows


def test_sources_table_lists_exactly_the_shipped_contexts():
    table = sources_table()
    assert {url: name for url, (name, _) in table.items()} == dict(FILES)
    assert {p.name for p in CONTEXTS_DIR.glob("*.json")} == set(FILES.values())


@pytest.mark.parametrize("url", sorted(FILES))
def test_shipped_context_matches_its_sha256_in_sources(url):
    name, digest = sources_table()[url]
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert hashlib.sha256((CONTEXTS_DIR / name).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("url", sorted(FILES))
def test_shipped_context_is_a_usable_context(url):
    # Each context document processes on its own (a typo or a reference to a
    # context that is not shipped would fail here).
    assert isinstance(jsonld.CONTEXTS[url]["@context"], dict | list)
    node = {"@id": "urn:example:node", "@type": "urn:example:Thing"}
    assert jsonld.expand({"@context": url, **node}) == [
        {"@id": "urn:example:node", "@type": ["urn:example:Thing"]}
    ]


@pytest.mark.parametrize(
    "extra",
    [
        "https://w3id.org/security/data-integrity/v2",
        "https://w3id.org/security/multikey/v1",
        "https://w3id.org/security/suites/ed25519-2020/v1",
        "https://www.w3.org/ns/credentials/status/v1",
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
)
def test_context_combines_with_credentials_v2(extra):
    # Protected terms may only be redefined identically: these pairings are
    # the ones real credentials use.
    document = {
        "@context": [V2, extra],
        "type": "VerifiableCredential",
        "id": "urn:example:vc",
    }
    assert (
        "https://www.w3.org/2018/credentials#VerifiableCredential"
        in jsonld.canonicalize(document)
    )


def test_v1_credential_with_examples_context_canonicalizes():
    # examples/v1 imports the ODRL context: both must be shipped.
    document = {
        "@context": [V1, "https://www.w3.org/2018/credentials/examples/v1"],
        "id": "urn:example:vc",
        "type": ["VerifiableCredential", "AlumniCredential"],
        "issuer": "did:example:issuer",
        "issuanceDate": "2020-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:example:subject",
            "alumniOf": "Example University",
        },
    }
    canonical = jsonld.canonicalize(document)
    assert (
        '<did:example:subject> <http://schema.org/alumniOf> "Example University"'
        in canonical
    )


def test_contexts_mapping_serves_every_file():
    assert len(jsonld.CONTEXTS) == len(FILES)
    assert set(jsonld.CONTEXTS) == set(FILES)
    assert "https://example.org/not-shipped" not in jsonld.CONTEXTS


def test_document_loader_returns_a_copy():
    remote = jsonld.document_loader(V2)
    assert remote["documentUrl"] == V2
    assert remote["document"] == jsonld.CONTEXTS[V2]
    remote["document"]["@context"]["id"] = "urn:tampered"
    assert jsonld.CONTEXTS[V2]["@context"]["id"] == "@id"


# --- never the network ------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make every way out fail loudly, and record each attempt."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


UNKNOWN = "https://contexts.example/evil/v1"


@pytest.mark.parametrize(
    "document",
    [
        {
            "@context": [V2, UNKNOWN],
            "id": "urn:example:vc",
            "type": "VerifiableCredential",
        },
        {"@context": UNKNOWN, "@id": "urn:example:vc"},
        # hidden in a scoped context of an inline term definition
        {
            "@context": [
                V2,
                {"note": {"@id": "urn:example:note", "@context": UNKNOWN}},
            ],
            "note": {"x": 1},
        },
        # a credentials URL spelled differently is a different URL
        {"@context": "http://www.w3.org/ns/credentials/v2", "@id": "urn:example:vc"},
    ],
    ids=["in-array", "alone", "scoped-in-inline-context", "http-variant"],
)
def test_unknown_context_is_refused_without_network(no_network, document):
    with pytest.raises(UnknownContextError, match=r"unknown json-ld context '[^']+'"):
        jsonld.canonicalize(document)
    assert no_network == []


def test_unknown_context_error_names_the_url(no_network):
    with pytest.raises(UnknownContextError, match=re.escape(UNKNOWN)):
        jsonld.document_loader(UNKNOWN)
    with pytest.raises(UnknownContextError, match=re.escape(UNKNOWN)):
        jsonld.expand({"@context": [V2, UNKNOWN]})
    assert no_network == []


def test_shipped_contexts_need_no_network(no_network):
    jsonld.canonicalize(load(DATA / "ob3-credential.json"))
    assert no_network == []


# --- safe mode: nothing dropped silently ------------------------------------

V1_CREDENTIAL: dict[str, Any] = {
    "@context": [V1],
    "id": "urn:uuid:00000000-0000-4000-8000-000000000001",
    "type": ["VerifiableCredential"],
    "issuer": "did:example:issuer",
    "issuanceDate": "2020-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:subject"},
}


def test_v1_credential_canonicalizes():
    assert "<did:example:issuer>" in jsonld.canonicalize(V1_CREDENTIAL)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"degree": "PhD"}, r"term 'degree' does not map to an iri"),
        (
            {"@context": [V1, {"degree": None}], "degree": "PhD"},
            r"term null does not map to an iri",
        ),
        (
            {"credentialSubject": {"id": "did:example:subject", "degree": "PhD"}},
            r"term 'degree'",
        ),
        ({"id": "credential-1"}, r"@id 'credential-1' is not an absolute iri"),
        ({"issuer": "issuer-1"}, r"@id 'issuer-1' is not an absolute iri"),
        (
            {"type": ["VerifiableCredential", "UniversityDegreeCredential"]},
            r"@type 'UniversityDegreeCredential'",
        ),
        ({"id": "urn:example:a b"}, r"@id 'urn:example:a b' is not an absolute iri"),
        (
            {"@context": [V1, {"p": "_:b0"}], "p": "x"},
            r"property '_:b0' is not an absolute iri",
        ),
        (
            {
                "@context": [
                    V1,
                    {"lang": {"@id": "urn:example:lang", "@language": "en"}},
                ],
                "lang": {"@value": "x", "@language": "not a tag"},
            },
            r"invalid language tag",
        ),
        (
            {
                "@context": [V1, {"size": "urn:example:size"}],
                "size": {"@value": "3", "@type": "unit"},
            },
            r"invalid typed value",
        ),
    ],
    ids=[
        "undefined-term-in-v1",
        "term-mapped-to-null",
        "undefined-term-nested",
        "relative-credential-id",
        "relative-issuer",
        "undefined-type",
        "iri-with-space",
        "blank-node-predicate",
        "invalid-language-tag",
        "relative-datatype",
    ],
)
def test_canonicalize_rejects_what_json_ld_would_drop(change, message):
    # JSON-LD silently drops these; a signature over the rest would then
    # "cover" a document showing properties nobody signed.
    document = {**V1_CREDENTIAL, **change}
    with pytest.raises(JsonLdError, match=message):
        jsonld.canonicalize(document)
    with pytest.raises(JsonLdError, match=message):
        jsonld.expand(document)


def test_canonicalize_rejects_import_in_inline_context():
    # @import would let an inline context rewrite a shipped one's terms.
    document = {
        **V1_CREDENTIAL,
        "@context": [{"@import": V1, "issuer": "urn:example:other"}],
    }
    with pytest.raises(JsonLdError, match="@import"):
        jsonld.canonicalize(document)


def test_canonicalize_rejects_keyword_like_term():
    document = {**V1_CREDENTIAL, "@context": [V1, {"@issuer": "urn:example:issuer"}]}
    with pytest.raises(JsonLdError, match="looks like a keyword"):
        jsonld.canonicalize(document)


@pytest.mark.parametrize(
    "char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x7f"], ids=repr
)
def test_canonicalize_rejects_literal_with_ambiguous_control_character(char):
    # RDFC-1.0 writes these escaped, pyld raw: the hash would differ from a
    # conforming signer's, so they are refused rather than mis-canonicalized.
    document = {
        "@context": {"@vocab": "urn:example:"},
        "@id": "urn:example:s",
        "note": f"a{char}b",
    }
    with pytest.raises(JsonLdError, match=f"control character u\\+{ord(char):04x}"):
        jsonld.canonicalize(document)


def test_canonicalize_escapes_tab_newline_quote_and_backslash():
    document = {
        "@context": {"@vocab": "urn:example:"},
        "@id": "urn:example:s",
        "note": 'a\tb\nc\rd"e\\f',
    }
    assert jsonld.canonicalize(document) == (
        '<urn:example:s> <urn:example:note> "a\\tb\\nc\\rd\\"e\\\\f" .\n'
    )


# --- input limits -----------------------------------------------------------


def nested(levels: int) -> dict[str, Any]:
    document: dict[str, Any] = {"@context": {"@vocab": "urn:example:"}}
    node = document
    for _ in range(levels - 1):
        node["child"] = {}
        node = node["child"]
    return document


def test_document_at_depth_limit_is_accepted():
    limits = jsonld.JsonLdLimits(max_depth=6)
    jsonld.check_limits(nested(6), limits=limits)
    with pytest.raises(MalformedCredentialError, match="deeper than 6 levels"):
        jsonld.check_limits(nested(7), limits=limits)


@pytest.mark.parametrize("levels", [33, 5_000, 200_000], ids=["33", "5000", "200000"])
def test_canonicalize_rejects_deep_document_before_processing(levels):
    with pytest.raises(MalformedCredentialError, match="deeper than 32 levels"):
        jsonld.canonicalize(nested(levels))


def test_canonicalize_rejects_deeply_nested_array():
    document: dict[str, Any] = {"@context": {"@vocab": "urn:example:"}, "list": []}
    inner = document["list"]
    for _ in range(100):
        inner.append([])
        inner = inner[0]
    with pytest.raises(MalformedCredentialError, match="deeper than"):
        jsonld.canonicalize(document)


def test_canonicalize_rejects_oversized_document():
    document = {
        "@context": {"@vocab": "urn:example:"},
        "@id": "urn:example:s",
        "note": "x" * 2_000_000,
    }
    with pytest.raises(
        MalformedCredentialError, match=r"document is \d+ bytes, limit 1048576"
    ):
        jsonld.canonicalize(document)


def test_size_limit_counts_utf8_bytes():
    limits = jsonld.JsonLdLimits(max_bytes=100)
    document = {"n": "é" * 40}  # 40 characters, 80 bytes
    with pytest.raises(MalformedCredentialError, match="limit 100"):
        jsonld.check_limits({**document, "m": "é" * 10}, limits=limits)
    jsonld.check_limits(document, limits=limits)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([{"@id": "urn:example:s"}], "not a json object"),
        ("https://example.org/credential.json", "not a json object"),
        ({"n": float("nan")}, "non-finite number"),
        ({"n": float("inf")}, "non-finite number"),
        ({1: "one"}, "non-string key"),
        ({"n": {1, 2}}, "holds a set"),
        ({"n": b"bytes"}, "holds a bytes"),
        ({"n": "\ud800"}, "not valid unicode"),
    ],
    ids=[
        "array",
        "url-string",
        "nan",
        "infinity",
        "int-key",
        "set",
        "bytes",
        "lone-surrogate",
    ],
)
def test_canonicalize_rejects_what_is_not_json(document, message):
    with pytest.raises(MalformedCredentialError, match=message):
        jsonld.canonicalize(document)


def test_parse_json_reads_a_credential():
    raw = (EDDSA / "unsigned.json").read_bytes()
    assert jsonld.parse_json(raw) == load(EDDSA / "unsigned.json")
    assert jsonld.parse_json(raw.decode()) == load(EDDSA / "unsigned.json")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"id": "urn:a", "id": "urn:b"}', "duplicate member name 'id'"),
        (b'{"n": NaN}', "NaN is not json"),
        (b'{"n": -Infinity}', "-Infinity is not json"),
        (b"[1, 2]", "not a json object"),
        (b'{"a": ', "not json"),
        (b'{"a": "\xff"}', "not json"),
        (b'{"a": "\\ud800"}', "lone surrogate"),
        (b"[" * 100_000 + b"]" * 100_000, "deeper than 32 levels"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "deeper than 32 levels"),
    ],
    ids=[
        "duplicate-member",
        "nan",
        "infinity",
        "array",
        "truncated",
        "bad-utf8",
        "escaped-surrogate",
        "100000-deep",
        "40-deep",
    ],
)
def test_parse_json_rejects(raw, message):
    with pytest.raises(MalformedCredentialError, match=message):
        jsonld.parse_json(raw)


def test_parse_json_checks_size_before_parsing():
    raw = b'{"a": "' + b"x" * 2_000_000  # not even valid JSON: never parsed
    with pytest.raises(
        MalformedCredentialError, match=r"document is 2000007 bytes, limit 1048576"
    ):
        jsonld.parse_json(raw)


# --- RDF dataset and work bounds --------------------------------------------


def complete_graph(n: int) -> dict[str, Any]:
    """n blank nodes, each linked to every other: RDFC-1.0's poison graph."""
    return {
        "@context": {"@vocab": "urn:example:"},
        "@graph": [
            {"@id": f"_:b{i}", "link": [{"@id": f"_:b{j}"} for j in range(n) if j != i]}
            for i in range(n)
        ],
    }


@pytest.mark.parametrize("n", [8, 12], ids=["K8", "K12"])
def test_poison_graph_is_refused_within_bounded_time(n):
    # Unbounded, K8 takes over a minute in pyld, K12 longer than anyone waits.
    start = time.monotonic()
    with pytest.raises(JsonLdError, match=r"needs more than 100000 steps"):
        jsonld.canonicalize(complete_graph(n))
    assert time.monotonic() - start < 10


def test_small_symmetric_graph_fits_the_work_budget():
    # K5 is still symmetric (every blank node looks alike) but cheap.
    canonical = jsonld.canonicalize(complete_graph(5))
    assert canonical.count("\n") == 20
    assert {f"_:c14n{i}" for i in range(5)} <= set(canonical.split())


def test_work_budget_is_configurable():
    with pytest.raises(JsonLdError, match="needs more than 10 steps"):
        jsonld.canonicalize(complete_graph(4), limits=jsonld.JsonLdLimits(max_work=10))


def test_distinguishable_blank_nodes_need_no_work():
    # The badge's blank nodes differ by their own quads: no N-degree hashing.
    badge = load(DATA / "ob3-credential.json")
    jsonld.canonicalize(badge, limits=jsonld.JsonLdLimits(max_work=0))


def test_blank_node_limit():
    document = load(EDDSA / "employmentAuth.json")  # three blank nodes
    jsonld.canonicalize(document, limits=jsonld.JsonLdLimits(max_blank_nodes=3))
    with pytest.raises(JsonLdError, match="3 blank nodes, limit 2"):
        jsonld.canonicalize(document, limits=jsonld.JsonLdLimits(max_blank_nodes=2))


def test_quad_limit():
    document = load(EDDSA / "unsigned.json")  # eight quads
    jsonld.canonicalize(document, limits=jsonld.JsonLdLimits(max_quads=8))
    with pytest.raises(JsonLdError, match="8 quads, limit 7"):
        jsonld.canonicalize(document, limits=jsonld.JsonLdLimits(max_quads=7))


# --- an Open Badge 3.0 ------------------------------------------------------


def test_open_badge_canonicalizes_with_its_terms():
    canonical = jsonld.canonicalize(load(DATA / "ob3-credential.json"))
    lines = canonical.splitlines(keepends=True)
    assert lines == sorted(lines)
    assert len(lines) == len(set(lines)) == 103
    ob = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    credential = "urn:uuid:2f0e1a4c-6b0f-4f57-9d1e-2d9f1b7c0a11"
    achievement = "https://training.example/achievements/welding-level-2"
    assert f"<{credential}> <{rdf_type}> <{ob}OpenBadgeCredential> .\n" in lines
    assert f'<{achievement}> <{ob}humanCode> "WELD-2" .\n' in lines


def test_open_badge_canonical_form_ignores_member_and_array_order():
    # The point of canonicalization: the same graph, written differently,
    # gives the same bytes (results and alignments are blank nodes).
    badge = load(DATA / "ob3-credential.json")
    shuffled = copy.deepcopy(badge)
    subject = shuffled["credentialSubject"]
    subject["result"].reverse()
    subject["achievement"]["alignment"].reverse()
    shuffled["credentialSubject"] = dict(reversed(list(subject.items())))
    shuffled = dict(reversed(list(shuffled.items())))
    assert jsonld.canonicalize(shuffled) == jsonld.canonicalize(badge)


def test_open_badge_changed_value_changes_canonical_form():
    badge = load(DATA / "ob3-credential.json")
    changed = copy.deepcopy(badge)
    changed["credentialSubject"]["result"][0]["value"] = "96"
    assert jsonld.canonicalize(changed) != jsonld.canonicalize(badge)


def test_expand_gives_absolute_iris():
    expanded = jsonld.expand(load(EDDSA / "unsigned.json"))
    assert expanded[0]["@type"] == [
        "https://www.w3.org/2018/credentials#VerifiableCredential",
        "https://www.w3.org/ns/credentials/examples#AlumniCredential",
    ]
    assert expanded[0]["https://www.w3.org/2018/credentials#issuer"] == [
        {"@id": "https://vc.example/issuers/5678"}
    ]
