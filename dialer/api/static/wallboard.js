// The manager wallboard: campaigns with their state and controls, live figures and charts, reports.
"use strict";

let selected = null, me = null;
const ACTIONS = { initialized: ["start"], running: ["pause", "stop"], paused: ["resume", "stop"],
  stopping: [], stopped: ["start"], completed: [] };
const pct = (x) => (100 * x).toFixed(1) + "%";
// Why a campaign is not dialling, and what is wrong while it dials: one line per reason, marked by its kind.
const reasonList = (reasons) => el("span", { class: "reasons" }, ...reasons.map((r) =>
  el("span", { class: "reason " + (r.stops ? "stops" : "warns"), "data-reason": r.reason }, r.text)));

async function loadCampaigns() {
  const campaigns = await api("GET", "/api/v1/outbound/campaigns");
  const manage = me.role === "manager" || me.role === "admin";
  fill("campaigns", table(["campaign", "kind", "state", "dialing", "what is wrong", ""], campaigns.map((c) => [
    el("a", { href: "#", "data-campaign": c.id }, c.name), c.kind, el("span", { class: "state " + c.state },
      c.state), c.dialing ? "yes" : "no", reasonList(c.reasons),
    el("span", {}, ...(manage ? ACTIONS[c.state] : []).map((a) =>
      el("button", { class: "quiet", "data-action": a, "data-id": c.id }, a)))])));
  for (const link of document.querySelectorAll("[data-campaign]")) {
    link.onclick = (e) => { e.preventDefault(); select(Number(link.dataset.campaign)); };
  }
  for (const button of document.querySelectorAll("[data-action]")) {
    button.onclick = async () => {
      try {
        await api("POST", `/api/v1/outbound/campaigns/${button.dataset.id}/${button.dataset.action}`);
        fill("action-error");
      } catch (e) { fill("action-error", e.message); }
      loadCampaigns();
    };
  }
  if (selected === null && campaigns.length) select(campaigns[0].id);
}

function select(id) {
  selected = id;
  $("live").classList.remove("hidden");
  $("report-box").classList.remove("hidden");
  refresh();
  loadReport();
}

function figure(label, value, warn) {
  return el("div", { class: "figure" }, el("span", { class: "muted" }, label),
    el("b", { class: warn ? "error" : "" }, value));
}

function chart(id, samples, key, cap) {
  const svg = $(id), w = 400, h = 160;
  const top = Math.max(cap || 0, ...samples.map((s) => s[key]), 0.01) * 1.15;
  const y = (v) => h - (v / top) * h;
  const points = samples.map((s, i) => `${(i / Math.max(1, samples.length - 1)) * w},${y(s[key])}`).join(" ");
  const ns = "http://www.w3.org/2000/svg", parts = [];
  if (cap) {
    const line = document.createElementNS(ns, "line");
    for (const [k, v] of Object.entries({ x1: 0, x2: w, y1: y(cap), y2: y(cap), stroke: "#b91c1c",
      "stroke-dasharray": "6 4" })) line.setAttribute(k, v);
    parts.push(line);
  }
  const path = document.createElementNS(ns, "polyline");
  for (const [k, v] of Object.entries({ points, fill: "none", stroke: "#1d4ed8", "stroke-width": 2 })) {
    path.setAttribute(k, v);
  }
  parts.push(path);
  svg.replaceChildren(...parts);
}

function bars(counts) {
  const entries = Object.entries(counts).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const most = Math.max(1, ...entries.map(([, n]) => n));
  return entries.length ? table(["", "", ""], entries.map(([k, n]) =>
    [k.replace("_", " "), n, el("div", { class: "bar", style: `width:${(100 * n) / most}%` })])) : "none";
}

async function refresh() {
  if (selected === null) return;
  try {
    const s = await api("GET", `/api/v1/outbound/campaigns/${selected}/stats`);
    fill("live-name", s.name);
    const state = fill("live-state", s.state);
    state.className = "state " + s.state;
    fill("clock", new Date(s.at).toLocaleString(undefined, { timeZone: s.zone, timeZoneName: "short" }) +
      " (" + s.zone + ")");
    fill("live-warnings", reasonList(s.reasons));
    fill("figures", figure("dialing", s.dialing ? "yes" : "no", !s.dialing),
      figure("dial level", s.dial_level.toFixed(2)), figure("occupancy", pct(s.occupancy)),
      figure("abandoned today", `${pct(s.abandon_rate)} of ${pct(s.abandon_cap)}`, s.abandon_rate > s.abandon_cap),
      figure("cap budget left", s.abandon_budget_calls.toFixed(1) + " calls", s.abandon_budget_calls < 1),
      figure("contact rate", pct(s.contact_rate)), figure("attempts today", s.attempts_today),
      figure("live answers", s.live_today));
    chart("chart-occupancy", s.history, "occupancy", 0);
    chart("chart-abandon", s.history, "abandon_rate", s.abandon_cap);
    fill("agents", bars(s.agents));
    fill("calls", bars(s.calls_in_flight));
    fill("refusals-today", bars(s.refusals_today));
    fill("hourly", table(["hour", "attempts", "contacts", "sales", "refusals"],
      s.hourly.map((h) => [h.hour + ":00", h.attempts, h.contacts, h.sales, h.refusals])));
  } catch (e) { fill("live-warnings", e.message); }
}

async function loadReport() {
  const kind = $("report-kind").value;
  try {
    const r = await api("GET", `/api/v1/outbound/campaigns/${selected}/reports/${kind}`);
    if (kind === "agents") {
      fill("report", table(["agent", "shift", "calls", "talk s", "wrap s", "occupancy", "sales", "refusals"],
        r.map((a) => [a.agent, a.shift, a.calls, a.talk_s, a.wrap_s, pct(a.occupancy), a.sales,
          Object.entries(a.refusals).map(([k, n]) => `${k}: ${n}`).join(", ")])));
    } else {
      fill("report", el("p", { class: "muted" }, r.title + " (total " + r.total + ")"),
        table(["code", "label", "count", "share"], r.rows.map((x) => [x.code, x.label, x.count, pct(x.share)])));
    }
  } catch (e) { fill("report", e.message); }
}

document.addEventListener("DOMContentLoaded", () => startLogin((who) => {
  me = who;
  fill("who", who.name + " (" + who.role + ")");
  $("signout").classList.remove("hidden");
  $("signout").onclick = logout;
  $("campaigns-box").classList.remove("hidden");
  $("report-kind").onchange = loadReport;
  $("report-refresh").onclick = loadReport;
  loadCampaigns();
  setInterval(refresh, 2000);
  setInterval(loadCampaigns, 5000);
}));
