"""The page at ``/`` in a real headless browser (Debian's chromium, via Playwright).

The app is built with ``create_app`` as ``didtrust serve`` builds it, over an
initialised registry in which the root accredits an accreditor and the
accreditor accredits the issuer, served on a loopback port; chromium loads the
page from it and a person's flows are played: look up a DID, paste a
credential, choose or drop a file, and the mistakes (a tampered credential, a
malformed DID, hostile text in a credential).

Set ``DIDTRUST_SCREENSHOT`` to a file path to save a screenshot of the verified
report there (the README's picture is made that way).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from didtrust.app import create_app
from didtrust.settings import Settings
from tests.helpers.clock import Clock
from tests.helpers.issuers import ED25519_JWK, ED25519_KEY
from tests.helpers.registry import ACCREDITOR, ROOT
from tests.helpers.verifier import BADGE_TYPE, eddsa_jcs, vc_jwt
from tests.helpers.verify_app import VERIFY_AT, Trusted

pytestmark = pytest.mark.slow  # drives a real browser (chromium, through Playwright)

CHROMIUM = Path(os.environ.get("DIDTRUST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    # As root in a container there is no user namespace for the sandbox.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: no background calls to Google.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_FOUND = CHROMIUM.exists()
ACCREDITOR_NAME = "Accreditation Council of Examplia"
ISSUER_NAME = "Example University"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_FOUND:
        pytest.fail(
            f"no chromium at {CHROMIUM}: scripts/test installs Debian's chromium; "
            "or set DIDTRUST_CHROMIUM"
        )
    async with async_playwright() as pw:
        found = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield found
        await found.close()


@pytest.fixture
async def accredited(trusted: Trusted) -> Trusted:
    """The registry accredits both fixture issuers, with names, then time moves on."""
    await trusted.submit(
        ROOT,
        sub=ACCREDITOR.did,
        act="update",
        subject={"name": ACCREDITOR_NAME},
    )
    for issuer in (ED25519_KEY, ED25519_JWK):
        await trusted.submit(
            ACCREDITOR,
            sub=str(issuer.did),
            actions=("issue",),
            resources=(BADGE_TYPE,),
            subject={"name": ISSUER_NAME},
        )
    trusted.clock.set(VERIFY_AT)
    return trusted


@pytest.fixture
async def page(browser: Browser, accredited: Trusted) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=str(accredited.client.make_url("/")),
        viewport={"width": 1100, "height": 900},
    )
    found = await context.new_page()
    errors: list[str] = []
    found.on("pageerror", lambda exc: errors.append(str(exc)))
    found.on(
        "console", lambda msg: errors.append(msg.text) if unexpected(msg) else None
    )
    await found.goto("/")
    yield found
    await context.close()
    # No script error and no Content-Security-Policy violation on any flow.
    assert errors == []


def unexpected(message: ConsoleMessage) -> bool:
    """A console error other than the browser noting a 4xx answer (error flows)."""
    return message.type == "error" and not message.text.startswith(
        "Failed to load resource: the server responded with a status of 4"
    )


async def check(page: Page, text: str) -> str:
    await page.fill("#input", text)
    await page.click("#check")
    await page.wait_for_selector("#verdict")
    return (await page.text_content("#verdict")) or ""


async def check_rows(page: Page) -> dict[str, str]:
    rows = await page.query_selector_all("#checks tbody tr")
    out = {}
    for row in rows:
        cells = [
            ((await c.text_content()) or "") for c in await row.query_selector_all("td")
        ]
        out[cells[0]] = cells[1].lstrip("\u2714\u2718\u2013 ")
    return out


async def test_page_looks_up_a_did_and_shows_its_document(page):
    verdict = await check(page, str(ED25519_KEY.did))
    assert "DID document" in verdict
    assert await page.text_content("#doc-id") == str(ED25519_KEY.did)
    shown = json.loads((await page.text_content("details[open] pre")) or "")
    assert shown["id"] == str(ED25519_KEY.did)
    assert shown["assertionMethod"] == [ED25519_KEY.kid]


async def test_page_dereferences_a_did_url_to_its_key(page):
    verdict = await check(page, ED25519_KEY.kid)
    assert "Resource selected" in verdict
    shown = json.loads((await page.text_content("details[open] pre")) or "")
    assert shown["id"] == ED25519_KEY.kid
    assert shown["controller"] == str(ED25519_KEY.did)


async def test_page_verifies_a_pasted_credential_with_issuer_and_accreditor(page):
    verdict = await check(page, json.dumps(eddsa_jcs(), indent=2))
    assert verdict.startswith("Verified")
    issuer = (await page.text_content("#issuer")) or ""
    assert ISSUER_NAME in issuer
    assert str(ED25519_KEY.did) in issuer
    assert "names itself" in issuer  # the name is the credential's own claim
    accreditation = (await page.text_content("#accreditation")) or ""
    assert accreditation.startswith(f"registered as \u201c{ISSUER_NAME}\u201d")
    assert f"accredited by {ACCREDITOR_NAME} ({ACCREDITOR.did})" in accreditation
    assert "since 2021-03-01" in accreditation
    rows = await check_rows(page)
    assert rows["proof"] == "passed"
    assert rows["accredited at issuance"] == "passed"
    assert rows["accredited now"] == "passed"
    assert set(rows.values()) == {"passed"}
    if target := os.environ.get("DIDTRUST_SCREENSHOT"):
        await page.screenshot(path=target, full_page=True)


async def test_page_says_not_verified_for_a_tampered_credential(page):
    tampered = copy.deepcopy(eddsa_jcs())
    tampered["credentialSubject"]["achievement"] = {"name": "Doctor of Everything"}
    verdict = await check(page, json.dumps(tampered))
    assert verdict.startswith("Not verified")
    assert "proof" in verdict
    assert (await check_rows(page))["proof"] == "failed"
    # A forgery naming a real, accredited issuer gets no reassuring line.
    accreditation = (await page.text_content("#accreditation")) or ""
    assert accreditation.startswith("not looked up")
    assert ACCREDITOR_NAME not in accreditation


async def test_page_says_not_accredited_for_a_type_outside_the_issuers_scope(page):
    # The issuer is accredited for Open Badges only; this is a licence.
    credential = eddsa_jcs(type=["VerifiableCredential", "MedicalLicense"])
    verdict = await check(page, json.dumps(credential))
    assert verdict.startswith("Not verified")
    accreditation = (await page.text_content("#accreditation")) or ""
    assert accreditation.startswith("not accredited to issue it now")
    assert "MedicalLicense" in accreditation
    assert ACCREDITOR_NAME not in accreditation


async def test_page_fills_a_linked_credential_but_waits_for_a_click(page):
    # /#… on our origin must not show a verdict nobody asked for.
    await page.goto("/#" + str(ED25519_KEY.did))
    await page.reload()
    assert await page.input_value("#input") == str(ED25519_KEY.did)
    assert await page.query_selector("#verdict") is None
    await page.goto("/#%E0%A4%A")
    await page.reload()
    assert "malformed" in ((await page.text_content("#verdict")) or "")


async def test_page_verifies_a_jwt_from_a_chosen_file(page, tmp_path):
    token = tmp_path / "badge.jwt"
    token.write_text(vc_jwt() + "\n")
    await page.set_input_files("#file", str(token))
    await page.wait_for_selector("#verdict")
    assert ((await page.text_content("#verdict")) or "").startswith("Verified")
    assert str(ED25519_JWK.did) in ((await page.text_content("#issuer")) or "")


async def test_page_verifies_a_dropped_file(page):
    credential = json.dumps(eddsa_jcs())
    await page.evaluate(
        """(text) => {
            const data = new DataTransfer();
            const type = {type: "application/json"};
            data.items.add(new File([text], "diploma.json", type));
            const drop = new DragEvent("drop", {dataTransfer: data, bubbles: true});
            document.getElementById("input").dispatchEvent(drop);
        }""",
        credential,
    )
    await page.wait_for_selector("#verdict")
    assert ((await page.text_content("#verdict")) or "").startswith("Verified")
    assert await page.input_value("#input") == credential


async def test_page_explains_a_malformed_did(page):
    verdict = await check(page, "did:key:abc")
    assert "invalid DID (INVALID_DID)" in verdict
    assert "only base58btc is allowed" in verdict


async def test_page_shows_hostile_issuer_name_as_text_not_markup(page):
    hostile = "<img src=x onerror=\"document.title='pwned'\">"
    credential = eddsa_jcs(issuer={"id": str(ED25519_KEY.did), "name": hostile})
    await check(page, json.dumps(credential))
    assert hostile in ((await page.text_content("#issuer")) or "")
    assert await page.query_selector("#result img") is None
    assert await page.title() != "pwned"


async def test_page_is_served_with_a_strict_content_security_policy(accredited):
    resp = await accredited.client.get("/")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    policy = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    again = await accredited.client.get(
        "/ui/app.js", headers={"If-None-Match": resp.headers["ETag"]}
    )
    assert again.status == 200  # another file's ETag does not match
    etag = again.headers["ETag"]
    cached = await accredited.client.get("/ui/app.js", headers={"If-None-Match": etag})
    assert cached.status == 304


def test_chromium_is_debians_not_a_download():
    # Playwright's own browser download needs the open internet; the tests run
    # the system's chromium, installed by scripts/test.
    assert CHROMIUM_FOUND or shutil.which("chromium") is not None


async def test_page_does_not_claim_accreditation_it_did_not_check(
    browser, aiohttp_client, tmp_path
):
    # A server without a registry: the proof holds but nobody vouched for the
    # issuer, and the page must say so rather than print a blanket "trusted".
    client = await aiohttp_client(
        create_app(Settings(data_dir=str(tmp_path / "data")), clock=Clock(VERIFY_AT))
    )
    context = await browser.new_context(base_url=str(client.make_url("/")))
    page = await context.new_page()
    await page.goto("/")
    verdict = await check(page, json.dumps(eddsa_jcs()))
    await context.close()
    assert verdict.startswith("Verified")
    assert "accreditation was not checked" in verdict
    assert "is accredited" not in verdict
    assert "Not checked: accredited now" in verdict
