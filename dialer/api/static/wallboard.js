// The manager wallboard: campaigns with their state and controls, live figures and charts, reports.
"use strict";

let selected = null, me = null, reasons = {};
const ACTIONS = { initialized: ["start"], running: ["pause", "stop"], paused: ["resume", "stop"],
  stopping: [], stopped: ["start"], completed: [] };
const pct = (x) => (100 * x).toFixed(1) + "%";
// Why a campaign is not dialling, and what is wrong while it dials: one line per reason, marked by its kind.
const reasonList = (reasons) => el("span", { class: "reasons" }, ...reasons.map((r) =>
  el("span", { class: "reason " + (r.stops ? "stops" : "warns"), "data-reason": r.reason }, r.text)));
// A count as people read it: whole when it is whole, else one decimal (the UK's estimated AMD false positives).
const count = (x) => (Number.isInteger(x) ? x.toLocaleString() : x.toFixed(1));
const maybe = (x, show) => (x === null || x === undefined ? "-" : show(x));
// A code in words, where no label comes from the server: "wrap_up" reads "wrap up".
const words = (code) => code.replaceAll("_", " ");
const hms = (s) => { const t = Math.round(s); return `${Math.floor(t / 3600)}:` +
  `${String(Math.floor(t / 60) % 60).padStart(2, "0")}:${String(t % 60).padStart(2, "0")}`; };
// A simulated world's clock, when the machine cannot carry the speed asked: what it runs at, and why.
const slowed = (v) => v && v.current < 0.95 * v.asked ?
  ` · simulated at ${v.current.toFixed(0)}× of ${v.asked}× asked: machine busy` : "";

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

async function select(id) {
  selected = id;
  $("live").classList.remove("hidden");
  $("report-box").classList.remove("hidden");
  try {  // the campaign's own labels for its refusal reasons
    reasons = (await api("GET", `/api/v1/outbound/campaigns/${id}/catalogue`)).refusal_reasons;
  } catch (e) { reasons = {}; }
  refresh();
  loadReport();
  loadQuality();
}

function figure(label, value, warn) {
  return el("div", { class: "figure" }, el("span", { class: "muted" }, label),
    el("b", { class: warn ? "error" : "" }, value));
}

const SVG = "http://www.w3.org/2000/svg";
const PLOT = { left: 58, right: 452, top: 12, bottom: 160 };  // the chart's frame inside its 460 x 190 view box

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const clock = (at) => new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

// A line of samples against a percent axis (0, half, top), the first and last sample's time under it, and the
// cap as a dashed line with its value. ``top``: the axis's top, else room above the samples and the cap.
function chart(id, samples, key, cap, top) {
  const { left, right, bottom } = PLOT, high = PLOT.top;
  top = top || Math.max(cap || 0, ...samples.map((s) => s[key]), 0.01) * 1.15;
  const y = (v) => bottom - (v / top) * (bottom - high);
  const x = (i) => left + (i / Math.max(1, samples.length - 1)) * (right - left);
  const parts = [];
  for (const v of [0, top / 2, top]) {
    parts.push(svg("line", { x1: left, x2: right, y1: y(v), y2: y(v), class: "grid-line" }),
      svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, pct(v)));
  }
  if (samples.length) {
    parts.push(svg("text", { x: left, y: bottom + 18, class: "tick" }, clock(samples[0].at)),
      svg("text", { x: right, y: bottom + 18, "text-anchor": "end", class: "tick" },
        clock(samples[samples.length - 1].at)));
  }
  if (cap) {
    parts.push(svg("line", { x1: left, x2: right, y1: y(cap), y2: y(cap), class: "cap-line" }),
      svg("text", { x: right, y: y(cap) - 4, "text-anchor": "end", class: "tick cap" }, "cap " + pct(cap)));
  }
  parts.push(svg("polyline", { points: samples.map((s, i) => `${x(i)},${y(s[key])}`).join(" "),
    class: "series" }));
  $(id).replaceChildren(...parts);
}

// Counts by code as labelled bars: ``labels`` from the server where it has them, else the code in words.
function bars(counts, labels) {
  const entries = Object.entries(counts).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const most = Math.max(1, ...entries.map(([, n]) => n));
  return entries.length ? table(["", "", ""], entries.map(([k, n]) =>
    [(labels || {})[k] || words(k), n, el("div", { class: "bar", style: `width:${(100 * n) / most}%` })]))
    : "none";
}

async function refresh() {
  if (selected === null) return;
  try {
    const s = await api("GET", `/api/v1/outbound/campaigns/${selected}/stats`);
    fill("live-name", s.name);
    const state = fill("live-state", s.state);
    state.className = "state " + s.state;
    fill("clock", new Date(s.at).toLocaleString(undefined, { timeZone: s.zone, timeZoneName: "short" }) +
      " (" + s.zone + ")" + slowed(s.speed));
    fill("live-warnings", reasonList(s.reasons));
    fill("figures", figure("dialing", s.dialing ? "yes" : "no", !s.dialing),
      figure("dial level", s.dial_level.toFixed(2)), figure("occupancy", pct(s.occupancy)),
      figure("abandoned today", `${pct(s.abandon_rate)} of ${pct(s.abandon_cap)}`, s.abandon_rate > s.abandon_cap),
      figure("cap budget left", s.abandon_budget_calls.toFixed(1) + " calls", s.abandon_budget_calls < 1),
      figure("contact rate", pct(s.contact_rate)), figure("attempts today", s.attempts_today),
      figure("live answers", count(s.live_today)),
      figure("recordings failed today", count(s.recordings_failed_today), s.recordings_failed_today > 0));
    chart("chart-occupancy", s.history, "occupancy", 0, 1);
    chart("chart-abandon", s.history, "abandon_rate", s.abandon_cap);
    fill("agents", bars(s.agents));
    fill("calls", bars(s.calls_in_flight));
    fill("refusals-today", bars(s.refusals_today, reasons));
    const hourly = table(["hour", "attempts", "contacts", "sales", "refusals"],
      s.hourly.map((h) => [h.hour + ":00", h.attempts, h.contacts, h.sales, h.refusals]));
    hourly.className = "numbers";
    fill("hourly", hourly);
  } catch (e) { fill("live-warnings", e.message); }
}

function reportQuery() {
  const range = new URLSearchParams();
  if ($("report-from").value) range.set("from", $("report-from").value);
  if ($("report-to").value) range.set("to", $("report-to").value);
  return range.toString() ? "?" + range : "";
}

function agentRows(rows) {
  return table(["agent", "calls", "calls/h", "logged in", "waiting", "talk", "wrap-up", "paused", "occupancy",
    "contacts", "sales", "refusals", "conversion", "quality"], rows.map((a) => [a.agent, a.calls,
    maybe(a.calls_per_hour, (v) => v.toFixed(1)), hms(a.logged_in_s), hms(a.waiting_s), hms(a.talk_s), hms(a.wrap_s),
    Object.entries(a.paused_s).map(([k, v]) => `${words(k)} ${hms(v)}`).join(", ") || "-",
    maybe(a.occupancy, pct), a.contacts, a.sales, a.refusals, maybe(a.conversion, pct),
    maybe(a.quality, (v) => `${v.toFixed(1)} (${a.quality_calls})`)]));
}

async function loadReport() {
  const kind = $("report-kind").value;
  try {
    const r = await api("GET", `/api/v1/outbound/campaigns/${selected}/reports/${kind}${reportQuery()}`);
    if (kind === "agents") {
      fill("report", el("p", { class: "muted" }, "Occupancy: talk and wrap-up over logged-in time less pauses."),
        agentRows(r));
    } else {
      fill("report", el("p", { class: "muted" }, r.title + " (total " + r.total + ")"),
        table(["", "count", "share"], r.rows.map((x) => [x.label, x.count, pct(x.share)])));
    }
  } catch (e) { fill("report", e.message); }
}

document.addEventListener("DOMContentLoaded", () => startLogin((who) => {
  me = who;
  fill("who", who.name + " (" + who.role + ")");
  $("signout").classList.remove("hidden");
  $("signout").onclick = logout;
  $("campaigns-box").classList.remove("hidden");
  for (const id of ["report-kind", "report-from", "report-to"]) $(id).onchange = loadReport;
  $("report-refresh").onclick = loadReport;
  loadCampaigns();
  setInterval(refresh, 2000);
  setInterval(loadCampaigns, 5000);
}));
