"""The API's own description: ``GET /openapi.json`` and ``GET /docs``.

``didtrust/openapi.json`` is a hand-written OpenAPI 3.1 document
(https://spec.openapis.org/oas/v3.1.0) of every route the server registers;
``tests/didtrust/test_openapi.py`` keeps it true (every route documented, every
documented route registered, real answers valid against its schemas).

``/docs`` is the same document rendered once, on the server, as one HTML page:
a section per path and method with its summary, parameters, request bodies,
responses and a curl example built from the document's examples. It has no
script, loads nothing from elsewhere (its Content-Security-Policy says so) and
every text from the document goes through ``html.escape``.

This module does not validate the document (the tests do) and does not follow
``$ref`` beyond naming the component it points to.
"""

from __future__ import annotations

import hashlib
import html
import json
import shlex
from collections.abc import Awaitable, Callable, Iterator, Mapping
from importlib import resources
from typing import Any, Final
from urllib.parse import quote, urlencode

from aiohttp import web

__all__ = [
    "curl_example",
    "load_openapi",
    "openapi_routes",
    "operations",
    "render_docs",
    "static_handler",
]

METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
"""The HTTP methods an OpenAPI Path Item may hold, in the order shown."""

BASE_URL: Final = "http://localhost:8080"
"""Where the curl examples send requests (the README's default server)."""

Handler = Callable[[web.Request], Awaitable[web.Response]]

_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'"

_STYLE: Final = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#222}
h2{margin-top:2.5rem;border-top:1px solid #ccc;padding-top:1rem;font-size:1.15rem}
code,pre{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
.m{display:inline-block;min-width:3.5rem;font-weight:bold}
nav li{list-style:none}
"""


def load_openapi() -> dict[str, Any]:
    """The OpenAPI document shipped with didtrust.

    Raises:
        OSError: the file is missing from the installation.
        ValueError: the file is not a JSON object.
    """
    text = resources.files("didtrust").joinpath("openapi.json").read_text("utf-8")
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError("openapi.json is not a JSON object")
    return document


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """Each (path, method, operation) of ``document``, in document order."""
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    """Follow a local ``$ref`` (``#/…``) once; anything else is returned as is."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target: Any = document
        pointer = node["$ref"]
        if not pointer.startswith("#/"):
            return node
        for part in pointer[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return node
            target = target[part]
        return target
    return node


def _schema_label(schema: Any) -> str:
    """A short name for a schema: its component name, or its type."""
    if not isinstance(schema, dict):
        return ""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rpartition("/")[2]
    for combinator in ("oneOf", "anyOf", "allOf"):
        if combinator in schema:
            joiner = " & " if combinator == "allOf" else " | "
            return joiner.join(_schema_label(s) for s in schema[combinator])
    kind = schema.get("type", "any")
    label = " | ".join(kind) if isinstance(kind, list) else str(kind)
    if "enum" in schema:
        label += " (" + ", ".join(json.dumps(v) for v in schema["enum"]) + ")"
    return label


def _example_text(example: Any) -> str:
    return example if isinstance(example, str) else json.dumps(example, indent=2)


def curl_example(document: Mapping[str, Any], path: str, method: str) -> str:
    """A curl command for one operation, filled in from the document's examples.

    Path parameters take their ``example``; query parameters and the
    ``Accept`` header appear only when they have one; the request body is the
    first media type's ``example``.
    """
    operation = document["paths"][path][method]
    url_path = path
    query: list[tuple[str, str]] = []
    args = ["curl", "-s"]
    if method != "get":
        args += ["-X", method.upper()]
    for raw in operation.get("parameters", []):
        param = _resolve(document, raw)
        if "example" not in param:
            continue
        value = str(param["example"])
        if param["in"] == "path":
            url_path = url_path.replace(
                "{" + param["name"] + "}", quote(value, safe=":/")
            )
        elif param["in"] == "query":
            query.append((param["name"], value))
        elif param["in"] == "header":
            args += ["-H", f"{param['name']}: {value}"]
    body = operation.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        if "example" in content:
            example = content["example"]
            text = (
                example
                if isinstance(example, str)
                else json.dumps(example, separators=(",", ":"))
            )
            args += ["-H", f"Content-Type: {media}", "--data-binary", text]
            break
    url = BASE_URL + url_path + ("?" + urlencode(query) if query else "")
    return shlex.join([*args, url])


def _parameters_html(document: Mapping[str, Any], operation: Mapping[str, Any]) -> str:
    params = [_resolve(document, p) for p in operation.get("parameters", [])]
    if not params:
        return ""
    rows = "".join(
        f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
        f"<td>{'yes' if p.get('required') else 'no'}</td>"
        f"<td>{_e(_schema_label(p.get('schema')))}</td>"
        f"<td>{_e(p.get('description', ''))}</td></tr>"
        for p in params
    )
    return (
        "<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>required</th>"
        f"<th>schema</th><th>description</th></tr>{rows}</table>"
    )


def _content_html(content: Mapping[str, Any]) -> str:
    parts = []
    for media, item in content.items():
        line = f"<li><code>{_e(media)}</code>"
        label = _schema_label(item.get("schema"))
        if label:
            line += f": <code>{_e(label)}</code>"
        if "example" in item:
            line += f"<pre>{_e(_example_text(item['example']))}</pre>"
        parts.append(line + "</li>")
    return "<ul>" + "".join(parts) + "</ul>" if parts else ""


def _anchor(path: str, method: str) -> str:
    """The id of an operation's section (``get-1.0-identifiers-identifier``)."""
    return f"{method}{path}".replace("/", "-").replace("{", "").replace("}", "")


def _operation_html(
    document: Mapping[str, Any], path: str, method: str, operation: Mapping[str, Any]
) -> str:
    anchor = _anchor(path, method)
    out = [
        f'<section id="{_e(anchor)}"><h2><span class="m">{_e(method.upper())}</span>'
        f"<code>{_e(path)}</code></h2>",
        f"<p><strong>{_e(operation.get('summary', ''))}</strong></p>",
    ]
    if "description" in operation:
        out.append(f"<p>{_e(operation['description'])}</p>")
    out.append(_parameters_html(document, operation))
    body = operation.get("requestBody")
    if body is not None:
        body = _resolve(document, body)
        required = "required" if body.get("required") else "optional"
        out.append(f"<h3>Request body ({required})</h3>")
        if "description" in body:
            out.append(f"<p>{_e(body['description'])}</p>")
        out.append(_content_html(body.get("content", {})))
    out.append("<h3>Responses</h3><table><tr><th>status</th><th>answer</th></tr>")
    for status, raw in operation.get("responses", {}).items():
        response = _resolve(document, raw)
        cell = _e(response.get("description", ""))
        cell += _content_html(response.get("content", {}))
        out.append(f"<tr><td><code>{_e(status)}</code></td><td>{cell}</td></tr>")
    out.append("</table><h3>Example</h3>")
    out.append(f"<pre>{_e(curl_example(document, path, method))}</pre></section>")
    return "".join(out)


def render_docs(document: Mapping[str, Any]) -> str:
    """The HTML page describing ``document``: a section per path and method."""
    info = document.get("info", {})
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    ops = list(operations(document))
    nav = "".join(
        f'<li><a href="#{_e(_anchor(p, m))}">'
        f'<span class="m">{_e(m.upper())}</span><code>{_e(p)}</code></a> '
        f"{_e(op.get('summary', ''))}</li>"
        for p, m, op in ops
    )
    sections = "".join(_operation_html(document, p, m, op) for p, m, op in ops)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} API</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(title)} API</h1><p>{_e(info.get('description', ''))}</p>"
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> '
        f"(OpenAPI {_e(document.get('openapi', ''))}).</p>"
        f"<nav><ul>{nav}</ul></nav>{sections}</body></html>\n"
    )


def static_handler(body: bytes, content_type: str, extra: Mapping[str, str]) -> Handler:
    """A handler answering ``body`` (rendered once) with an ETag; 304 on a match.

    ``extra`` headers are added, and may replace the default ``Cache-Control``.
    """
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": "public, max-age=300", "ETag": etag, **extra}

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(
            body=body, headers=headers, content_type=content_type, charset="utf-8"
        )

    return handler


def openapi_routes() -> list[web.RouteDef]:
    """``GET /openapi.json`` and ``GET /docs``, both rendered once, here.

    Raises:
        OSError: ``openapi.json`` is missing from the installation.
        ValueError: it is not a JSON object.
    """
    document = load_openapi()
    spec = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    page = render_docs(document).encode()
    return [
        web.get(
            "/openapi.json",
            static_handler(
                spec, "application/json", {"Access-Control-Allow-Origin": "*"}
            ),
        ),
        web.get(
            "/docs",
            static_handler(
                page,
                "text/html",
                {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff"},
            ),
        ),
    ]
