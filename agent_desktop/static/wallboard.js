// The supervisor wallboard. Figures come from GET /api/wallboard (computed by acd.metrics on
// the server); the page fetches them again whenever the WebSocket delivers an event, and
// only advances the clocks (time in state, waits) locally between events.

import {
  api, connectEvents, currentUser, el, fmtDuration, fmtPercent, fmtTime, noteServerTime,
  serverNow, setLang, setupTopBar, t, toast, translate, lang,
} from "./common.js";

const $ = (id) => document.getElementById(id);
let board = null;
let receivedAt = 0;
let refreshing = null;
let again = false;

async function refresh() {
  // One fetch at a time; events arriving meanwhile cause exactly one more.
  if (refreshing) { again = true; return; }
  refreshing = (async () => {
    try {
      board = await api("GET", "/api/wallboard");
      noteServerTime(board.now);
      receivedAt = serverNow();
      render();
    } catch (error) {
      if (error.status === 401 || error.status === 403) location.href = "/";
      else toast(error.message, "error");
    }
  })();
  await refreshing;
  refreshing = null;
  if (again) { again = false; await refresh(); }
}

function tile(name, value, sub = "", cls = "", testid = "") {
  return el("div", { class: `tile ${cls}`, "data-testid": testid || undefined },
    el("div", { class: "name" }, name), el("div", { class: "value" }, value), el("div", { class: "sub" }, sub));
}

function slClass(value) {
  if (value == null) return "";
  return value < board.service_level_target ? "bad" : "good";
}

function render() {
  const today = board.today;
  const recent = board.last_15_min;
  $("updated").textContent = fmtTime(board.now);
  const target = `${t("wb.target")} ${fmtPercent(board.service_level_target)}`;
  $("tiles").replaceChildren(
    tile(t("wb.sl_today"), fmtPercent(today.service_level), target, slClass(today.service_level), "sl-today"),
    tile(t("wb.sl_15"), fmtPercent(recent.service_level), target, slClass(recent.service_level), "sl-15"),
    tile(t("wb.answer_rate"), fmtPercent(today.answer_rate), `${t("wb.answered")} ${today.answered} / ${t("wb.offered")} ${today.offered}`, "", "answer-rate"),
    tile(t("wb.asa"), today.asa == null ? "—" : `${today.asa.toFixed(1)}s`, `${t("wb.aht")} ${today.aht == null ? "—" : fmtDuration(today.aht)}`, "", "asa"),
    tile(t("wb.fcr"), fmtPercent(today.fcr), `n = ${today.fcr_requests}`, "", "fcr"),
    tile(t("wb.satisfaction"), fmtPercent(today.satisfaction), `n = ${today.surveyed}`, "", "satisfaction"),
  );
  renderQueues();
  renderAgents();
  renderAbandoned();
  renderChart();
  renderAlerts();
}

function liveWait(q) {
  return q.waiting ? q.longest_wait + (serverNow() - receivedAt) : 0;
}

function renderQueues() {
  $("queues").replaceChildren(...board.queues.map((q) => {
    const wait = liveWait(q);
    return el("tr", { class: wait > q.service_level_seconds ? "long" : "", dataset: { queue: q.queue } },
      el("td", {}, q.queue), el("td", { class: "num", dataset: { field: "waiting" } }, q.waiting),
      el("td", { class: "num" }, q.waiting ? `${Math.floor(wait)}s` : "—"),
      el("td", { class: "num" }, `${q.ready_agents} / ${q.staffed_agents}`),
      el("td", { class: "num" }, q.today?.offered ?? 0),
      el("td", { class: "num" }, fmtPercent(q.today?.service_level)));
  }));
}

function renderAgents() {
  $("agents").replaceChildren(...board.agents.map((a) => el("tr", { dataset: { agent: a.agent_id } },
    el("td", {}, a.agent_id),
    el("td", {}, el("span", { class: `badge state-${a.state}`, dataset: { field: "state" } },
      t("state." + a.state) + (a.reason && a.state === "not_ready" ? ` · ${t("reason." + a.reason)}` : ""))),
    el("td", { class: "num", dataset: { since: a.since } }, fmtDuration(serverNow() - a.since)))));
}

function renderAbandoned() {
  const rows = board.abandoned.map((c) => el("tr", { dataset: { call: c.call_id } },
    el("td", {}, fmtTime(c.at)), el("td", {}, c.caller), el("td", {}, c.queue),
    el("td", { class: "num" }, `${c.wait}s${c.short ? " · " + t("wb.short") : ""}`),
    el("td", {}, c.callback_set ? el("span", { class: "badge" }, t("wb.callback_set"))
      : el("button", { onclick: () => setCallback(c) }, t("wb.callback")))));
  $("abandoned").replaceChildren(...rows);
}

async function setCallback(call) {
  try {
    await api("POST", "/api/callbacks", { call_id: call.call_id, number: call.caller, queue: call.queue });
  } catch (error) {
    toast(error.message, "error");
  }
}

function renderAlerts() {
  const out = [];
  for (const a of board.alerts) {
    if (a.kind === "service_level") {
      out.push(t("wb.alert_sl", { window: t("window." + a.window), value: fmtPercent(a.value), target: fmtPercent(a.target) }));
    }
  }
  // Waits grow between events, so the 10-second alert is re-checked every second here.
  for (const q of board.queues) {
    const wait = liveWait(q);
    if (q.waiting && wait > q.service_level_seconds) {
      out.push(t("wb.alert_wait", { queue: q.queue, value: Math.ceil(wait), target: q.service_level_seconds }));
    }
  }
  if (board.overdue_complaints) out.push(t("wb.alert_overdue", { n: board.overdue_complaints }));
  $("alerts").replaceChildren(...(out.length ? out.map((text) => el("div", { class: "alert" }, text))
    : [el("div", { class: "alert okay" }, t("wb.no_alerts"))]));
}

function renderChart() {
  const points = board.chart;
  const width = 400, height = 170, pad = 26;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const make = (tag, attrs) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    svg.append(node);
    return node;
  };
  // The whole day in 96 quarter hours; bars for offered/answered, a line for service level.
  const slots = 96;
  const slotW = (width - 2 * pad) / slots;
  const maxCalls = Math.max(1, ...points.map((p) => p.offered));
  make("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, stroke: "#99a" });
  const targetY = height - pad - board.service_level_target * (height - 2 * pad);
  make("line", { x1: pad, y1: targetY, x2: width - pad, y2: targetY, stroke: "#c62828", "stroke-dasharray": "4 3" });
  let path = "";
  for (const p of points) {
    const slot = Math.floor((p.start - board.day_start) / 900);
    const x = pad + slot * slotW;
    const h1 = (p.offered / maxCalls) * (height - 2 * pad);
    const h2 = (p.answered / maxCalls) * (height - 2 * pad);
    make("rect", { x, y: height - pad - h1, width: Math.max(1, slotW - 0.5), height: h1, fill: "#b8cde6" });
    make("rect", { x, y: height - pad - h2, width: Math.max(1, slotW - 0.5), height: h2, fill: "#1565c0" });
    if (p.service_level != null) {
      const y = height - pad - p.service_level * (height - 2 * pad);
      path += `${path ? "L" : "M"}${x + slotW / 2},${y}`;
    }
  }
  if (path) make("path", { d: path, fill: "none", stroke: "#2e7d32", "stroke-width": 2 });
  for (const hour of [0, 6, 12, 18, 24]) {
    const label = make("text", { x: pad + hour * 4 * slotW, y: height - 8, "font-size": 10, fill: "#667384", "text-anchor": "middle" });
    label.textContent = `${hour}:00`;
  }
  const legend = make("text", { x: pad, y: 12, "font-size": 10, fill: "#667384" });
  legend.textContent = `${t("wb.offered")} / ${t("wb.answered")} (max ${maxCalls}) — ${t("wb.sl_today")}`;
  $("chart").replaceChildren(svg);
}

function tick() {
  if (!board) return;
  for (const cell of document.querySelectorAll("#agents td[data-since]")) {
    cell.textContent = fmtDuration(serverNow() - Number(cell.dataset.since));
  }
  renderQueues();
  renderAlerts();
}

document.addEventListener("DOMContentLoaded", async () => {
  setLang(lang);
  translate();
  const me = await currentUser();
  if (!me) { location.href = "/"; return; }
  setupTopBar(me);
  document.addEventListener("langchange", () => board && render());
  connectEvents(() => refresh(), (up) => {
    $("ws-state").className = up ? "ws on" : "ws off";
    if (up) refresh();  // (re)connected: catch up on what happened while away
  });
  setInterval(tick, 1000);
});
