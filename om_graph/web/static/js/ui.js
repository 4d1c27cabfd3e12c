// Small DOM helpers shared by every screen: elements from data (text is always text, never HTML),
// formatting, state badges, tables, forms, the typed errors of a payload and a screen's live updates.

import { subscribe } from "./gql.js";

/** h("a", {href: "#/x", class: "c", onclick: fn}, "text", child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An SVG element (the Gantt, charts). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// -- formatting --------------------------------------------------------------------------------

export function money(m) {
  if (!m) return "—";
  const amount = Number(m.amount);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: m.currency }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${m.currency}`;
  }
}

/** A time from the API: without an offset it is UTC (the server stores naive UTC). */
export function instant(value) {
  if (value instanceof Date) return value;
  const text = String(value);
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) || !text.includes("T") ? text : `${text}Z`);
}

export function dateTime(value) {
  if (!value) return "—";
  const d = instant(value);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function date(value) {
  if (!value) return "—";
  return instant(value).toLocaleDateString(undefined, { dateStyle: "medium" });
}

/** "5 min ago", "in 2 h", for ages and due times. */
export function relative(value, now = Date.now()) {
  if (!value) return "—";
  const seconds = Math.round((instant(value).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  const [n, unit] =
    abs < 60 ? [abs, "s"] : abs < 3600 ? [Math.round(abs / 60), "min"] : abs < 86400 ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86400), "d"];
  return seconds < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** "IN_PROGRESS" -> "in progress" */
export function words(value) {
  return value ? String(value).toLowerCase().replaceAll("_", " ") : "—";
}

export function value(v) {
  if (v === null || v === undefined) return "—";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export function badge(state, kind = "state") {
  if (!state) return h("span", { class: "badge muted" }, "—");
  return h("span", { class: `badge ${kind}-${String(state).toLowerCase()}` }, words(state));
}

export function jeopardyBadge(level) {
  return level ? h("span", { class: `badge jeopardy-${level.toLowerCase()}`, title: "jeopardy" }, `⚠ ${words(level)}`) : null;
}

/** The opaque node id's number (Order:12 -> 12), for short labels. */
export function shortId(id) {
  try {
    const decoded = atob(id);
    return decoded.slice(decoded.indexOf(":") + 1);
  } catch {
    return id;
  }
}

// -- building blocks ---------------------------------------------------------------------------

/** A table: columns [{label, cell: row => node|string, class?}], with a caption for screen readers. */
export function table(caption, columns, rows, { empty = "Nothing here yet.", rowAttrs } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    { class: "grid" },
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((c) => h("td", { class: c.class }, c.cell(row))))),
    ),
  );
}

/** A definition list from [label, value] pairs. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).map(([label, v]) => [h("dt", {}, label), h("dd", {}, v ?? "—")]),
  );
}

export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), children);
}

let fieldCount = 0;
/** A labelled form field; `control` is an input/select element (its id is set here). */
export function field(label, control, hint) {
  const id = control.id || `f-${++fieldCount}`;
  control.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", { id: hintId, class: "hint" }, hint) : null);
}

export function button(label, onclick, attrs = {}) {
  return h("button", { type: "button", ...attrs, onclick }, label);
}

/** The typed errors of a payload (or an ApiError), announced to screen readers. */
export function errorList(errors) {
  const list = Array.isArray(errors) ? errors : errors?.errors ?? [{ message: String(errors?.message ?? errors) }];
  if (!list.length) return null;
  return h(
    "div",
    { class: "errors", role: "alert" },
    h(
      "ul",
      {},
      list.map((e) => h("li", {}, e.field ? h("strong", {}, `${e.field}: `) : null, e.message, e.code ? h("code", {}, ` ${e.code}`) : null)),
    ),
  );
}

/**
 * A coalesced re-read for live screens: ``schedule()`` runs ``run`` once, ``ms`` after the first
 * call since the last run (calls meanwhile join it), so a busy stream of events re-reads at most
 * every ``ms`` and never waits for a quiet moment. Nothing runs after ``signal`` aborts.
 */
export function coalesce(run, ms, signal) {
  let timer = null;
  signal?.addEventListener("abort", () => clearTimeout(timer), { once: true });
  return () => {
    if (timer !== null || signal?.aborted) return;
    timer = setTimeout(() => {
      timer = null;
      if (!signal?.aborted) run();
    }, ms);
  };
}

let toastTimer = null;
/** A short status message in the page's live region. */
export function toast(message, kind = "info") {
  const region = document.getElementById("toast");
  if (!region) return;
  clear(region, h("div", { class: `toast ${kind}` }, message));
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => region.replaceChildren(), 5000);
}

/** Run an action from a button: disabled while it runs, its errors shown in `errorsAt`. */
export async function act(buttonEl, errorsAt, run) {
  buttonEl.disabled = true;
  errorsAt.replaceChildren();
  try {
    const errors = await run();
    if (errors?.length) errorsAt.append(errorList(errors));
    return !errors?.length;
  } catch (error) {
    errorsAt.append(errorList(error));
    return false;
  } finally {
    buttonEl.disabled = false;
  }
}

/**
 * A screen's live updates: subscribe to `query` until `signal` aborts, and return the status line
 * that says how they are ("connecting to live updates…", "● live", "reconnecting…", "live updates
 * stopped: …"); the screen places it. The screen's own handlers run after the line is set:
 * `connected` (also after a reconnect: reload what may have been missed), `next(data)` for each
 * event (the line is marked live first, if it was not), and optional `reconnecting` and `error`.
 * A screen may write more into the line (the orders list's "N new orders · Show").
 */
export function live(query, variables, { next, connected, reconnecting, error } = {}, signal) {
  const status = h("p", { class: "live off", "aria-live": "polite" }, "connecting to live updates…");
  const show = (className, text) => {
    status.className = className;
    status.textContent = text;
  };
  subscribe(
    query,
    variables,
    {
      connected: () => {
        show("live", "● live");
        connected?.();
      },
      reconnecting: () => {
        show("live off", "reconnecting…");
        reconnecting?.();
      },
      error: (e) => {
        show("live off", `live updates stopped: ${e.message}`);
        error?.(e);
      },
      next: (data) => {
        if (status.classList.contains("off")) show("live", "● live");
        next?.(data);
      },
    },
    signal,
  );
  return status;
}
