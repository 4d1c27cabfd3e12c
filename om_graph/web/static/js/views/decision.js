// One decision table: its active version's rules as a readable table (inputs, outputs, hit
// policy), the draft, every version and the audit trail. Process admins (decision:manage) also
// edit the draft in a grid (columns and rules: add, remove, reorder, edit cells; the server's typed
// errors shown at the cell they name), test a version with inputs generated from its columns,
// activate or discard the draft and roll back to an earlier version. Other staff read only.

import { gql, mutate } from "../gql.js";
import { act, badge, button, clear, dateTime, errorList, facts, field, h, section, toast } from "../ui.js";
import { can } from "../session.js";

export const COLUMN_TYPES = ["STRING", "INTEGER", "NUMBER", "BOOLEAN", "DATE"];
export const HIT_POLICIES = {
  FIRST: "the first matching rule",
  UNIQUE: "at most one rule can match (checked when saved)",
  PRIORITY: "the matching rule of highest priority",
  COLLECT: "every matching rule, in order",
};
const OPS = [
  ["ANY", "any"],
  ["EQUALS", "="],
  ["IN", "one of"],
  ["RANGE", "range"],
];

const VERSION = `number status source comment hitPolicy description createdBy createdAt updatedAt activatedBy activatedAt
  inputs { name type description } outputs { name type default description }
  rules { index priority description when { column op value values minimum maximum minimumInclusive maximumInclusive } then { column value } }`;
export const TABLE = `name description defaultSource createdBy createdAt updatedAt
  activeVersion { ${VERSION} } draft { ${VERSION} }
  versions { number status source comment createdBy createdAt activatedBy activatedAt inputs { name type description } rules { index description } }
  audit(first: 100) { action fromVersion toVersion actor reason at }`;
const ONE = `query($name: String!) { decisionTable(name: $name) { ${TABLE} } }`;
const VERSION_RULES = `query($name: String!, $number: Int!) { decisionTable(name: $name) { versions(number: $number) { ${VERSION} } } }`;
const PAYLOAD = `table { ${TABLE} } errors { field code message }`;
const UPDATE = `mutation($input: DecisionTableDraftUpdateInput!) { decisionTableDraftUpdate(input: $input) { ${PAYLOAD} } }`;
const ACTIVATE = `mutation($input: DecisionTableActivateInput!) { decisionTableActivate(input: $input) { ${PAYLOAD} } }`;
const DISCARD = `mutation($input: DecisionTableDraftDiscardInput!) { decisionTableDraftDiscard(input: $input) { ${PAYLOAD} } }`;
const ROLLBACK = `mutation($input: DecisionTableRollbackInput!) { decisionTableRollback(input: $input) { ${PAYLOAD} } }`;
const TEST = `mutation($input: DecisionTableTestInput!) { decisionTableTest(input: $input) { results { sample hits { rule outputs { column value } } } errors { field code message } } }`;

// -- values: the API's JSON <-> the text a cell shows ------------------------------------------

/** A JSON value as cell text. */
export function text(v) {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Cell text as the JSON value a column of `type` takes (what cannot be converted is sent as
 * typed, and the server names the mistake). */
export function parse(type, raw) {
  const t = String(raw).trim();
  if (type === "INTEGER") return /^[+-]?\d+$/.test(t) && Number.isSafeInteger(Number(t)) ? Number(t) : raw;
  if (type === "NUMBER") return t;
  if (type === "BOOLEAN") return t.toLowerCase() === "true" ? true : t.toLowerCase() === "false" ? false : raw;
  if (type === "DATE") return t;
  return raw;
}

function parseList(type, raw) {
  const t = String(raw).trim();
  if (t.startsWith("[")) {
    try {
      const list = JSON.parse(t);
      if (Array.isArray(list)) return list;
    } catch {
      // not JSON: comma-separated below
    }
  }
  return t === "" ? [] : t.split(",").map((s) => parse(type, s.trim()));
}

const HINT = { STRING: "text", INTEGER: "whole number", NUMBER: "number", BOOLEAN: "true or false", DATE: "YYYY-MM-DD" };

/** A rule's test of one column, in words. */
export function conditionText(c) {
  if (!c || c.op === "ANY") return "any";
  if (c.op === "EQUALS") return `= ${text(c.value)}`;
  if (c.op === "IN") return `one of ${(c.values ?? []).map(text).join(", ")}`;
  const parts = [];
  if (c.minimum !== null && c.minimum !== undefined) parts.push(`${c.minimumInclusive ? "≥" : ">"} ${text(c.minimum)}`);
  if (c.maximum !== null && c.maximum !== undefined) parts.push(`${c.maximumInclusive ? "≤" : "<"} ${text(c.maximum)}`);
  return parts.join(" and ");
}

/** "rules.3.when.bandwidth.minimum" -> "Rule 4 · when bandwidth · minimum" (rules shown from 1). */
export function fieldWords(path) {
  if (!path) return path;
  const parts = path.split(".");
  const out = [];
  for (let i = 0; i < parts.length; i++) {
    const [p, next] = [parts[i], parts[i + 1]];
    if ((p === "rules" || p === "inputs" || p === "outputs" || p === "samples") && /^\d+$/.test(next ?? "")) {
      const noun = { rules: "Rule", inputs: "Input column", outputs: "Output column", samples: "Sample" }[p];
      out.push(`${noun} ${Number(next) + 1}`);
      i++;
    } else if ((p === "when" || p === "then") && next !== undefined) {
      out.push(`${p} ${next}`);
      i++;
    } else out.push(p);
  }
  return out.join(" · ");
}

const humanErrors = (errors) => errors.map((e) => ({ ...e, field: fieldWords(e.field) }));

/** A horizontally scrolling region that keyboard users can scroll too (focusable, named). */
export function scrollBox(label, child) {
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": label }, child);
}

// -- the readable view of a version ------------------------------------------------------------

function columnsTable(version) {
  const rows = [
    ...version.inputs.map((c) => ({ kind: "input", ...c })),
    ...version.outputs.map((c) => ({ kind: "output", ...c })),
  ];
  return h(
    "table",
    { class: "grid dt-columns" },
    h("caption", {}, `Columns of version ${version.number}`),
    h("thead", {}, h("tr", {}, ["Kind", "Column", "Type", "Default", "Description"].map((l) => h("th", { scope: "col" }, l)))),
    h(
      "tbody",
      {},
      rows.map((c) =>
        h(
          "tr",
          {},
          h("td", {}, c.kind === "input" ? "input (when)" : "output (then)"),
          h("th", { scope: "row" }, h("code", {}, c.name)),
          h("td", {}, c.type.toLowerCase()),
          h("td", {}, c.kind === "output" ? (c.default === null ? h("span", { class: "muted" }, "null") : text(c.default)) : "—"),
          h("td", {}, c.description || "—"),
        ),
      ),
    ),
  );
}

export function rulesTable(version, { caption, matched = new Set() } = {}) {
  const priority = version.hitPolicy === "PRIORITY";
  if (!version.rules.length) return h("p", { class: "empty" }, "No rules: every decision gives the outputs' defaults.");
  return scrollBox(
    `Rules of version ${version.number}`,
    h(
      "table",
      { class: "grid dt-rules", "data-version": version.number },
      h("caption", {}, caption ?? `Rules of version ${version.number}, hit policy ${version.hitPolicy.toLowerCase()}: ${HIT_POLICIES[version.hitPolicy]}`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Rule"),
          version.inputs.map((c) => h("th", { scope: "col", class: "dt-when" }, h("span", { class: "dt-kind" }, "when "), c.name)),
          version.outputs.map((c) => h("th", { scope: "col", class: "dt-then" }, h("span", { class: "dt-kind" }, "then "), c.name)),
          priority ? h("th", { scope: "col", class: "num" }, "Priority") : null,
          h("th", { scope: "col" }, "Description"),
        ),
      ),
      h(
        "tbody",
        {},
        version.rules.map((rule) => {
          const when = new Map(rule.when.map((c) => [c.column, c]));
          const then = new Map(rule.then.map((o) => [o.column, o.value]));
          const hit = matched.has(rule.index);
          return h(
            "tr",
            { class: hit ? "dt-hit" : null, "data-rule": rule.index },
            h("th", { scope: "row" }, `${rule.index + 1}`, hit ? h("span", { class: "dt-hit-mark" }, " ✓ matched") : null),
            version.inputs.map((c) => {
              const cond = when.get(c.name);
              return h("td", { class: !cond || cond.op === "ANY" ? "muted dt-when" : "dt-when" }, conditionText(cond));
            }),
            version.outputs.map((c) =>
              then.has(c.name)
                ? h("td", { class: "dt-then" }, then.get(c.name) === null ? h("span", { class: "muted" }, "null") : text(then.get(c.name)))
                : h("td", { class: "muted dt-then", title: "the column's default" }, `default (${c.default === null ? "null" : text(c.default)})`),
            ),
            priority ? h("td", { class: "num" }, String(rule.priority)) : null,
            h("td", {}, rule.description || "—"),
          );
        }),
      ),
    ),
  );
}

function versionFacts(v) {
  return facts([
    ["Status", badge(v.status)],
    ["Hit policy", `${v.hitPolicy.toLowerCase()}: ${HIT_POLICIES[v.hitPolicy]}`],
    ["Source", v.source],
    ["Comment", v.comment || "—"],
    ["Created", `${dateTime(v.createdAt)} by ${v.createdBy}`],
    v.activatedAt ? ["Activated", `${dateTime(v.activatedAt)} by ${v.activatedBy}`] : null,
  ]);
}

// -- the column editor (also used by the create form in decisions.js) --------------------------

let uid = 0;
const nextId = () => `c${++uid}`;

export function editableColumns(columns, output) {
  return columns.map((c) => ({
    id: nextId(),
    name: c.name,
    type: c.type,
    description: c.description ?? "",
    ...(output ? { defaultText: text(c.default), defaultOrig: c.default, defaultDirty: false } : {}),
  }));
}

export function newColumn(output) {
  return { id: nextId(), name: "", type: "STRING", description: "", ...(output ? { defaultText: "", defaultOrig: null, defaultDirty: true } : {}) };
}

export function columnInput(c, output) {
  const body = { name: c.name.trim(), type: c.type, description: c.description };
  if (output) body.default = !c.defaultDirty ? c.defaultOrig : c.defaultText.trim() === "" ? null : parse(c.type, c.defaultText);
  return body;
}

/** Where an error path points: {scope: "rule"|"inputs"|"outputs"|"form", ...}. */
function errorTarget(path, sent) {
  const parts = (path ?? "").split(".");
  if (parts[0] === "rules" && /^\d+$/.test(parts[1] ?? "")) {
    const rule = sent.rules[Number(parts[1])];
    if (!rule) return { key: "form:rules" };
    if ((parts[2] === "when" || parts[2] === "then") && parts[3]) {
      const columns = parts[2] === "when" ? sent.inputs : sent.outputs;
      const column = columns.find((c) => c.name.trim() === parts[3]);
      if (column) return { key: `${rule.key}:${column.id}` };
    }
    if (parts[2] === "description" || parts[2] === "priority") return { key: `${rule.key}:${parts[2]}` };
    return { key: `${rule.key}:row` };
  }
  if ((parts[0] === "inputs" || parts[0] === "outputs") && /^\d+$/.test(parts[1] ?? "")) {
    const column = (parts[0] === "inputs" ? sent.inputs : sent.outputs)[Number(parts[1])];
    if (column) return { key: `${column.id}:${parts[2] ?? "name"}` };
  }
  return { key: `form:${parts[0] || "form"}` };
}

/** Errors by the key of the control they belong to. */
export function errorsByKey(errors, sent) {
  const map = new Map();
  for (const e of errors) {
    const { key } = errorTarget(e.field, sent);
    if (!map.has(key)) map.set(key, []);
    map.get(key).push(e);
  }
  return map;
}

let errorCount = 0;
/** A cell's errors, and the controls they describe marked invalid. */
export function cellErrors(errors, controls) {
  if (!errors?.length) return null;
  const id = `cell-err-${++errorCount}`;
  for (const control of controls.filter(Boolean)) {
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), id].filter(Boolean).join(" "));
  }
  return h("p", { class: "cell-error", id }, errors.map((e) => h("span", {}, `⚠ ${e.message}`, e.code ? h("code", {}, ` ${e.code}`) : null)));
}

/** The input and output column editor: a table per kind, rows editable, added and removed. */
export function columnsEditor(state, errors, onChange) {
  const kind = (label, key, output) => {
    const list = state[key];
    const rows = list.map((c, i) => {
      const n = `${label} column ${i + 1}`;
      const name = h("input", { value: c.name, "aria-label": `${n}: name`, maxlength: 64, class: "dt-colname", onchange: (e) => ((c.name = e.target.value), onChange("grid")) });
      const type = h(
        "select",
        { "aria-label": `${n}: type`, onchange: (e) => ((c.type = e.target.value), onChange("grid")) },
        COLUMN_TYPES.map((t) => h("option", { value: t, selected: t === c.type }, t.toLowerCase())),
      );
      const def = output
        ? h("input", {
            value: c.defaultText,
            "aria-label": `${n}: default`,
            placeholder: "null",
            oninput: (e) => {
              c.defaultText = e.target.value;
              c.defaultDirty = true;
            },
          })
        : null;
      const description = h("input", { value: c.description, "aria-label": `${n}: description`, maxlength: 500, oninput: (e) => (c.description = e.target.value) });
      const remove = button("Remove", () => {
        list.splice(i, 1);
        onChange();
      }, { class: "secondary small", "aria-label": `Remove ${n.toLowerCase()} (${c.name || "unnamed"})` });
      return h(
        "tr",
        {},
        h("td", {}, name, cellErrors(errors.get(`${c.id}:name`), [name])),
        h("td", {}, type, cellErrors(errors.get(`${c.id}:type`), [type])),
        output ? h("td", {}, def, cellErrors(errors.get(`${c.id}:default`), [def])) : null,
        h("td", {}, description, cellErrors(errors.get(`${c.id}:description`), [description])),
        h("td", {}, remove),
      );
    });
    return h(
      "div",
      { class: "dt-colset" },
      h(
        "table",
        { class: "grid dt-edit" },
        h("caption", {}, `${label} columns${output ? " (then: what rules give)" : " (when: what rules test)"}`),
        h(
          "thead",
          {},
          h("tr", {}, ["Name", "Type", output ? "Default" : null, "Description", "Remove"].filter(Boolean).map((l) => h("th", { scope: "col" }, l))),
        ),
        h("tbody", {}, rows),
      ),
      cellErrors(errors.get(`form:${key}`), []),
      button(`Add ${label.toLowerCase()} column`, () => {
        list.push(newColumn(output));
        onChange(`${key}-last`);
      }, { class: "secondary" }),
    );
  };
  return h("div", { class: "columns" }, kind("Input", "inputs", false), kind("Output", "outputs", true));
}

// -- the draft editor --------------------------------------------------------------------------

function editableRule(rule, inputs, outputs) {
  const byName = (cols) => new Map(cols.map((c) => [c.name, c.id]));
  const inIds = byName(inputs);
  const outIds = byName(outputs);
  const when = new Map();
  for (const c of rule?.when ?? []) {
    if (inIds.has(c.column)) when.set(inIds.get(c.column), editableCondition(c, true));
  }
  const then = new Map();
  for (const o of rule?.then ?? []) {
    if (outIds.has(o.column)) then.set(outIds.get(o.column), { text: text(o.value), orig: o.value, given: true, dirty: false });
  }
  return { key: `r${++uid}`, description: rule?.description ?? "", priority: rule?.priority ?? 0, when, then };
}

function editableCondition(c, stored = false) {
  return {
    op: c.op,
    valueText: c.op === "EQUALS" ? text(c.value) : "",
    valuesText: c.op === "IN" ? (c.values ?? []).map(text).join(", ") : "",
    minText: text(c.minimum),
    maxText: text(c.maximum),
    minInc: c.minimumInclusive ?? true,
    maxInc: c.maximumInclusive ?? true,
    orig: stored ? c : null, // sent back as it was unless the cell is edited
    dirty: false,
  };
}

function conditionInput(column, cond) {
  if (!cond.dirty && cond.orig) {
    const o = cond.orig;
    return {
      column: column.name.trim(),
      op: o.op,
      value: o.value ?? null,
      values: o.values ?? null,
      minimum: o.minimum ?? null,
      maximum: o.maximum ?? null,
      minimumInclusive: o.minimumInclusive ?? true,
      maximumInclusive: o.maximumInclusive ?? true,
    };
  }
  const body = { column: column.name.trim(), op: cond.op };
  if (cond.op === "EQUALS") body.value = cond.valueText === "" ? null : parse(column.type, cond.valueText);
  if (cond.op === "IN") body.values = parseList(column.type, cond.valuesText);
  if (cond.op === "RANGE") {
    body.minimum = cond.minText.trim() === "" ? null : parse(column.type, cond.minText);
    body.maximum = cond.maxText.trim() === "" ? null : parse(column.type, cond.maxText);
    body.minimumInclusive = cond.minInc;
    body.maximumInclusive = cond.maxInc;
  }
  return body;
}

class Editor {
  constructor(table, base, onSaved) {
    this.table = table;
    this.base = base;
    this.expectedDraft = table.draft ? table.draft.number : null;
    this.onSaved = onSaved;
    this.hitPolicy = base.hitPolicy;
    this.description = table.description;
    this.comment = table.draft ? table.draft.comment : "";
    this.inputs = editableColumns(base.inputs, false);
    this.outputs = editableColumns(base.outputs, true);
    this.rules = base.rules.map((r) => editableRule(r, this.inputs, this.outputs));
    this.errors = new Map();
    this.summary = [];
    this.el = h("div", { class: "dt-editor" });
    this.draw();
  }

  input() {
    const inputs = this.inputs.map((c) => columnInput(c, false));
    const outputs = this.outputs.map((c) => columnInput(c, true));
    const rules = this.rules.map((r) => ({
      when: this.inputs
        .filter((c) => r.when.has(c.id))
        .filter((c) => r.when.get(c.id).op !== "ANY" || (!r.when.get(c.id).dirty && r.when.get(c.id).orig))
        .map((c) => conditionInput(c, r.when.get(c.id))),
      then: this.outputs
        .filter((c) => r.then.has(c.id))
        .map((c) => [c, r.then.get(c.id)])
        .filter(([, cell]) => (cell.dirty ? cell.text !== "" : cell.given))
        .map(([c, cell]) => ({ column: c.name.trim(), value: cell.dirty ? parse(c.type, cell.text) : cell.orig })),
      priority: Number.isInteger(Number(r.priority)) ? Number(r.priority) : 0,
      description: r.description,
    }));
    return {
      name: this.table.name,
      hitPolicy: this.hitPolicy,
      description: this.description,
      comment: this.comment,
      expectedDraft: this.expectedDraft,
      inputs,
      outputs,
      rules,
    };
  }

  async save(saveButton, at) {
    const sent = { rules: [...this.rules], inputs: [...this.inputs], outputs: [...this.outputs] };
    let payload = null;
    await act(saveButton, at, async () => {
      payload = await mutate(UPDATE, { input: this.input() }, "decisionTableDraftUpdate");
      return [];
    });
    if (!payload) return;
    if (payload.errors.length) {
      this.errors = errorsByKey(payload.errors, sent);
      this.summary = payload.errors;
      this.draw();
      this.el.querySelector(".dt-summary")?.focus();
      return;
    }
    toast(`Draft version ${payload.table.draft.number} saved`);
    this.onSaved(payload.table);
  }

  drawGrid() {
    clear(this.gridEl, this.grid());
  }

  draw(focus) {
    const e = this.errors;
    this.gridEl = h("div", { class: "dt-grid-box" });
    this.drawGrid();
    const status = h("div", { class: "dt-save-status" });
    const save = button("Save draft", () => this.save(save, status));
    const stale = this.summary.some((x) => x.code === "STALE_DRAFT");
    const hitPolicy = h(
      "select",
      { onchange: (ev) => ((this.hitPolicy = ev.target.value), this.drawGrid()) },
      Object.entries(HIT_POLICIES).map(([k, words]) => h("option", { value: k, selected: k === this.hitPolicy }, `${k.toLowerCase()}: ${words}`)),
    );
    const description = h("input", { value: this.description, maxlength: 500, oninput: (ev) => (this.description = ev.target.value) });
    const comment = h("input", { value: this.comment, maxlength: 500, oninput: (ev) => (this.comment = ev.target.value) });
    clear(
      this.el,
      h(
        "p",
        { class: "muted" },
        this.expectedDraft
          ? `Editing draft version ${this.expectedDraft}. Saving replaces it (refused if someone else's draft replaced it meanwhile).`
          : `No draft yet: this starts from version ${this.base.number}; saving opens a new draft version.`,
      ),
      this.summary.length
        ? h(
            "div",
            { class: "dt-summary", tabindex: "-1" },
            h("p", {}, stale ? "This draft changed since you opened it:" : `The draft was not saved: ${this.summary.length} problem${this.summary.length === 1 ? "" : "s"}.`),
            errorList(humanErrors(this.summary)),
            stale ? button("Reload the table (your edits are lost)", () => this.onSaved(null), { class: "secondary" }) : null,
          )
        : null,
      h(
        "div",
        { class: "toolbar" },
        h("div", {}, field("Hit policy", hitPolicy), cellErrors(e.get("form:hitPolicy"), [hitPolicy])),
        h("div", { class: "dt-wide" }, field("Table description", description), cellErrors(e.get("form:description"), [description])),
        h("div", { class: "dt-wide" }, field("Comment (kept with the version)", comment), cellErrors(e.get("form:comment"), [comment])),
      ),
      h(
        "details",
        { class: "dt-cols", open: this.columnsOpen || [...e.keys()].some((k) => /^c\d+:|^form:(inputs|outputs)$/.test(k)), ontoggle: (ev) => (this.columnsOpen = ev.target.open) },
        h("summary", {}, `Columns: ${this.inputs.length} input${this.inputs.length === 1 ? "" : "s"}, ${this.outputs.length} output${this.outputs.length === 1 ? "" : "s"} (add, rename, retype, remove)`),
        columnsEditor(this, e, (what) => (what === "grid" ? this.drawGrid() : ((this.columnsOpen = true), this.draw(what)))),
      ),
      h("h3", {}, "Rules"),
      this.gridEl,
      cellErrors(e.get("form:rules"), []),
      h("div", { class: "actions" }, button("Add rule", () => {
        this.rules.push(editableRule(null, this.inputs, this.outputs));
        this.draw(`rule:${this.rules.at(-1).key}`);
      }, { class: "secondary" }), save, status),
    );
    if (focus?.startsWith("rule:")) this.el.querySelector(`[data-rule-key="${focus.slice(5)}"] select, [data-rule-key="${focus.slice(5)}"] input`)?.focus();
    else if (focus?.startsWith("move:")) this.el.querySelector(`[data-move="${focus.slice(5)}"]`)?.focus();
    else if (focus?.endsWith("-last")) this.el.querySelectorAll(".dt-colset")[focus.startsWith("inputs") ? 0 : 1]?.querySelector("tbody tr:last-child input")?.focus();
  }

  conditionCell(rule, column, n) {
    const e = this.errors.get(`${rule.key}:${column.id}`);
    if (!rule.when.has(column.id)) rule.when.set(column.id, editableCondition({ op: "ANY" }));
    const cond = rule.when.get(column.id);
    const label = `Rule ${n}, when ${column.name || "unnamed"}`;
    const cell = h("td", { class: "dt-when" });
    const dirty = () => (cond.dirty = true);
    const drawCell = (refocus) => {
      const op = h(
        "select",
        {
          "aria-label": `${label}: test`,
          onchange: (ev) => {
            cond.op = ev.target.value;
            dirty();
            drawCell(true);
          },
        },
        OPS.map(([k, words]) => h("option", { value: k, selected: k === cond.op }, words)),
      );
      const controls = [op];
      const input = (key, what, attrs = {}) => {
        const el = h("input", { value: cond[key], "aria-label": `${label}: ${what}`, placeholder: HINT[column.type], class: "dt-value", ...attrs, oninput: (ev) => ((cond[key] = ev.target.value), dirty()) });
        controls.push(el);
        return el;
      };
      const bound = (key, options, what) => {
        const el = h(
          "select",
          { "aria-label": `${label}: ${what}`, onchange: (ev) => ((cond[key] = ev.target.value === "inclusive"), dirty()) },
          options.map(([v, words]) => h("option", { value: v, selected: (v === "inclusive") === cond[key] }, words)),
        );
        controls.push(el);
        return el;
      };
      let body = null;
      if (cond.op === "EQUALS") body = input("valueText", "value");
      if (cond.op === "IN") body = input("valuesText", "values, comma-separated", { placeholder: "a, b, c" });
      if (cond.op === "RANGE") {
        body = h(
          "span",
          { class: "dt-range" },
          bound("minInc", [["inclusive", "≥"], ["exclusive", ">"]], "lower bound kind"),
          input("minText", "minimum (empty: open)", { placeholder: "min" }),
          bound("maxInc", [["inclusive", "≤"], ["exclusive", "<"]], "upper bound kind"),
          input("maxText", "maximum (empty: open)", { placeholder: "max" }),
        );
      }
      clear(cell, h("div", { class: "dt-cond" }, op, body), cellErrors(e, controls));
      if (refocus) op.focus();
    };
    drawCell(false);
    return cell;
  }

  outputCell(rule, column, n) {
    const e = this.errors.get(`${rule.key}:${column.id}`);
    if (!rule.then.has(column.id)) rule.then.set(column.id, { text: "", orig: undefined, given: false, dirty: false });
    const value = rule.then.get(column.id);
    const dflt = column.defaultDirty ? column.defaultText || "null" : text(column.defaultOrig) || "null";
    const input = h("input", {
      value: value.text,
      class: "dt-value",
      "aria-label": `Rule ${n}, then ${column.name || "unnamed"} (empty: the default)`,
      placeholder: `default: ${dflt}`,
      oninput: (ev) => {
        value.text = ev.target.value;
        value.dirty = true;
      },
    });
    return h("td", { class: "dt-then" }, input, cellErrors(e, [input]));
  }

  grid() {
    const priority = this.hitPolicy === "PRIORITY";
    const rows = this.rules.map((rule, i) => {
      const n = i + 1;
      const desc = h("input", { value: rule.description, maxlength: 500, "aria-label": `Rule ${n}: description`, oninput: (ev) => (rule.description = ev.target.value) });
      const prio = priority
        ? h("input", { type: "number", step: 1, value: rule.priority, class: "dt-prio", "aria-label": `Rule ${n}: priority`, oninput: (ev) => (rule.priority = ev.target.value) })
        : null;
      const move = (to, label, dir) =>
        button(label, () => {
          const [moved] = this.rules.splice(i, 1);
          this.rules.splice(to, 0, moved);
          this.draw(`move:${rule.key}:${dir}`);
        }, { class: "secondary small", "aria-label": `Move rule ${n} ${dir}`, disabled: to < 0 || to >= this.rules.length, "data-move": `${rule.key}:${dir}` });
      return h(
        "tr",
        { "data-rule-key": rule.key },
        h("th", { scope: "row" }, String(n), cellErrors(this.errors.get(`${rule.key}:row`), [])),
        this.inputs.map((c) => this.conditionCell(rule, c, n)),
        this.outputs.map((c) => this.outputCell(rule, c, n)),
        priority ? h("td", {}, prio, cellErrors(this.errors.get(`${rule.key}:priority`), [prio])) : null,
        h("td", {}, desc, cellErrors(this.errors.get(`${rule.key}:description`), [desc])),
        h(
          "td",
          { class: "dt-rule-actions" },
          move(i - 1, "↑", "up"),
          move(i + 1, "↓", "down"),
          button("Remove", () => {
            this.rules.splice(i, 1);
            this.draw();
          }, { class: "secondary small", "aria-label": `Remove rule ${n}` }),
        ),
      );
    });
    if (!rows.length) return h("p", { class: "empty" }, "No rules yet: add one.");
    return scrollBox(
      "Rules of the draft",
      h(
        "table",
        { class: "grid dt-edit dt-grid" },
        h("caption", {}, `Rules of the draft, in evaluation order (hit policy ${this.hitPolicy.toLowerCase()})`),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Rule"),
            this.inputs.map((c) => h("th", { scope: "col", class: "dt-when" }, h("span", { class: "dt-kind" }, "when "), c.name || "(unnamed)", h("small", { class: "dt-type" }, ` ${c.type.toLowerCase()}`))),
            this.outputs.map((c) => h("th", { scope: "col", class: "dt-then" }, h("span", { class: "dt-kind" }, "then "), c.name || "(unnamed)", h("small", { class: "dt-type" }, ` ${c.type.toLowerCase()}`))),
            priority ? h("th", { scope: "col" }, "Priority") : null,
            h("th", { scope: "col" }, "Description"),
            h("th", { scope: "col" }, "Order and remove"),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  }
}

// -- testing a version --------------------------------------------------------------------------

function sampleControl(column) {
  if (column.type === "BOOLEAN") {
    return h("select", { name: column.name }, h("option", { value: "" }, "(not given)"), h("option", { value: "true" }, "true"), h("option", { value: "false" }, "false"));
  }
  if (column.type === "INTEGER") return h("input", { name: column.name, type: "number", step: 1 });
  if (column.type === "NUMBER") return h("input", { name: column.name, inputmode: "decimal" });
  if (column.type === "DATE") return h("input", { name: column.name, type: "date" });
  return h("input", { name: column.name });
}

function testPanel(table) {
  const chosen = () => {
    const number = select.value ? Number(select.value) : (table.draft ?? table.activeVersion)?.number;
    return table.versions.find((v) => v.number === number);
  };
  const select = h(
    "select",
    { onchange: () => drawFields() },
    h("option", { value: "" }, table.draft ? `the draft (version ${table.draft.number})` : "the active version"),
    table.versions.map((v) => h("option", { value: v.number }, `version ${v.number} (${v.status.toLowerCase()})`)),
  );
  const fields = h("div", { class: "toolbar" });
  const results = h("div", { class: "dt-results", "aria-live": "polite" });
  const errorsAt = h("div");
  const drawFields = () => {
    const v = chosen();
    clear(
      fields,
      v ? v.inputs.map((c) => h("div", { "data-column": c.name }, field(`${c.name} (${c.type.toLowerCase()})`, sampleControl(c), c.description || null))) : h("p", { class: "empty" }, "No version to test."),
    );
  };
  const run = h("button", { type: "submit" }, "Run test");
  const form = h(
    "form",
    {
      "aria-label": "Test with inputs",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const v = chosen();
        if (!v) return;
        const sample = {};
        for (const c of v.inputs) {
          const raw = form.elements.namedItem(c.name)?.value ?? "";
          if (raw !== "") sample[c.name] = parse(c.type, raw);
        }
        for (const el of fields.querySelectorAll(".cell-error")) el.remove();
        for (const el of fields.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
        await act(run, errorsAt, async () => {
          const payload = await mutate(TEST, { input: { name: table.name, samples: [sample], version: select.value ? Number(select.value) : null } }, "decisionTableTest");
          if (payload.errors.length) {
            for (const e of payload.errors) {
              const column = e.field?.split(".")[2];
              const at = column && fields.querySelector(`[data-column="${CSS.escape(column)}"]`);
              if (at) at.append(cellErrors([e], [at.querySelector("input, select")]));
            }
            clear(results);
            return humanErrors(payload.errors);
          }
          showResult(v, payload.results[0]);
          return [];
        });
      },
    },
    h("div", { class: "dt-narrow" }, field("Version to test", select, "The saved version: save your edits first.")),
    fields,
    h("div", { class: "actions" }, run),
    errorsAt,
    results,
  );
  const showResult = (v, result) => {
    const rules = new Map(v.rules.map((r) => [r.index, r]));
    // mark the matched rules in the version's rules table on this screen, too
    const hits = new Set(result.hits.map((x) => x.rule));
    for (const row of document.querySelectorAll("table.dt-rules tr[data-rule]")) {
      row.classList.remove("dt-hit");
      row.querySelector(".dt-hit-mark")?.remove();
      if (row.closest("table").dataset.version === String(v.number) && hits.has(Number(row.dataset.rule))) {
        row.classList.add("dt-hit");
        row.querySelector("th").append(h("span", { class: "dt-hit-mark" }, " ✓ matched"));
      }
    }
    clear(
      results,
      h("h3", {}, `Result (version ${v.number})`),
      result.hits.length
        ? h(
            "table",
            { class: "grid dt-result" },
            h("caption", {}, `${result.hits.length} rule${result.hits.length === 1 ? "" : "s"} matched`),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Matched rule"), h("th", { scope: "col" }, "Description"), h("th", { scope: "col" }, "Outputs"))),
            h(
              "tbody",
              {},
              result.hits.map((hit) =>
                h(
                  "tr",
                  { "data-hit": hit.rule },
                  h("th", { scope: "row" }, `Rule ${hit.rule + 1}`),
                  h("td", {}, rules.get(hit.rule)?.description || "—"),
                  h("td", {}, h("ul", { class: "dt-outputs" }, hit.outputs.map((o) => h("li", {}, h("code", {}, o.column), ` = ${o.value === null ? "null" : text(o.value)}`)))),
                ),
              ),
            ),
          )
        : h("p", { class: "dt-nohit" }, "No rule matched these inputs."),
    );
  };
  drawFields();
  return form;
}

// -- the screen --------------------------------------------------------------------------------

function auditTable(audit) {
  const version = (n) => (n === null || n === undefined ? "—" : `v${n}`);
  return h(
    "div",
    { class: "scroll" },
    audit.length
      ? h(
          "table",
          { class: "grid" },
          h("caption", {}, "Audit trail, newest first"),
          h("thead", {}, h("tr", {}, ["When", "Action", "From", "To", "Who", "Reason"].map((l) => h("th", { scope: "col" }, l)))),
          h(
            "tbody",
            {},
            audit.map((a) =>
              h("tr", {}, h("td", {}, dateTime(a.at)), h("td", {}, a.action), h("td", {}, version(a.fromVersion)), h("td", {}, version(a.toVersion)), h("td", {}, a.actor), h("td", {}, a.reason || "—")),
            ),
          ),
        )
      : h("p", { class: "empty" }, "No changes recorded."),
  );
}

function reasonAction({ label, danger, hint, run }) {
  const reason = h("input", { maxlength: 500, required: true });
  const go = h("button", { type: "submit", class: danger ? "danger" : null }, label);
  const errorsAt = h("div");
  return h(
    "form",
    {
      class: "dt-action",
      "aria-label": label,
      onsubmit: (ev) => {
        ev.preventDefault();
        act(go, errorsAt, async () => humanErrors(await run(reason.value.trim())));
      },
    },
    field(`Reason (${label.toLowerCase()})`, reason, hint),
    h("div", { class: "actions" }, go),
    errorsAt,
  );
}

export async function render(root, { params, signal }) {
  const name = params.name;
  const manage = can("decision:manage");
  let table = (await gql(ONE, { name })).decisionTable;
  let editor = null;

  const draw = () => {
    if (signal.aborted) return;
    const active = table.activeVersion;
    const draft = table.draft;
    const rollbackTo = table.versions.filter((v) => v.status === "RETIRED" && (v.activatedAt || !v.source.startsWith("admin:")));
    const versionDetail = h("div", { class: "dt-version-detail", "aria-live": "polite" });
    const applied = (payload) => {
      if (!payload.errors.length) {
        table = payload.table;
        editor = null;
        draw();
      }
      return payload.errors;
    };
    clear(
      root,
      h("p", { class: "crumbs" }, h("a", { href: "#/admin/decisions" }, "Decision tables"), " / ", name),
      h("h1", {}, h("code", {}, table.name)),
      h("p", {}, table.description || h("span", { class: "muted" }, "No description.")),
      facts([
        ["Active version", active ? `version ${active.number}` : "none activated yet"],
        ["Draft", draft ? `version ${draft.number}` : "none"],
        ["Default from", table.defaultSource ?? "none (created by an admin)"],
        ["Created", `${dateTime(table.createdAt)} by ${table.createdBy}`],
        ["Updated", dateTime(table.updatedAt)],
        manage ? null : ["Your access", "read only (changing tables takes decision:manage)"],
      ]),
      active
        ? section(`Active version ${active.number}`, versionFacts(active), rulesTable(active), h("details", { class: "dt-cols" }, h("summary", {}, "Columns"), columnsTable(active)))
        : section("Active version", h("p", { class: "empty" }, "No version is active: decisions fall back to the consumer's behaviour until a draft is activated.")),
      draft
        ? section(
            `Draft version ${draft.number}`,
            versionFacts(draft),
            rulesTable(draft),
            h("details", { class: "dt-cols" }, h("summary", {}, "Columns"), columnsTable(draft)),
            manage
              ? h(
                  "div",
                  { class: "columns" },
                  reasonAction({
                    label: `Activate version ${draft.number}`,
                    hint: "Activation takes the saved draft; the active version is retired.",
                    run: async (reason) => applied(await mutate(ACTIVATE, { input: { name, version: draft.number, reason } }, "decisionTableActivate")),
                  }),
                  reasonAction({
                    label: `Discard draft ${draft.number}`,
                    danger: true,
                    hint: "Kept as a retired version, never active.",
                    run: async (reason) => applied(await mutate(DISCARD, { input: { name, version: draft.number, reason } }, "decisionTableDraftDiscard")),
                  }),
                )
              : null,
          )
        : null,
      manage
        ? section(
            "Edit",
            editor
              ? editor.el
              : h(
                  "div",
                  { class: "actions" },
                  button(draft ? `Edit draft ${draft.number}` : `Start a draft from version ${active?.number ?? "—"}`, () => {
                    editor = new Editor(table, draft ?? active, async (updated) => {
                      table = updated ?? (await gql(ONE, { name })).decisionTable;
                      editor = null;
                      draw();
                    });
                    draw();
                    editor.el.querySelector("select, input")?.focus();
                  }, { disabled: !draft && !active }),
                ),
          )
        : null,
      manage && (draft || active) ? section("Test with inputs", testPanel(table)) : null,
      section(
        "Versions",
        h(
          "div",
          { class: "scroll" },
          h(
            "table",
            { class: "grid" },
            h("caption", {}, "Versions, newest first"),
            h("thead", {}, h("tr", {}, ["Version", "Status", "Source", "Comment", "Created", "Activated", "Rules"].map((l) => h("th", { scope: "col" }, l)))),
            h(
              "tbody",
              {},
              table.versions.map((v) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row" }, `v${v.number}`),
                  h("td", {}, badge(v.status)),
                  h("td", {}, v.source),
                  h("td", {}, v.comment || "—"),
                  h("td", {}, `${dateTime(v.createdAt)} · ${v.createdBy}`),
                  h("td", {}, v.activatedAt ? `${dateTime(v.activatedAt)} · ${v.activatedBy}` : "—"),
                  h(
                    "td",
                    {},
                    button(`Show version ${v.number}`, async (ev) => {
                      const b = ev.currentTarget;
                      await act(b, versionDetail, async () => {
                        const [full] = (await gql(VERSION_RULES, { name, number: v.number })).decisionTable.versions;
                        clear(versionDetail, h("h3", {}, `Version ${v.number}`), versionFacts(full), rulesTable(full), columnsTable(full));
                        return [];
                      });
                    }, { class: "secondary small" }),
                  ),
                ),
              ),
            ),
          ),
        ),
        versionDetail,
        manage && rollbackTo.length ? rollbackForm(rollbackTo, async (version, reason) => applied(await mutate(ROLLBACK, { input: { name, version, reason } }, "decisionTableRollback"))) : null,
      ),
      section("Audit trail", auditTable(table.audit)),
    );
  };

  function rollbackForm(versions, run) {
    const which = h("select", {}, versions.map((v) => h("option", { value: v.number }, `version ${v.number}${v.comment ? ` (${v.comment})` : ""}`)));
    const reason = h("input", { maxlength: 500, required: true });
    const go = h("button", { type: "submit", class: "secondary" }, "Roll back");
    const errorsAt = h("div");
    return h(
      "form",
      {
        class: "dt-action",
        "aria-label": "Roll back",
        onsubmit: (ev) => {
          ev.preventDefault();
          act(go, errorsAt, async () => humanErrors(await run(Number(which.value), reason.value.trim())));
        },
      },
      h("h3", {}, "Roll back"),
      h("div", { class: "toolbar" }, field("Make active again", which), field("Reason (roll back)", reason)),
      h("div", { class: "actions" }, go),
      errorsAt,
    );
  }

  draw();
}
