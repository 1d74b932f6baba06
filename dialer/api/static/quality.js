// The wallboard's quality panel: calls to score, the scorecard form beside the recording, the quality report
// (each agent's score, and calibrations: each criterion's spread between scorers). Uses wallboard.js's
// ``selected`` campaign and ``me``.
"use strict";

let scoring = null;  // the call opened for scoring, as GET /outbound/attempts/{id}/quality returned it
const SCORERS = ["supervisor", "manager"];  // who may score (admins open and review calls; analysts read reports)
const CHOICES = [["1", "met"], ["0.5", "partly"], ["0", "not met"], ["na", "not applicable"]];
const CRITICAL = [["1", "passed"], ["0", "failed"]];
const points = (x) => x.toFixed(1);
const judged = (v) => (v === null ? "n/a" : String(v));

async function loadQuality() {
  const opens = me.role !== "analyst";
  $("quality-box").classList.remove("hidden");
  $("quality-calls-box").classList.toggle("hidden", !opens);
  if (opens) loadCalls();
  loadQualityReport();
}

async function loadCalls() {
  try {
    const calls = await api("GET", `/api/v1/outbound/campaigns/${selected}/quality/calls`);
    fill("quality-calls", calls.length ? table(["call", "agent", "dialled", "talk", "disposition", "scores", ""],
      calls.map((c) => [c.attempt_id, c.agent, new Date(c.dialled_at).toLocaleString(), hms(c.talk_s),
        c.disposition || "-", c.scores, el("button", { class: "quiet", "data-score": c.attempt_id }, "open")]))
      : "no connected call yet");
    for (const button of document.querySelectorAll("[data-score]")) {
      button.onclick = () => openCall(Number(button.dataset.score));
    }
  } catch (e) { fill("quality-calls", e.message); }
}

function criterionRow(c) {
  const options = [el("option", { value: "" }, "choose"),
    ...(c.critical ? CRITICAL : CHOICES).map(([v, text]) => el("option", { value: v }, text))];
  return el("label", {}, `${c.label} (weight ${c.weight}${c.critical ? ", critical" : ""}) `,
    el("select", { id: "criterion-" + c.code, "data-code": c.code, required: "" }, ...options));
}

function scoreTable(scores) {
  return table(["scorer", "score", "answers", "comment"], scores.map((s) => [s.scorer,
    s.critical_failed ? "0 (critical failed)" : points(s.total),
    s.answers.map((a) => `${a.code} ${judged(a.value)}`).join(", "), s.comment || ""]));
}

async function openCall(id) {
  try {
    scoring = await api("GET", `/api/v1/outbound/attempts/${id}/quality`);
  } catch (e) { fill("score-error", e.message); return; }
  $("scoring").classList.remove("hidden");
  fill("scoring-call", id);
  fill("scoring-agent", scoring.call.agent);
  fill("scoring-lead", scoring.lead_name || "");
  fill("scoring-number", scoring.lead_number);
  $("recording").src = scoring.recording;
  fill("recording-note");
  fill("score-error");
  const card = scoring.scorecard.version ? scoring.scorecard : null;
  const mine = scoring.scores.some((s) => s.scorer === me.name);
  const canScore = SCORERS.includes(me.role) && card !== null && !mine;
  $("score-form").classList.toggle("hidden", !canScore);
  fill("criteria", ...(card ? card.criteria.map(criterionRow) : []));
  $("score-comment").value = "";
  fill("scoring-scores", card === null ? "The campaign has no scorecard yet (a manager sets one)." : "",
    scoring.scores.length ? scoreTable(scoring.scores) : "",
    scoring.scores_hidden ? el("p", { class: "muted" },
      `${scoring.scores_hidden} other score(s), shown once you have scored this call`) : "");
}

async function saveScore(event) {
  event.preventDefault();
  const answers = {};
  for (const select of document.querySelectorAll("#criteria select")) {
    answers[select.dataset.code] = select.value === "na" ? null : Number(select.value);
  }
  const comment = $("score-comment").value.trim();
  $("score-submit").disabled = true;  // one score per click: a second would be refused as scored already
  try {
    await api("POST", `/api/v1/outbound/attempts/${scoring.call.attempt_id}/scores`,
      { answers, ...(comment ? { comment } : {}) });
    await openCall(scoring.call.attempt_id);
    loadCalls();
    loadQualityReport();
  } catch (e) { fill("score-error", (e.field ? e.field + ": " : "") + e.message); }
  $("score-submit").disabled = false;
}

function calibrationRows(c) {
  const scorers = Object.keys(c.totals);
  return table(["criterion", ...scorers, "spread"], [
    ["total", ...scorers.map((s) => points(c.totals[s])), points(c.total_spread)],
    ...c.criteria.map((k) => [k.label, ...scorers.map((s) => judged(k.values[s])),
      k.spread === null ? "-" : k.spread.toFixed(2)])]);
}

async function loadQualityReport() {
  try {
    const r = await api("GET", `/api/v1/outbound/campaigns/${selected}/quality`);
    fill("quality-report", r.agents.length ? table(["agent", "quality", "calls scored"],
      r.agents.map((a) => [a.agent, points(a.quality), a.calls])) : "no call scored yet",
    ...r.calibrations.map((c) => el("div", { class: "wide", "data-calibration": c.attempt_id },
      el("p", { class: "muted" }, `Calibration of call ${c.attempt_id} (agent ${c.agent})`), calibrationRows(c))));
  } catch (e) { fill("quality-report", e.message); }
}

document.addEventListener("DOMContentLoaded", () => {
  $("score-form").addEventListener("submit", saveScore);
  $("quality-refresh").onclick = () => loadQuality();
  $("recording").addEventListener("error", () => fill("recording-note", "no recording of this call on this daemon"));
});
