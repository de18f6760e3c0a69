// One execution's page: state, task-run tree with a Gantt timeline, outputs, live logs, actions.
// The execution is polled (GET /api/v1/executions/{id}) while it runs and re-rendered in place;
// logs stream from GET /api/v1/logs/{id}/follow, so a refresh never interrupts them.
"use strict";

(() => {
  const page = ui.data();
  const TERMINAL = new Set(page.terminal);
  const LEVELS = page.levels;
  const BRANCHES = page.branches || {};  // task id -> "errors", "finally" or "afterExecution"
  const STARTERS = new Set(page.starters || []);  // Subflow tasks: their executionId output is a child execution
  const id = page.execution.id;
  const base = "/api/v1/executions/" + encodeURIComponent(id);
  const status = document.getElementById("status");
  const logs = document.getElementById("logs");
  const level = document.getElementById("level");
  const resumeForm = document.getElementById("resume");
  let execution = page.execution;
  let timer = null;
  let stream = null;
  let changeAwaited = null;  // after an action: poll until the history grows past this length
  let shownOutputs = "";

  const ended = (e) => TERMINAL.has(e.state.current);

  function render(e) {
    execution = e;
    const state = document.getElementById("state");
    state.textContent = e.state.current;
    state.className = "state " + e.state.current;
    const start = ui.millis(e.state.startDate);
    const end = e.state.endDate ? ui.millis(e.state.endDate) : Date.now();
    document.getElementById("duration").textContent = ui.seconds(end - start) + (e.state.endDate ? "" : " so far");
    renderActions(e);
    renderRuns(e);
    renderOutputs(e);
  }

  function renderActions(e) {
    const show = {kill: !ended(e), restart: ["FAILED", "KILLED"].includes(e.state.current),
                  resume: e.state.current === "PAUSED"};
    for (const button of document.querySelectorAll("#actions button[data-action]")) {
      button.hidden = !show[button.dataset.action];
    }
    const paused = new Set(e.taskRunList.filter((r) => r.state.current === "PAUSED").map((r) => r.taskId));
    for (const fieldset of resumeForm.querySelectorAll("fieldset[data-task]")) {
      fieldset.hidden = !paused.has(fieldset.dataset.task);
    }
    if (!show.resume) resumeForm.hidden = true;
  }

  // Task runs in tree order (children under their parent task run), with their depth.
  function tree(runs) {
    const ids = new Set(runs.map((r) => r.id));
    const children = new Map();
    for (const run of runs) {
      const parent = ids.has(run.parentTaskRunId) ? run.parentTaskRunId : null;
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(run);
    }
    const ordered = [];
    const seen = new Set();
    const visit = (parent, depth) => {
      for (const run of children.get(parent) || []) {
        if (seen.has(run.id)) continue;
        seen.add(run.id);
        ordered.push([run, depth]);
        visit(run.id, depth + 1);
      }
    };
    visit(null, 0);
    return ordered;
  }

  // Where a task run or attempt lies on the timeline: left and width in % of the span.
  function place(from, to, start, span) {
    const left = Math.min(Math.max((from - start) / span * 100, 0), 100);
    return {left: left + "%", width: Math.max(Math.min((to - from) / span * 100, 100 - left), 0.5) + "%"};
  }

  const childLink = (id) => ui.el("a", {class: "child", href: "/ui/executions/" + encodeURIComponent(id),
                                         title: "the execution this task started"}, ui.el("code", {}, id));

  function renderRuns(e) {
    const body = document.querySelector("#taskruns tbody");
    const start = ui.millis(e.state.startDate);
    const now = Date.now();
    const finish = (state) => (state.endDate ? ui.millis(state.endDate) : TERMINAL.has(state.current)
      ? ui.millis(state.startDate) : now);
    let end = e.state.endDate ? ui.millis(e.state.endDate) : now;
    for (const run of e.taskRunList) end = Math.max(end, finish(run.state));
    const span = Math.max(end - start, 1);
    document.querySelector("#taskruns th.timeline").textContent = `Timeline (${ui.seconds(span)})`;
    const rows = tree(e.taskRunList).map(([run, depth]) => {
      const from = ui.millis(run.state.startDate);
      const took = ui.seconds(finish(run.state) - from);
      const attempts = run.attempts.length;
      const bar = ui.el("div", {class: "bar " + run.state.current, style: place(from, finish(run.state), start, span),
                               title: `${run.taskId}: ${run.state.current}, ${took}, ${attempts} attempt(s)`});
      const branch = BRANCHES[run.taskId];
      const child = STARTERS.has(run.taskId) && run.outputs && run.outputs.executionId;
      const row = ui.el("tr", {"data-task": run.taskId, "data-state": run.state.current},
        ui.el("td", {class: "task", style: {paddingLeft: (0.7 + depth * 1.25) + "rem"}},
              depth ? ui.el("span", {class: "muted"}, "└ ") : null, run.taskId,
              branch ? ui.el("span", {class: "badge " + branch, title: `runs in the ${branch} branch`}, branch) : null,
              child ? [" ", ui.el("span", {class: "muted"}, "→ "), childLink(child)] : null),
        ui.el("td", {}, run.value === null || run.value === undefined ? "" : String(run.value)),
        ui.el("td", {}, ui.el("span", {class: "state " + run.state.current}, run.state.current)),
        ui.el("td", {class: "attempts", title: run.attempts.map((a, i) => `#${i + 1} ${a.state.current}` +
                                                                (a.workerId ? ` on ${a.workerId}` : "") +
                                                                (a.message ? `: ${a.message}` : "")).join("\n")},
              String(attempts)),
        ui.el("td", {}, took),
        ui.el("td", {class: "timeline"}, ui.el("div", {class: "track"}, bar)));
      // A retried (or resubmitted, or restarted) task run: one row per attempt under it.
      return [row, attempts > 1 ? run.attempts.map((a, i) => attemptRow(run, a, i + 1, depth, start, span)) : []];
    });
    body.replaceChildren(...(rows.length ? rows.flat(2) : [ui.el("tr", {}, ui.el("td", {colspan: 6, class: "muted"},
                                                                                  "No task run yet."))]));
  }

  function attemptRow(run, attempt, number, depth, start, span) {
    const state = attempt.state;
    const from = ui.millis(state.startDate);
    const to = state.endDate ? ui.millis(state.endDate) : TERMINAL.has(state.current) ? from : Date.now();
    const took = ui.seconds(to - from);
    return ui.el("tr", {class: "attempt", "data-attempt-of": run.taskId, "data-attempt": number,
                        "data-state": state.current},
      ui.el("td", {class: "task", style: {paddingLeft: (0.7 + (depth + 1) * 1.25) + "rem"}},
            ui.el("span", {class: "muted"}, `attempt ${number}`), " ",
            ui.el("span", {class: "worker", title: "the worker that ran it"},
                  attempt.workerId ? "on " + attempt.workerId : "")),
      ui.el("td", {class: "message"}, attempt.message || ""),
      ui.el("td", {}, ui.el("span", {class: "state " + state.current}, state.current)),
      ui.el("td", {}),
      ui.el("td", {class: "took"}, took),
      ui.el("td", {class: "timeline"}, ui.el("div", {class: "track"}, ui.el("div", {
        class: "bar " + state.current, style: place(from, to, start, span),
        title: `${run.taskId} attempt ${number}: ${state.current}, ${took}`}))));
  }

  function renderOutputs(e) {
    const runs = e.taskRunList.filter((r) => r.outputs && Object.keys(r.outputs).length);
    const key = JSON.stringify([ended(e), e.outputs, runs.map((r) => [r.id, r.outputs])]);
    if (key === shownOutputs) return;  // unchanged: keep the reader's place
    shownOutputs = key;
    const rows = [];
    for (const [name, value] of Object.entries(e.outputs || {})) {
      rows.push(ui.el("tr", {}, ui.el("th", {}, name), ui.el("td", {class: "muted"}, "flow output"),
                      ui.el("td", {}, ui.el("pre", {}, JSON.stringify(value, null, 2)))));
    }
    for (const run of runs) {
      const label = run.taskId + (run.value === null || run.value === undefined ? "" : ` [${run.value}]`);
      const child = STARTERS.has(run.taskId) && run.outputs.executionId;
      rows.push(ui.el("tr", {}, ui.el("th", {}, label),
                      ui.el("td", {class: "muted"}, "task outputs", child ? [ui.el("br"), childLink(child)] : null),
                      ui.el("td", {}, ui.el("pre", {}, JSON.stringify(run.outputs, null, 2)))));
    }
    const holder = document.getElementById("outputs");
    const none = ended(e) ? "None: the execution ended without outputs." : "None yet.";
    holder.replaceChildren(rows.length ? ui.el("table", {class: "compact outputs"}, rows)
                                       : ui.el("p", {class: "muted"}, none));
  }

  async function poll() {
    clearTimeout(timer);
    const result = await ui.call("GET", base);
    if (result.status === 404) { ui.setStatus(status, "This execution was deleted.", true); return; }
    if (result.ok) {
      render(result.body);
      if (changeAwaited !== null && result.body.state.histories.length > changeAwaited) changeAwaited = null;
      if (!ended(result.body) && !stream) follow();
    }
    if (!result.ok || !ended(execution) || changeAwaited !== null) timer = setTimeout(poll, 1000);
  }

  // Logs: the stream sends every line from the first, then new ones, and ends with the execution.
  function follow() {
    stream = new EventSource("/api/v1/logs/" + encodeURIComponent(id) + "/follow");
    stream.addEventListener("open", () => { logs.replaceChildren(); countLogs(); });
    stream.addEventListener("log", (event) => addLog(JSON.parse(event.data)));
    stream.addEventListener("error", () => {  // ended (or lost): look again while the execution runs
      stream.close();
      stream = null;
      if (!ended(execution)) setTimeout(() => { if (!stream) follow(); }, 1000);
    });
  }

  const rank = (name) => { const index = LEVELS.indexOf(name); return index < 0 ? LEVELS.length : index; };

  function addLog(entry) {
    const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    const row = ui.el("div", {class: "log", "data-level": entry.level},
                      ui.el("span", {class: "when"}, ui.when(entry.timestamp)), " ",
                      ui.el("span", {class: "level " + entry.level}, entry.level), " ",
                      ui.el("span", {class: "task"}, entry.taskId || "-"), " ",
                      ui.el("span", {class: "message"}, entry.message));
    row.hidden = rank(entry.level) < rank(level.value);
    logs.append(row);
    if (atBottom) logs.scrollTop = logs.scrollHeight;
    countLogs();
  }

  function filterLogs() {
    for (const row of logs.children) row.hidden = rank(row.dataset.level) < rank(level.value);
    countLogs();
  }

  function countLogs() {
    const all = logs.children.length;
    const hidden = logs.querySelectorAll(".log[hidden]").length;
    document.getElementById("log-count").textContent =
      `${all} line${all === 1 ? "" : "s"}` + (hidden ? `, ${hidden} below ${level.value} hidden` : "");
  }

  async function act(action, body) {
    const calls = {kill: ["DELETE", "/kill", "Kill requested"], restart: ["POST", "/restart", "Restarted"],
                   resume: ["POST", "/resume", "Resumed"]};
    const [method, path, done] = calls[action];
    ui.setStatus(status, "…");
    const result = await ui.call(method, base + path, body);
    if (!result.ok) { ui.setStatus(status, ui.problem(result), true); return; }
    ui.setStatus(status, done);
    resumeForm.hidden = true;
    changeAwaited = execution.state.histories.length;
    render(result.body);
    poll();
  }

  for (const button of document.querySelectorAll("#actions button[data-action]")) {
    button.addEventListener("click", () => {
      const wantsInputs = resumeForm.querySelector("fieldset[data-task]:not([hidden])");
      if (button.dataset.action === "resume" && wantsInputs) { resumeForm.hidden = !resumeForm.hidden; return; }
      act(button.dataset.action);
    });
  }
  resumeForm.addEventListener("submit", (event) => { event.preventDefault(); act("resume", ui.inputs(resumeForm)); });
  level.addEventListener("change", filterLogs);

  render(execution);
  filterLogs();
  follow();
  if (!ended(execution)) timer = setTimeout(poll, 1000);
})();
