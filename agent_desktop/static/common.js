// Shared by every page: the API client, the live event socket, i18n and formatting.
// Plain ES modules, no build step. Times are shown in China Standard Time.

import { STRINGS } from "./i18n.js";

const LANG_KEY = "hotline.lang";
export let lang = localStorage.getItem(LANG_KEY) || "zh";

export function t(key, vars = {}) {
  const table = STRINGS[lang] || STRINGS.zh;
  let text = table[key] ?? STRINGS.zh[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, value);
  return text;
}

export function setLang(next) {
  lang = next;
  localStorage.setItem(LANG_KEY, next);
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
  translate();
}

// Every element with data-i18n gets its text from the table; data-i18n-ph its placeholder.
export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ApiError(response.status, data?.error ?? "http", data?.message ?? response.statusText);
  }
  return data;
}

// The one live channel: every service event as {type, data}. Reconnects after a drop.
export function connectEvents(onEvent, onState = () => {}) {
  let socket;
  let stopped = false;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/events`);
    socket.onopen = () => onState(true);
    socket.onmessage = (message) => onEvent(JSON.parse(message.data));
    socket.onclose = () => {
      onState(false);
      if (!stopped) setTimeout(open, 2000);
    };
  };
  open();
  return () => { stopped = true; socket?.close(); };
}

const CST = "Asia/Shanghai";

export function fmtTime(epoch) {
  if (epoch == null) return "—";
  return new Date(epoch * 1000).toLocaleTimeString("zh-CN", { timeZone: CST, hour12: false });
}

export function fmtDateTime(epoch) {
  if (epoch == null) return "—";
  const d = new Date(epoch * 1000);
  const date = d.toLocaleDateString("sv-SE", { timeZone: CST });
  const time = d.toLocaleTimeString("zh-CN", { timeZone: CST, hour12: false, hour: "2-digit", minute: "2-digit" });
  return `${date} ${time}`;
}

export function fmtDuration(seconds) {
  if (seconds == null || Number.isNaN(seconds)) return "—";
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m % 60)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export function fmtPercent(ratio) {
  return ratio == null ? "—" : `${(ratio * 100).toFixed(1)}%`;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.className = `toast ${kind} show`;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => box.classList.remove("show"), 4000);
}

// The server's clock minus ours, so live timers agree with the server's timestamps.
export let clockSkew = 0;
export function noteServerTime(serverNow) {
  clockSkew = serverNow - Date.now() / 1000;
}
export function serverNow() {
  return Date.now() / 1000 + clockSkew;
}

// Pages shared top bar: who is logged in, language switch, log out, navigation by role.
export function setupTopBar(me) {
  const who = document.getElementById("who");
  const showWho = () => { if (who) who.textContent = me ? `${me.username} · ${t("role." + me.role)}` : ""; };
  showWho();
  document.addEventListener("langchange", showWho);
  for (const link of document.querySelectorAll("[data-roles]")) {
    const roles = link.dataset.roles.split(",");
    link.hidden = !me || !roles.includes(me.role);
  }
  const switcher = document.getElementById("lang");
  if (switcher) {
    switcher.value = lang;
    switcher.onchange = () => { setLang(switcher.value); document.dispatchEvent(new Event("langchange")); };
  }
  const logout = document.getElementById("logout");
  if (logout) {
    logout.hidden = !me;
    logout.onclick = async () => {
      try { await api("DELETE", "/api/session"); } catch (e) { /* already gone */ }
      location.href = "/";
    };
  }
}

export async function currentUser() {
  try {
    return await api("GET", "/api/me");
  } catch (error) {
    if (error.status === 401 || error.status === 403) return null;
    throw error;
  }
}

// A due time at local midnight is the end of the day before: show it as "<that day> 24:00",
// the way work orders state a deadline ("12月2日24时前答复").
export function fmtDue(epoch) {
  if (epoch == null) return "—";
  const d = new Date(epoch * 1000);
  const time = d.toLocaleTimeString("zh-CN", { timeZone: CST, hour12: false, hour: "2-digit", minute: "2-digit" });
  if (time === "00:00" || time === "24:00") {
    const before = new Date((epoch - 1) * 1000).toLocaleDateString("sv-SE", { timeZone: CST });
    return `${before} 24:00`;
  }
  return fmtDateTime(epoch);
}
