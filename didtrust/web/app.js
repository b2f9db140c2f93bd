// didtrust's page: resolve a DID or verify a credential with the server's API.
// Plain browser JavaScript, no build step, no third-party code. Every text that
// comes from input or the network is put on the page with textContent, never
// as HTML.
"use strict";

(function () {
  const MAX_FILE_BYTES = 1024 * 1024;
  const form = document.getElementById("form");
  const input = document.getElementById("input");
  const fileInput = document.getElementById("file");
  const busy = document.getElementById("busy");
  const result = document.getElementById("result");

  // -- small DOM helpers -------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function pretty(value) {
    return el("pre", { class: "json" }, JSON.stringify(value, null, 2));
  }

  function details(summary, body, open) {
    const d = el("details", open ? { open: "" } : {}, el("summary", {}, summary), body);
    return d;
  }

  function show(...nodes) {
    result.replaceChildren(...nodes);
  }

  function problemBox(title, detail) {
    return el("div", { class: "verdict bad", id: "verdict", role: "alert" },
      el("strong", {}, title), detail ? el("p", {}, detail) : null);
  }

  function dateText(value) {
    if (typeof value !== "string") return "";
    const when = new Date(value);
    if (Number.isNaN(when.getTime())) return value;
    return when.toISOString().slice(0, 10);
  }

  // -- talking to the server ---------------------------------------------------

  async function readJson(response) {
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (_err) {
      return { title: response.statusText || "unexpected answer", detail: text.slice(0, 300) };
    }
  }

  async function resolve(identifier) {
    // The whole DID URL, percent-encoded: the server decodes it exactly once,
    // so a '%3A' in a did:web stays itself and a '#fragment' is sent at all.
    const url = "/1.0/identifiers/" + encodeURIComponent(identifier);
    const response = await fetch(url, {
      headers: { Accept: "application/json" },
      redirect: "manual",
    });
    if (response.type === "opaqueredirect") {
      show(el("div", { class: "verdict info", id: "verdict" },
        el("strong", {}, "This DID URL selects a service endpoint."),
        el("p", {}, "The server answers with a redirect to it; open the URL directly to follow it.")));
      return;
    }
    const body = await readJson(response);
    if (response.status === 410 && body.didDocument) {
      showDocument(identifier, body); // deactivated: the last document, marked
      return;
    }
    if (!response.ok) {
      const meta = body.didResolutionMetadata || body.dereferencingMetadata || {};
      const error = meta.error || {};
      const title = error.title || body.title || "could not resolve";
      const detail = error.detail || body.detail || meta.errorMessage || "";
      const type = typeof error === "string" ? error : (error.type || "").split("#").pop();
      show(problemBox(`${title}${type ? " (" + type + ")" : ""}`, detail),
        details("Full answer", pretty(body), false));
      return;
    }
    if (body.didDocument !== undefined) {
      showDocument(identifier, body);
    } else {
      showResource(identifier, body);
    }
  }

  async function verify(text) {
    const trimmed = text.trim();
    let body;
    let type;
    if (trimmed.startsWith("{")) {
      try {
        JSON.parse(trimmed);
      } catch (err) {
        show(problemBox("This is not valid JSON.", String(err.message || err)));
        return;
      }
      body = trimmed;
      type = "application/json";
    } else {
      body = trimmed;
      type = "application/vc+jwt";
    }
    const response = await fetch("/credentials/verify", {
      method: "POST",
      headers: { "Content-Type": type, Accept: "application/json" },
      body,
    });
    const report = await readJson(response);
    if (!response.ok) {
      show(problemBox(report.title || "could not verify", report.detail || ""));
      return;
    }
    const accreditation = await accreditationOf(report);
    showReport(report, accreditation);
  }

  async function entity(did) {
    const response = await fetch("/registry/v1/entities/" + encodeURIComponent(did), {
      headers: { Accept: "application/json" },
    });
    if (response.status === 503) return { unavailable: true };
    if (response.status === 404) return { missing: true };
    if (!response.ok) return { error: (await readJson(response)).title || response.statusText };
    return readJson(response);
  }

  function resultsNamed(report, name) {
    return (report.results || []).filter((r) => r.name === name);
  }

  function allows(scope, action, resource) {
    const has = (list, value) => Array.isArray(list) && (list.includes(value) || list.includes("*"));
    return Boolean(scope) && has(scope.actions, action) && has(scope.resources, resource);
  }

  // Who accredited the issuer for this credential, and since when: only once
  // the server's own "accredited now" check passed (its answer is the signed
  // one), and only the accreditations that allow issuing this credential's type.
  async function accreditationOf(report) {
    const did = report.issuer && report.issuer.id;
    if (!did) return { text: "no issuer named" };
    const proofs = resultsNamed(report, "proof");
    if (!proofs.length || proofs.some((p) => p.status !== "passed")) {
      return { text: "not looked up: the credential's proof did not verify" };
    }
    const [now] = resultsNamed(report, "accredited now");
    if (!now || now.status === "skipped") {
      return { text: "not checked: this server keeps no trust registry" };
    }
    if (now.status !== "passed") {
      return { text: `not accredited to issue it now: ${now.detail || ""}`, bad: true };
    }
    const view = await entity(did);
    if (view.unavailable || view.missing || view.error) {
      return { text: `accredited (${now.detail}); the registry's entry could not be read` };
    }
    const current = (view.accreditations || []).filter(
      (a) => a.effective && allows(a.scope, "issue", now.resource));
    const parts = await Promise.all(current.map(async (a) => {
      const who = await entity(a.authority);
      const name = who && who.subject && who.subject.name;
      const label = name || (who && who.isRoot ? "the root authority" : null);
      const by = label ? `${label} (${a.authority})` : a.authority;
      return `accredited by ${by} since ${dateText(a.validFrom)}`;
    }));
    const registered = view.subject && view.subject.name;
    let text = parts.join("; ") || `accredited: ${now.detail}`;
    if (registered) text = `registered as “${registered}”; ${text}`;
    return { text };
  }

  // -- rendering ---------------------------------------------------------------

  function showDocument(identifier, body) {
    const doc = body.didDocument || {};
    const meta = body.didDocumentMetadata || {};
    const methods = doc.verificationMethod || [];
    const services = doc.service || [];
    const facts = el("dl", { class: "facts" },
      el("dt", {}, "DID"), el("dd", { id: "doc-id" }, String(doc.id || identifier)),
      el("dt", {}, "Keys"), el("dd", {}, methods.length
        ? el("ul", {}, ...methods.map((m) => el("li", {}, `${m.id} (${m.type})`)))
        : "none"),
      el("dt", {}, "Services"), el("dd", {}, services.length
        ? el("ul", {}, ...services.map((s) => el("li", {}, `${s.id}: ${s.type} → ${JSON.stringify(s.serviceEndpoint)}`)))
        : "none"),
    );
    if (meta.deactivated) {
      facts.append(el("dt", {}, "Status"), el("dd", { class: "bad-text" }, "deactivated"));
    }
    show(el("div", { class: "verdict info", id: "verdict" },
      el("strong", {}, meta.deactivated ? "DID document (deactivated)" : "DID document")),
    facts,
    details("The DID document", pretty(doc), true),
    details("Resolution metadata", pretty({
      didResolutionMetadata: body.didResolutionMetadata,
      didDocumentMetadata: meta,
    }), false));
  }

  function showResource(identifier, body) {
    const resource = body.content !== undefined ? body.content : body;
    show(el("div", { class: "verdict info", id: "verdict" },
      el("strong", {}, "Resource selected by the DID URL")),
    el("p", {}, identifier),
    details("Resource", pretty(resource), true),
    details("Full answer", pretty(body), false));
  }

  const STATUS_LABEL = { passed: "passed", failed: "failed", skipped: "not checked" };

  function showReport(report, accreditation) {
    const verified = report.verified === true;
    const issuer = report.issuer || {};
    // The name is what the credential says of itself; the registry's name for
    // the issuer, if any, is in the accreditation line.
    const issuerText = issuer.name
      ? `${issuer.id} — names itself “${issuer.name}”`
      : String(issuer.id || "unknown");
    const verdict = el("div", { class: verified ? "verdict ok" : "verdict bad", id: "verdict", role: "status" },
      el("strong", {}, verified ? "Verified" : "Not verified"),
      el("p", {}, verified
        ? verifiedText(report)
        : `This credential did not pass: ${(report.errors || []).join("; ") || "no proof could be checked"}.`),
      (report.warnings || []).length
        ? el("ul", { class: "warnings" }, ...report.warnings.map((w) => el("li", {}, `Not checked: ${w}`)))
        : null);

    const facts = el("dl", { class: "facts" },
      el("dt", {}, "Issuer"), el("dd", { id: "issuer" }, issuerText),
      el("dt", {}, "Accreditation"), el("dd", { id: "accreditation", class: accreditation.bad ? "bad-text" : null }, accreditation.text),
      el("dt", {}, "Kind"), el("dd", {}, (report.types || []).join(", ") + (report.format ? ` (${report.format})` : "")),
      el("dt", {}, "Issued"), el("dd", {}, report.issued ? dateText(report.issued) : "not stated"),
    );

    const rows = (report.results || []).map((check) => el("tr", { class: "check " + check.status },
      el("td", {}, check.name || ""),
      el("td", { class: "status" }, STATUS_LABEL[check.status] || String(check.status)),
      el("td", {}, check.detail || "")));
    const table = el("table", { id: "checks" },
      el("thead", {}, el("tr", {}, el("th", {}, "Check"), el("th", {}, "Result"), el("th", {}, "Detail"))),
      el("tbody", {}, ...rows));

    show(verdict, facts, el("h2", {}, "Each check"), table,
      details("Full report", pretty(report), false));
  }

  function verifiedText(report) {
    // Say only what was checked: without a registry or a status list, the
    // verdict rests on fewer checks, and the reader must know which.
    let text = "The signature holds, the key belongs to the issuer and the credential is in force";
    const statuses = resultsNamed(report, "status");
    const passed = statuses.filter((r) => r.status === "passed").map((r) => r.detail);
    if (passed.length) text += `; its status lists say: ${passed.join(", ")}`;
    if (statuses.some((r) => r.status !== "passed")) text += "; some of its status was not checked";
    const [now] = resultsNamed(report, "accredited now");
    text += now && now.status === "passed"
      ? "; its issuer is accredited to issue it."
      : ". The issuer's accreditation was not checked.";
    return text;
  }

  // -- input -------------------------------------------------------------------

  async function check() {
    const text = input.value.trim();
    if (!text) {
      show(problemBox("Nothing to check.", "Paste a DID, a DID URL or a credential first."));
      return;
    }
    busy.hidden = false;
    form.setAttribute("aria-busy", "true");
    try {
      if (/^did:[a-z0-9]+:/.test(text) && !/\s/.test(text)) {
        await resolve(text);
      } else {
        await verify(text);
      }
    } catch (err) {
      show(problemBox("The server could not be reached.", String(err.message || err)));
    } finally {
      busy.hidden = true;
      form.removeAttribute("aria-busy");
    }
  }

  function load(file) {
    if (file.size > MAX_FILE_BYTES) {
      show(problemBox("That file is too large.", `The limit is ${MAX_FILE_BYTES} bytes.`));
      return;
    }
    file.text().then((text) => {
      input.value = text;
      check();
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check();
  });
  fileInput.addEventListener("change", () => {
    if (fileInput.files.length) load(fileInput.files[0]);
  });
  for (const target of [input, document.body]) {
    target.addEventListener("dragover", (event) => {
      event.preventDefault();
      input.classList.add("dropping");
    });
    target.addEventListener("dragleave", () => input.classList.remove("dropping"));
    target.addEventListener("drop", (event) => {
      event.preventDefault();
      input.classList.remove("dropping");
      const file = event.dataTransfer && event.dataTransfer.files[0];
      if (file) load(file);
    });
  }
  // A link may carry what to check: /#did:key:… (kept client-side, never
  // logged). It is only filled in: the person presses Check.
  if (location.hash.length > 1) {
    try {
      input.value = decodeURIComponent(location.hash.slice(1));
    } catch (_err) {
      show(problemBox("The link is malformed.", "Paste what you want to check instead."));
    }
  }
})();
