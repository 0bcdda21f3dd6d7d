// Complaints and work orders: the list (identity masked per SPEC-R4 by the server), a work
// order's history, and logging the callback and the result (SPEC-C3).

import {
  api, connectEvents, currentUser, el, fmtDateTime, fmtDue, lang, setLang, setupTopBar, t, toast, translate,
} from "./common.js";

const $ = (id) => document.getElementById(id);
let selected = null;

async function load() {
  const rows = await api("GET", `/api/complaints${$("open-only").checked ? "?open=1" : ""}`);
  $("empty").hidden = rows.length > 0;
  $("rows").replaceChildren(...rows.map((c) => el("tr", {
    class: `clickable ${selected === c.id ? "selected" : ""}`, dataset: { id: c.id }, onclick: () => show(c.id),
  },
    el("td", {}, c.reference), el("td", {}, t("kind." + c.kind)), el("td", {}, t("class." + c.klass)),
    el("td", {}, c.caller_number ?? "—"), el("td", {}, c.owner), el("td", {}, fmtDateTime(c.registered_at)),
    el("td", { dataset: { field: "due" } }, fmtDue(c.due_at)),
    el("td", { class: `urgency-${c.urgency}` }, t("urgency." + c.urgency)),
    el("td", {}, t("status." + c.status)))));
  if (selected !== null) await show(selected);
}

async function show(id) {
  selected = id;
  for (const row of $("rows").children) row.classList.toggle("selected", Number(row.dataset.id) === id);
  const c = await api("GET", `/api/complaints/${id}`);
  const note = el("textarea", { rows: 3, id: "c-note" });
  const button = (action, key) => el("button", { onclick: () => act(id, action, note.value) }, t(key));
  $("detail").replaceChildren(...[
    el("h3", {}, `${c.reference} · ${t("kind." + c.kind)} · ${t("class." + c.klass)}`),
    el("dl", { class: "kv" },
      el("dt", {}, t("c.caller")), el("dd", {}, `${c.caller_number ?? "—"} ${c.caller_name ?? ""}`),
      el("dt", {}, t("c.owner")), el("dd", {}, c.owner),
      el("dt", {}, t("c.registered")), el("dd", {}, fmtDateTime(c.registered_at)),
      el("dt", {}, t("c.due")), el("dd", { class: `urgency-${c.urgency}`, "data-testid": "due" }, fmtDue(c.due_at)),
      el("dt", {}, t("c.status")), el("dd", {}, t("status." + c.status))),
    el("p", {}, c.description),
    c.result ? el("p", {}, el("strong", {}, t("c.close") + ": "), c.result) : null,
    el("h4", {}, t("c.actions")),
    el("ul", { class: "list" }, ...c.actions.map((a) => el("li", {},
      `${fmtDateTime(a.at)} · ${a.actor} · ${actionName(a.action)} ${a.note}`))),
    c.status !== "closed" ? el("div", {},
      el("label", {}, t("c.note"), note),
      el("div", { class: "row", style: "margin-top:6px" },
        button("callback_reached", "c.callback_reached"), button("callback_missed", "c.callback_missed"),
        c.status === "replied" ? button("close", "c.close") : null)) : null,
  ].filter(Boolean));
}

function actionName(action) {
  const key = ["registered", "escalated"].includes(action) ? "action." + action : "c." + action;
  return t(key);
}

async function act(id, action, note) {
  try {
    await api("POST", `/api/complaints/${id}/actions`, { action, note });
  } catch (error) {
    toast(error.message, "error");
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  setLang(lang);
  translate();
  const me = await currentUser();
  if (!me) { location.href = "/"; return; }
  setupTopBar(me);
  $("open-only").onchange = load;
  document.addEventListener("langchange", load);
  connectEvents(({ type }) => { if (type.startsWith("Complaint")) load(); },
    (up) => { $("ws-state").className = up ? "ws on" : "ws off"; });
  await load();
});
