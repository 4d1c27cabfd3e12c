// Portal: one of the customer's orders, tracked live — its milestones in plain language
// (received, checked and approved, in progress, installation scheduled and done, completed), its
// state and expected completion, what was ordered and what it costs. The orderEvents
// subscription for this order reloads it as it moves, without a reload of the page.

import { ApiError, gql } from "../gql.js";
import { badge, clear, errorList, h, live, money, shortId, words } from "../ui.js";
import { priceList, when } from "./portal_configure.js";

const MONEY = "{ amount currency }";
const PRICE = `{ dutyFreeAmount ${MONEY} taxIncludedAmount ${MONEY} taxRate percentage }`;
const ORDER = `query PortalOrder($id: ID!) {
  order(id: $id) {
    id state stage waitingFor description createdAt submittedAt completedAt
    requestedCompletionDate expectedCompletionDate committedCompletionDate
    oneTimeTotal ${MONEY} recurringTotal ${MONEY}
    orderTotalPrice { name priceType recurringChargePeriod recurringChargePeriodLength unitOfMeasure price ${PRICE}
      priceAlteration { name priceType priority applicationDuration recurringChargePeriod price ${PRICE} } }
    lines { id lineNumber action offeringKey quantity state productId expectedCompletionDate characteristics { name value } }
    domainOrders { id kind state tasks { id key name kind state startedAt finishedAt estimatedStartDate estimatedEndDate } }
    events { id type entityKind entityId fromState toState occurredAt }
    products { id name status }
  }
}`;
const EVENTS = `subscription PortalOrderEvents($id: ID) { orderEvents(orderId: $id) { id entityKind type toState } }`;

const TERMINAL = new Set(["COMPLETED", "FAILED", "PARTIAL", "CANCELLED", "REJECTED"]);
const ACTION = { ADD: "New", MODIFY: "Change", DELETE: "Disconnect", SUSPEND: "Suspend", RESUME: "Resume" };
const STATE_TEXT = {
  DRAFT: "Not placed yet",
  ACKNOWLEDGED: "Received",
  PENDING: "Waiting for information",
  IN_PROGRESS: "In progress",
  HELD: "On hold",
  ASSESSING_CANCELLATION: "Cancellation requested",
  PENDING_CANCELLATION: "Being cancelled",
  COMPLETED: "Completed",
  PARTIAL: "Partly completed",
  FAILED: "Could not be completed",
  CANCELLED: "Cancelled",
  REJECTED: "Not accepted",
};

const shortName = (name) => name.split(":")[0].trim();

/** The milestones, from the order as it is: [{key, title, status: done|current|upcoming|failed, at, note}]. */
export function milestones(order) {
  const tasks = order.domainOrders.flatMap((d) => d.tasks);
  const events = order.events;
  const state = order.state;
  const list = [];
  const started = ["IN_PROGRESS", "HELD", "PENDING", "COMPLETED", "PARTIAL", "FAILED", "ASSESSING_CANCELLATION", "PENDING_CANCELLATION"].includes(state) || tasks.length > 0;
  const rejected = state === "REJECTED";
  list.push({
    key: "received",
    title: "Order received",
    status: order.submittedAt ? "done" : "current",
    at: order.submittedAt,
    note: order.submittedAt ? null : "Not placed yet.",
  });
  const approvedAt = events.find((e) => e.type === "ProductOrderApprovalEvent")?.occurredAt;
  const startEvent = events.find((e) => e.entityKind === "order" && e.toState === "inProgress");
  list.push({
    key: "approved",
    title: "Checked and approved",
    status: rejected ? "failed" : started ? "done" : order.submittedAt ? "current" : "upcoming",
    at: approvedAt ?? startEvent?.occurredAt,
    note: rejected
      ? "We could not accept this order."
      : order.stage === "APPROVAL_WAITING" && !started
        ? "Waiting for approval."
        : order.stage === "ENRICHMENT_WAITING" && !started
          ? "We are completing some details."
          : null,
  });
  if (rejected) return list;
  const done = tasks.filter((t) => t.state === "COMPLETED").length;
  list.push({
    key: "in-progress",
    title: "Work in progress",
    status: TERMINAL.has(state) && state !== "CANCELLED" ? "done" : started ? "current" : "upcoming",
    at: startEvent?.occurredAt,
    note: tasks.length ? `${done} of ${tasks.length} steps done.` : null,
  });
  const manual = tasks.filter((t) => t.kind === "MANUAL").sort((a, b) => String(a.estimatedStartDate).localeCompare(String(b.estimatedStartDate)));
  for (const t of manual) {
    const name = shortName(t.name);
    const scheduled = ["READY", "IN_PROGRESS", "COMPLETED"].includes(t.state);
    const failed = ["FAILED", "CANCELLED"].includes(t.state);
    list.push({
      key: `scheduled-${t.key}`,
      title: `${name} scheduled`,
      status: failed ? "failed" : scheduled ? "done" : "upcoming",
      at: scheduled ? t.estimatedStartDate : null,
      note: scheduled ? null : t.estimatedStartDate ? `Planned around ${when(t.estimatedStartDate)}.` : null,
    });
    list.push({
      key: `done-${t.key}`,
      title: `${name} completed`,
      status: t.state === "COMPLETED" ? "done" : failed ? "failed" : scheduled ? "current" : "upcoming",
      at: t.finishedAt,
      note: t.state === "COMPLETED" ? null : t.estimatedEndDate && !failed ? `Expected ${when(t.estimatedEndDate)}.` : null,
    });
  }
  const end = { key: "completed", title: "Completed", status: "upcoming", at: order.completedAt, note: null };
  if (state === "COMPLETED") end.status = "done";
  else if (state === "PARTIAL") Object.assign(end, { status: "failed", title: "Partly completed", note: "Some of the order could not be delivered." });
  else if (state === "FAILED") Object.assign(end, { status: "failed", title: "Could not be completed" });
  else if (state === "CANCELLED") Object.assign(end, { status: "failed", title: "Cancelled" });
  else if (order.expectedCompletionDate) end.note = `Expected ${when(order.expectedCompletionDate)}.`;
  list.push(end);
  return list;
}

const MARK = { done: "✓", current: "●", upcoming: "○", failed: "✗" };
const STATUS_WORDS = { done: "done", current: "in progress", upcoming: "to come", failed: "did not happen" };

function timeline(order) {
  return h(
    "ol",
    { class: "milestones", "aria-label": "Progress" },
    milestones(order).map((m) =>
      h(
        "li",
        { class: `milestone ${m.status}`, "data-milestone": m.key, "data-status": m.status, "aria-current": m.status === "current" ? "step" : null },
        h("span", { class: "mark", "aria-hidden": "true" }, MARK[m.status]),
        h(
          "div",
          {},
          h("strong", {}, m.title),
          h("span", { class: "sr-only" }, ` (${STATUS_WORDS[m.status]})`),
          m.status === "done" && m.at ? h("span", { class: "muted" }, ` · ${when(m.at)}`) : null,
          m.note ? h("p", { class: "muted note" }, m.note) : null,
        ),
      ),
    ),
  );
}

function valueText(v) {
  if (typeof v === "boolean") return v ? "yes" : "no";
  return v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v);
}

function lineView(line, names) {
  return h(
    "li",
    { class: "panel order-line" },
    h(
      "h3",
      {},
      `${ACTION[line.action] ?? words(line.action)}: ${names.get(line.offeringKey) ?? line.offeringKey}`,
      line.quantity > 1 ? ` × ${line.quantity}` : "",
      " ",
      badge(line.state),
    ),
    line.expectedCompletionDate && !TERMINAL.has(line.state) ? h("p", { class: "muted" }, `Expected ${when(line.expectedCompletionDate)}`) : null,
    line.characteristics.length
      ? h(
          "dl",
          { class: "facts" },
          line.characteristics.map((c) => [h("dt", {}, c.name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase()), h("dd", {}, valueText(c.value))]),
        )
      : null,
  );
}

export async function render(root, { params, signal }) {
  const id = params.id;
  let order;
  const names = new Map();
  try {
    const [data, catalog] = await Promise.all([gql(ORDER, { id }), gql("{ productOfferings { key name } }")]);
    order = data.order;
    for (const o of catalog.productOfferings) names.set(o.key, o.name);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    order = null; // an id that is not an order's
  }
  if (!order) {
    root.append(h("h1", {}, "Not found"), h("p", {}, "There is no such order in your account."), h("p", {}, h("a", { href: "#/my/orders" }, "Your orders")));
    return;
  }

  const statusLine = h("p", { class: "order-status", role: "status" });
  const body = h("div");
  const titleRow = h("div", { class: "title-row" }, h("h1", {}, `Order ${shortId(order.id)}`));
  root.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/my/orders" }, "My orders"), " › ", `Order ${shortId(order.id)}`),
    titleRow,
    statusLine,
    body,
  );

  const draw = (o) => {
    order = o;
    root.dataset.orderState = o.state;
    statusLine.dataset.state = o.state;
    clear(
      statusLine,
      h("strong", {}, STATE_TEXT[o.state] ?? words(o.state)),
      o.state === "COMPLETED" && o.completedAt ? ` on ${when(o.completedAt)}` : !TERMINAL.has(o.state) && o.expectedCompletionDate ? ` · expected ${when(o.expectedCompletionDate)}` : "",
    );
    const late = o.requestedCompletionDate && o.expectedCompletionDate && !TERMINAL.has(o.state) && o.expectedCompletionDate > o.requestedCompletionDate;
    clear(
      body,
      h(
        "div",
        { class: "tracking-grid" },
        h("section", { class: "panel", "aria-labelledby": "progress-title" }, h("h2", { id: "progress-title" }, "Progress"), timeline(o)),
        h(
          "section",
          { class: "panel", "aria-labelledby": "summary-title" },
          h("h2", { id: "summary-title" }, "Summary"),
          h(
            "dl",
            { class: "facts" },
            h("dt", {}, "State"),
            h("dd", {}, badge(o.state)),
            h("dt", {}, "Placed"),
            h("dd", {}, when(o.submittedAt ?? o.createdAt)),
            o.requestedCompletionDate ? [h("dt", {}, "You asked for"), h("dd", {}, when(o.requestedCompletionDate))] : null,
            !TERMINAL.has(o.state) ? [h("dt", {}, "Expected"), h("dd", {}, when(o.expectedCompletionDate), late ? h("span", { class: "badge state-failed" }, " later than asked") : null)] : null,
            o.completedAt ? [h("dt", {}, "Completed"), h("dd", {}, when(o.completedAt))] : null,
            h("dt", {}, "Pay now"),
            h("dd", {}, money(o.oneTimeTotal)),
            h("dt", {}, "Every month"),
            h("dd", {}, money(o.recurringTotal)),
          ),
          o.orderTotalPrice?.length ? h("details", {}, h("summary", {}, "Price details"), priceList(o.orderTotalPrice, "Order totals")) : null,
          o.products.length
            ? [
                h("h3", {}, "Products"),
                h(
                  "ul",
                  { class: "plain" },
                  o.products.map((p) => h("li", {}, h("a", { href: "#/my/products" }, p.name), " ", badge(p.status))),
                ),
              ]
            : null,
        ),
      ),
      h("section", { "aria-labelledby": "lines-title" }, h("h2", { id: "lines-title" }, "What you ordered"), h("ul", { class: "plain lines" }, o.lines.map((l) => lineView(l, names)))),
    );
  };
  draw(order);

  let timer = null;
  const reload = async () => {
    try {
      const fresh = (await gql(ORDER, { id })).order;
      if (!signal.aborted && fresh) draw(fresh);
    } catch (error) {
      if (!signal.aborted) clear(status, errorList(error));
    }
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, 200);
  };
  let connectedOnce = false;
  const status = live(
    EVENTS,
    { id },
    {
      connected: () => {
        if (connectedOnce) soon(); // after a reconnect: read what may have been missed
        connectedOnce = true;
        soon();
      },
      next: () => soon(),
      error: (error) => clear(status, errorList(error)),
    },
    signal,
  );
  titleRow.append(status);
  signal.addEventListener("abort", () => clearTimeout(timer));
}
