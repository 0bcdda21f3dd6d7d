// Shift handover (SPEC-O2): the outgoing shift leader writes the notes and open items; a
// leader of the next shift acknowledges them.

import {
  api, connectEvents, currentUser, el, fmtDateTime, lang, setLang, setupTopBar, t, toast, translate,
} from "./common.js";

const $ = (id) => document.getElementById(id);
let me = null;

async function load() {
  const notes = await api("GET", "/api/handover");
  if (!notes.length) { $("notes").replaceChildren(el("h3", {}, t("h.title")), el("p", { class: "empty" }, t("h.none"))); return; }
  $("notes").replaceChildren(el("h3", {}, t("h.title")), ...notes.map((n) => el("div", {
    class: `note ${n.acknowledged_by ? "" : "pending"}`, dataset: { id: n.id },
  },
    el("div", { class: "row" }, el("strong", {}, n.shift), el("span", { class: "hint" }, `${t("h.by")} ${n.author} · ${fmtDateTime(n.created_at)}`)),
    el("p", {}, n.body),
    n.open_items.length ? el("ul", {}, ...n.open_items.map((i) => el("li", {}, i.text))) : null,
    n.acknowledged_by
      ? el("p", { class: "hint", "data-testid": "acked" }, t("h.acked", { who: n.acknowledged_by, at: fmtDateTime(n.acknowledged_at) }))
      : el("div", { class: "row" }, el("span", { class: "badge warn" }, t("h.pending")),
        n.author !== me.username ? el("button", { class: "primary", onclick: () => ack(n.id) }, t("h.ack")) : null))));
}

async function ack(id) {
  try { await api("POST", `/api/handover/${id}/ack`); } catch (error) { toast(error.message, "error"); }
}

async function post(event) {
  event.preventDefault();
  try {
    await api("POST", "/api/handover", {
      shift: $("h-shift").value, body: $("h-body").value,
      open_items: $("h-items").value.split("\n").map((s) => s.trim()).filter(Boolean),
    });
    $("handover-form").reset();
  } catch (error) {
    toast(error.message, "error");
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  setLang(lang);
  translate();
  me = await currentUser();
  if (!me) { location.href = "/"; return; }
  setupTopBar(me);
  $("handover-form").addEventListener("submit", post);
  document.addEventListener("langchange", load);
  connectEvents(({ type }) => { if (type === "HandoverChanged") load(); },
    (up) => { $("ws-state").className = up ? "ws on" : "ws off"; });
  await load();
});
