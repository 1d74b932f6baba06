// Shared by both consoles: the JSON API with the session cookie, the log-in form, small DOM helpers.
"use strict";

const $ = (id) => document.getElementById(id);

// The session's anti-forgery token, from the cookie only pages of this origin can read (dialer/api/csrf.py).
const csrfToken = () => (document.cookie.match(/(?:^|; )dialer_csrf=([0-9a-f]+)/) || [])[1] || "";

async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET") options.headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error(data && data.detail ? data.detail : response.statusText);
    error.field = data && data.field;
    error.status = response.status;
    throw error;
  }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "style") node.style.cssText = value;  // through CSSOM: the page's CSP forbids inline styles
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function fill(id, ...children) { const node = $(id); node.replaceChildren(...children); return node; }

function table(headers, rows) {
  return el("table", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h))),
    ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c)))));
}

// The log-in form: calls onReady(me) once a session exists (already, or after logging in).
async function startLogin(onReady) {
  try { onReady(await api("GET", "/api/v1/users/me")); return; } catch (e) { /* not logged in */ }
  $("login").classList.remove("hidden");
  $("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = $("otp").value;
    try {
      const me = await api("POST", "/api/v1/auth/login", { username: $("username").value,
        password: $("password").value, ...(code ? { otp: code } : {}) });
      $("login").classList.add("hidden");
      onReady(me);
    } catch (e) {
      if (e.field === "otp") { $("otp-label").classList.remove("hidden"); $("otp").focus(); }
      fill("login-error", e.message);
    }
  });
}

async function logout() {
  try { await api("POST", "/api/v1/auth/logout"); } finally { location.reload(); }
}
