// The triggers table: Enable/Disable, Unlock and backfill buttons call /api/v1/triggers, then the page reloads.
"use strict";

(() => {
  const status = document.getElementById("trigger-status");
  const table = document.getElementById("triggers");
  if (!table) return;

  async function act(row, action, method, body) {
    ui.setStatus(status, "Working…");
    for (const button of row.querySelectorAll("button")) button.disabled = true;
    const headers = body ? {"Content-Type": "application/json"} : undefined;
    const result = await ui.call(method, `${row.dataset.path}/${action}`, body ? JSON.stringify(body) : undefined,
                                 headers);
    if (result.ok) { location.reload(); return; }
    for (const button of row.querySelectorAll("button")) button.disabled = false;
    ui.setStatus(status, `${row.dataset.flow}.${row.dataset.trigger}: ${ui.problem(result)}`, true);
  }

  table.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    act(button.closest("tr"), button.dataset.action, button.dataset.method || "POST");
  });

  // datetime-local values are UTC here: the API gets them with their Z.
  const utc = (value) => (value ? (value.length === 16 ? value + ":00" : value) + "Z" : undefined);

  table.addEventListener("submit", (event) => {
    const form = event.target.closest("form.backfill-form");
    if (!form) return;
    event.preventDefault();
    const body = {start: utc(form.elements.start.value)};
    if (form.elements.end.value) body.end = utc(form.elements.end.value);
    act(form.closest("tr"), "backfill", "PUT", body);
  });
})();
