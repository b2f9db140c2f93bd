"""The served OpenAPI document, and following its local ``$ref``s."""

from __future__ import annotations

from typing import Any

from didtrust.apidocs import load_openapi

DOC = load_openapi()
"""The OpenAPI document the app serves at /openapi.json."""


def deref(node: dict[str, Any]) -> dict[str, Any]:
    """``node``, or what its local ``$ref`` (``#/a/b``) points to in ``DOC``."""
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    target: Any = DOC
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    assert isinstance(target, dict)
    return target
