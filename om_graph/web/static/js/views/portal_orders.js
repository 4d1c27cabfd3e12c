// Portal: the customer's own orders (the API scopes `orders` to their account), newest first,
// each with its state, progress and expected completion, kept live by orderEvents.

import { gql } from "../gql.js";
import { badge, button, clear, coalesce, errorList, h, live, money, shortId } from "../ui.js";
import { when } from "./portal_configure.js";

const PAGE = 20;
const MONEY = "{ amount currency }";
const ROW = `id state createdAt submittedAt completedAt expectedCompletionDate oneTimeTotal ${MONEY} recurringTotal ${MONEY}
  lines { action offeringKey productId } domainOrders { tasks { state } }`;
const LIST = `query MyOrders($first: Int!, $after: String) {
  orders(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${ROW} } } }
}`;
const ONE = `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { ${ROW} } } }`;
const EVENTS = `subscription MyOrderEvents { orderEvents { orderId entityKind type } }`;
const TERMINAL = new Set(["COMPLETED", "FAILED", "PARTIAL", "CANCELLED", "REJECTED"]);
const ACTION = { ADD: "", MODIFY: "Change: ", DELETE: "Disconnect: ", SUSPEND: "Suspend: ", RESUME: "Resume: " };

export async function render(root, { signal }) {
  const catalog = await gql("{ productOfferings { key name } }");
  const names = new Map(catalog.productOfferings.map((o) => [o.key, o.name]));
  const count = h("p", { class: "muted" });
  const list = h("ul", { class: "my-orders plain", "aria-label": "Your orders" });
  const more = h("div", { class: "actions" });
  const errors = h("div");
  const titleRow = h("div", { class: "title-row" }, h("h1", {}, "My orders"));
  root.append(
    titleRow,
    h("div", { class: "actions" }, count, h("a", { class: "button-link secondary", href: "#/shop" }, "Order something new")),
    errors,
    list,
    more,
  );
  const items = new Map(); // order id -> <li>

  const item = (o) => {
    const tasks = o.domainOrders.flatMap((d) => d.tasks);
    const done = tasks.filter((t) => t.state === "COMPLETED").length;
    const what = o.lines.map((l) => `${ACTION[l.action] ?? ""}${names.get(l.offeringKey) ?? l.offeringKey}`).join(", ");
    return [
      h(
        "div",
        { class: "order-head" },
        h("a", { href: `#/my/orders/${encodeURIComponent(o.id)}`, class: "order-link" }, `Order ${shortId(o.id)}`),
        badge(o.state),
      ),
      h("p", {}, what),
      h(
        "p",
        { class: "muted" },
        `Placed ${when(o.submittedAt ?? o.createdAt)}`,
        o.state === "COMPLETED" ? ` · completed ${when(o.completedAt)}` : !TERMINAL.has(o.state) && o.expectedCompletionDate ? ` · expected ${when(o.expectedCompletionDate)}` : "",
        tasks.length && !TERMINAL.has(o.state) ? ` · ${done} of ${tasks.length} steps done` : "",
      ),
      tasks.length && !TERMINAL.has(o.state)
        ? h("progress", { max: tasks.length, value: done, "aria-label": `Order ${shortId(o.id)}: ${done} of ${tasks.length} steps done` })
        : null,
      h("p", { class: "muted" }, `${money(o.oneTimeTotal)} now · ${money(o.recurringTotal)} a month`),
    ];
  };

  const add = (o) => {
    const li = h("li", { class: "panel my-order", "data-order": o.id }, item(o));
    items.set(o.id, li);
    return li;
  };

  async function load(after) {
    const data = (await gql(LIST, { first: PAGE, after })).orders;
    if (!after) {
      items.clear();
      list.replaceChildren();
    }
    count.textContent = `${data.totalCount} order${data.totalCount === 1 ? "" : "s"}`;
    list.append(...data.edges.map((e) => add(e.node)));
    if (!items.size) list.replaceChildren(h("li", { class: "empty" }, "You have no orders yet."));
    clear(more, data.pageInfo.hasNextPage ? button("Show more", () => load(data.pageInfo.endCursor).catch((error) => clear(errors, errorList(error))), { class: "secondary" }) : null);
  }

  const pending = new Set();
  let connectedOnce = false;
  let fresh = false;
  const refresh = async () => {
    const ids = [...pending].filter((id) => items.has(id));
    pending.clear();
    try {
      if (fresh) {
        fresh = false;
        await load(null);
        return;
      }
      if (!ids.length) return;
      const data = await gql(ONE, { ids });
      for (const o of data.nodes.filter(Boolean)) items.get(o.id)?.replaceChildren(...item(o).filter(Boolean));
    } catch (error) {
      clear(errors, errorList(error));
    }
  };
  const reread = coalesce(refresh, 250, signal);
  titleRow.append(
    live(
      EVENTS,
      {},
      {
        // (Re)connected: read the list again, for what changed while the socket was down.
        connected: () => {
          if (connectedOnce) {
            fresh = true;
            reread();
          }
          connectedOnce = true;
        },
        next: ({ orderEvents: e }) => {
          if (items.has(e.orderId)) pending.add(e.orderId);
          else fresh = true; // a new order of this account
          reread();
        },
      },
      signal,
    ),
  );

  await load(null);
}
