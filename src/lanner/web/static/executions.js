// The executions list: filters apply without a reload (the URL keeps them), and the table
// refreshes every few seconds from GET /api/v1/executions/search with the applied filters,
// never touching the form, so a filter being typed is not lost.
"use strict";

(() => {
  const EVERY = 2500;
  const form = document.getElementById("filters");
  const body = document.querySelector("#executions tbody");
  const count = document.getElementById("count");
  const live = document.getElementById("live");
  const size = ui.data().size;
  let applied = new URLSearchParams(location.search);
  let timer = null;
  let asked = 0;

  const utc = (value) => (/(Z|[+-]\d\d:\d\d)$/.test(value) ? value : (value.length === 16 ? value + ":00" : value) + "Z");

  function query(filters) {
    const found = new URLSearchParams({size: String(size)});
    for (const name of ["namespace", "flowId", "state"]) if (filters.get(name)) found.set(name, filters.get(name));
    for (const name of ["startDate", "endDate"]) if (filters.get(name)) found.set(name, utc(filters.get(name)));
    return found;
  }

  function row(e) {
    const flow = `/ui/flows/${encodeURIComponent(e.namespace)}/${encodeURIComponent(e.flowId)}`;
    return ui.el("tr", {"data-id": e.id},
      ui.el("td", {}, ui.el("a", {href: "/ui/executions/" + encodeURIComponent(e.id)}, ui.el("code", {}, e.id))),
      ui.el("td", {}, ui.el("a", {href: flow}, `${e.namespace}.${e.flowId}`)),
      ui.el("td", {}, ui.el("span", {class: "state " + e.state.current}, e.state.current)),
      ui.el("td", {}, ui.when(e.state.startDate)),
      ui.el("td", {}, e.state.endDate ? ui.seconds(ui.millis(e.state.endDate) - ui.millis(e.state.startDate)) : ""),
      ui.el("td", {}, e.labels.map((l) => [ui.el("span", {class: "label"}, `${l.key}:${l.value}`), " "])));
  }

  async function refresh() {
    clearTimeout(timer);
    const ticket = ++asked;
    const result = await ui.call("GET", "/api/v1/executions/search?" + query(applied));
    if (ticket !== asked) return;  // filters changed meanwhile: a newer answer is coming
    if (result.ok) {
      const found = result.body.results;
      body.replaceChildren(...(found.length ? found.map(row)
        : [ui.el("tr", {}, ui.el("td", {colspan: 6, class: "muted"}, "No execution matches."))]));
      ui.setStatus(count, `${found.length} of ${result.body.total} executions`);
      live.title = "refreshed at " + new Date().toLocaleTimeString();
    } else {
      ui.setStatus(count, ui.problem(result), true);
    }
    timer = setTimeout(refresh, EVERY);
  }

  function apply() {
    applied = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) applied.set(name, value);
    history.replaceState(null, "", applied.toString() ? "?" + applied : location.pathname);
    refresh();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  form.addEventListener("change", apply);
  timer = setTimeout(refresh, EVERY);
})();
