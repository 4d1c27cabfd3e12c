// The Gantt chart of an order's timeline (Order.timeline): one SVG, built in one pass into a
// detached element (no layout read inside the loops), of every task grouped by order line and
// domain order, with planned / estimated / actual bars, dependency arrows by type, the critical
// path, jeopardy, day / week / month scales, the "now" line and the completion date markers.
//
// Accessibility: the SVG is a graphics-document with a <title> and <desc>; each task is a
// focusable graphics-symbol named by its own <title> (roving tabindex: Tab reaches the chart
// once, arrow keys move between tasks, Home/End jump). A details panel shows the focused task,
// and `taskTable` gives the same information as a table.
//
// After each draw, window.omGanttRender = {tasks, ms, scale} (the browser tests read it).

import { h, svg } from "./ui.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const LABEL_W = 320;
const HEADER_H = 86;
const ROW = { line: 28, domain: 22, task: 26 };
const TICK_MIN_PX = 64;
const MAX_WIDTH = 120_000;

/** Time scales: how much time the visible width shows (fit: the whole timeline). */
export const SCALES = {
  fit: { label: "Fit the whole order" },
  day: { label: "Day (hours)", window: DAY },
  week: { label: "Week (days)", window: 7 * DAY },
  month: { label: "Month (weeks)", window: 30 * DAY },
};

const STEPS = [
  60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY,
];

const TYPE_SHORT = { FINISH_TO_START: "FS", START_TO_START: "SS", FINISH_TO_FINISH: "FF", START_TO_FINISH: "SF" };
const TYPE_WORDS = {
  FINISH_TO_START: "finish-to-start",
  START_TO_START: "start-to-start",
  FINISH_TO_FINISH: "finish-to-finish",
  START_TO_FINISH: "start-to-finish",
};
const STATE_GLYPH = { COMPLETED: "✓", FAILED: "✕", IN_PROGRESS: "▶", ON_HOLD: "‖", CANCELLED: "⊘", READY: "○", PENDING: "·" };

// -- dates ---------------------------------------------------------------------------------------

/** The API's DateTime as epoch ms; a value without an offset is UTC (the server's clock). */
export function ms(value) {
  if (!value) return null;
  const text = /(Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}

const fmtDateTime = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const fmtTime = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fmtDay = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const fmtMonth = new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric" });

export function when(t) {
  return t === null || t === undefined ? "—" : fmtDateTime.format(t);
}

/** "3 Dec, 15:49 – 19:49" (the end's date only when it differs). */
export function span(start, end) {
  if (start === null && end === null) return "—";
  if (end === null) return `${when(start)} – …`;
  if (start === null) return `… – ${when(end)}`;
  const sameDay = new Date(start).toDateString() === new Date(end).toDateString();
  return `${when(start)} – ${sameDay ? fmtTime.format(end) : when(end)}`;
}

export function seconds(value) {
  if (value === null || value === undefined) return "—";
  const abs = Math.abs(value);
  const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 86400 ? `${(abs / 3600).toFixed(1)} h` : `${(abs / 86400).toFixed(1)} d`;
  return value < 0 ? `−${text}` : text;
}

const words = (v) => (v ? String(v).toLowerCase().replaceAll("_", " ") : "—");

/** "resource tsm.wan-link #3" (numbered when its line has several units). */
export function domainName(domain, line) {
  const units = line.domainOrders.some((d) => d.unitIndex > 0);
  return `${words(domain.kind)} ${domain.specKey}${units ? ` #${domain.unitIndex + 1}` : ""}`;
}

// -- the model -----------------------------------------------------------------------------------

/** Rows of the chart (line, domain order, task) and the tasks by id, dates as epoch ms. */
export function model(timeline) {
  const rows = [];
  const tasks = new Map();
  for (const line of timeline?.lines ?? []) {
    rows.push({ kind: "line", line, depth: 0 });
    for (const [d, depth] of tree(line.domainOrders)) {
      rows.push({ kind: "domain", line, domain: d, depth: depth + 1, dates: dates(d) });
      for (const t of d.tasks) {
        const row = { kind: "task", line, domain: d, task: t, depth: depth + 2, dates: dates(t), index: tasks.size };
        rows.push(row);
        tasks.set(t.id, row);
      }
    }
  }
  return { rows, tasks };
}

/** Domain orders depth first (each under its parent, siblings in the API's order), with depth. */
function tree(domainOrders) {
  const ids = new Set(domainOrders.map((d) => d.id));
  const children = new Map();
  const roots = [];
  for (const d of domainOrders) {
    if (d.parentId && ids.has(d.parentId)) {
      if (!children.has(d.parentId)) children.set(d.parentId, []);
      children.get(d.parentId).push(d);
    } else roots.push(d);
  }
  const out = [];
  const stack = roots.reverse().map((d) => [d, 0]);
  while (stack.length) {
    const [d, depth] = stack.pop();
    out.push([d, depth]);
    const kids = children.get(d.id) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
  }
  return out;
}

function dates(x) {
  return {
    ps: ms(x.plannedStartDate),
    pe: ms(x.plannedEndDate),
    es: ms(x.estimatedStartDate),
    ee: ms(x.estimatedEndDate),
    as: ms(x.actualStartDate),
    ae: ms(x.actualEndDate),
  };
}

/** The best-known start and end: actual, else estimated, else planned. */
function best(d, now) {
  const start = d.as ?? d.es ?? d.ps;
  const end = d.ae ?? (d.as !== null ? Math.max(now, d.ee ?? d.as) : (d.ee ?? d.pe));
  return [start, end ?? start];
}

export function markers(timeline, now) {
  const list = [];
  if (!timeline) return list;
  const finished = Boolean(timeline.completedAt) || ["COMPLETED", "FAILED", "CANCELLED", "REJECTED", "PARTIAL"].includes(timeline.state);
  if (!finished) list.push({ kind: "now", label: "now", t: now });
  const add = (kind, label, value) => {
    const t = ms(value);
    if (t !== null) list.push({ kind, label, t });
  };
  add("requested", "requested", timeline.requestedCompletionDate);
  add("committed", "committed", timeline.committedCompletionDate);
  add("expected", "expected", timeline.expectedCompletionDate);
  add("completed", "completed", timeline.completedAt);
  return list;
}

// -- the chart -----------------------------------------------------------------------------------

let instances = 0;

export class Gantt {
  /** `onSelect(row)` when a task is focused, hovered or clicked. */
  constructor({ onSelect } = {}) {
    this.uid = `g${++instances}`;
    this.onSelect = onSelect;
    this.scroller = h("div", { class: "gantt-scroll" });
    this.el = h("div", { class: "gantt" }, this.scroller);
    this.svg = null;
    this.current = null; // the model drawn
    this.focusIndex = 0;
    this.sticky = null;
    this.scroller.addEventListener("scroll", () => this.stick(), { passive: true });
  }

  /** Draw (or redraw) the timeline; keeps the focused task and the scroll position. */
  draw(timeline, { scale = "fit", now = Date.now() } = {}) {
    const started = performance.now();
    const available = Math.max(400, (this.scroller.clientWidth || this.el.clientWidth || 1100) - LABEL_W - 4);
    const hadFocus = this.svg?.contains(document.activeElement);
    const focusedId = this.current?.order[this.focusIndex]?.task.id;

    const m = model(timeline);
    const order = [...m.tasks.values()];
    const marks = markers(timeline, now);

    // The time range: every date of the tasks and domain orders, the order's start and markers.
    let lo = Infinity;
    let hi = -Infinity;
    const see = (t) => {
      if (t === null || t === undefined) return;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    };
    see(ms(timeline?.startDate));
    for (const row of m.rows) {
      if (!row.dates) continue;
      const d = row.dates;
      see(d.ps); see(d.pe); see(d.es); see(d.ee); see(d.as); see(d.ae);
      if (d.as !== null && d.ae === null) see(now);
    }
    for (const mark of marks) see(mark.t);
    if (!Number.isFinite(lo)) {
      lo = now - HOUR;
      hi = now + HOUR;
    }
    if (hi - lo < 10 * 60_000) {
      const mid = (lo + hi) / 2;
      lo = mid - 5 * 60_000;
      hi = mid + 5 * 60_000;
    }
    const pad = (hi - lo) * 0.03;
    lo -= pad;
    hi += pad;

    let pxPerMs = available / (scale === "fit" ? hi - lo : SCALES[scale].window);
    if ((hi - lo) * pxPerMs > MAX_WIDTH) pxPerMs = MAX_WIDTH / (hi - lo);
    const plotW = Math.ceil((hi - lo) * pxPerMs);
    const x = (t) => LABEL_W + (t - lo) * pxPerMs;

    // Row positions.
    let y = HEADER_H;
    for (const row of m.rows) {
      row.y = y;
      row.h = ROW[row.kind];
      y += row.h;
    }
    const width = LABEL_W + plotW + 8;
    const height = y + 8;

    const id = this.uid;
    const root = svg("svg", {
      class: "gantt-chart",
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "graphics-document",
      "aria-roledescription": "Gantt chart",
      "aria-labelledby": `${id}-title`,
      "aria-describedby": `${id}-desc`,
      "data-scale": scale,
      "data-tasks": order.length,
    });
    const critical = order.filter((r) => r.task.critical).length;
    root.append(
      svg("title", { id: `${id}-title` }, `Timeline of ${order.length} task${order.length === 1 ? "" : "s"}`),
      svg(
        "desc",
        { id: `${id}-desc` },
        `From ${when(lo + pad)} to ${when(hi - pad)}. ${critical} task${critical === 1 ? " is" : "s are"} on the critical path. ` +
          "Use the arrow keys to move between tasks; the table of tasks below has the same information.",
      ),
      defs(id),
    );

    // Grid and ticks.
    const { minor, major } = ticks(lo, hi, pxPerMs);
    const grid = svg("g", { class: "grid", "aria-hidden": "true" });
    const axis = svg("g", { class: "axis", "aria-hidden": "true" });
    axis.append(svg("rect", { class: "axis-bg", x: 0, y: 0, width, height: HEADER_H }));
    for (const t of major) {
      const px = x(t.t);
      grid.append(svg("line", { class: "major", x1: px, x2: px, y1: HEADER_H, y2: height }));
      axis.append(svg("line", { class: "major", x1: px, x2: px, y1: 54, y2: HEADER_H }));
      axis.append(svg("text", { class: "major-label", x: px + 4, y: 66 }, t.label));
    }
    for (const t of minor) {
      const px = x(t.t);
      grid.append(svg("line", { class: "minor", x1: px, x2: px, y1: HEADER_H, y2: height }));
      axis.append(svg("line", { class: "minor", x1: px, x2: px, y1: 70, y2: HEADER_H }));
      axis.append(svg("text", { class: "minor-label", x: px + 3, y: 82 }, t.label));
    }

    // Row bands.
    const bands = svg("g", { class: "bands", "aria-hidden": "true" });
    for (const row of m.rows) {
      if (row.kind === "line") bands.append(svg("rect", { class: "band-line", x: 0, y: row.y, width, height: row.h }));
      else if (row.kind === "domain") bands.append(svg("rect", { class: "band-domain", x: 0, y: row.y, width, height: row.h }));
    }

    // Markers: lines across the body, labels in the header (stacked so they never overlap).
    const markLines = svg("g", { class: "markers", "aria-hidden": "true" });
    marks.forEach((mark, i) => {
      const px = x(mark.t);
      markLines.append(svg("line", { class: `marker marker-${mark.kind}`, x1: px, x2: px, y1: HEADER_H, y2: height }));
      axis.append(
        svg("line", { class: `marker marker-${mark.kind}`, x1: px, x2: px, y1: 2 + i * 10, y2: HEADER_H }),
        svg(
          "text",
          {
            class: `marker-label marker-${mark.kind}`,
            x: px > width - 150 ? px - 4 : px + 4,
            y: 10 + i * 10,
            "text-anchor": px > width - 150 ? "end" : "start",
            "data-marker": mark.kind,
          },
          `${mark.label} ${fmtTime.format(mark.t)}`,
        ),
      );
    });

    // Domain order summaries and the tasks.
    const summaries = svg("g", { class: "summaries", "aria-hidden": "true" });
    const bars = svg("g", { class: "tasks" });
    const labels = svg("g", { class: "labels" });
    labels.append(svg("rect", { class: "labels-bg", x: 0, y: HEADER_H, width: LABEL_W, height: height - HEADER_H }));
    const tabbable = focusedId && m.tasks.has(focusedId) ? m.tasks.get(focusedId).index : 0;
    for (const row of m.rows) {
      labels.append(label(row));
      if (row.kind === "domain") {
        const [s, e] = best(row.dates, now);
        if (s !== null) {
          const x1 = x(s);
          const w = Math.max(3, x(e) - x1);
          const top = row.y + 8;
          summaries.append(svg("path", { class: "summary", d: `M${x1} ${top + 8}V${top}H${x1 + w}V${top + 8}` }));
        }
      } else if (row.kind === "task") {
        bars.append(taskBar(row, x, now, id, row.index === tabbable));
      }
    }

    // Dependency arrows (after the bars, so they stay visible; they take no pointer).
    const deps = svg("g", { class: "deps", "aria-hidden": "true" });
    for (const row of order) {
      for (const dep of row.task.dependencies) {
        const from = m.tasks.get(dep.predecessorId);
        if (!from) continue;
        deps.append(arrow(from, row, dep, x, now, id));
      }
    }

    const corner = svg(
      "g",
      { class: "corner", "aria-hidden": "true" },
      svg("rect", { class: "axis-bg", x: 0, y: 0, width: LABEL_W, height: HEADER_H }),
      svg("text", { class: "corner-label", x: 8, y: 66 }, "Line · domain order · task"),
      svg("text", { class: "corner-scale", x: 8, y: 82 }, `scale: ${SCALES[scale].label.toLowerCase()}`),
    );

    root.append(bands, grid, markLines, summaries, bars, deps, labels, axis, corner);

    // One write into the page.
    const keepLeft = this.scroller.scrollLeft;
    const keepTop = this.scroller.scrollTop;
    this.scroller.replaceChildren(root);
    this.svg = root;
    this.current = { ...m, order, x, lo, hi, scale };
    this.sticky = { labels, axis, corner };
    // Restoring a scroll position forces a layout: only when there is one to restore.
    if (keepLeft) this.scroller.scrollLeft = keepLeft;
    if (keepTop) this.scroller.scrollTop = keepTop;
    this.stick(keepLeft, keepTop);
    this.wire(root);

    const found = focusedId ? m.tasks.get(focusedId) : null;
    this.focusIndex = found ? found.index : 0;
    if (hadFocus && found) this.focusTask(focusedId, { scroll: false });

    const elapsed = performance.now() - started;
    window.omGanttRender = { tasks: order.length, ms: Math.round(elapsed * 10) / 10, scale };
    return this.current;
  }

  /** Keep the label column and the header in view while the chart scrolls. */
  stick(left = this.scroller.scrollLeft, top = this.scroller.scrollTop) {
    if (!this.sticky) return;
    this.sticky.labels.setAttribute("transform", `translate(${left} 0)`);
    this.sticky.axis.setAttribute("transform", `translate(0 ${top})`);
    this.sticky.corner.setAttribute("transform", `translate(${left} ${top})`);
  }

  wire(root) {
    const rowOf = (target) => {
      const el = target.closest?.("[data-task]");
      return el ? this.current.tasks.get(el.dataset.task) : null;
    };
    root.addEventListener("focusin", (event) => {
      const row = rowOf(event.target);
      if (row) this.select(row);
    });
    root.addEventListener("pointerover", (event) => {
      const row = rowOf(event.target);
      if (row) this.onSelect?.(row);
    });
    root.addEventListener("click", (event) => {
      const row = rowOf(event.target);
      if (row) this.focusTask(row.task.id);
    });
    root.addEventListener("keydown", (event) => {
      const row = rowOf(event.target);
      if (!row) return;
      const last = this.current.order.length - 1;
      const next = {
        ArrowDown: row.index + 1,
        ArrowRight: row.index + 1,
        ArrowUp: row.index - 1,
        ArrowLeft: row.index - 1,
        Home: 0,
        End: last,
        PageDown: row.index + 10,
        PageUp: row.index - 10,
      }[event.key];
      if (next === undefined) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.select(row);
        }
        return;
      }
      event.preventDefault();
      this.focusTask(this.current.order[Math.max(0, Math.min(last, next))].task.id);
    });
  }

  select(row) {
    const bars = this.svg.querySelectorAll('[data-task][tabindex="0"], [data-task].selected');
    for (const el of bars) {
      el.setAttribute("tabindex", "-1");
      el.classList.remove("selected");
    }
    this.svg.querySelector("text.selected")?.classList.remove("selected");
    this.svg.querySelector(`text[data-label="${CSS.escape(row.task.id)}"]`)?.classList.add("selected");
    const el = this.barOf(row.task.id);
    el?.setAttribute("tabindex", "0");
    el?.classList.add("selected");
    this.focusIndex = row.index;
    this.onSelect?.(row);
  }

  barOf(taskId) {
    return this.svg?.querySelector(`[data-task="${CSS.escape(taskId)}"]`) ?? null;
  }

  /** Focus a task's bar (from the table, the keyboard) and scroll it into view. */
  focusTask(taskId, { scroll = true } = {}) {
    const row = this.current?.tasks.get(taskId);
    const el = this.barOf(taskId);
    if (!row || !el) return;
    this.select(row);
    el.focus({ preventScroll: true });
    if (!scroll) return;
    const [s] = best(row.dates, Date.now());
    const view = this.scroller;
    const top = row.y - HEADER_H;
    if (top < view.scrollTop || row.y + row.h > view.scrollTop + view.clientHeight) view.scrollTop = Math.max(0, top - view.clientHeight / 3);
    if (s !== null) {
      const px = this.current.x(s) - LABEL_W;
      if (px < view.scrollLeft || px > view.scrollLeft + view.clientWidth - LABEL_W - 40) view.scrollLeft = Math.max(0, px - 40);
    }
    view.scrollIntoView({ block: "nearest", inline: "nearest" }); // the chart itself in the window
  }

  /** Scroll so that a time (e.g. now) is in view. */
  scrollToTime(t) {
    if (!this.current) return;
    this.scroller.scrollLeft = Math.max(0, this.current.x(t) - LABEL_W - 80);
  }
}

function defs(id) {
  const marker = (name, shape) =>
    svg(
      "marker",
      { id: `${id}-${name}`, viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      shape,
    );
  return svg(
    "defs",
    {},
    svg(
      "pattern",
      { id: `${id}-hatch`, patternUnits: "userSpaceOnUse", width: 6, height: 6, patternTransform: "rotate(45)" },
      svg("rect", { width: 6, height: 6, class: "hatch-bg" }),
      svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "hatch-line" }),
    ),
    marker("arrow", svg("path", { d: "M0 0L8 4L0 8z", class: "arrowhead" })),
    marker("arrow-critical", svg("path", { d: "M0 0L8 4L0 8z", class: "arrowhead critical" })),
  );
}

function ticks(lo, hi, pxPerMs) {
  const step = STEPS.find((s) => s * pxPerMs >= TICK_MIN_PX) ?? STEPS.at(-1);
  const minor = [];
  const major = [];
  if (step >= 30 * DAY) {
    const d = new Date(lo);
    d.setDate(1);
    d.setHours(0, 0, 0, 0);
    while (d.getTime() <= hi) {
      if (d.getTime() >= lo) major.push({ t: d.getTime(), label: fmtMonth.format(d) });
      d.setMonth(d.getMonth() + 1);
    }
    return { minor, major };
  }
  const start = new Date(lo);
  if (step >= 7 * DAY) start.setDate(start.getDate() - ((start.getDay() + 6) % 7)); // Mondays
  start.setHours(0, 0, 0, 0);
  let t = start.getTime();
  while (t < lo) t += step;
  for (; t <= hi; t += step) minor.push({ t, label: step >= DAY ? fmtDay.format(t) : fmtTime.format(t) });
  if (step < DAY) {
    const d = new Date(lo);
    d.setHours(0, 0, 0, 0);
    if (d.getTime() < lo) major.push({ t: lo, label: fmtDay.format(lo) });
    for (d.setDate(d.getDate() + 1); d.getTime() <= hi; d.setDate(d.getDate() + 1)) major.push({ t: d.getTime(), label: fmtDay.format(d) });
    if (!major.length) major.push({ t: lo, label: fmtDay.format(lo) });
  } else {
    const d = new Date(lo);
    d.setDate(1);
    d.setHours(0, 0, 0, 0);
    if (d.getTime() < lo) major.push({ t: lo, label: fmtMonth.format(lo) });
    for (d.setMonth(d.getMonth() + 1); d.getTime() <= hi; d.setMonth(d.getMonth() + 1)) major.push({ t: d.getTime(), label: fmtMonth.format(d) });
  }
  return { minor, major };
}

function clip(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function label(row) {
  const x = 8 + row.depth * 12;
  const baseline = row.y + row.h / 2 + 4;
  const room = Math.floor((LABEL_W - x - 8) / 6.6);
  if (row.kind === "line") {
    const l = row.line;
    return svg("text", { class: "label-line", x, y: baseline }, clip(`Line ${l.lineNumber} · ${l.offeringKey} · ${words(l.state)}`, room));
  }
  if (row.kind === "domain") {
    const d = row.domain;
    return svg(
      "text",
      { class: "label-domain", x, y: baseline },
      clip(`${domainName(d, row.line)} · ${words(d.state)}`, room),
    );
  }
  const t = row.task;
  return svg(
    "text",
    { class: `label-task${t.critical ? " critical" : ""}`, x, y: baseline, "data-label": t.id },
    clip(`${t.critical ? "◆ " : ""}${t.name}`, room),
  );
}

/** What a screen reader says for a task, and the hover tooltip. */
export function describe(row) {
  const t = row.task;
  const d = row.dates;
  const parts = [
    `${t.name} (${words(t.kind)})`,
    words(t.state),
    t.critical ? "on the critical path" : `float ${seconds(t.totalFloat)}`,
    t.jeopardy ? `jeopardy ${words(t.jeopardy)}` : null,
    `planned ${span(d.ps, d.pe)}`,
    d.es !== null || d.ee !== null ? `estimated ${span(d.es, d.ee)}` : null,
    d.as !== null ? `actual ${span(d.as, d.ae)}` : null,
    t.dependencies.length ? `${t.dependencies.length} dependenc${t.dependencies.length === 1 ? "y" : "ies"}` : null,
  ];
  return parts.filter(Boolean).join("; ");
}

function taskBar(row, x, now, id, tabbable) {
  const t = row.task;
  const d = row.dates;
  const top = row.y;
  const classes = ["task", `state-${t.state.toLowerCase()}`];
  if (t.critical) classes.push("critical");
  if (t.jeopardy) classes.push(`jeopardy-${t.jeopardy.toLowerCase()}`);
  const g = svg("g", {
    class: classes.join(" "),
    tabindex: tabbable ? 0 : -1,
    role: "graphics-symbol",
    "data-task": t.id,
    "data-key": t.key,
    "data-state": t.state,
    "data-critical": t.critical ? "true" : "false",
    "data-jeopardy": t.jeopardy ?? null,
  });
  g.append(svg("title", {}, describe(row)));
  let left = Infinity;
  let right = -Infinity;
  const extent = (a, b) => {
    left = Math.min(left, a);
    right = Math.max(right, b);
  };
  const bar = (cls, s, e, y, hgt, extra = {}) => {
    const x1 = x(s);
    const w = Math.max(3, x(e) - x1);
    extent(x1, x1 + w);
    return svg("rect", { class: cls, x: x1, y, width: w, height: hgt, ...extra });
  };
  const parts = [];
  if (d.ps !== null && d.pe !== null) parts.push(bar("planned", d.ps, d.pe, top + 3, row.h - 6, { rx: 2 }));
  if (d.es !== null && d.ee !== null && d.ae === null) parts.push(bar("estimated", d.es, d.ee, top + 7, row.h - 14, { fill: `url(#${id}-hatch)` }));
  if (d.as !== null) {
    const end = d.ae ?? Math.max(now, d.as);
    parts.push(bar(d.ae === null ? "actual running" : "actual", d.as, end, top + 9, row.h - 18));
  }
  if (!Number.isFinite(left)) {
    left = x(now);
    right = left + 3;
  }
  // An invisible target around the bars (the focus ring and the pointer's target).
  g.append(svg("rect", { class: "hit", x: left - 3, y: top + 1, width: right - left + 6, height: row.h - 2, rx: 3 }), ...parts);
  // State glyph and jeopardy after the bar: the cue that does not rely on colour.
  const cue = `${STATE_GLYPH[t.state] ?? ""}${t.jeopardy ? ` ⚠ ${words(t.jeopardy)}` : ""}${t.critical ? " ◆" : ""}`;
  if (t.jeopardy) {
    const cx = right + 9;
    const cy = top + row.h / 2;
    g.append(svg("path", { class: "jeopardy-mark", d: `M${cx} ${cy - 6}L${cx + 6} ${cy + 5}H${cx - 6}z` }));
    g.append(svg("text", { class: "cue", x: right + 18, y: top + row.h / 2 + 4 }, cue));
  } else {
    g.append(svg("text", { class: "cue", x: right + 5, y: top + row.h / 2 + 4 }, cue));
  }
  return g;
}

function arrow(from, to, dep, x, now, id) {
  const [fs, fe] = best(from.dates, now);
  const [ts, te] = best(to.dates, now);
  const type = dep.type;
  const fromEnd = type === "FINISH_TO_START" || type === "FINISH_TO_FINISH";
  const toStart = type === "FINISH_TO_START" || type === "START_TO_START";
  const x1 = x(fromEnd ? fe : fs);
  const x2 = x(toStart ? ts : te);
  const y1 = from.y + from.h / 2;
  const y2 = to.y + to.h / 2;
  const elbow = x1 + (fromEnd ? 6 : -6);
  const into = toStart ? x2 - 2 : x2 + 2;
  const critical = from.task.critical && to.task.critical;
  const g = svg("g", {
    class: `dep dep-${TYPE_SHORT[type].toLowerCase()}${critical ? " critical" : ""}`,
    "data-type": type,
    "data-from": from.task.id,
    "data-to": to.task.id,
  });
  g.append(
    svg("path", {
      d: `M${x1} ${y1}H${elbow}V${y2}H${into}`,
      "marker-end": `url(#${id}-${critical ? "arrow-critical" : "arrow"})`,
    }),
  );
  const lag = dep.lag ? ` ${dep.lag > 0 ? "+" : ""}${seconds(dep.lag)}` : "";
  if (type !== "FINISH_TO_START" || lag) {
    g.append(svg("text", { class: "dep-label", x: elbow + 3, y: y2 - 4 }, `${TYPE_SHORT[type]}${lag}`));
  }
  return g;
}

// -- legend, details, table ----------------------------------------------------------------------

function swatch(kind, id) {
  const box = svg("svg", { width: 34, height: 16, viewBox: "0 0 34 16", "aria-hidden": "true", focusable: "false", class: "swatch" });
  if (kind === "planned") box.append(svg("rect", { class: "planned", x: 1, y: 2, width: 32, height: 12, rx: 2 }));
  if (kind === "critical") box.append(svg("rect", { class: "planned critical-swatch", x: 1, y: 2, width: 32, height: 12, rx: 2 }));
  if (kind === "estimated") {
    box.append(
      svg(
        "defs",
        {},
        svg(
          "pattern",
          { id: `${id}-lhatch`, patternUnits: "userSpaceOnUse", width: 6, height: 6, patternTransform: "rotate(45)" },
          svg("rect", { width: 6, height: 6, class: "hatch-bg" }),
          svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "hatch-line" }),
        ),
      ),
      svg("rect", { class: "estimated", x: 1, y: 4, width: 32, height: 8, fill: `url(#${id}-lhatch)` }),
    );
  }
  if (kind === "actual") box.append(svg("rect", { class: "actual", x: 1, y: 5, width: 32, height: 6 }));
  if (kind.startsWith("dep-")) box.append(svg("g", { class: `dep ${kind}` }, svg("path", { d: "M1 8H30" }), svg("path", { class: "head", d: "M26 4L33 8L26 12z" })));
  if (kind.startsWith("marker-")) box.append(svg("line", { class: `marker ${kind}`, x1: 17, x2: 17, y1: 0, y2: 16 }));
  if (kind === "jeopardy") box.append(svg("path", { class: "jeopardy-mark legend-jeopardy", d: "M17 2L23 14H11z" }));
  return box;
}

/** The chart's key: every bar, arrow and line style, in words. */
export function legend(gantt) {
  const id = gantt?.uid ?? "legend";
  const item = (kind, text) => h("li", {}, swatch(kind, id), h("span", {}, text));
  return h(
    "ul",
    { class: "gantt-legend", "aria-label": "Chart legend" },
    item("planned", "planned (outline)"),
    item("estimated", "estimated (hatched)"),
    item("actual", "actual (solid)"),
    item("critical", "◆ critical path (thick red outline)"),
    item("jeopardy", "⚠ jeopardy (triangle and level)"),
    item("dep-fs", "finish-to-start (solid arrow)"),
    item("dep-ss", "SS start-to-start (dashed)"),
    item("dep-ff", "FF finish-to-finish (dotted)"),
    item("dep-sf", "SF start-to-finish (dash-dot)"),
    item("marker-now", "now"),
    item("marker-requested", "requested completion"),
    item("marker-committed", "committed completion"),
    item("marker-expected", "expected completion"),
    h("li", { class: "glyphs" }, "✓ completed · ▶ in progress · ○ ready · · pending · ‖ on hold · ✕ failed · ⊘ cancelled"),
  );
}

function dependencyText(dep, tasks) {
  const from = tasks.get(dep.predecessorId);
  const name = from ? from.task.name : dep.predecessorId;
  return `${name} (${TYPE_WORDS[dep.type] ?? words(dep.type)}${dep.lag ? `, lag ${seconds(dep.lag)}` : ""})`;
}

/** The details of one task (the panel next to the chart). */
export function details(row, tasks) {
  const t = row.task;
  const d = row.dates;
  const pairs = [
    ["Task", `${t.name} (${t.key})`],
    ["Line · domain order", `Line ${row.line.lineNumber} · ${domainName(row.domain, row.line)}`],
    ["State", `${STATE_GLYPH[t.state] ?? ""} ${words(t.state)} (${words(t.kind)})${t.finishBlocked ? " · finish held by a dependency" : ""}`],
    ["Critical path", t.critical ? "◆ yes (no float)" : `no · float ${seconds(t.totalFloat)}`],
    ["Jeopardy", t.jeopardy ? `⚠ ${words(t.jeopardy)}` : "none"],
    ["Planned", span(d.ps, d.pe)],
    ["Estimated", span(d.es, d.ee)],
    ["Actual", d.as === null ? "not started" : span(d.as, d.ae)],
    t.dueAt ? ["Due", when(ms(t.dueAt))] : null,
    t.releaseAt ? ["Held until", when(ms(t.releaseAt))] : null,
    t.assignee ? ["Assignee", t.assignee] : null,
    ["Depends on", t.dependencies.length ? t.dependencies.map((dep) => dependencyText(dep, tasks)).join("; ") : "nothing"],
  ];
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
  );
}

/** Every task as a table: the chart's text alternative. `onShow(taskId)` focuses its bar. */
export function taskTable(m, onShow) {
  const rows = [...m.tasks.values()];
  const head = ["Line", "Domain order", "Task", "State", "Critical", "Jeopardy", "Float", "Planned", "Estimated", "Actual", "Depends on"];
  const body = document.createDocumentFragment();
  for (const row of rows) {
    const t = row.task;
    const d = row.dates;
    body.append(
      h(
        "tr",
        { "data-task": t.id, class: t.critical ? "critical" : null },
        h("td", {}, String(row.line.lineNumber)),
        h("td", {}, domainName(row.domain, row.line)),
        h("th", { scope: "row" }, onShow ? h("button", { type: "button", class: "link", onclick: () => onShow(t.id) }, t.name) : t.name),
        h("td", {}, words(t.state)),
        h("td", {}, t.critical ? "◆ yes" : "no"),
        h("td", {}, t.jeopardy ? `⚠ ${words(t.jeopardy)}` : "—"),
        h("td", { class: "num" }, seconds(t.totalFloat)),
        h("td", {}, span(d.ps, d.pe)),
        h("td", {}, span(d.es, d.ee)),
        h("td", {}, d.as === null ? "—" : span(d.as, d.ae)),
        h("td", {}, t.dependencies.length ? t.dependencies.map((dep) => dependencyText(dep, m.tasks)).join("; ") : "—"),
      ),
    );
  }
  const tbody = h("tbody");
  tbody.append(body);
  return h(
    "table",
    { class: "grid gantt-table" },
    h("caption", {}, `The order's ${rows.length} tasks, by line and domain order, with their dates`),
    h("thead", {}, h("tr", {}, head.map((label) => h("th", { scope: "col" }, label)))),
    tbody,
  );
}
