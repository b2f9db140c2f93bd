"""RDF canonicalization benchmark: pyld against pyoxigraph, on credentials.

Chooses the RDFC-1.0 implementation behind ``verifier.jsonld.canonicalize``
(docs/adr/0005-rdf-canonicalization.md). Both candidates run in this one
process on the same inputs, and the script prints, per document:

- **to RDF**: JSON-LD expansion and conversion to an RDF dataset (N-Quads) by
  pyld with didtrust's offline loader. pyoxigraph cannot do this step for a
  credential: its Python ``parse`` takes no document loader, so a remote
  ``@context`` fails ("No LoadDocumentCallback has been set"). Either way pyld
  does it; it is the shared first stage;
- **canon pyld**: RDFC-1.0 over that dataset by pyld's URDNA2015 with
  didtrust's work budget (the code ``canonicalize`` runs);
- **canon ox**: the same dataset parsed by pyoxigraph, ``Dataset.canonicalize(
  RDFC_1_0)``, serialized and sorted;
- the ratio pyld / ox of the canonicalization stage and of the whole pipeline
  (to RDF + canon), and whether both outputs are the same bytes;
- **ox inline**: pyoxigraph's own JSON-LD parser, fed the document with its
  context URLs replaced by the shipped context objects (the only way to use it
  offline), then canonicalized. Informational: inlining changes how relative
  IRIs inside contexts resolve, and nothing bounds its work.

Documents: the vc-di-eddsa / vc-di-ecdsa unsigned credentials and a proof
configuration (tests/vectors), an Open Badge 3.0 credential
(tests/unit/verifier/data/ob3-credential.json), and that badge with
``--results`` extra results (blank nodes) to weigh the canonicalization proper.

Then the poison graphs of RDFC-1.0's security considerations: ``n`` blank nodes
all linked to each other (K_n), whose canonicalization is exponential in ``n``.
For each ``n``: pyld with the budget (refuses), pyld without it (up to
``--unbounded-max``) and pyoxigraph (no limit exists; up to ``--poison-max``).

This is a script, not a test: it asserts nothing about timing. Median of
``--repeat`` runs per figure. Usage: ``python -m bench.canonicalize [--repeat N]
[--results N] [--poison-max N] [--unbounded-max N]``; about 30 s with defaults.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyld.__about__ as pyld_about  # type: ignore[import-untyped]
from pyld import jsonld as pyld_jsonld
from pyld.canon import URDNA2015  # type: ignore[import-untyped]
from pyld.nquads import parse_nquads  # type: ignore[import-untyped]

from verifier import jsonld
from verifier.errors import JsonLdError

try:
    # The candidate that lost (docs/adr/0005): not a project dependency.
    import pyoxigraph as ox  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    sys.exit("bench.canonicalize compares with pyoxigraph: pip install pyoxigraph")

REPO = Path(__file__).resolve().parent.parent
VECTORS = REPO / "tests" / "vectors"
OB3 = REPO / "tests" / "unit" / "verifier" / "data" / "ob3-credential.json"


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def documents(results: int) -> list[tuple[str, dict[str, Any]]]:
    badge = load(OB3)
    big = copy.deepcopy(badge)
    big["credentialSubject"]["result"] = [
        {"type": ["Result"], "value": str(i), "status": "Completed"}
        for i in range(results)
    ]
    return [
        ("vc-di-eddsa unsigned", load(VECTORS / "vc-di-eddsa" / "unsigned.json")),
        (
            "vc-di-ecdsa employment",
            load(VECTORS / "vc-di-ecdsa" / "employmentAuth.json"),
        ),
        (
            "eddsa-rdfc-2022 proof config",
            load(
                VECTORS / "vc-di-eddsa" / "eddsa-rdfc-2022" / "proofConfigDataInt.json"
            ),
        ),
        ("Open Badge 3.0", badge),
        (f"Open Badge 3.0 +{results} results", big),
    ]


def median_ms(run: Callable[[], object], repeat: int) -> float:
    run()  # warm: the processed contexts are cached after the first call
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def to_nquads(document: dict[str, Any]) -> str:
    nquads: str = pyld_jsonld.to_rdf(
        document,
        {"documentLoader": jsonld.document_loader, "format": "application/n-quads"},
    )
    return nquads


def canon_pyld(nquads: str) -> str:
    # The canonicalizer verifier.jsonld runs, budget included.
    canonicalizer = jsonld._BoundedRdfc10(
        hash_name="sha256", meter=jsonld._Meter(jsonld.DEFAULT_LIMITS.max_work)
    )
    out: str = canonicalizer.main(
        parse_nquads(nquads), {"format": "application/n-quads"}
    )
    return out


def canon_pyld_unbounded(nquads: str) -> str:
    out: str = URDNA2015().main(parse_nquads(nquads), {"format": "application/n-quads"})
    return out


def canon_ox(nquads: str) -> str:
    dataset = ox.Dataset(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    text = serialize(dataset)
    return "".join(sorted(text.splitlines(keepends=True)))


def serialize(dataset: ox.Dataset) -> str:
    data = ox.serialize(dataset, format=ox.RdfFormat.N_QUADS)
    assert data is not None  # no output file given: the bytes are returned
    return str(data.decode())  # str(): pyoxigraph is untyped where it is not installed


def inline_contexts(document: dict[str, Any]) -> dict[str, Any]:
    inlined = dict(document)
    contexts = document["@context"]
    inlined["@context"] = [
        jsonld.CONTEXTS[c]["@context"] if isinstance(c, str) else c
        for c in (contexts if isinstance(contexts, list) else [contexts])
    ]
    return inlined


def ox_inline(document: dict[str, Any]) -> str:
    data = json.dumps(inline_contexts(document)).encode()
    dataset = ox.Dataset(ox.parse(data, format=ox.RdfFormat.JSON_LD))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    text = serialize(dataset)
    return "".join(sorted(text.splitlines(keepends=True)))


def poison(n: int) -> dict[str, Any]:
    return {
        "@context": {"@vocab": "urn:ex:"},
        "@graph": [
            {"@id": f"_:b{i}", "link": [{"@id": f"_:b{j}"} for j in range(n) if j != i]}
            for i in range(n)
        ],
    }


def seconds(run: Callable[[], object]) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        run()
        outcome = "done"
    except JsonLdError:
        outcome = "refused"
    return time.perf_counter() - start, outcome


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.canonicalize", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--repeat", type=int, default=50, help="runs per figure (50)")
    parser.add_argument("--results", type=int, default=40, help="extra results (40)")
    parser.add_argument("--poison-max", type=int, default=7, help="largest K_n (7)")
    parser.add_argument(
        "--unbounded-max",
        type=int,
        default=6,
        help="largest K_n for unbounded pyld (6)",
    )
    args = parser.parse_args()

    print(
        f"pyld {pyld_about.__version__}, pyoxigraph {ox.__version__}, "
        f"python {sys.version.split()[0]}; median of {args.repeat} runs, ms"
    )
    header = (
        f"{'document':32} {'quads':>5} {'bnodes':>6} {'to RDF':>7} {'canon pyld':>10} "
        f"{'canon ox':>8} {'canon x':>7} {'total x':>7} {'same':>4} {'ox inline':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, document in documents(args.results):
        nquads = to_nquads(document)
        quads = nquads.count("\n")
        bnodes = len(
            {
                t
                for line in nquads.splitlines()
                for t in line.split()
                if t.startswith("_:")
            }
        )
        t_rdf = median_ms(functools.partial(to_nquads, document), args.repeat)
        t_pyld = median_ms(functools.partial(canon_pyld, nquads), args.repeat)
        t_ox = median_ms(functools.partial(canon_ox, nquads), args.repeat)
        same = canon_pyld(nquads) == canon_ox(nquads) == jsonld.canonicalize(document)
        try:
            inline_same = ox_inline(document) == canon_pyld(nquads)
            t_inline = (
                f"{median_ms(functools.partial(ox_inline, document), args.repeat):7.2f}"
            )
            t_inline += " " if inline_same else "≠"
        except (SyntaxError, ValueError) as e:
            t_inline = f"fails ({type(e).__name__})"
        print(
            f"{name:32} {quads:5} {bnodes:6} {t_rdf:7.2f} {t_pyld:10.3f} {t_ox:8.3f} "
            f"{t_pyld / t_ox:7.1f} {(t_rdf + t_pyld) / (t_rdf + t_ox):7.2f} "
            f"{'yes' if same else 'NO':>4} {t_inline:>9}"
        )
    print(
        "canon x = canon pyld / canon ox; total x = (to RDF + canon pyld) / "
        "(to RDF + canon ox); ox inline ≠ marks output that differs from pyld's"
    )

    print("\npoison graphs K_n (n blank nodes, all linked), seconds, one run each")
    print(
        f"{'n':>3} {'quads':>5} {'pyld, budget':>16} "
        f"{'pyld, no budget':>16} {'pyoxigraph':>11}"
    )
    for n in range(4, args.poison_max + 1):
        document = poison(n)
        nquads = to_nquads(document)
        t_bounded, outcome = seconds(functools.partial(jsonld.canonicalize, document))
        if n <= args.unbounded_max:
            t_free, _ = seconds(functools.partial(canon_pyld_unbounded, nquads))
            free = f"{t_free:16.3f}"
        else:
            free = f"{'(skipped)':>16}"
        t_ox, _ = seconds(functools.partial(canon_ox, nquads))
        print(
            f"{n:3} {n * (n - 1):5} {t_bounded:8.3f} {outcome:>7} {free} {t_ox:11.3f}"
        )


if __name__ == "__main__":
    main()
