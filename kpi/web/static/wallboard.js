// The browser wallboard: draws the board the server pushes (server-sent events on
// /events), and counts waits and time in state on between two pushes.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const withToken = (path) => token ? `${path}?token=${encodeURIComponent(token)}` : path;
let board = null;
let receivedAt = 0;

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? `${h}:` : "") + `${mm}:${String(s).padStart(2, "0")}`;
}

function percent(ratio) {
  return ratio === null || ratio === undefined ? "-" : `${Math.round(ratio * 100)}%`;
}

// the board's "now", moved on by the time since it arrived
function now() { return board.at + (Date.now() / 1000 - receivedAt); }

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function figure(cls, value, label) {
  return element("div", { class: cls }, element("div", { class: "value" }, value),
                 element("div", { class: "label" }, label));
}

function queueCard(q, alerting) {
  const waited = q.oldest_entered_at === null ? null : now() - q.oldest_entered_at;
  const card = element("div", { class: "queue" + (alerting ? " alerting" : ""),
                                "data-queue": q.queue });
  const waiting = figure("waiting", String(q.waiting), "waiting");
  if (q.waiting) waiting.firstChild.classList.add("busy");
  card.append(
    element("h2", {}, q.queue),
    element("div", { class: "big" }, waiting,
            figure("longest", duration(waited), "longest wait"),
            figure(`sl ${q.service_level_colour}`, percent(q.service_level),
                   `SL (target ${percent(q.service_level_target)})`)),
    element("div", { class: "small" },
            figure("offered", String(q.offered), "offered"),
            figure("answered", String(q.answered), "answered"),
            figure("abandoned", String(q.abandoned), "abandoned"),
            figure("asa", duration(q.asa_s), "ASA"),
            figure("agents", `${q.agents_available}/${q.agents_logged_in}`, "agents free"),
            figure("callbacks", String(q.callbacks_pending), "to call back")));
  return card;
}

function draw() {
  if (!board) return;
  document.getElementById("waiting-for-pbx").hidden = true;
  document.getElementById("pbx").textContent = board.pbx;
  document.getElementById("clock").textContent =
    new Date(now() * 1000).toLocaleTimeString([], { hour12: false });
  const alerting = new Set(board.alerts.map((a) => a.queue));
  document.getElementById("queues").replaceChildren(
    ...board.queues.map((q) => queueCard(q, alerting.has(q.queue))));
  const all = board.all;
  document.getElementById("totals").textContent =
    `all queues today: ${all.offered} offered, ${all.answered} answered, ` +
    `${all.abandoned} abandoned, SL ${percent(all.service_level)}, ` +
    `ASA ${duration(all.asa_s)}, AHT ${duration(all.aht_s)}, ` +
    `${all.callbacks_pending} to call back`;
  const alerts = document.getElementById("alerts");
  alerts.hidden = board.alerts.length === 0;
  alerts.replaceChildren(...board.alerts.map((a) => element(
    "div", { class: "alert", "data-queue": a.queue, "data-alert": a.alert }, a.text)));
  document.querySelector("#agents tbody").replaceChildren(...board.agents.map((a) =>
    element("tr", { "data-interface": a.interface },
            element("td", {}, a.name),
            element("td", { class: `state state-${a.state}` }, a.label),
            element("td", { class: "num" }, duration(now() - a.since)),
            element("td", {}, a.queue),
            element("td", {}, a.reason))));
}

function connect() {
  const status = document.getElementById("connection");
  const events = new EventSource(withToken("events"));
  events.addEventListener("board", (message) => {
    board = JSON.parse(message.data);
    receivedAt = Date.now() / 1000;
    draw();
  });
  events.onopen = () => { status.textContent = "live"; status.className = "online"; };
  events.onerror = () => { status.textContent = "reconnecting"; status.className = "offline"; };
}

connect();
setInterval(draw, 1000);
