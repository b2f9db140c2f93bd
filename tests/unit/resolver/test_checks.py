"""One check type and one wire vocabulary for every report that lists checks."""

from __future__ import annotations

from registry.answercheck import VerificationReport as AnswerReport
from resolver.checks import Check, CheckStatus
from verifier.service import VerificationReport as CredentialReport


def test_registry_answer_report_speaks_the_credential_reports_vocabulary():
    # didtrust registry verify --json said "pass"/"fail" where
    # POST /credentials/verify (and its OpenAPI document) says "passed"/"failed".
    answer = AnswerReport(registry="did:example:registry")
    answer.passed("signed answer", "ok")
    answer.failed("query", "another question", leaf=3)
    answer.skipped("consistency", "first checkpoint seen")
    credential = CredentialReport()
    credential.add("proof", CheckStatus.PASSED, "verifies")
    credential.add("validity", CheckStatus.FAILED, "expired")
    credential.add("status", CheckStatus.SKIPPED, "not checked")
    served = [c["status"] for c in answer.to_json()["checks"]]
    assert served == ["passed", "failed", "skipped"]
    assert [c["status"] for c in credential.to_json()["results"]] == served


def test_check_serves_leaf_and_data_after_its_own_members():
    check = Check("accredited now", CheckStatus.PASSED, "yes", data={"answer": "jws"})
    assert check.to_json() == {
        "name": "accredited now",
        "status": "passed",
        "detail": "yes",
        "answer": "jws",
    }
    leaf = Check("statement", CheckStatus.FAILED, "bad signature", leaf=4)
    assert leaf.to_json() == {
        "name": "statement",
        "status": "failed",
        "detail": "bad signature",
        "leaf": 4,
    }
