// Fallout: a dashboard (falloutCounts by type, priority and state; ages counted with the
// filter's newerThan/olderThan) drawn as bar charts with their values in text, the filterable
// queue (fallouts(filter), keyset paged), and per record the actions the role and the record's
// state allow: take, hold, ask for information, retry, skip (with the outputs), resolve, close
// (fallout:work); reassign and give up (fallout:manage). Live: falloutEvents reload it.

import { gql, mutate } from "../gql.js";
import { can, viewer } from "../session.js";
import { act, badge, button, clear, coalesce, errorList, facts, field, h, live, section, shortId, table, toast, value, words } from "../ui.js";
import { ago, at, characteristicForm, domainOrderFields, when } from "./tasks.js";

const STATES = ["OPEN", "IN_PROGRESS", "ON_HOLD", "AWAITING_INFORMATION", "RESOLVED", "CLOSED", "CANCELLED"];
const ACTIVE = new Set(["OPEN", "IN_PROGRESS", "ON_HOLD", "AWAITING_INFORMATION"]);
const PRIORITIES = [1, 2, 3, 4, 5];
const HOUR = 3600 * 1000;
const AGES = [
  ["lt1h", "under 1 hour"],
  ["h1to24", "1 to 24 hours"],
  ["gt1d", "over 1 day"],
];
const PAGE = 25;

const RECORD = `id orderId lineId domainOrderId taskId type priority state assignmentGroup assignee errorCode errorMessage handler
  attempt southboundResponse resolution note version createdAt updatedAt closedAt`;
const LIST = `
query Fallouts($filter: FalloutFilterInput, $first: Int!, $after: String) {
  fallouts(filter: $filter, first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { ${RECORD} } } }
}`;
const COUNTS = `
query Counts($all: FalloutFilterInput, $lt1h: FalloutFilterInput, $h1to24: FalloutFilterInput, $gt1d: FalloutFilterInput,
             $skip1: Boolean!, $skip2: Boolean!, $skip3: Boolean!) {
  all: falloutCounts(filter: $all) { state type priority count }
  lt1h: falloutCounts(filter: $lt1h) @skip(if: $skip1) { count }
  h1to24: falloutCounts(filter: $h1to24) @skip(if: $skip2) { count }
  gt1d: falloutCounts(filter: $gt1d) @skip(if: $skip3) { count }
}`;
const ONE = `query($id: ID!) { node(id: $id) { ... on Fallout { ${RECORD} } } }`;
const TASK = `query($id: ID!) { node(id: $id) { ... on Task { id key name state attempts maxAttempts errorCode errorMessage } } }`;
const PAYLOAD = `fallout { ${RECORD} } errors { field code message }`;
const WORK = `mutation($input: FalloutWorkInput!) { falloutWork(input: $input) { ${PAYLOAD} } }`;
const RETRY = `mutation($input: FalloutActionInput!) { falloutRetry(input: $input) { ${PAYLOAD} } }`;
const RESOLVE = `mutation($input: FalloutActionInput!) { falloutResolve(input: $input) { ${PAYLOAD} } }`;
const GIVE_UP = `mutation($input: FalloutActionInput!) { falloutGiveUp(input: $input) { ${PAYLOAD} } }`;
const SKIP = `mutation($input: FalloutSkipInput!) { falloutSkip(input: $input) { ${PAYLOAD} } }`;
const REASSIGN = `mutation($input: FalloutReassignInput!) { falloutReassign(input: $input) { ${PAYLOAD} } }`;
const EVENTS = `subscription { falloutEvents { id entityId orderId type fromState toState } }`;

// -- filters in the address ----------------------------------------------------------------------

function filtersFrom(query) {
  return {
    states: query.getAll("state").filter((s) => STATES.includes(s)),
    types: (query.get("types") || "").split(",").map((t) => t.trim()).filter(Boolean),
    priorities: query.getAll("priority").map(Number).filter((p) => PRIORITIES.includes(p)),
    mine: query.get("mine") === "1",
    group: query.get("group") || "",
    age: AGES.some(([k]) => k === query.get("age")) ? query.get("age") : "",
  };
}

function toAddress(f) {
  const q = new URLSearchParams();
  f.states.forEach((s) => q.append("state", s));
  if (f.types.length) q.set("types", f.types.join(","));
  f.priorities.forEach((p) => q.append("priority", String(p)));
  if (f.mine) q.set("mine", "1");
  if (f.group) q.set("group", f.group);
  if (f.age) q.set("age", f.age);
  const text = q.toString();
  return text ? `/fallout?${text}` : "/fallout";
}

function ageRange(bucket, now) {
  const iso = (ms) => new Date(now - ms).toISOString();
  if (bucket === "lt1h") return { newerThan: iso(HOUR) };
  if (bucket === "h1to24") return { olderThan: iso(HOUR), newerThan: iso(24 * HOUR) };
  if (bucket === "gt1d") return { olderThan: iso(24 * HOUR) };
  return {};
}

function apiFilter(f, now, bucket = f.age) {
  const filter = {};
  if (f.states.length) filter.states = f.states;
  if (f.types.length) filter.types = f.types;
  if (f.priorities.length) filter.priorities = f.priorities;
  if (f.mine) filter.mine = true;
  if (f.group) filter.assignmentGroup = f.group;
  return { ...filter, ...ageRange(bucket, now) };
}

// -- a bar chart: a table with CSS bars (each value also in text) ------------------------------

function bars(caption, rows, { unit = "record" } = {}) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  const total = rows.reduce((n, r) => n + r.count, 0);
  return h(
    "figure",
    { class: "chart" },
    h(
      "table",
      { class: "bars" },
      h("caption", {}, caption, h("span", { class: "muted" }, ` · ${total} ${unit}${total === 1 ? "" : "s"}`)),
      h("thead", { class: "sr-only" }, h("tr", {}, h("th", { scope: "col" }, "Group"), h("th", { scope: "col" }, "Records"))),
      h(
        "tbody",
        {},
        rows.length
          ? rows.map((r) => {
              const bar = h("span", { class: `bar ${r.tone ?? ""}`, "aria-hidden": "true" });
              bar.style.width = `${(r.count / max) * 100}%`;
              return h("tr", { "data-bar": r.key ?? r.label }, h("th", { scope: "row" }, r.label), h("td", {}, h("span", { class: "bar-track" }, bar), h("span", { class: "bar-value" }, String(r.count))));
            })
          : h("tr", {}, h("td", { colspan: 2, class: "empty" }, "none")),
      ),
    ),
  );
}

function grouped(counts, key, order) {
  const totals = new Map();
  for (const c of counts) totals.set(c[key], (totals.get(c[key]) ?? 0) + c.count);
  const keys = order ? order.filter((k) => totals.has(k)) : [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a));
  return keys.map((k) => ({ key: String(k), label: key === "priority" ? `priority ${k}` : words(k), count: totals.get(k), tone: key === "priority" ? `p${k}` : key === "state" ? String(k).toLowerCase() : "" }));
}

// -- the screen ---------------------------------------------------------------------------------

export async function render(root, { query, signal, navigate }) {
  const f = filtersFrom(query);
  const me = viewer();
  const mayWork = can("fallout:work");
  const mayManage = can("fallout:manage");

  const typeList = h("datalist", { id: "fallout-types" });
  const form = h(
    "form",
    {
      class: "toolbar panel",
      "aria-label": "Filter fallout records",
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(form);
        navigate(
          toAddress({
            states: data.getAll("state"),
            types: String(data.get("types") || "").split(",").map((t) => t.trim()).filter(Boolean),
            priorities: data.getAll("priority").map(Number),
            mine: data.get("mine") === "1",
            group: String(data.get("group") || "").trim(),
            age: data.get("age") || "",
          }),
        );
      },
    },
    field("State", h("select", { name: "state", multiple: true, size: 4 }, STATES.map((s) => h("option", { value: s, selected: f.states.includes(s) }, words(s)))), "none: the open ones"),
    field("Types", h("input", { name: "types", value: f.types.join(", "), list: "fallout-types", autocomplete: "off", maxlength: 200 }), "comma-separated"),
    typeList,
    field("Priority", h("select", { name: "priority", multiple: true, size: 5 }, PRIORITIES.map((p) => h("option", { value: String(p), selected: f.priorities.includes(p) }, `${p}${p === 1 ? " (highest)" : ""}`)))),
    field("Age", h("select", { name: "age" }, h("option", { value: "" }, "any"), AGES.map(([k, l]) => h("option", { value: k, selected: k === f.age }, l)))),
    field("Group", h("input", { name: "group", value: f.group, autocomplete: "off", maxlength: 100 }), "e.g. order_fallout_agent"),
    h("div", { class: "field checkbox" }, h("label", {}, h("input", { type: "checkbox", name: "mine", value: "1", checked: f.mine }), " Only mine")),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply"), button("Clear", () => navigate("/fallout"), { class: "secondary" })),
  );
  const summary = h("p", { class: "summary", "aria-live": "polite" });
  const dashboard = h("div", { class: "charts" });
  const errorsAt = h("div");
  const results = h("div", { class: "scroll" });
  const pager = h("div", { class: "actions" });
  const work = h("div", { class: "work-area" });
  const bar = h("div", { class: "actions" }, summary);
  root.append(
    h("h1", {}, "Fallout"),
    form,
    bar,
    errorsAt,
    section("Dashboard", dashboard),
    section("Records", h("p", { class: "muted" }, "Highest priority first, then oldest."), results, pager),
    work,
  );

  const cursors = [null];
  let currentAfter = null;
  let selected = null; // the record whose actions are open

  async function loadCounts() {
    const now = Date.now();
    const skip = (b) => Boolean(f.age) && f.age !== b; // age buckets are disjoint: another's count is 0
    let data;
    try {
      data = await gql(COUNTS, {
        all: apiFilter(f, now),
        lt1h: apiFilter(f, now, "lt1h"),
        h1to24: apiFilter(f, now, "h1to24"),
        gt1d: apiFilter(f, now, "gt1d"),
        skip1: skip("lt1h"),
        skip2: skip("h1to24"),
        skip3: skip("gt1d"),
      });
    } catch (error) {
      clear(dashboard, errorList(error));
      return;
    }
    if (signal.aborted) return;
    const counts = data.all;
    const total = counts.reduce((n, c) => n + c.count, 0);
    summary.textContent = `${total} record${total === 1 ? "" : "s"} ${f.states.length ? "in the chosen states" : "open"}`;
    summary.dataset.total = String(total);
    clear(typeList, [...new Set(counts.map((c) => c.type))].map((t) => h("option", { value: t })));
    const sum = (rows) => (rows ?? []).reduce((n, c) => n + c.count, 0);
    clear(
      dashboard,
      bars("By type", grouped(counts, "type")),
      bars("By priority", grouped(counts, "priority", PRIORITIES)),
      bars("By age", AGES.map(([k, label]) => ({ key: k, label, count: sum(data[k]), tone: `age-${k}` }))),
      bars("By state", grouped(counts, "state", STATES)),
    );
  }

  const assignee = (r) => (r.assignee ? (r.assignee === me?.id ? "me" : r.assignee) : "unassigned");

  const columns = [
    { label: "Record", cell: (r) => [h("strong", {}, `#${shortId(r.id)}`), " ", words(r.type), h("br"), h("span", { class: `badge prio p${r.priority}` }, `priority ${r.priority}`)] },
    { label: "Order", cell: (r) => h("a", { href: `#/orders/${encodeURIComponent(r.orderId)}` }, `#${shortId(r.orderId)}`) },
    { label: "State", cell: (r) => [badge(r.state), r.resolution ? [h("br"), h("small", {}, words(r.resolution))] : null] },
    { label: "Error", cell: (r) => [r.errorCode ? h("code", {}, r.errorCode) : "—", h("br"), h("small", {}, r.errorMessage ?? "")] },
    { label: "Handler", cell: (r) => [r.handler ?? "—", h("br"), h("small", { class: "muted" }, r.attempt ? `attempt ${r.attempt}` : "")] },
    { label: "Assignee", cell: (r) => [assignee(r), h("br"), h("small", { class: "muted" }, r.assignmentGroup ?? "")] },
    { label: "Age", cell: (r) => h("time", { datetime: when(r.createdAt).toISOString(), title: at(r.createdAt) }, ago(r.createdAt)) },
    {
      label: "Actions",
      cell: (r) => button(ACTIVE.has(r.state) || r.state === "RESOLVED" ? "Work on it…" : "Details…", () => openRecord(r.id), {
        class: "secondary small",
        "data-action": "open",
        "data-fallout": r.id,
        "aria-label": `Work on fallout record ${shortId(r.id)}`,
      }),
    },
  ];

  async function loadList(after) {
    currentAfter = after;
    let data;
    try {
      data = await gql(LIST, { filter: apiFilter(f, Date.now()), first: PAGE, after });
      errorsAt.replaceChildren();
    } catch (error) {
      clear(errorsAt, errorList(error));
      return;
    }
    if (signal.aborted) return;
    const records = data.fallouts.edges.map((e) => e.node);
    const focused = document.activeElement?.dataset?.fallout;
    clear(
      results,
      table("Fallout records, highest priority first", columns, records, {
        empty: "No fallout record matches these filters.",
        rowAttrs: (r) => ({ "data-fallout-row": r.id, "aria-current": r.id === selected ? "true" : null }),
      }),
    );
    if (focused) results.querySelector(`[data-fallout="${CSS.escape(focused)}"]`)?.focus();
    const index = cursors.indexOf(after);
    clear(
      pager,
      index > 0 ? button("Previous page", () => loadList(cursors[index - 1]), { class: "secondary" }) : null,
      data.fallouts.pageInfo.hasNextPage
        ? button("Next page", () => {
            if (!cursors.includes(data.fallouts.pageInfo.endCursor)) cursors.push(data.fallouts.pageInfo.endCursor);
            loadList(data.fallouts.pageInfo.endCursor);
          }, { class: "secondary" })
        : null,
    );
  }

  // -- one record's actions ----------------------------------------------------------------------

  async function openRecord(id, { keepFocus = false } = {}) {
    selected = id;
    let r;
    let task = null;
    try {
      r = (await gql(ONE, { id })).node;
      if (r?.taskId) task = (await gql(TASK, { id: r.taskId })).node;
    } catch (error) {
      clear(work, errorList(error));
      return;
    }
    if (!r || signal.aborted) return;
    const heading = h("h2", { tabindex: "-1", id: "fallout-work-h" }, `Fallout record #${shortId(r.id)}`);
    const errs = h("div");
    const note = h("textarea", { rows: 2, maxlength: 2000 });
    const active = ACTIVE.has(r.state);
    const hasTask = Boolean(r.taskId);

    const after = async (label, payload) => {
      toast(`${label}: record #${shortId(r.id)} ${payload.fallout ? words(payload.fallout.state) : ""}`);
      await Promise.all([loadList(currentAfter), loadCounts()]);
      await openRecord(r.id, { keepFocus: true });
    };
    const action = (label, name, run, attrs = {}) => {
      const b = button(label, async () => {
        let payload = null;
        const ok = await act(b, errs, async () => {
          payload = await run();
          return payload.errors;
        });
        if (ok) await after(label, payload);
      }, { "data-action": name, ...attrs });
      return b;
    };
    const base = () => ({ id: r.id, version: r.version, note: note.value.trim() || null });
    const workAction = (label, name, verb) =>
      action(label, name, () => mutate(WORK, { input: { id: r.id, version: r.version, action: verb, note: note.value.trim() || null } }, "falloutWork"), { class: "secondary" });

    const buttons = [];
    if (mayWork) {
      if (["OPEN", "ON_HOLD", "AWAITING_INFORMATION"].includes(r.state)) buttons.push(workAction("Take", "take", "TAKE"));
      if (r.state === "IN_PROGRESS") buttons.push(workAction("Hold", "hold", "HOLD"), workAction("Ask for information", "request-information", "REQUEST_INFORMATION"));
      if (active && hasTask) {
        buttons.push(
          action("Retry", "retry", () => mutate(RETRY, { input: base() }, "falloutRetry")),
          action("Resolve (fixed outside)", "resolve", () => mutate(RESOLVE, { input: base() }, "falloutResolve"), { class: "secondary" }),
        );
      }
      if (r.state === "RESOLVED") buttons.push(workAction("Close", "close", "CLOSE"));
    }
    if (mayManage && active && hasTask) {
      buttons.push(action("Give up (fail the line)", "give-up", () => mutate(GIVE_UP, { input: base() }, "falloutGiveUp"), { class: "danger" }));
    }

    // Skip: the outputs the handler would have produced, entered by hand.
    let skipBox = null;
    if (mayWork && active && hasTask && r.domainOrderId) {
      skipBox = h("details", { class: "subform" }, h("summary", {}, "Skip: complete the task with its outputs entered by hand"));
      const info = await domainOrderFields(r.domainOrderId).catch(() => ({ specs: [], current: {} }));
      const chars = characteristicForm(info.specs, info.current, { mode: "changed", legend: "Outputs" });
      const skipErrs = h("div");
      const skipBtn = h("button", { type: "submit" }, "Skip with these outputs");
      skipBox.append(
        h(
          "form",
          {
            novalidate: true,
            "aria-label": "Skip the task",
            onsubmit: async (event) => {
              event.preventDefault();
              const { values, errors } = chars.read();
              chars.showErrors(errors);
              if (errors.length) {
                clear(skipErrs, errorList(errors));
                return;
              }
              let payload = null;
              const ok = await act(skipBtn, skipErrs, async () => {
                payload = await mutate(SKIP, { input: { ...base(), characteristics: values } }, "falloutSkip");
                chars.showErrors(payload.errors);
                return payload.errors;
              });
              if (ok) await after("Skipped", payload);
            },
          },
          h("p", { class: "muted" }, "Only the values you change or add are sent; the server checks them against the domain order's specification."),
          chars.el,
          skipErrs,
          h("div", { class: "actions" }, skipBtn),
        ),
      );
    }

    let reassignBox = null;
    if (mayManage && active) {
      const who = h("input", { type: "text", autocomplete: "off", maxlength: 200, value: r.assignee ?? "" });
      const group = h("input", { type: "text", autocomplete: "off", maxlength: 100, value: r.assignmentGroup ?? "" });
      const reErrs = h("div");
      const reBtn = h("button", { type: "submit", class: "secondary" }, "Reassign");
      reassignBox = h(
        "details",
        { class: "subform" },
        h("summary", {}, "Reassign to a person or group"),
        h(
          "form",
          {
            "aria-label": "Reassign the record",
            onsubmit: async (event) => {
              event.preventDefault();
              let payload = null;
              const ok = await act(reBtn, reErrs, async () => {
                payload = await mutate(REASSIGN, { input: { ...base(), assignee: who.value.trim() || null, assignmentGroup: group.value.trim() || null } }, "falloutReassign");
                return payload.errors;
              });
              if (ok) await after("Reassigned", payload);
            },
          },
          field("Person", who, "empty: unassigned, in the group"),
          field("Group", group),
          reErrs,
          h("div", { class: "actions" }, reBtn),
        ),
      );
    }

    const el = h(
      "section",
      { class: "panel work-panel", "aria-labelledby": "fallout-work-h", "data-fallout-panel": r.id },
      heading,
      h(
        "div",
        { class: "columns" },
        facts([
          ["State", [badge(r.state), r.resolution ? ` · ${words(r.resolution)}` : ""]],
          ["Type · priority", `${words(r.type)} · ${r.priority}`],
          ["Order", h("a", { href: `#/orders/${encodeURIComponent(r.orderId)}` }, `#${shortId(r.orderId)}`)],
          ["Task", task ? [task.name, h("br"), h("small", {}, `${words(task.state)} · attempt ${task.attempts} of ${task.maxAttempts}`)] : r.taskId ? "—" : "none (a manual close)"],
          ["Error", [r.errorCode ? h("code", {}, r.errorCode) : "—", " ", r.errorMessage ?? ""]],
          ["Handler · attempt", `${r.handler ?? "—"} · ${r.attempt ?? "—"}`],
          ["Assignee", `${assignee(r)} (${r.assignmentGroup ?? "no group"})`],
          ["Opened", `${at(r.createdAt)} (${ago(r.createdAt)})`],
          ["Updated", `${at(r.updatedAt)} (${ago(r.updatedAt)})`],
          r.closedAt ? ["Closed", at(r.closedAt)] : null,
          r.note ? ["Note", r.note] : null,
          ["Version", String(r.version)],
        ]),
        r.southboundResponse ? h("div", {}, h("h3", {}, "The external system answered"), h("pre", { class: "json" }, value(r.southboundResponse))) : null,
      ),
      buttons.length || skipBox || reassignBox
        ? [
            field("Note", note, "Kept with the action (retry, resolve, skip, reassign, give up, work)."),
            errs,
            h("div", { class: "actions", role: "group", "aria-label": "Actions" }, buttons),
            skipBox,
            reassignBox,
          ]
        : h("p", { class: "muted" }, mayWork ? "Nothing more to do with this record." : "Your role may not work fallout records."),
      h("div", { class: "actions" }, button("Close panel", () => {
        selected = null;
        work.replaceChildren();
      }, { class: "link" })),
    );
    const hadFocus = work.contains(document.activeElement) ? document.activeElement?.dataset?.action : null;
    clear(work, el);
    if (keepFocus && hadFocus) (el.querySelector(`[data-action="${hadFocus}"]`) ?? heading).focus();
    else if (!keepFocus) heading.focus();
    for (const row of results.querySelectorAll("[data-fallout-row]")) {
      if (row.dataset.falloutRow === id) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
  }

  // -- live ---------------------------------------------------------------------------------------
  let selectedChanged = false; // an event for the open record since the last re-read
  const reread = coalesce(async () => {
    await Promise.all([loadList(currentAfter), loadCounts()]);
    const again = selectedChanged;
    selectedChanged = false;
    // The open record is read again unless the user is working in its panel (typing a note).
    const typing = work.contains(document.activeElement) || [...work.querySelectorAll("textarea, input[type=text]")].some((el) => el.value);
    if (again && selected && !work.querySelector("details[open]") && !typing) {
      await openRecord(selected, { keepFocus: true });
    }
  }, 400, signal);
  const status = live(
    EVENTS,
    {},
    {
      connected: () => {
        loadList(currentAfter);
        loadCounts();
      },
      next: ({ falloutEvents: e }) => {
        if (e.entityId === selected) selectedChanged = true;
        reread();
      },
    },
    signal,
  );
  bar.append(status);
  await Promise.all([loadList(null), loadCounts()]);
}
