// The agent desktop: log in, state control, call pop, script, hold / transfer / closing
// phrases, wrap-up before ready again (SPEC-Q6), complaint registration and callbacks.
// Everything live comes from the /api/events WebSocket; the REST calls only act or fetch.

import {
  api, connectEvents, el, fmtDateTime, fmtDue, fmtDuration, fmtTime, lang, serverNow, setupTopBar,
  t, toast, translate, currentUser, setLang,
} from "./common.js";

const $ = (id) => document.getElementById(id);

const desk = {
  me: null,
  config: null,
  state: "logged_out",
  reason: null,
  since: Date.now() / 1000,
  call: null,      // {id, phase: ringing|talking|held|wrapup, pop, transferSenior}
  lastCall: null,  // the call the wrap-up is for
};

// --- log in and password change ---------------------------------------------------------

function showLogin(error = "") {
  document.body.classList.add("anon");  // nothing but the login until someone logs in
  $("login").hidden = false;
  $("desk").hidden = true;
  $("login-form").hidden = false;
  $("password-form").hidden = true;
  $("login-error").textContent = error;
  $("login-user").focus();
}

async function onLogin(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const username = $("login-user").value.trim();
  const password = $("login-pass").value;
  try {
    const session = await api("POST", "/api/session", { username, password });
    if (session.password_change_required) {
      $("login-form").hidden = true;
      $("password-form").hidden = false;
      $("pw-old").value = password;
      $("pw-new").focus();
      return;
    }
    await start();
  } catch (error) {
    $("login-error").textContent = t("error." + error.code, {}) === "error." + error.code
      ? error.message : t("error." + error.code);
  }
}

async function onPasswordChange(event) {
  event.preventDefault();
  $("password-error").textContent = "";
  if ($("pw-new").value !== $("pw-repeat").value) {
    $("password-error").textContent = t("password.mismatch");
    return;
  }
  try {
    await api("POST", "/api/password", { old_password: $("pw-old").value, new_password: $("pw-new").value });
    toast(t("password.changed"), "ok");
    await start();
  } catch (error) {
    $("password-error").textContent = error.message;
  }
}

// --- start --------------------------------------------------------------------------------

async function start() {
  const me = await currentUser();
  if (!me) { showLogin(); return; }
  desk.me = me;
  setupTopBar(me);
  if (!me.agent_number) { location.href = me.role === "qa" ? "/qa" : "/wallboard"; return; }
  document.body.classList.remove("anon");
  $("login").hidden = true;
  $("desk").hidden = false;
  desk.config = await api("GET", "/api/desktop/config");
  fillConfig();
  const agents = await api("GET", "/api/agents");
  const mine = agents.find((a) => a.agent_id === me.agent_number);
  if (mine) {
    desk.state = mine.state;
    desk.reason = mine.reason;
    if (mine.call_id) await popCall(mine.call_id, mine.state === "ringing" ? "ringing" : "talking");
  }
  connectEvents(onEvent, (up) => { $("ws-state").className = up ? "ws on" : "ws off"; });
  await loadCallbacks();
  render();
}

function option(value, text) {
  return el("option", { value }, text);
}

function label(item) {
  return lang === "en" ? item.en : item.zh;
}

function fillConfig() {
  const c = desk.config;
  $("nr-reason").replaceChildren(...c.not_ready_reasons.map((r) => option(r, t("reason." + r))));
  $("hold-reason").replaceChildren(option("", t("hold.pick")), ...c.hold_reasons.map((r) => option(r.id, label(r))));
  $("wrap-type").replaceChildren(option("", t("wrap.pick")), ...c.call_types.map((r) => option(r.id, label(r))));
  const targets = [option("", t("xfer.pick"))];
  for (const q of c.queues) targets.push(option("queue:" + q, t("xfer.queue") + " " + q));
  for (const a of c.agents) if (a !== desk.me.agent_number) targets.push(option("agent:" + a, t("xfer.agent") + " " + a));
  $("xfer-target").replaceChildren(...targets);
  $("closing-buttons").replaceChildren(...c.closing_phrases.map((p) =>
    el("button", { class: "phrase", dataset: { phrase: p }, title: c.script[p.toLowerCase()]?.[lang] ?? p,
      onclick: () => closeWith(p) }, `${p} ${t("close." + p)}`)));
  const sip = c.sip;
  $("sip").replaceChildren(
    el("dt", {}, t("sip.user")), el("dd", { "data-testid": "sip-user" }, sip.username),
    el("dt", {}, t("sip.domain")), el("dd", {}, `${sip.domain}:${sip.port}`),
    el("dt", {}, t("sip.transport")), el("dd", {}, sip.transports.join(", ").toUpperCase()),
    el("dt", {}, t("sip.realm")), el("dd", {}, sip.realm));
  $("banned").replaceChildren(...c.banned_phrases.map((p) => el("li", {}, p)));
}

// --- live events ----------------------------------------------------------------------------

function mine(data) {
  return data.agent_id === desk.me.agent_number;
}

async function onEvent({ type, data }) {
  switch (type) {
    case "AgentStateChanged":
      if (!mine(data)) return;
      desk.state = data.new;
      desk.reason = data.reason;
      desk.since = data.at;
      break;
    case "OfferStarted":
      if (!mine(data)) return;
      await popCall(data.call_id, "ringing");
      break;
    case "OfferEnded":
      if (mine(data) && data.outcome !== "answered" && desk.call?.id === data.call_id) desk.call = null;
      break;
    case "CallAnswered":
      if (!mine(data)) return;
      await popCall(data.call_id, "talking");
      break;
    case "HoldStarted":
      if (mine(data) && desk.call) desk.call.phase = "held";
      break;
    case "HoldEnded":
      if (mine(data) && desk.call) { desk.call.phase = "talking"; desk.call.unheld = true; }
      break;
    case "CallTransferred":
      if (data.from_agent === desk.me.agent_number && desk.call) desk.call.transferSenior = data.to_senior;
      break;
    case "TalkEnded":
      if (!mine(data)) return;
      desk.lastCall = desk.call ?? { id: data.call_id };
      desk.call = null;
      $("wrap-form").reset();
      break;
    case "WrapupEnded":
      if (mine(data)) desk.lastCall = null;
      break;
    case "CallbackTaskChanged":
      await loadCallbacks();
      break;
    case "ComplaintRegistered":
    case "ComplaintUpdated":
      if (desk.call) await popCall(desk.call.id, desk.call.phase);
      break;
    default:
      return;
  }
  render();
}

async function popCall(callId, phase) {
  const previous = desk.call?.id === callId ? desk.call : null;
  desk.call = { ...(previous ?? {}), id: callId, phase };
  try {
    desk.call.pop = await api("GET", `/api/calls/${encodeURIComponent(callId)}/pop`);
    desk.call.popAt = serverNow();
  } catch (error) {
    toast(error.message, "error");
  }
  render();
}

// --- actions --------------------------------------------------------------------------------

async function act(fn) {
  try {
    await fn();
  } catch (error) {
    toast(error.message, "error");
  }
}

function setState(body) {
  return act(() => api("POST", `/api/agents/${desk.me.agent_number}/state`, body));
}

function closeWith(phrase) {
  if (!desk.call) return;
  act(() => api("POST", `/api/calls/${encodeURIComponent(desk.call.id)}/close`, { phrase }));
}

function hold() {
  const reasonId = $("hold-reason").value;
  if (!reasonId) { toast(t("hold.need_reason"), "error"); return; }
  if (!$("hold-consent").checked) { toast(t("hold.need_consent"), "error"); return; }
  const reason = desk.config.hold_reasons.find((r) => r.id === reasonId);
  act(async () => {
    await api("POST", `/api/calls/${encodeURIComponent(desk.call.id)}/hold`, { reason: reason.zh });
    $("hold-consent").checked = false;
  });
}

function unhold() {
  act(() => api("POST", `/api/calls/${encodeURIComponent(desk.call.id)}/unhold`));
}

// Card numbers and other sensitive data must never reach the recording (issue 6).
function pauseRecording() {
  act(async () => {
    await api("POST", `/api/calls/${encodeURIComponent(desk.call.id)}/recording/pause`,
      { reason: "sensitive data" });
    toast(t("rec.paused"), "info");
  });
}

function resumeRecording() {
  act(async () => {
    await api("POST", `/api/calls/${encodeURIComponent(desk.call.id)}/recording/resume`);
    toast(t("rec.resumed"), "info");
  });
}

function transfer() {
  const target = $("xfer-target").value;
  if (!target) { toast(t("xfer.pick"), "error"); return; }
  const [kind, name] = target.split(":");
  const body = { senior: $("xfer-senior").checked };
  body[kind === "queue" ? "to_queue" : "to_agent"] = name;
  act(() => api("POST", `/api/calls/${encodeURIComponent(desk.call.id)}/transfer`, body));
}

async function submitWrapup(event) {
  event.preventDefault();
  const resolved = document.querySelector("input[name=resolved]:checked");
  await act(async () => {
    await api("POST", `/api/agents/${desk.me.agent_number}/wrapup`, {
      call_type: $("wrap-type").value, summary: $("wrap-summary").value,
      resolved: resolved?.value === "yes",
    });
    toast(t("wrap.done"), "ok");
  });
}

function openComplaint() {
  const call = desk.call ?? desk.lastCall;
  $("c-number").value = call?.pop?.caller ?? "";
  $("c-name").value = "";
  $("c-desc").value = "";
  $("complaint-dialog").showModal();
}

async function submitComplaint(event) {
  if (event.submitter?.value !== "ok") return;
  event.preventDefault();
  const call = desk.call ?? desk.lastCall;
  await act(async () => {
    const created = await api("POST", "/api/complaints", {
      call_id: call?.id ?? null, caller_number: $("c-number").value, caller_name: $("c-name").value,
      kind: $("c-kind").value, klass: $("c-class").value, description: $("c-desc").value,
    });
    $("complaint-dialog").close();
    toast(t("complaint.created", { ref: created.reference, due: fmtDue(created.due_at) }), "ok");
  });
}

async function loadCallbacks() {
  const tasks = await api("GET", "/api/callbacks");
  $("cb-count").textContent = tasks.length;
  $("callbacks").replaceChildren(...tasks.map((task) => {
    const outcome = el("select", {}, ...["reached", "no_answer", "busy", "wrong_number"].map((o) => option(o, t("cb." + o))));
    return el("li", {},
      el("div", { class: "row" }, el("strong", {}, task.number), el("span", { class: "hint" }, `${task.queue ?? ""} ${fmtTime(task.created_at)}`)),
      el("div", { class: "row" }, outcome, el("button", { onclick: () => act(() =>
        api("POST", `/api/callbacks/${task.id}/done`, { outcome: outcome.value, note: "" })) }, t("cb.done"))));
  }));
}

// --- rendering ------------------------------------------------------------------------------

function render() {
  const s = desk.state;
  const badge = $("state-badge");
  badge.className = `badge state-${s}`;
  badge.textContent = t("state." + s) + (s === "not_ready" && desk.reason ? ` · ${t("reason." + desk.reason)}` : "");
  const inWrapup = s === "wrapup";
  const onCall = ["ringing", "talking", "on_hold"].includes(s) || (desk.call && desk.call.phase !== "ringing");
  $("btn-ready").disabled = s === "ready" || inWrapup || onCall;
  $("btn-not-ready").disabled = inWrapup;
  $("state-note").textContent = inWrapup ? t("wrap.required") : "";
  renderPop();
  const talking = desk.call && ["talking", "held"].includes(desk.call.phase);
  $("btn-hold").disabled = !talking || desk.call.phase === "held";
  $("btn-unhold").disabled = !talking || desk.call.phase !== "held";
  $("btn-transfer").disabled = !talking;
  $("btn-rec-pause").disabled = !talking;
  $("btn-rec-resume").disabled = !talking;
  for (const b of $("closing-buttons").children) b.disabled = !talking;
  $("wrapup").hidden = !inWrapup;
  renderScript();
}

function renderPop() {
  // During wrap-up the last call stays on screen: the summary is written from it.
  const call = desk.call ?? (desk.state === "wrapup" && desk.lastCall
    ? { ...desk.lastCall, phase: "wrapup" } : null);
  const pop = call?.pop;
  $("pop").className = `card pop ${call ? call.phase : "idle"}`;
  $("pop-empty").hidden = Boolean(pop);
  $("pop-body").hidden = !pop;
  $("pop-status").textContent = call ? t("phase." + call.phase) : "";
  $("pop-status").className = `badge phase-${call?.phase ?? "none"}`;
  if (!pop) return;
  $("pop-caller").textContent = pop.caller;
  $("pop-late").hidden = !pop.late;
  $("pop-queue").textContent = pop.queue;
  $("pop-menu").textContent = pop.menu_path.length ? pop.menu_path.join(" → ") : "—";
  $("pop-waited").textContent = t("pop.seconds", { n: Math.round(livePopWait(call)) });
  $("pop-history").replaceChildren(...(pop.earlier_contacts.length ? pop.earlier_contacts.map((c) =>
    el("tr", {}, el("td", {}, fmtDateTime(c.at)), el("td", {}, c.queue ?? ""),
      el("td", {}, c.call_type ?? c.outcome ?? ""), el("td", { class: "summary" }, c.summary ?? "")))
    : [el("tr", {}, el("td", { class: "hint" }, t("pop.first")))]));
  $("pop-complaints").replaceChildren(...(pop.open_complaints.length ? pop.open_complaints.map((c) =>
    el("li", { class: `urgency-${c.urgency}` }, el("strong", {}, c.reference), " ",
      t("class." + c.klass), " · ", t("complaint.due"), " ", fmtDue(c.due_at)))
    : [el("li", { class: "hint" }, t("pop.no_complaints"))]));
}

function livePopWait(call) {
  const pop = call.pop;
  if (pop.answered || call.phase === "wrapup") return pop.waited;
  return pop.waited + (serverNow() - call.popAt);
}

function scriptItem(id, text, stateClass) {
  return el("li", { class: stateClass, dataset: { phrase: id } }, el("span", { class: "pid" }, id), el("span", {}, text));
}

function renderScript() {
  const c = desk.config;
  if (!c) return;
  const s = c.script;
  const number = desk.me.agent_number;
  const greeting = lang === "en"
    ? `${s.p10_prefix?.en ?? "Hello! Agent"} ${number} ${s.p10_suffix?.en ?? ""}`
    : `${s.p10_prefix?.zh ?? "您好!"}${number}${s.p10_suffix?.zh ?? ""}`;
  const call = desk.call;
  const phase = call?.phase ?? (desk.state === "wrapup" ? "wrapup" : "idle");
  const late = Boolean(call?.pop?.late);
  const items = [];
  const now = (cond) => (cond ? "now" : "");
  if (late) items.push(scriptItem("P4", s.p4[lang], now(phase === "ringing" || phase === "talking")));
  items.push(scriptItem("P10", greeting, now(phase === "ringing" || (phase === "talking" && !late))));
  items.push(scriptItem(t("script.hold_id"), t("script.hold"), now(phase === "held")));
  if (call?.unheld) items.push(scriptItem(t("script.back_id"), t("script.back"), now(phase === "talking")));
  items.push(scriptItem("P9", s.p9[lang], now(Boolean(call?.transferSenior) || $("xfer-senior").checked)));
  items.push(scriptItem("P12", s.p12[lang], now(phase === "talking")));
  $("script").replaceChildren(...items);
}

function tick() {
  $("state-timer").textContent = fmtDuration(serverNow() - desk.since);
  if (desk.call?.pop && !desk.call.pop.answered) {
    $("pop-waited").textContent = t("pop.seconds", { n: Math.round(livePopWait(desk.call)) });
  }
}

// --- wiring -----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  setLang(lang);
  translate();
  $("login-form").addEventListener("submit", onLogin);
  $("password-form").addEventListener("submit", onPasswordChange);
  $("btn-ready").onclick = () => setState({ state: "ready" });
  $("btn-not-ready").onclick = () => setState({ state: "not_ready", reason: $("nr-reason").value });
  $("btn-logout-acd").onclick = () => setState({ state: "logged_out" });
  $("btn-hold").onclick = hold;
  $("btn-unhold").onclick = unhold;
  $("btn-rec-pause").onclick = pauseRecording;
  $("btn-rec-resume").onclick = resumeRecording;
  $("btn-transfer").onclick = transfer;
  $("xfer-senior").onchange = renderScript;
  $("btn-complaint").onclick = openComplaint;
  $("wrap-form").addEventListener("submit", submitWrapup);
  $("complaint-form").addEventListener("submit", submitComplaint);
  document.addEventListener("langchange", () => { if (desk.config) fillConfig(); render(); });
  setInterval(tick, 1000);
  setupTopBar(null);
  try {
    await start();
  } catch (error) {
    showLogin(error.message);
  }
});
