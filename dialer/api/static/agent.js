// The agent console: log in, ready and pause, the screen pop over a WebSocket, the disposition form.
// The server owns the agent's state: every button shows what the server answered, never what it assumed.
// Hang up is no part of the form (it only ends the call); the form has no outcome chosen until the agent
// chooses one, and cannot be sent before.
"use strict";

const SALES = new Set(["accepted", "promise_to_pay", "paid", "completed"]);
const ON_CALL = new Set(["reserved", "talking", "wrap_up"]);
let current = { state: "off", call_id: null }, card = null, since = Date.now(), worldNow = null;

function showState(event) {
  if (event.state !== current.state) since = Date.now();
  current = event;
  const state = fill("state", event.state.replace("_", "-"));
  state.className = "state " + event.state;
  const working = event.state !== "off";
  $("ready").disabled = event.state !== "paused";
  $("pause").disabled = !working || event.state === "paused";
  $("leave").disabled = !working;
  $("join").disabled = working;
  $("hangup").disabled = event.state !== "talking";
  canSend();
  fill("disposition-note", event.state === "wrap_up" ? "the call has ended: record it" :
    event.state === "talking" ? "on the call" : "available in wrap-up");
  fill("waiting", event.state === "ready" ? "Waiting for the next call..." : "");
  // the card and the form stay while the agent has a call (a pause asked for in wrap-up reports no call)
  if (!ON_CALL.has(event.state)) { $("card").classList.add("hidden"); $("disposition").classList.add("hidden"); }
}

function showCard(c) {
  card = c;
  fill("lead-name", c.name || "(no name)");
  fill("lead-number", c.number);
  fill("script", c.script);
  const fields = Object.entries(c.fields);
  fill("lead-fields", fields.length ? table(["field", "value"], fields.map(([k, v]) => [k, String(v)])) : "none");
  fill("lead-attempts", c.attempts.length ? table(["when", "outcome", "reason"],
    c.attempts.map((a) => [new Date(a.dialled_at).toLocaleString(), a.disposition || a.outcome,
      a.refusal_reason ? c.refusal_reasons[a.refusal_reason] || a.refusal_reason : ""])) : "first call");
  fill("lead-refusals", c.earlier_refusals.length ? "Refused before: " + c.earlier_refusals.join(", ") : "");
  fill("outcome", el("option", { value: "", disabled: "", selected: "" }, "choose the outcome..."),
    ...Object.entries(c.outcomes).map(([code, label]) => el("option", { value: code }, label)));
  $("callback-at").value = "";
  $("order-amount").value = "";
  fill("reason", ...Object.entries(c.refusal_reasons).map(([code, label]) => el("option", { value: code }, label)));
  fill("survey", ...(c.questions.length ? [el("h2", {}, "Survey")] : []), ...c.questions.map(question));
  fill("disposition-error");
  toggleRows();
  $("card").classList.remove("hidden");
  $("disposition").classList.remove("hidden");
}

function question(q) {
  let input;
  if (q.kind === "choice") {
    input = el("select", { "data-question": q.code }, el("option", { value: "" }, ""),
      ...q.choices.map((c) => el("option", { value: c }, c)));
  } else if (q.kind === "yesno") {
    input = el("select", { "data-question": q.code }, el("option", { value: "" }, ""),
      el("option", { value: "yes" }, "yes"), el("option", { value: "no" }, "no"));
  } else {
    input = el("input", { "data-question": q.code, type: q.kind === "number" ? "number" : "text" });
  }
  return el("label", {}, q.text + " ", input);
}

function canSend() {
  $("submit").disabled = current.state !== "wrap_up" || !$("outcome").value;
}

function toggleRows() {
  const outcome = $("outcome").value;
  canSend();
  $("reason-row").classList.toggle("hidden", outcome !== "refused");
  $("callback-row").classList.toggle("hidden", outcome !== "callback");
  $("order-row").classList.toggle("hidden", !SALES.has(outcome));
  if (outcome === "callback" && !$("callback-at").value && worldNow) {
    const next = new Date(worldNow.getTime() + 24 * 3600e3);
    next.setMinutes(next.getMinutes() - next.getTimezoneOffset());
    $("callback-at").value = next.toISOString().slice(0, 16);
  }
}

function dispositionBody() {
  const outcome = $("outcome").value, body = { outcome };
  if (outcome === "refused") body.refusal_reason = $("reason").value;
  if (outcome === "callback") {
    body.callback_at = new Date($("callback-at").value).toISOString();
    body.callback_owner = document.querySelector("input[name=owner]:checked").value;
  }
  if (SALES.has(outcome) && $("order-amount").value) {
    body.order = { product: $("order-product").value, amount: Number($("order-amount").value) };
  }
  const answers = {};
  for (const input of document.querySelectorAll("[data-question]")) {
    if (input.value !== "") answers[input.dataset.question] = input.type === "number" ? Number(input.value)
      : input.value;
  }
  if (Object.keys(answers).length) body.survey_answers = answers;
  return body;
}

function listen() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/api/v1/agents/me/events");
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    worldNow = new Date(event.at);
    if (event.type === "screen_pop" && event.card) showCard(event.card);
    showState(event);
  };
  socket.onclose = () => setTimeout(listen, 1000);
}

async function act(method, path, body) {
  try { showState(await api(method, path, body)); fill("desk-error"); } catch (e) { fill("desk-error", e.message); }
}

// R ready, P pause, H hang up (not while typing in a field); Ctrl+Enter saves the disposition when it can be sent.
function shortcut(event) {
  if (event.ctrlKey && event.key === "Enter" && !$("submit").disabled) { $("disposition").requestSubmit(); return; }
  if (event.ctrlKey || event.altKey || event.metaKey || event.target.closest("input, select, textarea")) return;
  const button = { r: "ready", p: "pause", h: "hangup" }[event.key.toLowerCase()];
  if (button && !$(button).disabled) { event.preventDefault(); $(button).click(); }
}

function tick() {
  const s = Math.floor((Date.now() - since) / 1000);
  fill("timer", `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`);
}

// The agent's own quality scores: the call, when, the score (0 when a critical criterion failed), each criterion
// as the scorer judged it (1 met, 0 not met, n/a), and the scorer's comment.
async function loadScores() {
  try {
    const scores = await api("GET", "/api/v1/agents/me/scores");
    fill("my-scores", scores.length ? table(["call", "scored", "by", "score", "criteria", "comment"],
      scores.map((s) => [s.attempt_id, new Date(s.scored_at).toLocaleString(), s.scorer,
        s.critical_failed ? "0 (critical failed)" : s.total.toFixed(1),
        s.answers.map((a) => `${a.label}: ${a.value === null ? "n/a" : a.value}`).join("; "), s.comment || ""]))
      : "none of your calls has been scored yet");
  } catch (e) { fill("my-scores", e.message); }
}

document.addEventListener("DOMContentLoaded", () => startLogin((me) => {
  fill("who", me.name + " (" + me.role + ")");
  $("signout").classList.remove("hidden");
  $("signout").onclick = logout;
  fill("campaign", ...(me.campaigns || []).map((id) => el("option", { value: id },
    (me.campaign_names || {})[id] || "Campaign " + id)));
  $("desk").classList.remove("hidden");
  $("join").onclick = () => act("POST", "/api/v1/agents/me/login", { campaign_id: Number($("campaign").value) });
  $("ready").onclick = () => act("POST", "/api/v1/agents/me/ready");
  $("pause").onclick = () => act("POST", "/api/v1/agents/me/pause", { reason: $("pause-reason").value });
  $("leave").onclick = () => act("POST", "/api/v1/agents/me/logout");
  $("hangup").onclick = () => act("POST", "/api/v1/agents/me/contact/hangup");
  $("outcome").onchange = toggleRows;
  document.addEventListener("keydown", shortcut);
  $("disposition").addEventListener("submit", async (event) => {
    event.preventDefault();
    if ($("submit").disabled) return;
    try {
      await api("POST", "/api/v1/agents/me/contact/disposition", dispositionBody());
      fill("disposition-error");
      $("card").classList.add("hidden");
      $("disposition").classList.add("hidden");
    } catch (e) { fill("disposition-error", (e.field ? e.field + ": " : "") + e.message); }
  });
  listen();
  setInterval(tick, 1000);
  if (me.role === "agent") {
    $("my-quality").classList.remove("hidden");
    $("quality-refresh").onclick = loadScores;
    loadScores();
  }
}));
