// Recordings within the principal's scope (SPEC-R2); listening needs a work reason and is
// audited by the server; the player seeks with HTTP range requests.

import {
  api, currentUser, el, fmtDateTime, fmtDuration, lang, setLang, setupTopBar, t, translate,
} from "./common.js";

const $ = (id) => document.getElementById(id);

async function load() {
  const rows = await api("GET", "/api/recordings");
  $("empty").hidden = rows.length > 0;
  $("rows").replaceChildren(...rows.map((r) => el("tr", { class: "clickable", onclick: () => { $("r-call").value = r.call_id; $("r-reason").focus(); } },
    el("td", {}, r.call_id), el("td", {}, r.agent_number ?? ""), el("td", {}, r.team ?? ""),
    el("td", {}, fmtDateTime(r.started_at)), el("td", { class: "num" }, fmtDuration(r.duration_s)))));
}

async function listen(event) {
  event.preventDefault();
  $("r-error").textContent = "";
  const url = `/api/recordings/${encodeURIComponent($("r-call").value.trim())}/audio?reason=${encodeURIComponent($("r-reason").value)}`;
  // Ask with a one-byte range first so a refusal shows as a message, not a silent player.
  const probe = await fetch(url, { headers: { Range: "bytes=0-0" } });
  if (!probe.ok) {
    const body = await probe.json().catch(() => ({}));
    $("r-error").textContent = `${probe.status} ${body.message ?? probe.statusText}`;
    $("player").removeAttribute("src");
    return;
  }
  $("player").src = url;
}

document.addEventListener("DOMContentLoaded", async () => {
  setLang(lang);
  translate();
  const me = await currentUser();
  if (!me) { location.href = "/"; return; }
  setupTopBar(me);
  $("ws-state").hidden = true;  // this page needs no live events
  $("listen-form").addEventListener("submit", listen);
  document.addEventListener("langchange", load);
  await load();
});
