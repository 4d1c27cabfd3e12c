// My tasks: the work queue (tasks(filter, sort): mine, my groups', unassigned, by state, due date,
// jeopardy, kind or order) with claim, release, assign (task:assign) and complete; completing a
// work order records the values the person entered (TaskCompleteInput.characteristics, checked
// by the server against the task's domain order specification). Also the manual enrichment tasks
// (enrichmentTasks, enrichmentTaskComplete) for staff who may read them. Live: orderEvents reload
// the queue (debounced).

import { gql, mutate } from "../gql.js";
import { can, viewer } from "../session.js";
import {
  act, append, badge, button, clear, coalesce, dateTime, errorList, field, h, jeopardyBadge, live, relative, section, shortId, table, toast, words,
} from "../ui.js";

const TASK_STATES = ["READY", "IN_PROGRESS", "PENDING", "ON_HOLD", "COMPLETED", "FAILED", "CANCELLED"];
const JEOPARDY = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];
const DONE = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
const PAGE = 25;
const QUEUES = [
  ["groups", "My groups' tasks"],
  ["claimable", "Unassigned in my groups (I may claim)"],
  ["mine", "Assigned to me"],
  ["all", "Every task I may see"],
];

const TASK = `id key name kind state assignee assignmentGroup assignedAt dueAt jeopardy domainOrderId orderId startedAt attempts
  errorCode errorMessage finishBlocked critical`;
const LIST = `
query Tasks($filter: TaskQueueFilterInput, $first: Int!, $after: String, $sort: TaskQueueSort!) {
  tasks(filter: $filter, first: $first, after: $after, sort: $sort) {
    pageInfo { hasNextPage endCursor }
    edges { node { ${TASK} } }
  }
}`;
const DOMAIN_ORDERS = `query($ids: [ID!]!) { nodes(ids: $ids) { ... on DomainOrder { id kind specKey lineNumber parentId characteristics { name value } } } }`;
const SPECS = `{ productOfferings { key productSpecification { key characteristics { ${"name valueType required allowedValues minValue maxValue maxLength pattern description"} } }
  characteristics { name valueType required allowedValues minValue maxValue maxLength pattern description } } }`;
const CLAIM = `mutation($id: ID!) { taskClaim(input: {id: $id}) { task { ${TASK} } errors { field code message } } }`;
const RELEASE = `mutation($id: ID!) { taskRelease(input: {id: $id}) { task { ${TASK} } errors { field code message } } }`;
const ASSIGN = `mutation($input: TaskAssignInput!) { taskAssign(input: $input) { task { ${TASK} } errors { field code message } } }`;
const COMPLETE = `mutation($id: ID!, $characteristics: [CharacteristicInput!]!) {
  taskComplete(input: {id: $id, characteristics: $characteristics}) { task { id state completedBy } order { id state } errors { field code message } }
}`;
const ENRICHMENT = `query($first: Int!) { enrichmentTasks(state: OPEN, first: $first) { id orderId lineId lineNumber key name role state capture createdAt } }`;
const ORDER_LINES = `query($id: ID!) { order(id: $id) { id lines { lineNumber offeringKey characteristics { name value } } } }`;
const ENRICH = `mutation($id: ID!, $characteristics: [CharacteristicInput!]!) {
  enrichmentTaskComplete(input: {id: $id, characteristics: $characteristics}) { task { id state } order { id state } errors { field code message } }
}`;
const EVENTS = `subscription { orderEvents { orderId entityKind type toState } }`;

// -- time: the API's DateTimes may come without an offset; they are UTC ------------------------

export function when(value) {
  if (!value) return null;
  const text = String(value);
  return new Date(/(Z|[+-]\d\d:?\d\d)$/i.test(text) ? text : `${text}Z`);
}

export function at(value) {
  const d = when(value);
  return d ? dateTime(d.toISOString()) : "—";
}

export function ago(value) {
  const d = when(value);
  return d ? relative(d.toISOString()) : "—";
}

/** "Due in 2 h" / "overdue by 3 h" with the date, and a jeopardy badge. */
export function dueCell(dueAt, jeopardy, done) {
  if (!dueAt) return [h("span", { class: "muted" }, "no due date"), " ", jeopardyBadge(jeopardy)];
  const due = when(dueAt);
  const overdue = !done && due.getTime() < Date.now();
  return h(
    "span",
    { class: "due" },
    h("time", { datetime: due.toISOString() }, at(dueAt)),
    h("br"),
    overdue ? h("span", { class: "badge overdue" }, `overdue · ${ago(dueAt)}`) : h("small", { class: "muted" }, ago(dueAt)),
    " ",
    jeopardyBadge(jeopardy),
  );
}

/** An Order global id from what a person types: the id itself, or its number. */
export function orderIdFrom(text) {
  const value = String(text || "").trim().replace(/^#/, "");
  if (!value) return null;
  return /^\d+$/.test(value) ? btoa(`Order:${value}`) : value;
}

// -- a form for characteristic values ----------------------------------------------------------

function inferType(v) {
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  if (v !== null && typeof v === "object") return "json";
  return "string";
}

const TYPE_LABELS = { string: "text", integer: "whole number", number: "number", decimal: "number", boolean: "yes / no", json: "JSON" };

function rawOf(v, type) {
  if (v === null || v === undefined) return "";
  if (type === "json") return JSON.stringify(v);
  return String(v);
}

function controlFor(spec, raw) {
  const type = spec.valueType;
  if (type === "boolean") {
    return h(
      "select",
      { name: spec.name },
      h("option", { value: "", selected: raw === "" }, "— not set —"),
      h("option", { value: "true", selected: raw === "true" }, "yes"),
      h("option", { value: "false", selected: raw === "false" }, "no"),
    );
  }
  if (Array.isArray(spec.allowedValues) && spec.allowedValues.length) {
    return h(
      "select",
      { name: spec.name },
      h("option", { value: "", selected: raw === "" }, "— not set —"),
      spec.allowedValues.map((a) => h("option", { value: String(a), selected: String(a) === raw }, String(a))),
    );
  }
  if (type === "integer" || type === "number" || type === "decimal") {
    return h("input", {
      name: spec.name, type: "number", inputmode: type === "integer" ? "numeric" : "decimal", step: type === "integer" ? "1" : "any",
      min: spec.minValue ?? null, max: spec.maxValue ?? null, value: raw,
    });
  }
  if (type === "json") return h("textarea", { name: spec.name, rows: 2 }, raw);
  return h("input", { name: spec.name, type: "text", value: raw, maxlength: spec.maxLength ?? null, autocomplete: "off" });
}

/** Parse and check one value as its specification says: [value, error | null]. */
function parse(spec, raw, field) {
  const type = spec.valueType;
  const bad = (message, code) => [undefined, { field, message, code }];
  let value = raw;
  if (type === "boolean") value = raw === "true";
  else if (type === "integer" || type === "number" || type === "decimal") {
    value = Number(raw);
    if (!Number.isFinite(value)) return bad("must be a number", "INVALID_TYPE");
    if (type === "integer" && !Number.isInteger(value)) return bad("must be a whole number", "INVALID_TYPE");
    if (spec.minValue !== null && spec.minValue !== undefined && value < spec.minValue) return bad(`must be at least ${spec.minValue}`, "OUT_OF_RANGE");
    if (spec.maxValue !== null && spec.maxValue !== undefined && value > spec.maxValue) return bad(`must be at most ${spec.maxValue}`, "OUT_OF_RANGE");
  } else if (type === "json") {
    try {
      value = JSON.parse(raw);
    } catch {
      return bad("must be JSON", "INVALID_TYPE");
    }
  } else {
    if (spec.maxLength && raw.length > spec.maxLength) return bad(`at most ${spec.maxLength} characters`, "TOO_LONG");
    if (spec.pattern) {
      try {
        if (!new RegExp(`^(?:${spec.pattern})$`).test(raw)) return bad(`does not match the pattern ${spec.pattern}`, "PATTERN_MISMATCH");
      } catch {
        // a pattern JavaScript cannot compile: the server checks it
      }
    }
  }
  if (Array.isArray(spec.allowedValues) && spec.allowedValues.length && !spec.allowedValues.some((a) => String(a) === String(value))) {
    return bad(`must be one of ${spec.allowedValues.join(", ")}`, "NOT_ALLOWED");
  }
  return [value, null];
}

/**
 * A form for characteristic values (a task's outputs, an enrichment task's captures, a fallout
 * skip's outputs). `specs`: [{name, valueType, required, allowedValues, minValue, maxValue,
 * maxLength, pattern, description}], prefilled from `current` ({name: value}). `mode`:
 * "changed" sends the values that differ from the current ones, "all" sends every field (and
 * requires the required ones). Rows for further values (name, type, value) can be added.
 * `prefix` is the errors' field path ("characteristics").
 */
export function characteristicForm(specs, current = {}, { mode = "changed", prefix = "characteristics", extras = true, legend = "Values" } = {}) {
  const fields = [];
  const list = h("div", { class: "char-fields" });
  const sharedList = h("div", { class: "char-fields" });
  const shared = specs.filter((sp) => sp.shared);
  for (const spec of specs) {
    const raw = rawOf(current[spec.name], spec.valueType);
    const control = controlFor(spec, raw);
    if (spec.required && mode === "all") control.setAttribute("aria-required", "true");
    const hintText = [TYPE_LABELS[spec.valueType] ?? spec.valueType, spec.required && mode === "all" ? "required" : null, spec.description || null]
      .filter(Boolean)
      .join(" · ");
    const wrapper = field(spec.name, control, hintText);
    fields.push({ spec, control, wrapper, initial: raw });
    (spec.shared ? sharedList : list).append(wrapper);
  }
  const extraRows = [];
  const extraList = h("div", { class: "char-extras" });
  const addRow = () => {
    const n = extraRows.length + 1;
    const name = h("input", { type: "text", autocomplete: "off", maxlength: 100 });
    const type = h("select", {}, ["string", "integer", "number", "boolean"].map((t) => h("option", { value: t }, TYPE_LABELS[t])));
    const val = h("input", { type: "text", autocomplete: "off" });
    const row = h(
      "div",
      { class: "char-extra", role: "group", "aria-label": `Further value ${n}` },
      field(`Name (further value ${n})`, name),
      field(`Type (further value ${n})`, type),
      field(`Value (further value ${n})`, val),
    );
    extraRows.push({ name, type, val, row });
    extraList.append(row);
    return name;
  };
  const el = h(
    "fieldset",
    { class: "char-form" },
    h("legend", {}, legend),
    specs.length > shared.length ? list : h("p", { class: "muted" }, "No value of its own is known for this work: add the ones you recorded, if any."),
    shared.length
      ? h(
          "details",
          { class: "shared-values" },
          h("summary", {}, `${shared.length} value${shared.length === 1 ? "" : "s"} shared with ${shared[0].sharedWith ?? "the order"} (usually left as they are)`),
          sharedList,
        )
      : null,
    extras
      ? [extraList, button("Add a further value", () => addRow().focus(), { class: "secondary", "data-action": "add-value" })]
      : null,
  );

  function clearMarks() {
    for (const f of [...fields, ...extraRows.map((r) => ({ control: r.val, wrapper: r.row }))]) {
      f.control.removeAttribute("aria-invalid");
      const ids = (f.control.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && !id.endsWith("-err"));
      if (ids.length) f.control.setAttribute("aria-describedby", ids.join(" "));
      else f.control.removeAttribute("aria-describedby");
      f.wrapper.querySelectorAll(".field-error").forEach((e) => e.remove());
    }
  }

  function mark(control, wrapper, message) {
    control.setAttribute("aria-invalid", "true");
    const id = `${control.id}-err`;
    if (!wrapper.querySelector(`[id="${id}"]`)) wrapper.append(h("small", { class: "field-error", id }, message));
    const ids = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!ids.includes(id)) control.setAttribute("aria-describedby", [...ids, id].join(" "));
  }

  /** Mark the fields the errors name (field "characteristics.<name>"); the rest stay in the list. */
  function showErrors(errors) {
    clearMarks();
    const open = (f) => f.wrapper.closest("details")?.setAttribute("open", "");
    for (const e of errors ?? []) {
      const name = e.field?.startsWith(`${prefix}.`) ? e.field.slice(prefix.length + 1) : null;
      if (!name) continue;
      const f = fields.find((x) => x.spec.name === name);
      if (f) {
        mark(f.control, f.wrapper, `${e.message} (${e.code})`);
        open(f);
      }
      const r = extraRows.find((x) => x.name.value.trim() === name);
      if (r) mark(r.val, r.row, `${e.message} (${e.code})`);
    }
  }

  /** The values to send and the problems found here (typed like the server's). */
  function read() {
    const values = [];
    const errors = [];
    for (const f of fields) {
      const raw = f.control.value.trim();
      const path = `${prefix}.${f.spec.name}`;
      if (raw === "") {
        if (mode === "all" && f.spec.required) errors.push({ field: path, message: "is required", code: "REQUIRED" });
        continue;
      }
      if (mode === "changed" && raw === f.initial) continue;
      const [value, error] = parse(f.spec, raw, path);
      if (error) errors.push(error);
      else values.push({ name: f.spec.name, value });
    }
    for (const r of extraRows) {
      const name = r.name.value.trim();
      const raw = r.val.value.trim();
      if (!name && !raw) continue;
      if (!name) {
        errors.push({ field: null, message: "a further value needs a name", code: "REQUIRED" });
        continue;
      }
      const [value, error] = parse({ valueType: r.type.value }, raw, `${prefix}.${name}`);
      if (error) errors.push(error);
      else values.push({ name, value });
    }
    return { values, errors };
  }

  return { el, read, showErrors, addRow };
}

/** Characteristic specifications by product specification key and by offering key (the catalog). */
let catalogSpecs = null;
export async function specifications() {
  if (catalogSpecs) return catalogSpecs;
  const data = await gql(SPECS);
  const bySpec = new Map();
  const byOffering = new Map();
  for (const o of data.productOfferings) {
    if (o.productSpecification) bySpec.set(o.productSpecification.key, o.productSpecification.characteristics);
    byOffering.set(o.key, o.characteristics);
  }
  catalogSpecs = { bySpec, byOffering };
  return catalogSpecs;
}

/**
 * What a domain order's task may record: its specification's characteristics when the catalog
 * publishes them (product specifications), else the characteristics the domain order carries
 * (typed from their values). The API does not publish resource or service specifications.
 */
export async function domainOrderFields(domainOrderId) {
  const [data, catalog] = await Promise.all([gql(DOMAIN_ORDERS, { ids: [domainOrderId] }), specifications().catch(() => null)]);
  const d = data.nodes[0];
  if (!d) return { domainOrder: null, specs: [], current: {} };
  const current = Object.fromEntries((d.characteristics ?? []).map((c) => [c.name, c.value]));
  const published = catalog?.bySpec.get(d.specKey);
  if (published) return { domainOrder: d, specs: published, current, published: true };
  // Values its parent carries too came down from the order line: shown apart, folded.
  let parent = null;
  if (d.parentId) parent = (await gql(DOMAIN_ORDERS, { ids: [d.parentId] }).catch(() => ({ nodes: [] }))).nodes[0];
  const inherited = new Map((parent?.characteristics ?? []).map((c) => [c.name, c.value]));
  const specs = Object.entries(current)
    .map(([name, v]) => {
      const shared = inherited.has(name) && JSON.stringify(inherited.get(name)) === JSON.stringify(v);
      return { name, valueType: inferType(v), required: false, description: "", shared, sharedWith: parent?.specKey };
    })
    .sort((a, b) => Number(a.shared) - Number(b.shared));
  return { domainOrder: d, specs, current, published: false };
}

// -- the screen ----------------------------------------------------------------------------------

function filtersFrom(query) {
  return {
    queue: QUEUES.some(([k]) => k === query.get("queue")) ? query.get("queue") : "groups",
    states: query.getAll("state"),
    jeopardy: query.getAll("jeopardy"),
    kind: query.get("kind") || "",
    due: query.get("due") || "",
    order: query.get("order") || "",
    sort: query.get("sort") === "ID" ? "ID" : "DUE",
  };
}

function toAddress(f) {
  const q = new URLSearchParams();
  if (f.queue !== "groups") q.set("queue", f.queue);
  f.states.forEach((s) => q.append("state", s));
  f.jeopardy.forEach((j) => q.append("jeopardy", j));
  if (f.kind) q.set("kind", f.kind);
  if (f.due) q.set("due", f.due);
  if (f.order) q.set("order", f.order);
  if (f.sort !== "DUE") q.set("sort", f.sort);
  const text = q.toString();
  return text ? `/tasks?${text}` : "/tasks";
}

function apiFilter(f) {
  const filter = {};
  if (f.queue === "groups") filter.myGroups = true;
  if (f.queue === "claimable") Object.assign(filter, { myGroups: true, unassigned: true });
  if (f.queue === "mine") filter.mine = true;
  if (f.states.length) filter.states = f.states;
  if (f.jeopardy.length) filter.jeopardy = f.jeopardy;
  if (f.kind) filter.kind = f.kind;
  if (f.due) filter.dueBefore = new Date(`${f.due}T23:59:59`).toISOString();
  if (f.order) filter.orderId = orderIdFrom(f.order);
  return filter;
}

function multiSelect(name, options, selected) {
  return h(
    "select",
    { name, multiple: true, size: Math.min(options.length, 4) },
    options.map((o) => h("option", { value: o, selected: selected.includes(o) }, words(o))),
  );
}

export async function render(root, { query, signal, navigate }) {
  const f = filtersFrom(query);
  const me = viewer();
  const mayAssign = can("task:assign");
  const form = h(
    "form",
    {
      class: "toolbar panel",
      "aria-label": "Filter the work queue",
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(form);
        navigate(
          toAddress({
            queue: data.get("queue"),
            states: data.getAll("state"),
            jeopardy: data.getAll("jeopardy"),
            kind: data.get("kind") || "",
            due: data.get("due") || "",
            order: String(data.get("order") || "").trim(),
            sort: data.get("sort"),
          }),
        );
      },
    },
    field("Queue", h("select", { name: "queue" }, QUEUES.map(([k, label]) => h("option", { value: k, selected: k === f.queue }, label)))),
    field("State", multiSelect("state", TASK_STATES, f.states), "none: ready and in progress"),
    field("Jeopardy", multiSelect("jeopardy", JEOPARDY, f.jeopardy)),
    field(
      "Kind",
      h("select", { name: "kind" }, [["", "any"], ["MANUAL", "manual"], ["AUTOMATIC", "automatic"]].map(([v, l]) => h("option", { value: v, selected: v === f.kind }, l))),
    ),
    field("Due by", h("input", { name: "due", type: "date", value: f.due })),
    field("Order", h("input", { name: "order", value: f.order, maxlength: 80, autocomplete: "off" }), "its id or number"),
    field("Sort", h("select", { name: "sort" }, [["DUE", "due first"], ["ID", "oldest first"]].map(([v, l]) => h("option", { value: v, selected: v === f.sort }, l)))),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply"), button("Clear", () => navigate("/tasks"), { class: "secondary" })),
  );
  const count = h("p", { class: "muted" });
  const errorsAt = h("div");
  const results = h("div", { class: "scroll" });
  const pager = h("div", { class: "actions" });
  const work = h("div", { class: "work-area" });
  const orderLink = f.order
    ? h("p", {}, "Order ", h("a", { href: `#/orders/${encodeURIComponent(orderIdFrom(f.order))}` }, `#${shortId(orderIdFrom(f.order))}`))
    : null;
  const bar = h("div", { class: "actions" }, count);
  append(root, [
    h("h1", {}, "My tasks"),
    form,
    orderLink,
    bar,
    errorsAt,
    h("section", { class: "queue", "aria-label": "Work queue" }, results, pager),
    work,
  ]);

  const cursors = [null];
  let currentAfter = null;
  const where = new Map(); // domain order id -> {specKey, lineNumber, kind}

  const mine = (t) => t.assignee && t.assignee === me?.id;
  const workable = (t) => t.kind === "MANUAL" && (t.state === "READY" || t.state === "IN_PROGRESS");

  function actionsFor(t) {
    if (t.kind !== "MANUAL" || DONE.has(t.state)) return h("span", { class: "muted" }, t.kind === "MANUAL" ? "—" : "automatic");
    const errs = h("div", { class: "row-errors" });
    const run = (label, action, attrs, fn) => {
      const b = button(label, async () => {
        const ok = await act(b, errs, fn);
        if (ok) {
          toast(`${label}: ${t.name}`);
          await load(currentAfter);
        }
      }, { class: "secondary small", "data-action": action, "data-task": t.id, ...attrs });
      return b;
    };
    return h(
      "div",
      { class: "row-actions" },
      !t.assignee ? run("Claim", "claim", { "aria-label": `Claim ${t.name}` }, async () => (await mutate(CLAIM, { id: t.id }, "taskClaim")).errors) : null,
      t.assignee && (mine(t) || mayAssign)
        ? run("Release", "release", { "aria-label": `Release ${t.name}` }, async () => (await mutate(RELEASE, { id: t.id }, "taskRelease")).errors)
        : null,
      mayAssign ? button("Assign…", () => openAssign(t), { class: "secondary small", "data-action": "assign", "data-task": t.id, "aria-label": `Assign ${t.name}` }) : null,
      workable(t) && (!t.assignee || mine(t) || mayAssign)
        ? button("Complete…", () => openComplete(t), { class: "small", "data-action": "complete", "data-task": t.id, "aria-label": `Complete ${t.name}` })
        : null,
      errs,
    );
  }

  const columns = [
    {
      label: "Task",
      cell: (t) => [h("strong", {}, t.name), h("br"), h("code", { class: "muted" }, t.key), t.critical ? [" ", h("span", { class: "badge critical" }, "critical path")] : null],
    },
    {
      label: "Work for",
      cell: (t) => {
        const d = where.get(t.domainOrderId);
        const order = h("a", { href: `#/orders/${encodeURIComponent(t.orderId)}` }, `Order #${shortId(t.orderId)}`);
        return d ? [order, h("br"), h("span", {}, d.specKey), h("br"), h("small", { class: "muted" }, `line ${d.lineNumber} · ${words(d.kind)}`)] : order;
      },
    },
    {
      label: "State",
      cell: (t) => [badge(t.state), t.finishBlocked ? [" ", h("span", { class: "badge" }, "finish held")] : null, t.errorCode ? [h("br"), h("code", {}, t.errorCode)] : null],
    },
    { label: "Due", cell: (t) => dueCell(t.dueAt, t.jeopardy, DONE.has(t.state)) },
    {
      label: "Assignee",
      cell: (t) =>
        t.assignee
          ? [mine(t) ? h("strong", {}, "me") : t.assignee, h("br"), h("small", { class: "muted" }, t.assignmentGroup ?? "")]
          : [h("span", { class: "muted" }, "unassigned"), h("br"), h("small", { class: "muted" }, t.assignmentGroup ?? "")],
    },
    { label: "Actions", cell: actionsFor },
  ];

  async function load(after) {
    currentAfter = after;
    const focused = document.activeElement?.dataset?.task ? [document.activeElement.dataset.task, document.activeElement.dataset.action] : null;
    let data;
    try {
      data = await gql(LIST, { filter: apiFilter(f), first: PAGE, after, sort: f.sort });
      errorsAt.replaceChildren();
    } catch (error) {
      clear(errorsAt, errorList(error));
      return;
    }
    const tasks = data.tasks.edges.map((e) => e.node);
    const unknown = [...new Set(tasks.map((t) => t.domainOrderId))].filter((id) => !where.has(id));
    if (unknown.length) {
      try {
        const found = await gql(DOMAIN_ORDERS, { ids: unknown });
        for (const d of found.nodes.filter(Boolean)) where.set(d.id, d);
      } catch {
        // the queue stands without the domain orders' names
      }
    }
    if (signal.aborted) return;
    count.textContent = `${tasks.length}${data.tasks.pageInfo.hasNextPage ? "+" : ""} task${tasks.length === 1 ? "" : "s"} on this page`;
    clear(
      results,
      table("Work queue: tasks with their due dates, assignees and actions", columns, tasks, {
        empty: "No task in this queue.",
        rowAttrs: (t) => ({ "data-task-row": t.id, "data-key": t.key }),
      }),
    );
    const index = cursors.indexOf(after);
    clear(
      pager,
      index > 0 ? button("Previous page", () => load(cursors[index - 1]), { class: "secondary" }) : null,
      data.tasks.pageInfo.hasNextPage
        ? button("Next page", () => {
            if (!cursors.includes(data.tasks.pageInfo.endCursor)) cursors.push(data.tasks.pageInfo.endCursor);
            load(data.tasks.pageInfo.endCursor);
          }, { class: "secondary" })
        : null,
    );
    if (focused) results.querySelector(`[data-task="${CSS.escape(focused[0])}"][data-action="${focused[1]}"]`)?.focus();
  }

  function panel(title, ...children) {
    const heading = h("h2", { tabindex: "-1" }, title);
    const el = h("section", { class: "panel work-panel", "aria-label": title }, heading, children);
    clear(work, el);
    heading.focus();
    return el;
  }

  function openAssign(t) {
    const errs = h("div");
    const assignee = h("input", { type: "text", value: t.assignee ?? "", autocomplete: "off", maxlength: 200 });
    const group = h("input", { type: "text", value: "", placeholder: t.assignmentGroup ?? "", autocomplete: "off", maxlength: 100 });
    const save = h("button", { type: "submit" }, "Assign");
    const formEl = h(
      "form",
      {
        onsubmit: async (event) => {
          event.preventDefault();
          const input = { id: t.id, assignee: assignee.value.trim() || null };
          if (group.value.trim()) input.assignmentGroup = group.value.trim();
          const ok = await act(save, errs, async () => (await mutate(ASSIGN, { input }, "taskAssign")).errors);
          if (ok) {
            toast(`Assigned: ${t.name}`);
            work.replaceChildren();
            await load(currentAfter);
          }
        },
      },
      field("Assignee", assignee, "a person's id (e.g. token:…); empty: nobody, back to the group"),
      field("Move to group", group, `a role; empty: stays in ${t.assignmentGroup ?? "its group"}`),
      errs,
      h("div", { class: "actions" }, save, button("Cancel", () => work.replaceChildren(), { class: "secondary" })),
    );
    panel(`Assign: ${t.name}`, formEl);
  }

  async function openComplete(t) {
    const errs = h("div");
    const el = panel(`Complete: ${t.name}`, h("p", { class: "muted" }, "Loading what this work records…"));
    let info;
    try {
      info = await domainOrderFields(t.domainOrderId);
    } catch (error) {
      el.replaceChildren(el.firstChild, errorList(error));
      return;
    }
    const chars = characteristicForm(info.specs, info.current, { mode: "changed", legend: "Recorded values" });
    const done = h("button", { type: "submit" }, "Complete task");
    const formEl = h(
      "form",
      {
        "aria-label": `Complete ${t.name}`,
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          const { values, errors } = chars.read();
          chars.showErrors(errors);
          if (errors.length) {
            clear(errs, errorList(errors));
            return;
          }
          let payload = null;
          const ok = await act(done, errs, async () => {
            payload = await mutate(COMPLETE, { id: t.id, characteristics: values }, "taskComplete");
            chars.showErrors(payload.errors);
            return payload.errors;
          });
          if (ok) {
            toast(`Completed: ${t.name}${payload.order ? ` (order ${words(payload.order.state)})` : ""}`);
            work.replaceChildren();
            await load(currentAfter);
          }
        },
      },
      h(
        "p",
        { class: "muted" },
        info.domainOrder
          ? `${info.domainOrder.specKey}, line ${info.domainOrder.lineNumber}. ` +
              (info.published ? "Fields from its specification; " : "Fields from the values its domain order carries; ") +
              "change or add the values you recorded: only those are sent, and the server checks them against the specification."
          : "",
      ),
      h("div", { class: "facts-inline" }, dueCell(t.dueAt, t.jeopardy, false)),
      chars.el,
      errs,
      h("div", { class: "actions" }, done, button("Cancel", () => work.replaceChildren(), { class: "secondary" })),
    );
    el.replaceChildren(el.firstChild, formEl);
  }

  // -- enrichment tasks (staff who read fulfilment and complete tasks) ----------------------------
  let loadEnrichment = async () => {};
  if (can("fulfilment:read")) {
    const box = h("div");
    root.append(section("Enrichment tasks", h("p", { class: "muted" }, "Values an order needs before its fulfilment is designed."), box));
    loadEnrichment = async () => {
      let data;
      try {
        data = await gql(ENRICHMENT, { first: 50 });
      } catch (error) {
        clear(box, errorList(error));
        return;
      }
      const roles = new Set(me?.roles ?? []);
      clear(
        box,
        table(
          "Open enrichment tasks, oldest first",
          [
            { label: "Task", cell: (e) => [h("strong", {}, e.name), h("br"), h("code", { class: "muted" }, e.key)] },
            { label: "Order", cell: (e) => [h("a", { href: `#/orders/${encodeURIComponent(e.orderId)}` }, `#${shortId(e.orderId)}`), ` line ${e.lineNumber}`] },
            { label: "Captures", cell: (e) => e.capture.join(", ") },
            { label: "Queue", cell: (e) => [e.role, roles.has(e.role) ? h("small", { class: "muted" }, " (mine)") : null] },
            { label: "Waiting", cell: (e) => h("time", { datetime: when(e.createdAt).toISOString() }, ago(e.createdAt)) },
            {
              label: "Actions",
              cell: (e) => (can("task:complete") ? button("Record…", () => openEnrichment(e), { class: "small", "aria-label": `Record ${e.name} for order ${shortId(e.orderId)}` }) : "—"),
            },
          ],
          data.enrichmentTasks,
          { empty: "No open enrichment task." },
        ),
      );
    };
  }

  async function openEnrichment(e) {
    const errs = h("div");
    const el = panel(`Record: ${e.name}`, h("p", { class: "muted" }, "Loading…"));
    let specs = [];
    let current = {};
    try {
      const [orderData, catalog] = await Promise.all([gql(ORDER_LINES, { id: e.orderId }), specifications()]);
      const line = orderData.order?.lines.find((l) => l.lineNumber === e.lineNumber);
      current = Object.fromEntries((line?.characteristics ?? []).map((c) => [c.name, c.value]));
      const offered = (line && catalog.byOffering.get(line.offeringKey)) || [];
      specs = e.capture.map((name) => ({ ...(offered.find((s) => s.name === name) ?? { valueType: "string", description: "" }), name, required: true }));
    } catch (error) {
      el.replaceChildren(el.firstChild, errorList(error));
      return;
    }
    const chars = characteristicForm(specs, current, { mode: "all", extras: false, legend: "Captured values" });
    const done = h("button", { type: "submit" }, "Complete enrichment");
    el.replaceChildren(
      el.firstChild,
      h(
        "form",
        {
          "aria-label": `Record ${e.name}`,
          novalidate: true,
          onsubmit: async (event) => {
            event.preventDefault();
            const { values, errors } = chars.read();
            chars.showErrors(errors);
            if (errors.length) {
              clear(errs, errorList(errors));
              return;
            }
            const ok = await act(done, errs, async () => {
              const payload = await mutate(ENRICH, { id: e.id, characteristics: values }, "enrichmentTaskComplete");
              chars.showErrors(payload.errors);
              return payload.errors;
            });
            if (ok) {
              toast(`Recorded: ${e.name}`);
              work.replaceChildren();
              await loadEnrichment();
            }
          },
        },
        chars.el,
        errs,
        h("div", { class: "actions" }, done, button("Cancel", () => work.replaceChildren(), { class: "secondary" })),
      ),
    );
  }

  // -- live ---------------------------------------------------------------------------------------
  const reread = coalesce(() => {
    load(currentAfter);
    loadEnrichment();
  }, 400, signal);
  const status = live(
    EVENTS,
    {},
    {
      connected: () => load(currentAfter),
      next: ({ orderEvents: e }) => {
        if (e.entityKind === "task" || e.entityKind === "order") reread();
      },
    },
    signal,
  );
  bar.append(status);
  await Promise.all([load(null), loadEnrichment()]);
}
