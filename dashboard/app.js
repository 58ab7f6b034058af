import { MonitoringApi } from "./api.js";
import { drawChart } from "./chart.js";

/** Where each status may go; the API enforces the same rules (409 otherwise). */
const TRANSITIONS = {
  OPEN: ["ACKNOWLEDGED", "RESOLVED", "FALSE_POSITIVE"],
  ACKNOWLEDGED: ["RESOLVED", "FALSE_POSITIVE"],
  RESOLVED: [],
  FALSE_POSITIVE: [],
};
const REFRESH_MS = 15_000;

const $ = (selector) => document.querySelector(selector);
const state = { api: null, cursors: [""], page: 0, selected: null, timer: null };

/** A table cell or element with text content only (event data is never parsed as HTML). */
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

/** A severity cell with a coloured badge. */
function badge(severity) {
  const td = document.createElement("td");
  const span = document.createElement("span");
  span.className = `sev sev-${severity}`;
  span.textContent = severity;
  td.append(span);
  return td;
}

function when(iso) {
  return iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) : "";
}

function showError(target, error) {
  target.textContent = error.message;
  target.className = "error";
}

function filters() {
  const form = new FormData($("#filters"));
  const query = {};
  for (const name of ["severity", "status", "pack", "detector", "q", "limit"]) {
    const value = String(form.get(name) ?? "").trim();
    if (value) query[name] = value;
  }
  return query;
}

async function loadEvents() {
  const cursor = state.cursors[state.page];
  const page = await state.api.invoke("/events", { query: { ...filters(), cursor } });
  const body = $("[data-testid=events] tbody");
  body.replaceChildren(...page.events.map((event) => {
    const row = document.createElement("tr");
    row.dataset.eventId = String(event.event_id);
    if (event.event_id === state.selected) row.classList.add("selected");
    row.append(
      cell(String(event.event_id)),
      cell(when(event.detection_timestamp)),
      badge(event.severity),
      cell(event.status),
      cell(event.pack),
      cell(event.detection_algorithm),
      cell(event.title),
      cell(String(event.occurrence_count)),
    );
    row.addEventListener("click", () => selectEvent(event.event_id));
    return row;
  }));
  state.cursors[state.page + 1] = page.next_cursor;
  $("#next").disabled = !page.next_cursor;
  $("#prev").disabled = state.page === 0;
  $("#page").textContent = `page ${state.page + 1} (${page.events.length} events)`;
}

async function loadHealth() {
  const [health, latest, day] = await Promise.all([
    state.api.invoke("/health").catch((error) => ({ error })),
    state.api.invoke("/snapshots", { query: { limit: 1 } }),
    state.api.invoke("/snapshots", {
      query: { since: new Date(Date.now() - 24 * 3600_000).toISOString(), limit: 1000 },
    }),
  ]);
  const snapshot = latest.snapshots[0];
  const target = $("[data-testid=snapshot]");
  target.replaceChildren();
  if (snapshot) {
    const status = document.createElement("strong");
    status.className = `state-${snapshot.overall_health_status}`;
    status.textContent = snapshot.overall_health_status;
    target.append(
      status,
      ` at ${when(snapshot.snapshot_timestamp)}: success ${
        snapshot.success_rate_percent ?? "n/a"
      } %, ` +
        `${snapshot.total_transactions_last_hour} transactions and ` +
        `${snapshot.monitoring_events_last_hour} events in the last hour, ` +
        `${snapshot.open_critical_events} open critical`,
    );
  } else target.textContent = "No snapshot yet";
  drawChart($("#chart"), day.snapshots);

  const tiers = $("[data-testid=tiers] tbody");
  const breakers = $("[data-testid=breakers]");
  if (health.error) {
    tiers.replaceChildren();
    showError(breakers, health.error);
    return;
  }
  tiers.replaceChildren(
    ...Object.entries(health.checks.tiers ?? {}).map(([tier, t]) => {
      const row = document.createElement("tr");
      row.append(cell(tier), cell(t.status, `state-${t.status}`), cell(when(t.last_started_at)));
      return row;
    }),
  );
  const cb = health.checks.circuit_breaker;
  breakers.className = "";
  breakers.textContent = cb
    ? `Cycle breaker: ${cb.state}. Open breakers: ${cb.open_breakers.join(", ") || "none"}.`
    : "";
}

async function selectEvent(eventId) {
  state.selected = eventId;
  for (const row of document.querySelectorAll("[data-testid=events] tbody tr")) {
    row.classList.toggle("selected", row.dataset.eventId === String(eventId));
  }
  const detail = await state.api.invoke(`/events/${eventId}`);
  const event = detail.event;
  $("#detail").hidden = false;
  $("#detail-title").textContent = `#${event.event_id} ${event.title}`;
  const fields = [
    ["Status", event.status],
    ["Severity", event.severity],
    ["Type", event.event_type],
    ["Detector", `${event.detection_algorithm} (${event.pack})`],
    ["Card", event.card_id],
    ["Transaction", event.transaction_id],
    ["Entity", event.entity_type ? `${event.entity_type} ${event.entity_id}` : null],
    ["Occurred", when(event.occurred_at)],
    ["Detected", when(event.detection_timestamp)],
    ["Last seen", `${when(event.last_seen_at)} (${event.occurrence_count}x)`],
    ["Resolved", when(event.resolved_at)],
    ["Notes", event.resolution_notes],
  ].filter(([, value]) => value);
  $("#detail-fields").replaceChildren(...fields.flatMap(([name, value]) => {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dd.dataset.field = name.toLowerCase();
    return [dt, dd];
  }));
  $("#detail-context").textContent = JSON.stringify(event.context, null, 2);
  $("[data-testid=alert-history] tbody").replaceChildren(...detail.alert_history.map((a) => {
    const row = document.createElement("tr");
    row.append(
      cell(a.channel),
      cell(a.status),
      cell(String(a.attempts)),
      cell(when(a.created_at)),
      cell(when(a.sent_at)),
      cell(a.last_error),
    );
    return row;
  }));
  $("[data-testid=status-changes] tbody").replaceChildren(...detail.status_changes.map((c) => {
    const row = document.createElement("tr");
    row.append(
      cell(when(c.changed_at)),
      cell(c.from_status),
      cell(c.to_status),
      cell(c.actor),
      cell(c.notes),
    );
    return row;
  }));
  for (const button of document.querySelectorAll(".actions button")) {
    button.disabled = !TRANSITIONS[event.status].includes(button.dataset.status);
  }
  $("#detail-message").textContent = "";
}

async function changeStatus(status) {
  const message = $("#detail-message");
  try {
    const notes = $("#notes").value.trim();
    await state.api.invoke(`/events/${state.selected}`, {
      method: "PATCH",
      body: notes ? { status, resolution_notes: notes } : { status },
    });
    $("#notes").value = "";
    await Promise.all([selectEvent(state.selected), loadEvents()]);
    message.className = "";
    message.textContent = `Marked ${status}`;
  } catch (error) {
    showError(message, error);
  }
}

async function refresh() {
  const status = $("#connection");
  try {
    await Promise.all([loadEvents(), loadHealth()]);
    status.className = "";
    status.textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC`;
  } catch (error) {
    showError(status, error);
  }
}

function schedule() {
  clearInterval(state.timer);
  // Live only on the first page: older pages would shift under the reader.
  if ($("#filters").live.checked) {
    state.timer = setInterval(() => state.page === 0 && refresh(), REFRESH_MS);
  }
}

function connect(api, key) {
  sessionStorage.setItem("monitoring.api", api);
  sessionStorage.setItem("monitoring.key", key);
  state.api = new MonitoringApi(api, key);
  state.cursors = [""];
  state.page = 0;
  schedule();
  return refresh();
}

function init() {
  const form = $("#connect");
  const params = new URLSearchParams(location.search);
  form.api.value = params.get("api") ?? sessionStorage.getItem("monitoring.api") ??
    `${location.origin}/functions/v1/monitoring-api`;
  form.key.value = sessionStorage.getItem("monitoring.key") ?? "";
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    connect(form.api.value.trim(), form.key.value.trim());
  });
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!state.api) return;
    state.cursors = [""];
    state.page = 0;
    schedule();
    loadEvents().catch((error) => showError($("#connection"), error));
  });
  $("#next").addEventListener("click", () => {
    state.page++;
    loadEvents().catch((error) => showError($("#connection"), error));
  });
  $("#prev").addEventListener("click", () => {
    state.page = Math.max(0, state.page - 1);
    loadEvents().catch((error) => showError($("#connection"), error));
  });
  for (const button of document.querySelectorAll(".actions button")) {
    button.addEventListener("click", () => changeStatus(button.dataset.status));
  }
  if (form.key.value) connect(form.api.value, form.key.value);
}

init();
