// One order for staff: facts, the actions the role may take in the order's state, lines with
// prices and alterations, domain orders and tasks, events, inventory created, versions and their
// diff, revisions and cancellation requests. Live: the order is read again when its events arrive.

import { gql, mutate, subscribe } from "../gql.js";
import { can } from "../session.js";
import {
  act, badge, button, clear, coalesce, date, dateTime, errorList, facts, field, h, jeopardyBadge, money, section, shortId, table,
  toast, value, words,
} from "../ui.js";

const MONEY = "{ amount currency }";
const PRICE = `{ name priceType recurringChargePeriod price { dutyFreeAmount ${MONEY} taxIncludedAmount ${MONEY} taxRate percentage }
  priceAlteration { name priceType priority applicationDuration source { kind table reason } price { dutyFreeAmount ${MONEY} taxIncludedAmount ${MONEY} percentage } } }`;

/** The detail query, asking only for the fields the viewer's permissions reach (a field beyond
 * them is an error, not a null). */
function detailQuery() {
  const prices = can("price:read");
  const fulfilment = can("fulfilment:read");
  const audit = can("audit:read");
  return `query Order($id: ID!) { order(id: $id) {
    id state stage waitingFor version customerId description externalId priority channel segment
    createdAt submittedAt completedAt requestedStartDate requestedCompletionDate expectedCompletionDate committedCompletionDate
    jeopardy pausedAt pausedSeconds ${audit ? "createdBy" : ""} ${fulfilment ? "holdReason predictedLateness" : ""}
    pointOfNoReturn { kind reachedAt lineId task { key name } }
    ${prices ? `oneTimeTotal ${MONEY} recurringTotal ${MONEY} priceList manualDiscountPercent discountOverLimit orderTotalPrice ${PRICE}` : ""}
    lines { id lineNumber action offeringKey quantity state productId jeopardy ${fulfilment ? "holdReason" : ""} expectedCompletionDate informationRequired
      characteristics { name value }
      pointOfNoReturn { kind reachedAt task { key name } }
      ${prices ? `unitOneTimePrice ${MONEY} unitRecurringPrice ${MONEY} itemPrice ${PRICE}` : ""} }
    domainOrders { id kind specKey unitIndex state lineNumber jeopardy
      ${fulfilment ? "characteristics { name value }" : ""}
      tasks { id key name kind mode state attempts maxAttempts startedAt finishedAt dueAt jeopardy ${fulfilment ? "assignee errorCode errorMessage" : ""}
        ${audit ? "completedBy" : ""} } }
    events { id type entityKind fromState toState actor occurredAt }
    ${can("inventory:read") ? "products { id name offeringKey status startDate characteristics { name value } }" : ""}
    ${audit ? "approvals { round level levels role reasons state actor comment decidedAt }" : ""}
    ${fulfilment ? "fallouts { id type state priority errorCode errorMessage createdAt }" : ""}
    versions { number createdAt createdBy reason }
    revisions { id state reason baseVersion newVersion requestedBy createdAt completedAt }
    cancelRequests { id state cancellationReason reasonType requestedCancellationDate result resultMessage createdAt fee { amount currency reason } }
  } }`;
}

const PAYLOAD_ORDER = "order { id state version }";
const MUTATIONS = {
  submit: `mutation($id: ID!, $version: Int) { orderSubmit(input: {id: $id, version: $version}) { ${PAYLOAD_ORDER} errors { field code message } } }`,
  approve: `mutation($id: ID!, $version: Int, $comment: String) { orderApprove(input: {id: $id, version: $version, comment: $comment}) { ${PAYLOAD_ORDER} errors { field code message } } }`,
  reject: `mutation($id: ID!, $version: Int, $reason: String!) { orderReject(input: {id: $id, version: $version, reason: $reason}) { ${PAYLOAD_ORDER} errors { field code message } } }`,
  hold: `mutation($id: ID!, $version: Int, $reason: String!) { orderHold(input: {id: $id, version: $version, reason: $reason}) { ${PAYLOAD_ORDER} errors { field code message } } }`,
  resume: `mutation($id: ID!, $version: Int) { orderResume(input: {id: $id, version: $version}) { ${PAYLOAD_ORDER} errors { field code message } } }`,
  cancel: `mutation($input: OrderCancelInput!) { orderCancel(input: $input) { cancelRequest { id state result resultMessage } errors { field code message } } }`,
  revise: `mutation($input: OrderReviseInput!) { orderRevise(input: $input) { revision { id state } errors { field code message } } }`,
};
const DIFF = `query($id: ID!, $from: Int!, $to: Int!) { orderVersionDiff(orderId: $id, from: $from, to: $to) { path kind from to } }`;
const EVENTS = `subscription($id: ID, $after: ID) { orderEvents(orderId: $id, after: $after) { id type entityKind toState } }`;

const RUNNING = new Set(["ACKNOWLEDGED", "PENDING", "IN_PROGRESS"]);
const FINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "REJECTED", "PARTIAL"]);

const chars = (list) => (list?.length ? list.map((c) => `${c.name}: ${value(c.value)}`).join(", ") : "—");

function priceLines(prices) {
  if (!prices?.length) return "—";
  return h(
    "ul",
    { class: "prices" },
    prices.map((p) =>
      h(
        "li",
        {},
        `${p.name} (${words(p.priceType)}${p.recurringChargePeriod ? ` / ${p.recurringChargePeriod}` : ""}): `,
        h("strong", {}, money(p.price.taxIncludedAmount ?? p.price.dutyFreeAmount)),
        p.priceAlteration.length
          ? h(
              "ul",
              {},
              p.priceAlteration.map((a) =>
                h(
                  "li",
                  { class: "alteration" },
                  `${a.name} (${words(a.source.kind)}${a.source.table ? `, ${a.source.table}` : ""}${a.source.reason ? `: ${a.source.reason}` : ""}): `,
                  a.price.percentage !== null && a.price.percentage !== undefined ? `${a.price.percentage}% ` : "",
                  money(a.price.taxIncludedAmount ?? a.price.dutyFreeAmount),
                  a.applicationDuration ? ` for ${a.applicationDuration} periods` : "",
                ),
              ),
            )
          : null,
      ),
    ),
  );
}

function actionsPanel(order, reload) {
  const errors = h("div");
  const items = [];
  const vars = { id: order.id, version: order.version };
  const run = (label, name, extra = () => ({}), options = {}) => {
    const b = button(label, async () => {
      const variables = { ...vars, ...extra() };
      if (options.needs && !options.needs(variables)) return;
      const ok = await act(b, errors, async () => (await mutate(MUTATIONS[name], variables, PAYLOAD_FIELD[name])).errors);
      if (ok) {
        toast(`${label}: done`);
        for (const input of b.closest(".action-group")?.querySelectorAll("input") ?? []) input.value = "";
        reload();
      }
    }, options.attrs ?? {});
    return b;
  };
  if (can("order:capture") && order.state === "DRAFT") items.push(run("Submit", "submit"));
  if (can("order:approve") && order.stage === "APPROVAL_WAITING") {
    const comment = h("input", { name: "comment", maxlength: 500 });
    const reason = h("input", { name: "reason", maxlength: 500 });
    items.push(
      h("div", { class: "action-group" }, field("Approval comment", comment), run("Approve", "approve", () => ({ comment: comment.value || null }))),
      h(
        "div",
        { class: "action-group" },
        field("Rejection reason", reason),
        run("Reject", "reject", () => ({ reason: reason.value }), {
          attrs: { class: "danger" },
          needs: (v) => v.reason.trim() || (clear(errors, errorList([{ field: "reason", message: "say why" }])), false),
        }),
      ),
    );
  }
  if (can("order:hold") && RUNNING.has(order.state)) {
    const reason = h("input", { name: "hold-reason", maxlength: 500 });
    items.push(
      h(
        "div",
        { class: "action-group" },
        field("Hold reason", reason),
        run("Hold", "hold", () => ({ reason: reason.value }), {
          attrs: { class: "secondary" },
          needs: (v) => v.reason.trim() || (clear(errors, errorList([{ field: "reason", message: "say why" }])), false),
        }),
      ),
    );
  }
  if ((order.state === "HELD" && can("order:hold")) || (order.stage === "ENRICHMENT_WAITING" && can("order:resume"))) {
    items.push(run("Resume", "resume"));
  }
  if (can("order:revise") && RUNNING.has(order.state)) items.push(reviseForm(order, errors, reload));
  if (can("order:cancel") && !FINAL.has(order.state) && order.state !== "DRAFT") items.push(cancelForm(order, errors, reload));
  if (!items.length) return null;
  return section("Actions", errors, h("div", { class: "actions-panel" }, items));
}

const PAYLOAD_FIELD = {
  submit: "orderSubmit", approve: "orderApprove", reject: "orderReject", hold: "orderHold", resume: "orderResume",
};

function ponrBox(name) {
  return h("input", { type: "checkbox", name });
}

function cancelForm(order, errors, reload) {
  const reason = h("input", { name: "cancel-reason", required: true, maxlength: 500 });
  const type = h("select", { name: "reason-type" }, h("option", { value: "" }, "—"), ["COMMERCIAL", "TECHNICAL"].map((t) => h("option", { value: t }, words(t))));
  const when = h("input", { type: "date", name: "cancel-date" });
  const ack = ponrBox("cancel-acknowledge");
  const submit = h("button", { type: "submit", class: "danger" }, "Request cancellation");
  const form = h(
    "form",
    {
      class: "action-group",
      onsubmit: async (event) => {
        event.preventDefault();
        const input = {
          id: order.id,
          version: order.version,
          reason: reason.value,
          reasonType: type.value || null,
          requestedCancellationDate: when.value ? new Date(`${when.value}T00:00:00`).toISOString() : null,
          acknowledgePointOfNoReturn: ack.checked,
        };
        const ok = await act(submit, errors, async () => (await mutate(MUTATIONS.cancel, { input }, "orderCancel")).errors);
        if (ok) {
          toast("Cancellation requested");
          event.target.reset();
          reload();
        }
      },
    },
    h("h3", {}, "Cancel"),
    field("Cancellation reason", reason),
    field("Reason type", type),
    field("Cancel on (empty: now)", when),
    h("label", { class: "check" }, ack, " I acknowledge the point of no return and its charge"),
    submit,
  );
  return form;
}

function reviseForm(order, errors, reload) {
  const lineSelect = h("select", { name: "revise-line" }, order.lines.map((l) => h("option", { value: l.lineNumber }, `Line ${l.lineNumber}: ${l.offeringKey}`)));
  const name = h("input", { name: "revise-characteristic", placeholder: "e.g. installationAddress", maxlength: 100 });
  const newValue = h("input", { name: "revise-value", maxlength: 500 });
  const quantity = h("input", { type: "number", name: "revise-quantity", min: 1 });
  const completion = h("input", { type: "date", name: "revise-completion" });
  const reason = h("input", { name: "revise-reason", required: true, maxlength: 500 });
  const ack = ponrBox("revise-acknowledge");
  const submit = h("button", { type: "submit", class: "secondary" }, "Revise");
  return h(
    "form",
    {
      class: "action-group",
      onsubmit: async (event) => {
        event.preventDefault();
        const line = { lineNumber: Number(lineSelect.value) };
        if (name.value.trim()) {
          let v = newValue.value;
          if (v !== "" && !Number.isNaN(Number(v))) v = Number(v);
          line.characteristics = [{ name: name.value.trim(), value: v === "" ? null : v }];
        }
        if (quantity.value) line.quantity = Number(quantity.value);
        const input = {
          id: order.id,
          version: order.version,
          reason: reason.value,
          lines: line.characteristics || line.quantity ? [line] : [],
          requestedCompletionDate: completion.value ? new Date(`${completion.value}T00:00:00`).toISOString() : null,
          acknowledgePointOfNoReturn: ack.checked,
        };
        const ok = await act(submit, errors, async () => (await mutate(MUTATIONS.revise, { input }, "orderRevise")).errors);
        if (ok) {
          toast("Revision requested");
          event.target.reset();
          reload();
        }
      },
    },
    h("h3", {}, "Revise"),
    field("Line", lineSelect),
    field("Characteristic", name),
    field("New value", newValue),
    field("New quantity", quantity),
    field("Requested completion", completion),
    field("Revision reason", reason),
    h("label", { class: "check" }, ack, " I acknowledge the point of no return and its charge"),
    submit,
  );
}

// The diff the user asked for, kept across live redraws of the same order.
let shownDiff = null; // {orderId, from, to, changes}

function diffTable(changes) {
  return table("Changes between the versions", [
    { label: "Path", cell: (c) => h("code", {}, c.path) },
    { label: "Change", cell: (c) => words(c.kind) },
    { label: "From", cell: (c) => value(c.from) },
    { label: "To", cell: (c) => value(c.to) },
  ], changes, { empty: "No difference." });
}

function versionsSection(order) {
  const kept = shownDiff?.orderId === order.id ? shownDiff : null;
  const out = h("div", { "aria-live": "polite" }, kept ? diffTable(kept.changes) : null);
  const numbers = order.versions.map((v) => v.number);
  const pick = (name, selected) => h("select", { name }, numbers.map((n) => h("option", { value: n, selected: n === selected }, `v${n}`)));
  const from = pick("diff-from", kept?.from ?? numbers[0]);
  const to = pick("diff-to", kept?.to ?? numbers[numbers.length - 1]);
  const show = button("Show diff", async () => {
    try {
      const [a, b] = [Number(from.value), Number(to.value)];
      const data = await gql(DIFF, { id: order.id, from: a, to: b });
      shownDiff = { orderId: order.id, from: a, to: b, changes: data.orderVersionDiff };
      clear(out, diffTable(data.orderVersionDiff));
    } catch (error) {
      clear(out, errorList(error));
    }
  }, { class: "secondary" });
  return section(
    "Versions",
    table("Order versions", [
      { label: "Version", cell: (v) => `v${v.number}` },
      { label: "Created", cell: (v) => dateTime(v.createdAt) },
      { label: "By", cell: (v) => v.createdBy },
      { label: "Reason", cell: (v) => v.reason ?? "—" },
    ], order.versions),
    numbers.length > 1 ? h("div", { class: "toolbar" }, field("From version", from), field("To version", to), show) : null,
    out,
  );
}

/** What the user has typed in the screen's forms (and where the focus is), to carry across a live
 * redraw: the order changes under an agent who is filling in a hold reason or a revision. */
function formState(root) {
  const values = new Map();
  for (const el of root.querySelectorAll("input[name], select[name], textarea[name]")) {
    values.set(el.name, el.type === "checkbox" ? el.checked : el.value);
  }
  return { values, focused: document.activeElement?.closest?.("main") === root ? document.activeElement.name : null };
}

function restoreForms(root, { values, focused }) {
  for (const el of root.querySelectorAll("input[name], select[name], textarea[name]")) {
    if (!values.has(el.name)) continue;
    if (el.type === "checkbox") el.checked = values.get(el.name);
    else if (el.tagName !== "SELECT" || [...el.options].some((o) => o.value === values.get(el.name))) el.value = values.get(el.name);
  }
  if (focused) root.querySelector(`[name="${CSS.escape(focused)}"]`)?.focus();
}

function draw(root, order, reload) {
  const tasks = order.domainOrders.flatMap((d) => d.tasks);
  const typed = formState(root);
  clear(
    root,
    h(
      "div",
      { class: "title-row" },
      h("h1", {}, `Order #${shortId(order.id)}`),
      badge(order.state),
      jeopardyBadge(order.jeopardy),
      order.stage ? h("span", { class: "muted" }, `stage: ${words(order.stage)}${order.waitingFor ? ` (waiting for ${order.waitingFor})` : ""}`) : null,
      can("fulfilment:read") ? h("a", { href: `#/orders/${encodeURIComponent(order.id)}/timeline`, class: "button-link" }, "Timeline") : null,
    ),
    h(
      "div",
      { class: "columns" },
      section(
        "Summary",
        facts([
          ["Customer", order.customerId],
          ["Description", order.description || "—"],
          order.externalId && ["External id", order.externalId],
          ["Version", String(order.version)],
          ["Priority", order.priority ?? "—"],
          order.channel && ["Channel", order.channel],
          order.createdBy && ["Created by", order.createdBy],
          ["Created", dateTime(order.createdAt)],
          ["Submitted", dateTime(order.submittedAt)],
          ["Completed", dateTime(order.completedAt)],
          order.holdReason && ["Hold reason", order.holdReason],
          order.pointOfNoReturn && ["Point of no return", `${words(order.pointOfNoReturn.kind)} at ${order.pointOfNoReturn.task?.name ?? "a task"}`],
        ]),
      ),
      section(
        "Dates",
        facts([
          ["Requested start", date(order.requestedStartDate)],
          ["Requested completion", date(order.requestedCompletionDate)],
          ["Expected completion", dateTime(order.expectedCompletionDate)],
          ["Committed completion", dateTime(order.committedCompletionDate)],
          order.predictedLateness !== undefined && order.predictedLateness !== null && ["Predicted lateness", `${Math.round(order.predictedLateness / 3600)} h`],
        ]),
      ),
      "oneTimeTotal" in order
        ? section(
            "Price",
            facts([
              ["One-time total", money(order.oneTimeTotal)],
              ["Recurring total", money(order.recurringTotal)],
              ["Price list", order.priceList ?? "—"],
              ["Manual discount", `${order.manualDiscountPercent}%${order.discountOverLimit ? " (over the limit: needs approval)" : ""}`],
            ]),
            priceLines(order.orderTotalPrice),
          )
        : null,
    ),
    actionsPanel(order, reload),
    section(
      "Lines",
      h(
        "div",
        { class: "scroll" },
        table("Order lines", [
          { label: "#", cell: (l) => String(l.lineNumber) },
          { label: "Action", cell: (l) => words(l.action) },
          { label: "Offering", cell: (l) => l.offeringKey },
          { label: "Qty", cell: (l) => String(l.quantity), class: "num" },
          { label: "State", cell: (l) => [badge(l.state), " ", jeopardyBadge(l.jeopardy)] },
          { label: "Characteristics", cell: (l) => chars(l.characteristics) },
          ...("itemPrice" in (order.lines[0] ?? {})
            ? [
                { label: "Unit one-time", cell: (l) => money(l.unitOneTimePrice), class: "num" },
                { label: "Unit recurring", cell: (l) => money(l.unitRecurringPrice), class: "num" },
                { label: "Prices and alterations", cell: (l) => priceLines(l.itemPrice) },
              ]
            : []),
          { label: "Expected", cell: (l) => dateTime(l.expectedCompletionDate) },
          { label: "Notes", cell: (l) => [l.holdReason ? `held: ${l.holdReason}` : "", l.informationRequired?.length ? `needs: ${l.informationRequired.join(", ")}` : "", l.pointOfNoReturn ? `PONR ${words(l.pointOfNoReturn.kind)}` : ""].filter(Boolean).join("; ") || "—" },
        ], order.lines),
      ),
    ),
    section(
      `Domain orders and tasks (${tasks.length} tasks)`,
      order.domainOrders.length
        ? order.domainOrders.map((d) =>
            h(
              "div",
              { class: "domain-order" },
              h("h3", {}, `${words(d.kind)} order · ${d.specKey}${d.unitIndex ? ` #${d.unitIndex}` : ""} · line ${d.lineNumber} `, badge(d.state), " ", jeopardyBadge(d.jeopardy)),
              d.characteristics?.length ? h("p", { class: "muted" }, chars(d.characteristics)) : null,
              h(
                "div",
                { class: "scroll" },
                table(`Tasks of ${d.specKey}`, [
                  { label: "Task", cell: (t) => [t.name, h("br"), h("code", {}, t.key)] },
                  { label: "Kind", cell: (t) => `${words(t.kind)}${t.mode !== "DO" ? ` (${words(t.mode)})` : ""}` },
                  { label: "State", cell: (t) => [badge(t.state), " ", jeopardyBadge(t.jeopardy)] },
                  { label: "Attempts", cell: (t) => `${t.attempts}/${t.maxAttempts}`, class: "num" },
                  { label: "Started", cell: (t) => dateTime(t.startedAt) },
                  { label: "Finished", cell: (t) => dateTime(t.finishedAt) },
                  { label: "Due", cell: (t) => dateTime(t.dueAt) },
                  { label: "Who", cell: (t) => t.completedBy ?? t.assignee ?? "—" },
                  { label: "Error", cell: (t) => (t.errorCode ? `${t.errorCode}: ${t.errorMessage ?? ""}` : "—") },
                ], d.tasks, { rowAttrs: (t) => ({ "data-task": t.key, "data-state": t.state }) }),
              ),
            ),
          )
        : h("p", { class: "empty" }, "Not decomposed yet."),
    ),
    order.fallouts?.length
      ? section("Fallout", table("Fallout records", [
          { label: "Type", cell: (f) => f.type },
          { label: "State", cell: (f) => badge(f.state) },
          { label: "Priority", cell: (f) => String(f.priority), class: "num" },
          { label: "Error", cell: (f) => `${f.errorCode ?? ""} ${f.errorMessage ?? ""}` },
          { label: "Opened", cell: (f) => dateTime(f.createdAt) },
        ], order.fallouts), h("p", {}, h("a", { href: "#/fallout" }, "Work them in the fallout queue")))
      : null,
    order.products
      ? section("Inventory created", table("Products", [
          { label: "Product", cell: (p) => `${p.name} (#${shortId(p.id)})` },
          { label: "Offering", cell: (p) => p.offeringKey },
          { label: "Status", cell: (p) => badge(p.status) },
          { label: "Since", cell: (p) => date(p.startDate) },
          { label: "Characteristics", cell: (p) => chars(p.characteristics) },
        ], order.products, { empty: "No product yet: inventory is written when the order completes." }))
      : null,
    order.approvals?.length
      ? section("Approvals", table("Approval steps", [
          { label: "Round", cell: (a) => `${a.round} · level ${a.level}/${a.levels}` },
          { label: "Role", cell: (a) => a.role },
          { label: "Why", cell: (a) => a.reasons },
          { label: "State", cell: (a) => badge(a.state) },
          { label: "By", cell: (a) => a.actor ?? "—" },
          { label: "Comment", cell: (a) => a.comment ?? "—" },
          { label: "Decided", cell: (a) => dateTime(a.decidedAt) },
        ], order.approvals))
      : null,
    versionsSection(order),
    order.revisions.length
      ? section("Revisions", table("Revisions", [
          { label: "Reason", cell: (r) => r.reason },
          { label: "State", cell: (r) => badge(r.state) },
          { label: "Versions", cell: (r) => `v${r.baseVersion} → ${r.newVersion ? `v${r.newVersion}` : "…"}` },
          { label: "By", cell: (r) => r.requestedBy },
          { label: "Requested", cell: (r) => dateTime(r.createdAt) },
        ], order.revisions))
      : null,
    order.cancelRequests.length
      ? section("Cancellation requests", table("Cancellation requests", [
          { label: "Reason", cell: (c) => `${c.cancellationReason}${c.reasonType ? ` (${words(c.reasonType)})` : ""}` },
          { label: "State", cell: (c) => badge(c.state) },
          { label: "Result", cell: (c) => (c.result ? `${words(c.result)}${c.resultMessage ? `: ${c.resultMessage}` : ""}` : "—") },
          { label: "Fee", cell: (c) => (c.fee ? money(c.fee) : "—") },
          { label: "For", cell: (c) => date(c.requestedCancellationDate) },
        ], order.cancelRequests))
      : null,
    section(
      "Events",
      h(
        "ol",
        { class: "events", tabindex: 0, "aria-label": "Events, newest first" },
        [...order.events].reverse().map((e) =>
          h("li", {}, h("time", { datetime: e.occurredAt }, dateTime(e.occurredAt)), " ", h("strong", {}, e.entityKind), ` ${e.type}`,
            e.fromState || e.toState ? ` ${e.fromState ?? "∅"} → ${e.toState ?? "∅"}` : "", e.actor ? h("span", { class: "muted" }, ` by ${e.actor}`) : null),
        ),
      ),
    ),
  );
  restoreForms(root, typed);
}

export async function render(root, { params, signal }) {
  const query = detailQuery();
  const load = async () => {
    const data = await gql(query, { id: params.id });
    if (signal.aborted) return null; // the user has left: <main> is another screen's now
    if (!data.order) {
      clear(root, h("h1", {}, "Not found"), h("p", {}, "There is no such order, or you may not see it."));
      return null;
    }
    draw(root, data.order, reload);
    return data.order;
  };
  const reload = coalesce(() => load().catch((error) => signal.aborted || root.prepend(errorList(error))), 200, signal);
  const order = await load();
  // From the last event the page shows: the server replays whatever was committed since (also
  // after a reconnect), so there is no gap between the first read and the stream.
  const after = order?.events.at(-1)?.id ?? null;
  if (order) subscribe(EVENTS, { id: params.id, after }, { next: reload, error: reload }, signal);
}
