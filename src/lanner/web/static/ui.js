// Helpers shared by the UI's pages. Data reaches the page through textContent only, never as HTML.
"use strict";

const ui = {
  // el("td", {class: "x", title: "y"}, "text", child, [more, [nested]]): an element; strings become
  // text nodes, arrays (nested to any depth) are flattened, null and undefined are skipped.
  el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "style") Object.assign(node.style, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) if (child !== null && child !== undefined) node.append(child);
    return node;
  },

  // One API call; resolves to {ok, status, body} (body: parsed JSON, or text), never throws.
  async call(method, path, body, headers) {
    try {
      // The UI's own calls: a 401 must lead to the login form, not to the browser's password prompt.
      const marked = Object.assign({"X-Lanner-UI": "1"}, headers || {});
      const response = await fetch(path, {method, body, headers: marked, credentials: "same-origin"});
      const text = await response.text();
      let parsed = text;
      try { parsed = text ? JSON.parse(text) : null; } catch (_) { /* plain text */ }
      return {ok: response.ok, status: response.status, body: parsed};
    } catch (error) {
      return {ok: false, status: 0, body: {message: "cannot reach the server: " + error.message}};
    }
  },

  // An error body {message, details} as one line for a status area.
  problem(result) {
    const body = result.body || {};
    const details = (body.details || []).map((d) => (typeof d === "string" ? d : d.message));
    return [body.message || "HTTP " + result.status, ...details].join(" · ");
  },

  data(id) {
    const node = document.getElementById(id || "page-data");
    return node ? JSON.parse(node.textContent) : {};
  },

  // "2024-01-31T10:00:00.123456Z" -> "2024-01-31 10:00:00" (UTC).
  when(iso) {
    return iso ? iso.replace("T", " ").replace(/(\.\d+)?(Z|[+-]\d\d:\d\d)$/, "") : "";
  },

  millis(iso) {
    return iso ? Date.parse(iso.replace(/(\.\d{3})\d+/, "$1")) : NaN;
  },

  seconds(ms) {
    if (!(ms >= 0)) return "";
    if (ms < 1000) return ms.toFixed(0) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
  },

  // A validation problem that does not stop a save: a warning or a deprecation.
  mild(problem) {
    return problem.severity === "warning" || problem.severity === "deprecation";
  },

  setStatus(node, text, bad) {
    node.textContent = text;
    node.classList.toggle("bad", Boolean(bad));
  },

  // The form's inputs as the API takes them: empty fields left out (their defaults apply),
  // checkboxes as true/false, datetime-local values (UTC) with their Z, multiple choices as a JSON array.
  inputs(form) {
    const data = new FormData();
    for (const field of form.querySelectorAll("input[name], select[name], textarea[name]")) {
      if (field.disabled || field.closest("[hidden]")) continue;
      if (field.type === "checkbox") { data.append(field.name, field.checked ? "true" : "false"); continue; }
      if (field.multiple) {  // a MULTISELECT: its chosen values as one JSON array
        const chosen = [...field.selectedOptions].map((option) => option.value);
        if (chosen.length) data.append(field.name, JSON.stringify(chosen));
        continue;
      }
      if (field.value === "") continue;
      let value = field.value;
      if (field.type === "datetime-local") value = (value.length === 16 ? value + ":00" : value) + "Z";
      data.append(field.name, value);
    }
    return data;
  },
};

// Selects marked data-autosubmit submit their form when changed.
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});

// Buttons that only work through a page script are rendered disabled, so nobody (person or test) clicks
// one before its handler exists; DOMContentLoaded comes after every deferred page script has run.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-scripted]")) button.disabled = false;
});

// Every page: a banner while the instance is in maintenance mode.
document.addEventListener("DOMContentLoaded", async () => {
  const banner = document.getElementById("maintenance-banner");
  if (!banner) return;
  const result = await ui.call("GET", "/api/v1/instance/maintenance");
  if (!result.ok || !result.body || !result.body.maintenance) return;
  const why = result.body.reason ? " (" + result.body.reason + ")" : "";
  banner.textContent = "Maintenance mode since " + ui.when(result.body.since) + why +
    ": new executions wait in QUEUED and start when it ends.";
  banner.hidden = false;
});
