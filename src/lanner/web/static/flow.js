// The flow editor page (new or existing flow) and the Execute form.
"use strict";

(() => {
  const YAML = {"Content-Type": "application/x-yaml"};
  const editor = new YamlEditor(document.getElementById("editor"));
  const save = document.getElementById("save");
  const status = document.getElementById("status");
  let typing = null;

  // Problems as you type: the validate endpoint answers with every problem and its line.
  editor.onChange = () => {
    clearTimeout(typing);
    typing = setTimeout(validate, 500);
  };

  async function validate() {
    const source = editor.value;
    const result = await ui.call("POST", "/api/v1/flows/validate", source, YAML);
    if (source !== editor.value || !result.ok || !Array.isArray(result.body)) return;  // typed meanwhile
    editor.show(result.body[0].problems);
    const errors = result.body[0].problems.filter((p) => !ui.mild(p)).length;
    ui.setStatus(status, errors ? `${errors} problem${errors > 1 ? "s" : ""} to fix before saving` : "", errors);
  }

  save.addEventListener("click", async () => {
    clearTimeout(typing);
    save.disabled = true;
    ui.setStatus(status, "Saving…");
    const result = await ui.call(save.dataset.method, save.dataset.path, editor.value, YAML);
    save.disabled = false;
    if (result.ok) {
      const flow = result.body;
      location.href = `/ui/flows/${encodeURIComponent(flow.namespace)}/${encodeURIComponent(flow.id)}?saved=${flow.revision}`;
      return;
    }
    const details = (result.body && result.body.details) || [];
    editor.show(details.filter((d) => typeof d === "object"));
    ui.setStatus(status, result.body && result.body.message ? result.body.message +
                 (details.length ? ` (${details.length} problem${details.length > 1 ? "s" : ""})` : "")
                 : ui.problem(result), true);
  });

  // Deprecated syntax rewritten in the editor (not saved): what `lanner flow migrate` would do.
  const migrate = document.getElementById("migrate");
  migrate.addEventListener("click", async () => {
    const result = await ui.call("POST", "/api/v1/flows/migrate", editor.value, YAML);
    if (!result.ok) { ui.setStatus(status, ui.problem(result), true); return; }
    const {source, changes, refused} = result.body;
    if (refused.length) { ui.setStatus(status, "Not migrated: " + refused.join("; "), true); return; }
    if (!changes.length) { ui.setStatus(status, "Nothing to migrate: the flow uses current syntax."); return; }
    editor.replace(source);
    await validate();
    ui.setStatus(status, `${changes.length} change${changes.length > 1 ? "s" : ""} made (not saved yet): ` +
                 changes.join("; "));
  });

  const execute = document.getElementById("execute");
  if (execute) {
    const executeStatus = document.getElementById("execute-status");
    execute.addEventListener("submit", async (event) => {
      event.preventDefault();
      ui.setStatus(executeStatus, "Starting…");
      const result = await ui.call("POST", execute.dataset.path, ui.inputs(execute));
      if (result.ok) location.href = "/ui/executions/" + encodeURIComponent(result.body.id);
      else ui.setStatus(executeStatus, ui.problem(result), true);
    });
  }
})();
