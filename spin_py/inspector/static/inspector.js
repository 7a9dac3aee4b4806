// The inspector page: the request list kept live from /api/events (Server-Sent Events),
// a request's detail from /api/requests/<id>, the store browser in a frame, the build
// check polled while its tab shows. Every value is put in the page as text, never as HTML.
"use strict";

const state = { rows: new Map(), version: 0, selected: null, events: null, buildTimer: null, detailTimer: null, keep: 200 };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function text(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function ms(value) {
  return value === null || value === undefined ? "" : value < 10 ? value.toFixed(2) : value.toFixed(1);
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

// --- the request list -----------------------------------------------------------------------

function rowFor(request) {
  const status = request.status === null ? "…" : String(request.status);
  const statusClass = request.status === null ? "running" : `s${String(request.status)[0]}`;
  const path = el("td", { class: "path", title: request.path }, request.path);
  if (request.denied) path.append(el("span", { class: "badge denied" }, "refused call"));
  if (request.failed) path.append(el("span", { class: "badge failed" }, "failed"));
  const row = el("tr", { class: "request", "data-id": request.id },
    el("td", { class: "time" }, new Date(request.started * 1000).toLocaleTimeString()),
    el("td", { class: "method" }, request.method),
    path,
    el("td", { class: "component" }, request.component || "-"),
    el("td", { class: `status ${statusClass}` }, status),
    el("td", { class: "duration" }, ms(request.duration)),
    el("td", { class: "calls" }, request.calls),
  );
  if (request.id === state.selected) row.classList.add("selected");
  row.addEventListener("click", () => select(request.id));
  return row;
}

function upsert(request) {
  state.rows.set(request.id, request);
  const body = document.getElementById("rows");
  const fresh = rowFor(request);
  const old = body.querySelector(`tr[data-id="${request.id}"]`);
  if (old) old.replaceWith(fresh);
  else body.prepend(fresh);  // newest first
  document.getElementById("empty").hidden = true;
  if (request.id === state.selected) refreshDetail();
  while (state.rows.size > state.keep) {  // the page keeps what the server keeps, no more
    const oldest = Math.min(...state.rows.keys());
    state.rows.delete(oldest);
    const row = body.querySelector(`tr[data-id="${oldest}"]`);
    if (row) row.remove();
  }
}

function showAll(requests) {
  const body = document.getElementById("rows");
  body.replaceChildren();
  state.rows.clear();
  for (const request of requests.slice().reverse()) upsert(request);
  document.getElementById("empty").hidden = requests.length > 0;
}

async function loadAll() {
  const data = await getJson("/api/requests");
  state.version = data.version;
  showAll(data.requests);
  listen();
}

function listen() {
  if (state.events) state.events.close();
  const live = document.getElementById("live");
  const events = new EventSource(`/api/events?since=${state.version}`);
  state.events = events;
  events.addEventListener("open", () => { live.textContent = "live"; live.className = "live on"; });
  events.addEventListener("requests", (event) => {
    const data = JSON.parse(event.data);
    state.version = data.version;
    for (const request of data.rows) upsert(request);
  });
  events.addEventListener("reset", () => { events.close(); loadAll().catch(offline); });
  events.addEventListener("error", () => {
    offline();
    events.close();
    setTimeout(() => loadAll().catch(offline), 1000);
  });
}

function offline() {
  const live = document.getElementById("live");
  live.textContent = "not connected";
  live.className = "live off";
}

// --- one request ----------------------------------------------------------------------------

function select(id) {
  state.selected = id;
  for (const row of document.querySelectorAll("tr.request")) row.classList.toggle("selected", Number(row.dataset.id) === id);
  showDetail();
}

function refreshDetail() {
  clearTimeout(state.detailTimer);  // a request changing fast is read again once it settles a little
  state.detailTimer = setTimeout(showDetail, 150);
}

async function showDetail() {
  const id = state.selected;
  const detail = document.getElementById("detail");
  let data;
  try {
    data = await getJson(`/api/requests/${id}`);
  } catch (error) {
    detail.replaceChildren(el("p", { class: "muted" }, "This request is no longer kept."));
    return;
  }
  if (id !== state.selected) return;
  const status = data.status === null ? "running" : data.status;
  const parts = [el("h2", {}, `${data.method} ${data.path} → ${data.component || "-"}  ${status}  ${ms(data.duration)} ms`)];
  if (data.parent !== null) {
    const from = el("a", { href: "#" }, `request ${data.parent}`);
    from.addEventListener("click", (event) => { event.preventDefault(); select(data.parent); });
    parts.push(el("p", { class: "muted", id: "parent" }, "Sent by another component (service chaining) during ", from, "."));
  }

  parts.push(el("h3", {}, `Host calls (${data.calls.length}${data.calls_dropped ? `, ${data.calls_dropped} more not kept` : ""})`));
  if (!data.calls.length) parts.push(el("p", { class: "muted" }, "None."));
  for (const call of data.calls) parts.push(callCard(call, data.component));

  parts.push(el("h3", {}, "Output"));
  if (data.lines.length) {
    const pre = el("pre", { id: "output" });
    for (const line of data.lines) pre.append(el("span", { class: line.stream }, line.text + "\n"));
    if (data.lines_dropped) pre.append(el("span", { class: "muted" }, `… ${data.lines_dropped} more lines not kept\n`));
    parts.push(pre);
  } else {
    parts.push(el("p", { class: "muted", id: "output" }, "Nothing printed."));
  }
  if (data.error) {
    parts.push(el("h3", {}, "Traceback"));
    parts.push(el("pre", { id: "traceback" }, data.error));
  }
  detail.replaceChildren(...parts);
}

function callCard(call, component) {
  const card = el("div", { class: call.error ? "call refused" : "call", "data-capability": call.capability, "data-function": call.function },
    el("div", { class: "call-head" },
      el("span", { class: "name" }, `${call.capability}.${call.function}`),
      el("span", { class: "when" }, `+${ms(call.offset)} ms, ${ms(call.duration)} ms`)));
  const fields = el("dl");
  for (const [name, value] of Object.entries(call.fields)) fields.append(el("dt", {}, name), el("dd", {}, text(value)));
  if (fields.childElementCount) card.append(fields);
  if (call.error) card.append(el("div", { class: "error" }, `${call.error.kind}: ${call.error.message}`));
  if (call.allow) {
    card.append(el("div", { class: "allow" },
      `To allow this call, add to [component.${component}] in spin.toml:`,
      el("code", {}, call.allow)));
  }
  return card;
}

// --- tabs, stores, build --------------------------------------------------------------------

function showTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== name;
  clearInterval(state.buildTimer);
  if (name === "build") {
    loadBuild();
    state.buildTimer = setInterval(loadBuild, 2000);
  }
  if (name === "stores") {
    const frame = document.getElementById("stores-frame");
    if (!frame.hidden && !frame.getAttribute("src")) frame.setAttribute("src", "/stores/");
  }
}

async function loadBuild() {
  const data = await getJson("/api/build");
  const said = document.getElementById("build-state");
  const list = document.getElementById("build-outcomes");
  if (!data.enabled) {
    said.textContent = "The build check is off (--no-build-check).";
    list.replaceChildren();
    return;
  }
  said.textContent = data.building ? `Building ${data.building}…` : data.outcomes.length ? "" : "No build has finished yet.";
  list.replaceChildren(...data.outcomes.map((outcome) => el("div", { class: "outcome" },
    el("div", {}, el("strong", {}, outcome.component), " ",
      el("span", { class: `state ${outcome.state}` }, outcome.text), " ",
      el("span", { class: "muted" }, new Date(outcome.finished * 1000).toLocaleTimeString())),
    outcome.output ? el("pre", {}, outcome.output) : null)));
}

async function start() {
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  try {
    const app = await getJson("/api/app");
    document.getElementById("app-name").textContent = app.name;
    state.keep = app.keep;
    document.title = `${app.name}: spin-py inspector`;
    if (!app.stores) {
      document.getElementById("no-stores").hidden = false;
      document.getElementById("stores-frame").hidden = true;
    }
  } catch (error) {
    offline();
  }
  loadAll().catch(offline);
}

start();
