// Decision tables: every table with its active version, whether a draft is open and when it last
// changed. Process admins (decision:manage) also create a table here (its columns; the rules are
// edited on the table's screen, where its first version waits as a draft).

import { gql, mutate } from "../gql.js";
import { act, append, badge, clear, dateTime, errorList, field, h, table, toast } from "../ui.js";
import { can } from "../session.js";
import { HIT_POLICIES, cellErrors, columnInput, columnsEditor, errorsByKey, fieldWords, newColumn } from "./decision.js";

const LIST = `{ decisionTables { name description defaultSource updatedAt
  activeVersion { number hitPolicy rules { index } } draft { number updatedAt } } }`;
const CREATE = `mutation($input: DecisionTableCreateInput!) { decisionTableCreate(input: $input) { table { name } errors { field code message } } }`;

function createForm(navigate) {
  const state = { inputs: [newColumn(false)], outputs: [newColumn(true)] };
  let errors = new Map();
  let summary = [];
  const box = h("div");
  const values = { name: "", description: "", hitPolicy: "FIRST", comment: "" };
  const draw = (focus) => {
    const name = h("input", { value: values.name, maxlength: 100, required: true, placeholder: "acme.deliveryFee", oninput: (e) => (values.name = e.target.value) });
    const description = h("input", { value: values.description, maxlength: 500, oninput: (e) => (values.description = e.target.value) });
    const hitPolicy = h(
      "select",
      { onchange: (e) => (values.hitPolicy = e.target.value) },
      Object.entries(HIT_POLICIES).map(([k, words]) => h("option", { value: k, selected: k === values.hitPolicy }, `${k.toLowerCase()}: ${words}`)),
    );
    const comment = h("input", { value: values.comment, maxlength: 500, oninput: (e) => (values.comment = e.target.value) });
    const status = h("div");
    const create = h("button", { type: "submit" }, "Create table");
    const form = h(
      "form",
      {
        "aria-label": "New decision table",
        onsubmit: async (ev) => {
          ev.preventDefault();
          const sent = { rules: [], inputs: [...state.inputs], outputs: [...state.outputs] };
          let payload = null;
          await act(create, status, async () => {
            payload = await mutate(
              CREATE,
              {
                input: {
                  name: values.name.trim(),
                  description: values.description,
                  hitPolicy: values.hitPolicy,
                  comment: values.comment,
                  inputs: state.inputs.map((c) => columnInput(c, false)),
                  outputs: state.outputs.map((c) => columnInput(c, true)),
                  rules: [],
                },
              },
              "decisionTableCreate",
            );
            return [];
          });
          if (!payload) return;
          if (payload.errors.length) {
            errors = errorsByKey(payload.errors, sent);
            summary = payload.errors;
            draw();
            box.querySelector(".dt-summary")?.focus();
            return;
          }
          toast(`Table ${payload.table.name} created: add its rules to the draft, then activate it`);
          navigate(`/admin/decisions/${encodeURIComponent(payload.table.name)}`);
        },
      },
      summary.length
        ? h("div", { class: "dt-summary", tabindex: "-1" }, errorList(summary.map((e) => ({ ...e, field: fieldWords(e.field) }))))
        : null,
      h(
        "div",
        { class: "toolbar" },
        h("div", {}, field("Name", name, "Dot-separated words"), cellErrors(errors.get("form:name"), [name])),
        h("div", {}, field("Hit policy", hitPolicy), cellErrors(errors.get("form:hitPolicy"), [hitPolicy])),
        h("div", { class: "dt-wide" }, field("Description", description), cellErrors(errors.get("form:description"), [description])),
        h("div", { class: "dt-wide" }, field("Comment (kept with the version)", comment), cellErrors(errors.get("form:comment"), [comment])),
      ),
      columnsEditor(state, errors, (what) => (what === "grid" ? null : draw(what))),
      h("div", { class: "actions" }, create, status),
    );
    clear(box, form);
    if (focus?.endsWith("-last")) box.querySelectorAll(".dt-colset")[focus.startsWith("inputs") ? 0 : 1]?.querySelector("tbody tr:last-child input")?.focus();
  };
  draw();
  return h("details", { class: "panel dt-create" }, h("summary", {}, "New decision table"), box);
}

export async function render(root, { navigate }) {
  const data = await gql(LIST);
  const tables = data.decisionTables;
  append(root, [
    h("h1", {}, "Decision tables"),
    h(
      "p",
      { class: "muted" },
      can("decision:manage")
        ? "The rules orders are decided by. Open a table to edit its draft, test it and activate it."
        : "The rules orders are decided by (read only: changing them takes decision:manage).",
    ),
    can("decision:manage") ? createForm(navigate) : null,
    h(
      "div",
      { class: "scroll" },
      table(
        "Decision tables by name",
        [
          { label: "Name", cell: (t) => h("a", { href: `#/admin/decisions/${encodeURIComponent(t.name)}` }, h("code", {}, t.name)) },
          { label: "Description", cell: (t) => t.description || "—", class: "hide-narrow" },
          {
            label: "Active version",
            cell: (t) =>
              t.activeVersion
                ? [`v${t.activeVersion.number} `, h("span", { class: "muted" }, `${t.activeVersion.hitPolicy.toLowerCase()}, ${t.activeVersion.rules.length} rule${t.activeVersion.rules.length === 1 ? "" : "s"}`)]
                : h("span", { class: "muted" }, "none"),
          },
          { label: "Draft", cell: (t) => (t.draft ? [badge("DRAFT"), ` v${t.draft.number}`] : h("span", { class: "muted" }, "no draft")) },
          { label: "Default from", cell: (t) => t.defaultSource ?? h("span", { class: "muted" }, "admin-created"), class: "hide-narrow" },
          { label: "Updated", cell: (t) => dateTime(t.updatedAt) },
        ],
        tables,
        { empty: "No decision tables.", rowAttrs: (t) => ({ "data-table": t.name }) },
      ),
    ),
  ]);
}
