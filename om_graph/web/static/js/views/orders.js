// Orders: filters (state, customer, jeopardy, creation dates) kept in the address, keyset paging,
// and live state changes (orderEvents: a visible order's row is read again when it changes).

import { gql } from "../gql.js";
import { can } from "../session.js";
import { badge, button, clear, dateTime, errorList, field, h, jeopardyBadge, live, money, shortId, table } from "../ui.js";

export const ORDER_STATES = [
  "DRAFT", "ACKNOWLEDGED", "PENDING", "IN_PROGRESS", "HELD", "ASSESSING_CANCELLATION", "PENDING_CANCELLATION",
  "COMPLETED", "PARTIAL", "FAILED", "CANCELLED", "REJECTED",
];
const JEOPARDY = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];
const PAGE = 25;

// Totals only for roles that read prices (a field beyond the role's permissions is an error).
const ROW = () =>
  `id state customerId description createdAt expectedCompletionDate jeopardy ${can("price:read") ? "oneTimeTotal { amount currency } recurringTotal { amount currency }" : ""}`;
const LIST = () => `
query Orders($first: Int!, $after: String, $states: [OrderState!], $customerId: String, $jeopardy: [JeopardyLevel!], $from: DateTime, $to: DateTime) {
  orders(first: $first, after: $after, states: $states, customerId: $customerId, jeopardy: $jeopardy, createdFrom: $from, createdTo: $to) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ${ROW()} } }
  }
}`;
const ONE = () => `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { ${ROW()} } } }`;
const EVENTS = `subscription { orderEvents { orderId entityKind type toState } }`;

function filtersFrom(query) {
  return {
    states: query.getAll("state"),
    customerId: query.get("customer") || null,
    jeopardy: query.getAll("jeopardy"),
    from: query.get("from") || null,
    to: query.get("to") || null,
  };
}

function toAddress(filters) {
  const q = new URLSearchParams();
  filters.states.forEach((s) => q.append("state", s));
  filters.jeopardy.forEach((j) => q.append("jeopardy", j));
  if (filters.customerId) q.set("customer", filters.customerId);
  if (filters.from) q.set("from", filters.from);
  if (filters.to) q.set("to", filters.to);
  const text = q.toString();
  return text ? `/orders?${text}` : "/orders";
}

function multiSelect(name, options, selected) {
  return h(
    "select",
    { name, multiple: true, size: Math.min(options.length, 5) },
    options.map((o) => h("option", { value: o, selected: selected.includes(o) }, o.toLowerCase().replaceAll("_", " "))),
  );
}

const dayStart = (value) => (value ? new Date(`${value}T00:00:00`).toISOString() : null);

export async function render(root, { query, signal, navigate }) {
  const filters = filtersFrom(query);
  const unfiltered = !filters.states.length && !filters.jeopardy.length && !filters.customerId && !filters.from && !filters.to;
  const form = h(
    "form",
    {
      class: "toolbar panel",
      "aria-label": "Filter orders",
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(form);
        navigate(
          toAddress({
            states: data.getAll("state"),
            jeopardy: data.getAll("jeopardy"),
            customerId: String(data.get("customer") || "").trim() || null,
            from: data.get("from") || null,
            to: data.get("to") || null,
          }),
        );
      },
    },
    field("State", multiSelect("state", ORDER_STATES, filters.states)),
    field("Jeopardy", multiSelect("jeopardy", JEOPARDY, filters.jeopardy)),
    field("Customer", h("input", { name: "customer", value: filters.customerId ?? "", maxlength: 64 })),
    field("Created from", h("input", { name: "from", type: "date", value: filters.from ?? "" })),
    field("Created before", h("input", { name: "to", type: "date", value: filters.to ?? "" })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply"), button("Clear", () => navigate("/orders"), { class: "secondary" })),
  );
  const count = h("p", { class: "muted" });
  const results = h("div", { class: "scroll" });
  const pager = h("div", { class: "actions" });
  const bar = h("div", { class: "actions" }, count);
  root.append(h("h1", {}, "Orders"), form, bar, results, pager);

  const cursors = [null]; // the `after` of each page seen, for "Previous"
  const rows = new Map(); // order id -> <tr>

  const variables = (after) => ({
    first: PAGE,
    after,
    states: filters.states.length ? filters.states : null,
    customerId: filters.customerId,
    jeopardy: filters.jeopardy.length ? filters.jeopardy : null,
    from: dayStart(filters.from),
    to: dayStart(filters.to),
  });

  const cells = (o) => [
    h("td", {}, h("a", { href: `#/orders/${encodeURIComponent(o.id)}` }, `#${shortId(o.id)}`)),
    h("td", {}, badge(o.state), " ", jeopardyBadge(o.jeopardy)),
    h("td", {}, o.customerId),
    h("td", { class: "hide-narrow" }, o.description || "—"),
    can("price:read") ? h("td", { class: "num" }, money(o.oneTimeTotal)) : null,
    can("price:read") ? h("td", { class: "num" }, money(o.recurringTotal)) : null,
    h("td", {}, dateTime(o.createdAt)),
    h("td", { class: "hide-narrow" }, dateTime(o.expectedCompletionDate)),
  ];

  // Paging and "Show" read a page from a click: their errors are shown, not thrown away.
  const show = (after) => load(after).catch((error) => clear(results, errorList(error)));

  async function load(after) {
    const data = await gql(LIST(), variables(after));
    const page = data.orders;
    rows.clear();
    if (after === null) arrived = 0;
    count.textContent = `${page.totalCount} order${page.totalCount === 1 ? "" : "s"}`;
    const nodes = page.edges.map((e) => e.node);
    clear(
      results,
      table(
        "Orders, newest first",
        [
          { label: "Order", cell: () => "" },
          { label: "State", cell: () => "" },
          { label: "Customer", cell: () => "" },
          { label: "Description", cell: () => "", class: "hide-narrow" },
          ...(can("price:read")
            ? [
                { label: "One-time", cell: () => "", class: "num" },
                { label: "Recurring", cell: () => "", class: "num" },
              ]
            : []),
          { label: "Created", cell: () => "" },
          { label: "Expected", cell: () => "", class: "hide-narrow" },
        ],
        nodes,
        { empty: "No order matches these filters." },
      ),
    );
    const body = results.querySelector("tbody");
    if (body) {
      body.replaceChildren(
        ...nodes.map((o) => {
          const tr = h("tr", { "data-order": o.id }, cells(o));
          rows.set(o.id, tr);
          return tr;
        }),
      );
    }
    const index = cursors.indexOf(after);
    clear(
      pager,
      index > 0 ? button("Previous page", () => show(cursors[index - 1]), { class: "secondary" }) : null,
      page.pageInfo.hasNextPage
        ? button("Next page", () => {
            if (!cursors.includes(page.pageInfo.endCursor)) cursors.push(page.pageInfo.endCursor);
            show(page.pageInfo.endCursor);
          }, { class: "secondary" })
        : null,
    );
  }

  // Live: read again the visible orders an event touched (batched), and say when new ones arrive.
  const pending = new Set();
  let timer = null;
  let arrived = 0;
  const refresh = async () => {
    const ids = [...pending].filter((id) => rows.has(id));
    pending.clear();
    if (!ids.length) return;
    try {
      const data = await gql(ONE(), { ids });
      for (const o of data.nodes.filter(Boolean)) {
        const tr = rows.get(o.id);
        if (tr) tr.replaceChildren(...cells(o));
      }
    } catch (error) {
      status.replaceChildren(errorList(error));
    }
  };
  let catchUp = null;
  const status = live(
    EVENTS,
    {},
    {
      connected: () => {
        // The server starts streaming a moment after it acknowledged: read the visible rows again
        // once it surely has, for a change committed in between (and after a reconnect).
        clearTimeout(catchUp);
        catchUp = setTimeout(() => {
          for (const id of rows.keys()) pending.add(id);
          refresh();
        }, 1000);
      },
      next: ({ orderEvents: e }) => {
        if (rows.has(e.orderId)) {
          pending.add(e.orderId);
          clearTimeout(timer);
          timer = setTimeout(refresh, 250);
        } else if (e.type === "ProductOrderCreateEvent" && unfiltered) {
          // (a filtered list cannot tell from the event whether the new order matches it)
          arrived += 1;
          status.replaceChildren(
            `● live · ${arrived} new order${arrived === 1 ? "" : "s"} `,
            button("Show", () => show(null), { class: "link" }),
          );
        }
      },
    },
    signal,
  );
  bar.append(status);
  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    clearTimeout(catchUp);
  });
  await load(null);
}
