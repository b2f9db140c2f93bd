"""The Resolver service: options, policy, cache, single-flight, dereferencing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from resolver.cache import MemoryCache
from resolver.driver import DriverRegistry
from resolver.errors import (
    DriverError,
    FeatureNotSupportedError,
    FetchError,
    InvalidDIDDocumentError,
    InvalidDIDError,
    InvalidOptionsError,
    MethodNotSupportedError,
    NotFoundError,
)
from resolver.service import (
    CachedResolution,
    ResolutionCodec,
    Resolver,
    resolution_weight,
)
from tests.helpers.clock import Clock
from tests.helpers.fakes import StaticDriver, example_document

DID1 = "did:example:one"
DID2 = "did:example:two"


def make(driver: StaticDriver, **kwargs) -> Resolver:
    registry = DriverRegistry()
    registry.register(driver)
    return Resolver(drivers=registry, **kwargs)


@pytest.fixture
def driver() -> StaticDriver:
    return StaticDriver({DID1: example_document(DID1), DID2: example_document(DID2)})


async def test_resolve_returns_document_and_rendered_bytes(driver):
    res = await make(driver).resolve(DID1)
    assert res.document["id"] == DID1
    assert res.document_bytes.startswith(b'{"@context"')
    assert res.driver == "static-example"
    assert res.cached is False
    assert res.etag.startswith('"')
    assert res.etag.endswith('"')


async def test_resolve_rejects_malformed_did_before_any_driver(driver):
    with pytest.raises(InvalidDIDError):
        await make(driver).resolve("did:example:")
    assert driver.calls == 0


async def test_resolve_reports_unknown_method(driver):
    with pytest.raises(MethodNotSupportedError, match="did:other"):
        await make(driver).resolve("did:other:1")


async def test_unknown_option_is_invalid_options(driver):
    with pytest.raises(InvalidOptionsError, match="unknown resolution option 'colour'"):
        await make(driver).resolve(DID1, {"colour": "red"})


@pytest.mark.parametrize("name", ["versionId", "versionTime", "expandRelativeUrls"])
async def test_spec_option_not_offered_is_feature_not_supported(driver, name):
    with pytest.raises(FeatureNotSupportedError, match=name):
        await make(driver).resolve(DID1, {name: "1"})


async def test_malformed_no_cache_value_is_invalid_options(driver):
    with pytest.raises(InvalidOptionsError, match="noCache"):
        await make(driver).resolve(DID1, {"noCache": "maybe"})


async def test_driver_options_reach_the_driver(driver):
    await make(driver).resolve(DID1, {"flavour": "mint"})
    assert driver.seen_options[-1].get("flavour") == "mint"


async def test_immutable_answer_is_cached_forever(driver):
    clock = Clock()
    resolver = make(driver, cache=MemoryCache(clock=clock))
    await resolver.resolve(DID1)
    clock.now += 10**9
    again = await resolver.resolve(DID1)
    assert again.cached is True
    assert driver.calls == 1


async def test_cache_key_includes_driver_options(driver):
    resolver = make(driver)
    await resolver.resolve(DID1, {"flavour": "a"})
    await resolver.resolve(DID1, {"flavour": "b"})
    await resolver.resolve(DID1, {"flavour": "a"})
    assert driver.calls == 2


async def test_ttl_answer_expires(driver):
    clock = Clock()
    driver.ttl = 60
    resolver = make(driver, cache=MemoryCache(clock=clock))
    await resolver.resolve(DID1)
    clock.now += 59
    assert (await resolver.resolve(DID1)).cached is True
    clock.now += 2
    assert (await resolver.resolve(DID1)).cached is False
    assert driver.calls == 2


async def test_zero_ttl_is_never_cached(driver):
    driver.ttl = 0
    resolver = make(driver)
    await resolver.resolve(DID1)
    await resolver.resolve(DID1)
    assert driver.calls == 2


async def test_no_cache_option_bypasses_the_cache(driver):
    resolver = make(driver)
    await resolver.resolve(DID1)
    fresh = await resolver.resolve(DID1, {"noCache": "true"})
    assert fresh.cached is False
    assert driver.calls == 2


async def test_lru_bound_evicts_least_recently_used(driver):
    resolver = make(driver, cache=MemoryCache(max_entries=1))
    await resolver.resolve(DID1)
    await resolver.resolve(DID2)
    assert len(resolver.cache) == 1
    await resolver.resolve(DID1)
    assert driver.calls == 3


def bulky_document(did: str) -> dict[str, Any]:
    """A document of about 100 KB: many small services, as an attacker serves."""
    doc = example_document(did)
    doc["service"] = [
        {"id": f"#s{i}", "type": "LinkedDomains", "serviceEndpoint": f"https://e{i}.x/"}
        for i in range(2000)
    ]
    return doc


async def test_cache_flood_with_bulky_documents_is_bounded_by_bytes():
    dids = [f"did:example:bulky-{i}" for i in range(40)]
    driver = StaticDriver({did: bulky_document(did) for did in dids})
    bound = 4 << 20
    resolver = make(driver, cache=MemoryCache(max_bytes=bound, weigh=resolution_weight))
    for did in dids:
        await resolver.resolve(did)
    cache = resolver.cache
    assert isinstance(cache, MemoryCache)
    assert 0 < cache.nbytes <= bound
    assert len(cache) < len(dids)  # older entries went to stay within the bytes


def test_resolution_weight_counts_the_parsed_document_not_just_its_json():
    resolved = asyncio.run(
        make(StaticDriver({DID1: bulky_document(DID1)})).resolve(DID1)
    )
    entry = CachedResolution(
        result=resolved.result,
        driver=resolved.driver,
        retrieved=resolved.retrieved,
        duration_ms=0.0,
        document_bytes=resolved.document_bytes,
        metadata_bytes=resolved.metadata_bytes,
        etag=resolved.etag,
    )
    # Python's objects cost several times the JSON text they were parsed from.
    assert resolution_weight(entry) > 3 * len(resolved.document_bytes)


async def test_cached_answer_round_trips_through_a_cache_that_stores_bytes(driver):
    driver.ttl = 60
    resolver = make(driver, cache=MemoryCache(codec=ResolutionCodec()))
    first = await resolver.resolve(DID1, {"flavour": "mint"})
    again = await resolver.resolve(DID1, {"flavour": "mint"})
    assert driver.calls == 1
    assert again.cached is True
    assert again.result == first.result
    assert (again.document_bytes, again.metadata_bytes, again.etag) == (
        first.document_bytes,
        first.metadata_bytes,
        first.etag,
    )
    assert (again.driver, again.retrieved, again.duration_ms) == (
        first.driver,
        first.retrieved,
        first.duration_ms,
    )


async def test_failures_are_not_cached(driver):
    resolver = make(driver)
    with pytest.raises(NotFoundError):
        await resolver.resolve("did:example:missing")
    driver.documents["did:example:missing"] = example_document("did:example:missing")
    assert (await resolver.resolve("did:example:missing")).document["id"]
    assert driver.calls == 2


async def test_concurrent_identical_requests_share_one_driver_call(driver):
    driver.delay = 0.05
    resolver = make(driver)
    results = await asyncio.gather(*(resolver.resolve(DID1) for _ in range(200)))
    assert driver.calls == 1
    assert sum(1 for r in results if not r.cached) == 1
    assert resolver.cache.coalesced == 199


async def test_concurrent_requests_share_one_failure(driver):
    driver.delay = 0.02
    driver.fail = NotFoundError("gone")
    resolver = make(driver)
    outcomes = await asyncio.gather(
        *(resolver.resolve(DID1) for _ in range(20)), return_exceptions=True
    )
    assert driver.calls == 1
    assert all(isinstance(o, NotFoundError) for o in outcomes)


async def test_cancelled_first_request_does_not_strand_the_others(driver):
    driver.delay = 0.05
    resolver = make(driver)
    first = asyncio.ensure_future(resolver.resolve(DID1))
    await asyncio.sleep(0.01)
    second = asyncio.ensure_future(resolver.resolve(DID1))
    await asyncio.sleep(0)
    first.cancel()
    res = await asyncio.wait_for(second, 2)
    assert res.document["id"] == DID1
    assert driver.calls == 1


async def test_driver_crash_is_wrapped_in_driver_error_with_cause(driver):
    driver.fail = KeyError("boom")
    with pytest.raises(DriverError, match="KeyError") as info:
        await make(driver).resolve(DID1)
    assert isinstance(info.value.__cause__, KeyError)


async def test_slow_driver_times_out_as_driver_error(driver):
    driver.delay = 5
    with pytest.raises(DriverError, match=r"timed out after 0\.05 s"):
        await make(driver, timeout=0.05).resolve(DID1)


async def test_document_with_foreign_id_is_refused(driver):
    driver.documents[DID1] = example_document(DID2)
    with pytest.raises(InvalidDIDDocumentError, match="does not match"):
        await make(driver).resolve(DID1)


async def test_oversized_document_is_refused(driver):
    driver.documents[DID1] = {**example_document(DID1), "padding": "x" * 5000}
    with pytest.raises(InvalidDIDDocumentError, match="over the limit of 4096"):
        await make(driver, max_document_bytes=4096).resolve(DID1)


async def test_stale_if_error_serves_last_good_answer_marked_stale(driver):
    clock = Clock()
    driver.ttl = 10
    resolver = make(driver, cache=MemoryCache(clock=clock, stale_if_error=100))
    await resolver.resolve(DID1)
    clock.now += 30
    driver.fail = FetchError("upstream down")
    stale = await resolver.resolve(DID1)
    assert stale.stale_seconds == pytest.approx(20)
    meta = stale.resolution_metadata("application/did+ld+json")
    assert meta["stale"] is True
    clock.now += 200
    with pytest.raises(FetchError):
        await resolver.resolve(DID1)


async def test_stale_if_error_does_not_hide_non_fetch_errors(driver):
    clock = Clock()
    driver.ttl = 10
    resolver = make(driver, cache=MemoryCache(clock=clock, stale_if_error=100))
    await resolver.resolve(DID1)
    clock.now += 30
    driver.fail = NotFoundError("deleted")
    with pytest.raises(NotFoundError):
        await resolver.resolve(DID1)


# -- dereferencing ------------------------------------------------------------

SERVICES: list[dict[str, Any]] = [
    {
        "id": "#files",
        "type": "LinkedDomains",
        "serviceEndpoint": "https://files.example/base/",
    },
    {
        "id": f"{DID1}#many",
        "type": "X",
        "serviceEndpoint": [{"a": 1}, "https://m.example/"],
    },
    {"id": "#map", "type": "X", "serviceEndpoint": {"origins": ["https://o.example"]}},
    {"id": "#js", "type": "X", "serviceEndpoint": "javascript:alert(1)"},
]


@pytest.fixture
def svc_driver() -> StaticDriver:
    return StaticDriver({DID1: example_document(DID1, services=SERVICES)})


async def test_dereference_fragment_returns_the_verification_method(svc_driver):
    deref = await make(svc_driver).dereference(f"{DID1}#key-1")
    assert deref.content is not None
    assert deref.content["id"] == f"{DID1}#key-1"
    assert deref.content["@context"] == ["https://www.w3.org/ns/did/v1"]


async def test_dereference_relative_fragment_id_matches(svc_driver):
    deref = await make(svc_driver).dereference(f"{DID1}#files")
    assert deref.content is not None
    assert deref.content["type"] == "LinkedDomains"


async def test_dereference_unknown_fragment_is_not_found(svc_driver):
    with pytest.raises(NotFoundError, match="#nope"):
        await make(svc_driver).dereference(f"{DID1}#nope")


async def test_dereference_service_with_relative_ref_redirects(svc_driver):
    deref = await make(svc_driver).dereference(
        f"{DID1}?service=files&relativeRef=%2Fdoc%3Fv%3D1"
    )
    assert deref.redirect == "https://files.example/doc?v=1"


async def test_dereference_service_endpoint_list_takes_first_url(svc_driver):
    deref = await make(svc_driver).dereference(f"{DID1}?service=many")
    assert deref.redirect == "https://m.example/"


async def test_dereference_service_map_endpoint_is_not_supported(svc_driver):
    with pytest.raises(FeatureNotSupportedError, match="not a URL"):
        await make(svc_driver).dereference(f"{DID1}?service=map")


async def test_dereference_refuses_javascript_scheme_endpoint(svc_driver):
    with pytest.raises(FeatureNotSupportedError, match="http"):
        await make(svc_driver).dereference(f"{DID1}?service=js")


async def test_dereference_unknown_service_is_not_found(svc_driver):
    with pytest.raises(NotFoundError, match="no service"):
        await make(svc_driver).dereference(f"{DID1}?service=none")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        (f"{DID1}/some/path", "paths"),
        (f"{DID1}?versionId=1", "versionId"),
        (f"{DID1}?hl=zQm", "hl"),
        (f"{DID1}?colour=red", "unknown DID parameter"),
        (f"{DID1}?relativeRef=/a", "needs a 'service'"),
    ],
    ids=["path", "versionId", "hashlink", "unknown-param", "relativeRef-alone"],
)
async def test_dereference_unsupported_features(svc_driver, url, match):
    with pytest.raises(FeatureNotSupportedError, match=match):
        await make(svc_driver).dereference(url)


def test_registry_refuses_a_second_driver_for_a_method(driver):
    registry = DriverRegistry()
    registry.register(driver)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(StaticDriver())
