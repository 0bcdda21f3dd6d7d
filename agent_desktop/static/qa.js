// QA review: the work list, a player with the waveform (click to seek) and time-stamped
// notes, and the scorecard (SPEC-R1). Opening a recording needs a work reason (SPEC-R2);
// the one audited fetch feeds both the waveform and the player.

import {
  api, currentUser, el, fmtDuration, lang, setLang, setupTopBar, t, toast, translate,
} from "./common.js";

const $ = (id) => document.getElementById(id);
const REVIEW_REASON = "质检评分 QA review";
let card = null;
let current = null;   // call id under review
let notes = [];
let objectUrl = null;

async function loadWork() {
  const rows = await api("GET", "/api/qa/work");
  $("empty").hidden = rows.length > 0;
  $("work").replaceChildren(...rows.map((w) => el("tr", {
    class: `clickable ${w.call_id === current ? "selected" : ""}`, dataset: { call: w.call_id }, onclick: () => open(w),
  }, el("td", {}, w.call_id), el("td", {}, w.agent_number ?? ""), el("td", {}, w.queue ?? ""),
    el("td", {}, w.reasons.map((r) => t("qa.reason." + r)).join(", ")))));
}

async function open(item) {
  current = item.call_id;
  notes = [];
  renderNotes();
  for (const row of $("work").children) row.classList.toggle("selected", row.dataset.call === current);
  $("player-title").textContent = `${item.call_id} · ${item.agent_number ?? ""}`;
  const url = `/api/recordings/${encodeURIComponent(item.call_id)}/audio?reason=${encodeURIComponent(REVIEW_REASON)}`;
  const response = await fetch(url);
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    toast(`${response.status} ${body.message ?? ""}`, "error");
    return;
  }
  const bytes = await response.arrayBuffer();
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
  $("player").src = objectUrl;
  const context = new AudioContext();
  const audio = await context.decodeAudioData(bytes.slice(0));
  drawWave(audio);
  await context.close();
  $("player-box").hidden = false;
  $("score-form").hidden = false;
  $("result").textContent = "";
}

function drawWave(audio) {
  // Caller (left) above the line, agent (right) below, as the recording is laid out.
  const canvas = $("wave");
  const g = canvas.getContext("2d");
  const { width, height } = canvas;
  g.clearRect(0, 0, width, height);  // transparent: the play-position line shows through
  const channels = [audio.getChannelData(0), audio.getChannelData(Math.min(1, audio.numberOfChannels - 1))];
  const per = Math.max(1, Math.floor(channels[0].length / width));
  channels.forEach((data, index) => {
    g.fillStyle = index === 0 ? "#1565c0" : "#2e7d32";
    for (let x = 0; x < width; x++) {
      let peak = 0;
      for (let i = x * per; i < Math.min(data.length, (x + 1) * per); i++) peak = Math.max(peak, Math.abs(data[i]));
      const h = Math.max(1, peak * (height / 2 - 4));
      if (index === 0) g.fillRect(x, height / 2 - h, 1, h);
      else g.fillRect(x, height / 2, 1, h);
    }
  });
  canvas.dataset.duration = audio.duration;
  drawCursor();
}

function drawCursor() {
  // The play position is a thin red line over the waveform (a CSS gradient, so the drawn
  // waveform is never repainted while playing).
  const canvas = $("wave");
  const player = $("player");
  const duration = Number(canvas.dataset.duration || 0);
  $("pos").textContent = `${fmtDuration(player.currentTime)} / ${fmtDuration(duration)}`;
  if (!duration) return;
  const at = (player.currentTime / duration) * 100;
  canvas.style.background = `linear-gradient(to right, transparent ${at}%, #c62828 ${at}%, `
    + `#c62828 calc(${at}% + 2px), transparent calc(${at}% + 2px))`;
}

function seek(event) {
  const canvas = $("wave");
  const duration = Number(canvas.dataset.duration || 0);
  if (!duration) return;
  const rect = canvas.getBoundingClientRect();
  $("player").currentTime = ((event.clientX - rect.left) / rect.width) * duration;
  drawCursor();
}

function addNote() {
  const text = $("note-text").value.trim();
  if (!text) return;
  notes.push({ offset_s: Math.round($("player").currentTime * 10) / 10, text, criterion: null });
  notes.sort((a, b) => a.offset_s - b.offset_s);
  $("note-text").value = "";
  renderNotes();
}

function renderNotes() {
  $("notes").replaceChildren(...notes.map((n) => el("li", {},
    el("button", { class: "link-dark", onclick: () => { $("player").currentTime = n.offset_s; drawCursor(); } }, fmtDuration(n.offset_s)),
    " ", n.text)));
}

function renderCard() {
  $("criteria").replaceChildren(...card.sections.map((section) => el("fieldset", { class: "section" },
    el("legend", {}, `${section.title} (${section.weight})`),
    ...section.criteria.map((c) => el("div", { class: "criterion", dataset: { criterion: c.id } },
      el("div", {}, c.critical ? el("strong", { class: "urgency-overdue" }, "★ ") : null, c.text),
      el("div", { class: "row" },
        ...["met", "not_met", ...(c.allow_na ? ["n/a"] : [])].map((value) => el("label", { class: "check" },
          el("input", { type: "radio", name: c.id, value, required: true }), t("qa." + value)))))))));
}

async function submit(event) {
  event.preventDefault();
  const answers = {};
  for (const c of card.sections.flatMap((s) => s.criteria)) {
    answers[c.id] = document.querySelector(`input[name="${c.id}"]:checked`).value;
  }
  try {
    const result = await api("POST", "/api/qa/scores", { call_id: current, answers, comments: $("comments").value, notes });
    $("result").textContent = t("qa.scored", { total: result.total.toFixed(1) }) + (result.critical_failed ? ` · ${t("qa.critical")}` : "");
    $("score-form").reset();
    await loadWork();
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
  $("ws-state").hidden = true;
  card = await api("GET", "/api/qa/scorecard");
  renderCard();
  $("wave").addEventListener("click", seek);
  $("player").addEventListener("timeupdate", drawCursor);
  $("add-note").onclick = addNote;
  $("score-form").addEventListener("submit", submit);
  document.addEventListener("langchange", () => { renderCard(); loadWork(); });
  try {
    await loadWork();
  } catch (error) {
    toast(error.message, "error");
  }
});
