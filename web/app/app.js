// K12 Perform reference web app: plain ES modules over the SPA-facing API (/app/v1), Chart.js for charts.
import { finishSignIn, returningFromProvider, startSignIn } from "./oidc.js";

const main = document.getElementById("main");
const TOKEN_KEY = "k12perform.token";
const charts = [];
const pendingCharts = [];

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

const token = () => sessionStorage.getItem(TOKEN_KEY);

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "content-type": "application/json", ...(token() ? { authorization: `Bearer ${token()}` } : {}), ...(options.headers || {}) },
  });
  if (response.status === 401 && token()) { signOut(); throw new Error("signed out"); }
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || body.title || `HTTP ${response.status}`);
  return body;
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.hash = "#/sign-in";
}

function claims() {
  try { return JSON.parse(atob(token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return {}; }
}

// Charts are drawn once their canvas is in the page (Chart.js sizes them from their container).
function show(...nodes) {
  while (charts.length) charts.pop().destroy();
  main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  for (const [canvas, config] of pendingCharts.splice(0)) {
    charts.push(new window.Chart(canvas, { ...config, options: { responsive: true, animation: false, ...(config.options || {}) } }));
  }
}

function chart(canvas, config) {
  pendingCharts.push([canvas, config]);
}

const missingNote = (screen, part) => {
  const gap = (screen.missing || []).find((m) => m.part === part);
  return gap ? el("p", { class: "missing" }, `Not available right now (${gap.reason}).`) : null;
};

// ---- sign in ----
async function signInView() {
  document.getElementById("nav").hidden = true;
  const options = await api("/app/v1/sign-in-options");
  if (!options.dev_sign_in) {
    const provider = options.identity_provider;
    show(el("div", { class: "card" }, el("h2", {}, "Sign in"),
      el("p", {}, "Sign in with your district's account."),
      provider ? el("button", { type: "button", id: "provider-sign-in", onclick: () => startSignIn(provider) }, "Continue to sign-in")
        : el("p", {}, "No identity provider is configured.")));
    return;
  }
  const role = el("select", { id: "role" }, ...options.demo_roles.map((r) => el("option", { value: r }, r.replace("_", " "))));
  const district = el("input", { id: "district", value: options.demo_district, "aria-label": "District (state id, NCES id or id)" });
  const form = el("form", { class: "sign-in card", onsubmit: async (event) => {
    event.preventDefault();
    const issued = await api("/auth/dev-token", { method: "POST", body: JSON.stringify({ role: role.value, district: district.value }) });
    sessionStorage.setItem(TOKEN_KEY, issued.access_token);
    location.hash = "#/dashboard";
  } },
  el("h2", {}, "Development sign-in: pick a demo user"),
  el("label", {}, "Role ", role), el("label", {}, "District ", district),
  el("button", { type: "submit", id: "sign-in" }, "Sign in"));
  show(form);
}

// ---- dashboard ----
function scoreCard(d) {
  const s = d.score;
  if (!s) return el("section", { class: "card" }, el("h2", {}, "Accountability score"), missingNote(d, "score"));
  const arrow = { up: "▲", down: "▼", flat: "▶", unknown: "" }[s.trend.direction];
  const canvas = el("canvas", { id: "score-history", height: "160" });
  chart(canvas, {
    type: "line",
    data: { labels: s.history.map((h) => h.period), datasets: [{ label: "% of possible points", data: s.history.map((h) => h.percent_of_possible), borderColor: "#17375e", tension: 0.2 }] },
    options: { scales: { y: { suggestedMin: 50, suggestedMax: 100 } } },
  });
  return el("section", { class: "card", id: "score" },
    el("h2", {}, `Accountability score ${s.period} (${s.framework.name || s.framework.code || ""})`),
    el("div", { class: "score", "data-testid": "score" }, `${s.percent_of_possible ?? "—"}%`),
    el("div", { class: "classification" }, s.classification || "",
      el("span", { class: `trend-${s.trend.direction}` }, ` ${arrow} ${s.trend.change_percent_points ?? ""}${s.trend.previous_period ? ` since ${s.trend.previous_period}` : ""}`)),
    el("div", {}, `${s.points_earned} of ${s.points_possible} points`),
    s.components_without_data?.length ? el("p", { class: "note", "data-testid": "score-coverage" },
      `Not yet scored, for want of data: ${s.components_without_data.map((c) => c.replaceAll("_", " ")).join(", ")}.`) : null,
    canvas);
}

function riskCard(d) {
  const r = d.points_at_risk;
  return el("section", { class: "card" }, el("h2", {}, "Points at risk"), missingNote(d, "points_at_risk"),
    r ? el("p", {}, `${r.total_points} points within ${r.margin_percentage_points} percentage points of a lower level`) : null,
    r ? el("ul", {}, ...r.components.map((c) => el("li", {}, `${c.name}: ${c.points_lost} points — ${c.text || `${c.percentage_points} pp margin`}`))) : null);
}

const gapSize = (g) => g.gap ?? g.gap_points ?? g.difference ?? g.value ?? 0;

function gapsCard(d) {
  const gaps = d.equity_gaps;
  const card = el("section", { class: "card" }, el("h2", {}, "Largest equity gaps"), missingNote(d, "equity_gaps"));
  if (gaps && gaps.length) {
    const canvas = el("canvas", { id: "equity-gaps", height: "160" });
    chart(canvas, { type: "bar", data: { labels: gaps.map((g) => g.subgroup || g.group || g.label || "?"), datasets: [{ label: "Gap (percentage points)", data: gaps.map(gapSize), backgroundColor: "#d97706" }] }, options: { indexAxis: "y" } });
    card.append(canvas);
  } else if (gaps) card.append(el("p", {}, "No gaps to show."));
  return card;
}

// Actuals by period: the target's judged periods when metrics-api gave the target, else the raw observations.
function actualsOf(progress) {
  const judged = (progress.target?.periods || []).filter((p) => p.actual !== null && p.actual !== undefined);
  if (judged.length) return Object.fromEntries(judged.map((p) => [p.period, p.actual]));
  const rows = progress.actuals || [];
  return Object.fromEntries(rows.filter((r) => r.value !== null && r.value !== undefined).map((r) => [r.period, r.value]));
}

function goalCard(goal, index) {
  const judgment = goal.latest_judgment;
  const card = el("section", { class: "card goal" }, el("h2", {}, goal.title),
    el("div", {}, `${goal.metric} · ${goal.subgroup} · target ${goal.target_value} by ${goal.target_period} `,
      judgment ? el("span", { class: `rag rag-${judgment.rating}` }, judgment.rating.replace("_", "/")) : el("span", { class: "rag" }, "not judged")),
    goal.data_status?.status ? el("div", {}, `Data: ${goal.data_status.status}`) : null,
    goal.progress_missing ? el("p", { class: "missing" }, `Progress not available (${goal.progress_missing}).`) : null);
  if (goal.progress) {
    const expected = goal.progress.expected_trajectory || [];
    const actual = actualsOf(goal.progress);
    const labels = [...new Set([...Object.keys(actual), ...expected.map((p) => p.period)])].sort();
    const canvas = el("canvas", { id: `goal-${index}`, height: "150" });
    chart(canvas, { type: "line", data: { labels, datasets: [
      { label: "Trajectory", data: labels.map((l) => expected.find((p) => p.period === l)?.expected ?? null), borderDash: [6, 4], borderColor: "#667085", spanGaps: true },
      { label: "Actual", data: labels.map((l) => actual[l] ?? null), borderColor: "#17375e", spanGaps: true },
    ] } });
    card.append(canvas);
  }
  return card;
}

const actionRow = (a) => el("tr", {}, el("td", { class: a.overdue ? "overdue" : "" }, a.title), el("td", {}, a.owner_name || a.owner), el("td", {}, a.due_date), el("td", {}, a.overdue ? "overdue" : a.status));
const actionTable = (actions) => el("table", {}, el("tr", {}, el("th", {}, "Action"), el("th", {}, "Owner"), el("th", {}, "Due"), el("th", {}, "Status")), ...actions.map(actionRow));

function workCard(d) {
  const meetings = d.next_meetings || [];
  return el("section", { class: "card" }, el("h2", {}, "Actions and meetings"),
    missingNote(d, "overdue_actions"),
    el("h3", {}, `Overdue (${(d.overdue_actions || []).length})`), actionTable(d.overdue_actions || []),
    el("h3", {}, `Due soon (${(d.due_soon_actions || []).length})`), actionTable(d.due_soon_actions || []),
    el("h3", {}, "Next meetings"), missingNote(d, "next_meetings"),
    el("ul", {}, ...meetings.map((m) => el("li", {}, el("a", { href: `#/meetings/${m.id}` }, `${m.routine_title} — ${m.local_start.slice(0, 16).replace("T", " ")}`)))));
}

function dataLoadLine(l) {
  const when = l.loaded_at ? l.loaded_at.slice(0, 10) : "nothing received yet";
  if (l.kind === "sis") return `${l.source} (SIS): last delivery ${l.status}, ${l.observations ?? 0} records (${when})`;
  return `${l.source}: ${l.observations} observations, ${l.observations_changed} new or changed (${when})`;
}

function loadsCard(d) {
  return el("section", { class: "card" }, el("h2", {}, "Latest data loads"), missingNote(d, "data_loads"),
    el("ul", {}, ...(d.data_loads || []).map((l) => el("li", {}, dataLoadLine(l)))));
}

async function dashboardView() {
  const d = await api("/app/v1/dashboard");
  show(el("h1", { id: "district-name" }, d.district?.name || "Your district"),
    el("div", { class: "grid" }, scoreCard(d), riskCard(d), gapsCard(d)),
    el("h2", {}, "Goals"), missingNote(d, "goals"),
    el("div", { class: "grid" }, ...(d.goals || []).map(goalCard)),
    el("div", { class: "grid" }, workCard(d), loadsCard(d)));
}

async function actionsView() {
  const mine = await api("/app/v1/me/actions");
  show(el("h1", {}, "My actions"), missingNote(mine, "actions"), el("div", { class: "card" }, mine.items.length ? actionTable(mine.items) : el("p", {}, "Nothing open.")));
}

async function roomView(id) {
  const room = await api(`/app/v1/meetings/${id}/room`);
  const pack = room.pack || {};
  const agenda = room.agenda?.items || [];
  show(el("h1", {}, room.meeting ? `${room.meeting.routine_title} — ${room.meeting.local_start.slice(0, 16).replace("T", " ")}` : "Meeting"),
    el("div", { class: "grid" },
      el("section", { class: "card" }, el("h2", {}, "Agenda"), missingNote(room, "agenda"), el("ol", {}, ...agenda.map((i) => el("li", {}, i.title || i.kind || JSON.stringify(i))))),
      el("section", { class: "card" }, el("h2", {}, `Pack${pack.published_at ? " (published)" : " (live)"}`), missingNote(room, "pack"),
        ...(pack.goals || []).map((g, i) => goalCard({ ...g.goal, progress: g.numbers, latest_judgment: g.last_judgment }, `pack-${i}`))),
      el("section", { class: "card" }, el("h2", {}, "Actions"), el("p", {}, "Raised in this meeting, and open ones carried forward from its goals."),
        actionTable(roomActions(room.actions || [], pack.goals || []))),
      el("section", { class: "card" }, el("h2", {}, "Decisions"), el("ul", {}, ...(room.decisions || []).map((x) => el("li", {}, x.text || x.title || x.decision || ""))))));
}

// The meeting's own actions and its goals' open ones, each once, overdue first.
function roomActions(raised, packGoals) {
  const byId = new Map([...raised, ...packGoals.flatMap((g) => g.open_actions || [])].map((a) => [a.id, a]));
  return [...byId.values()].sort((a, b) => (b.overdue - a.overdue) || a.due_date.localeCompare(b.due_date));
}

async function signInReturning() {
  try {
    const issued = await finishSignIn((body) => api("/auth/oidc/token", { method: "POST", body: JSON.stringify(body) }));
    sessionStorage.setItem(TOKEN_KEY, issued.access_token);
  } catch (error) {
    show(el("div", { class: "card" }, el("h2", {}, "Sign in"), el("p", { class: "missing", id: "sign-in-error" }, error.message),
      el("a", { href: "#/sign-in" }, "Try again")));
    return false;
  }
  return true;
}

async function route() {
  if (returningFromProvider() && !(await signInReturning())) return;
  const hash = location.hash || "#/dashboard";
  if (!token() && hash !== "#/sign-in") { location.hash = "#/sign-in"; return; }
  try {
    if (hash === "#/sign-in") return await signInView();
    document.getElementById("nav").hidden = false;
    document.getElementById("who").textContent = claims().name || claims().sub || "";
    const meeting = hash.match(/^#\/meetings\/([0-9a-f-]+)$/);
    if (meeting) return await roomView(meeting[1]);
    if (hash === "#/actions") return await actionsView();
    return await dashboardView();
  } catch (error) {
    show(el("p", { class: "missing" }, `Could not load this screen: ${error.message}`));
  }
}

document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
