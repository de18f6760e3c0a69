// A small YAML editor: a textarea over a highlighted copy of its text, line numbers in a gutter,
// and problems (as the API reports them: {line, message, severity, path}) marked in the gutter
// and written at the end of their lines. It grows with its text, so only the page scrolls.
"use strict";

class YamlEditor {
  constructor(root) {
    this.text = root.querySelector("textarea");
    this.pre = root.querySelector("pre.highlight");
    this.gutter = root.querySelector(".gutter");
    this.list = document.getElementById("problems");
    this.problems = [];
    this.onChange = null;
    this.text.setAttribute("wrap", "off");
    this.text.addEventListener("input", () => { this.render(); if (this.onChange) this.onChange(); });
    this.text.addEventListener("scroll", () => { this.pre.style.transform = `translateX(${-this.text.scrollLeft}px)`; });
    this.text.addEventListener("keydown", (event) => this.key(event));
    this.render();
  }

  get value() { return this.text.value; }

  // New text, as if typed: re-highlighted, line numbers redrawn.
  replace(text) {
    this.text.value = text;
    this.render();
  }

  // Problems to show: each with a line (1-based) is marked on it; the others are listed only.
  show(problems) {
    this.problems = problems || [];
    this.render();
    this.list.replaceChildren(...this.problems.map((p) => {
      const where = p.line ? `Line ${this.clamp(p.line)}` : "Flow";
      const item = ui.el("li", {class: ui.mild(p) ? "warning" : "error", "data-line": p.line || ""},
                         ui.el("strong", {}, where), p.path ? ui.el("code", {}, p.path) : null, p.message);
      if (p.line) item.addEventListener("click", () => this.select(this.clamp(p.line)));
      return item;
    }));
  }

  clamp(line) { return Math.min(Math.max(line, 1), this.text.value.split("\n").length); }

  render() {
    const lines = this.text.value.split("\n");
    const byLine = new Map();
    for (const p of this.problems) {
      if (!p.line) continue;
      const line = this.clamp(p.line);
      if (!byLine.has(line)) byLine.set(line, []);
      byLine.get(line).push(p);
    }
    this.text.rows = lines.length + 1;  // one spare row for a horizontal scroll bar
    const numbers = [];
    const code = [];
    let block = -1;  // indentation of a block scalar's key (| or >) while inside it
    lines.forEach((line, index) => {
      const found = byLine.get(index + 1) || [];
      const level = found.some((p) => !ui.mild(p)) ? "error" : found.length ? "warning" : "";
      numbers.push(ui.el("div", {class: level, "data-line": index + 1, title: found.map((p) => p.message).join("\n") || null},
                         String(index + 1)));
      const indent = line.search(/\S/);
      if (block >= 0 && (indent < 0 || indent > block)) {
        code.push(ui.el("span", {class: "string"}, line));
      } else {
        block = /:\s*[|>][-+0-9]*\s*(#.*)?$/.test(line) ? Math.max(indent, 0) : -1;
        code.push(...highlight(line).map(([kind, text]) => (kind ? ui.el("span", {class: kind}, text) : text)));
      }
      if (found.length) code.push(ui.el("span", {class: "lint " + level}, "   ← " + found.map((p) => p.message).join(" · ")));
      code.push("\n");
    });
    this.gutter.replaceChildren(...numbers);
    this.pre.replaceChildren(...code);
  }

  select(line) {
    const lines = this.text.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
    this.text.focus();
    this.text.setSelectionRange(start, start + lines[line - 1].length);
    const number = this.gutter.children[line - 1];
    if (number) number.scrollIntoView({block: "center"});
  }

  key(event) {
    if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      this.insert("  ");
    } else if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.metaKey) {
      const before = this.text.value.slice(0, this.text.selectionStart).split("\n").pop();
      const indent = before.match(/^\s*/)[0] + (/:\s*$/.test(before) ? "  " : "");
      event.preventDefault();
      this.insert("\n" + indent);
    }
  }

  insert(text) {  // through the browser's editing, so undo works
    if (!document.execCommand("insertText", false, text)) this.text.setRangeText(text, this.text.selectionStart,
                                                                                this.text.selectionEnd, "end");
    this.render();
    if (this.onChange) this.onChange();
  }
}

// One line of YAML as [kind, text] pieces: indentation, list dash, key, value, comment.
function highlight(line) {
  if (/^(---|\.\.\.)\s*$/.test(line)) return [["dash", line]];
  const pieces = [];
  const lead = /^(\s*)((?:-\s+)*)/.exec(line);
  if (lead[1]) pieces.push(["", lead[1]]);
  if (lead[2]) pieces.push(["dash", lead[2]]);
  let rest = line.slice(lead[0].length);
  if (rest.startsWith("#")) return [...pieces, ["comment", rest]];
  const key = /^("[^"]*"|'[^']*'|[^\s#'"{[\]&*!|>%@`-][^:#]*?|-[^\s:#][^:#]*?)(\s*:)(?=\s|$)/.exec(rest);
  if (key) {
    pieces.push(["key", key[1]], ["", key[2]]);
    rest = rest.slice(key[0].length);
  }
  const hash = commentAt(rest);
  const value = hash < 0 ? rest : rest.slice(0, hash);
  const trimmed = value.trim();
  let kind = "";
  if (/^(true|false|null|~|[-+]?\d+(\.\d+)?([eE][-+]?\d+)?)$/i.test(trimmed)) kind = "literal";
  else if (/^["']/.test(trimmed)) kind = "string";
  else if (/^[|>][-+0-9]*$/.test(trimmed)) kind = "dash";
  for (const part of value.split(/(\{\{.*?\}\}|\{%.*?%\})/)) {
    if (part) pieces.push([/^\{[{%]/.test(part) ? "expr" : kind, part]);
  }
  if (hash >= 0) pieces.push(["comment", rest.slice(hash)]);
  return pieces;
}

// Where a comment starts in a value: a # at its start or after a space, outside quotes; -1 if none.
function commentAt(text) {
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) { if (c === quote) quote = ""; continue; }
    if ((c === '"' || c === "'") && (i === 0 || /\s/.test(text[i - 1]))) quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) return i;
  }
  return -1;
}
