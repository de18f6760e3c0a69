// The Instance page: enter and leave maintenance mode.
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("maintenance-status");
  const act = async (path, body) => {
    const result = await ui.call("POST", path, body, body ? {"Content-Type": "application/json"} : undefined);
    if (result.ok) location.reload(); else ui.setStatus(status, ui.problem(result), true);
  };
  const enter = document.getElementById("maintenance-enter");
  if (enter) enter.addEventListener("click", () => act("/api/v1/instance/maintenance/enter",
    JSON.stringify({reason: document.getElementById("maintenance-reason").value || null})));
  const leave = document.getElementById("maintenance-exit");
  if (leave) leave.addEventListener("click", () => act("/api/v1/instance/maintenance/exit"));
});
