// Portal: the customer's products (the API scopes `products` to their account) with status,
// characteristics and prices, and the changes TMF637 allows in each status, each a request —
// an order whose line names the product (MODIFY, SUSPEND, RESUME, DELETE), created and submitted
// in one call with an idempotency key. Disconnecting asks for confirmation first and shows what
// it costs (orderPreview). Requests in flight are shown on their product; orderEvents keeps the
// page live.

import { gql, mutate } from "../gql.js";
import { can, viewer } from "../session.js";
import { act, badge, button, clear, coalesce, errorList, field, h, live, money, shortId, toast } from "../ui.js";
import { CHARACTERISTIC_SPEC, PREVIEW, characteristicField, day, newKey, priceList, readFields, splitErrors, when } from "./portal_configure.js";

const MONEY = "{ amount currency }";
const PRICE = `{ dutyFreeAmount ${MONEY} taxIncludedAmount ${MONEY} taxRate percentage }`;
const PRODUCTS = `query MyProducts($first: Int!, $after: String) {
  products(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node {
      id name offeringKey status startDate terminationDate orderId
      characteristics { name value }
      oneTimePrice ${MONEY} recurringPrice ${MONEY}
      productPrice { name priceType recurringChargePeriod recurringChargePeriodLength unitOfMeasure price ${PRICE}
        priceAlteration { name priceType priority applicationDuration recurringChargePeriod price ${PRICE} } }
      agreement { name endDate }
    } }
  }
}`;
const OPEN = ["DRAFT", "ACKNOWLEDGED", "PENDING", "IN_PROGRESS", "HELD", "ASSESSING_CANCELLATION", "PENDING_CANCELLATION"];
const OPEN_ORDERS = `query OpenOrders($states: [OrderState!]) {
  orders(first: 100, states: $states) { edges { node { id state lines { action productId } } } }
}`;
const OFFERINGS = `{ productOfferings { key name family characteristics { ${CHARACTERISTIC_SPEC} } } }`;
const CREATE = `mutation RequestChange($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id state } errors { field code message } }
}`;
const EVENTS = `subscription MyProductEvents { orderEvents { orderId entityKind type toState } }`;

const VERB = { MODIFY: "Change", SUSPEND: "Suspension", RESUME: "Resumption", DELETE: "Disconnection", ADD: "Installation" };
/** TMF637: what each status allows (docs/api.md, "What each status allows"). */
const ALLOWED = {
  ACTIVE: ["MODIFY", "SUSPEND", "DELETE"],
  SUSPENDED: ["MODIFY", "RESUME", "DELETE"],
};
const STATUS_NOTE = {
  CREATED: "Being set up: changes are possible once it is active.",
  PENDING_ACTIVE: "Being installed: changes are possible once it is active.",
  PENDING_TERMINATE: "Being disconnected.",
  TERMINATED: "Disconnected.",
  CANCELLED: "Cancelled before it started.",
  ABORTED: "Could not be delivered.",
};

const label = (name) => name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
const valueText = (v) => (typeof v === "boolean" ? (v ? "yes" : "no") : v === null || v === undefined ? "—" : String(v));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

export async function render(root, { signal }) {
  const customerId = viewer().accountId;
  const mayRequest = can("order:capture");
  const catalog = await gql(OFFERINGS);
  const offerings = new Map(catalog.productOfferings.map((o) => [o.key, o]));

  const count = h("p", { class: "muted" });
  const list = h("ul", { class: "plain my-products", "aria-label": "Your products" });
  const errors = h("div");
  const titleRow = h("div", { class: "title-row" }, h("h1", {}, "My products"));
  root.append(titleRow, count, errors, list);

  const cards = new Map(); // product id -> {li, sig, editing}

  async function load() {
    const [products, open] = await Promise.all([gql(PRODUCTS, { first: 100, after: null }), gql(OPEN_ORDERS, { states: OPEN })]);
    const busy = new Map(); // product id -> {orderId, state, action}
    for (const { node: o } of open.orders.edges) {
      for (const l of o.lines) if (l.productId) busy.set(l.productId, { orderId: o.id, state: o.state, action: l.action });
    }
    const nodes = products.products.edges.map((e) => e.node);
    count.textContent = `${products.products.totalCount} product${products.products.totalCount === 1 ? "" : "s"}`;
    const seen = new Set();
    const ordered = [];
    for (const p of nodes) {
      seen.add(p.id);
      const b = busy.get(p.id) ?? null;
      const sig = JSON.stringify([p.status, p.characteristics, p.recurringPrice, b]);
      let card = cards.get(p.id);
      if (!card || (card.sig !== sig && !(card.editing && card.status === p.status && same(card.busy, b)))) {
        const li = card?.li ?? h("li", { class: "panel product", "data-product": p.id });
        card = { li, sig, editing: false, status: p.status, busy: b };
        cards.set(p.id, card);
        drawCard(card, p, b);
      }
      ordered.push(card.li);
    }
    for (const id of [...cards.keys()]) if (!seen.has(id)) cards.delete(id);
    if (!ordered.length) list.replaceChildren(h("li", { class: "empty" }, "You have no products yet. ", h("a", { href: "#/shop" }, "Visit the shop")));
    else list.replaceChildren(...ordered);
  }

  function drawCard(card, p, busy) {
    const li = card.li;
    li.dataset.status = p.status;
    const offering = offerings.get(p.offeringKey);
    const actionsAt = h("div", { class: "actions" });
    const panelAt = h("div");
    const errorsAt = h("div");
    const allowed = mayRequest && !busy ? ALLOWED[p.status] ?? [] : [];
    let key = newKey("change");

    const request = async (buttonEl, action, extra = {}) => {
      let created = null;
      const ok = await act(buttonEl, errorsAt, async () => {
        const payload = await mutate(
          CREATE,
          {
            input: {
              customerId,
              idempotencyKey: key,
              requestedInitialState: "ACKNOWLEDGED",
              description: `${VERB[action]} of ${p.name} requested in the portal`,
              lines: [{ action, productId: p.id, ...extra }],
            },
          },
          "orderCreate",
        );
        created = payload.order;
        return payload.errors;
      });
      if (!ok || !created) return;
      key = newKey("change");
      toast(`${VERB[action]} requested: order ${shortId(created.id)}`);
      card.editing = false;
      await load();
    };

    const modifyPanel = () => {
      const specs = offering?.characteristics ?? [];
      const current = Object.fromEntries(p.characteristics.map((c) => [c.name, c.value]));
      const fields = specs.map((s) => characteristicField(s, current[s.name], `m-${shortId(p.id)}`));
      const previewAt = h("div", { "aria-live": "polite" });
      const formErrors = h("div");
      const send = h("button", { type: "button", disabled: true }, "Request this change");
      const changes = () => readFields(fields).characteristics.filter((c) => !same(c.value, current[c.name]));
      // A tier change: another offering of the product's family (e.g. a faster fibre tier).
      const tiers = offering?.family ? [...offerings.values()].filter((o) => o.family === offering.family) : [];
      const tierSelect =
        tiers.length > 1
          ? h("select", { name: "plan" }, tiers.map((o) => h("option", { value: o.key, selected: o.key === p.offeringKey }, o.key === p.offeringKey ? `${o.name} (current)` : o.name)))
          : null;
      const target = () => tierSelect?.value ?? p.offeringKey;
      const changeLine = () => ({
        action: "MODIFY",
        productId: p.id,
        characteristics: changes(),
        ...(target() !== p.offeringKey ? { offering: target() } : {}),
      });
      const asked = () => JSON.stringify(changeLine());
      let timer = null;
      let seq = 0;
      let checked = null; // the changes the last server check was for
      const check = async () => {
        const { errors: local } = readFields(fields);
        const changed = changes();
        checked = asked();
        for (const f of fields) f.setError(local[f.name] ?? null);
        if (!changed.length && target() === p.offeringKey) {
          send.disabled = true;
          clear(previewAt, h("p", { class: "muted" }, "Change a value to see what it costs."));
          return;
        }
        const mine = ++seq;
        let payload;
        try {
          payload = (await gql(PREVIEW, { input: { order: { customerId, lines: [changeLine()] } } })).orderPreview;
        } catch (error) {
          if (mine === seq && !signal.aborted) clear(formErrors, errorList(error));
          return;
        }
        if (mine !== seq || signal.aborted) return;
        const { byField, rest } = splitErrors(payload.errors);
        const now = readFields(fields).errors;
        for (const f of fields) f.setError(now[f.name] ?? byField[f.name]?.message ?? null);
        clear(formErrors, rest.length ? errorList(rest) : null);
        send.disabled = Boolean(payload.errors.length || Object.keys(now).length);
        const line = payload.preview?.lines[0];
        clear(
          previewAt,
          line
            ? [
                line.priceDelta
                  ? h("p", {}, `Monthly price: ${money(line.priceDelta.currentPrice.dutyFreeAmount)} → ${money(line.priceDelta.newPrice.dutyFreeAmount)}`)
                  : null,
                payload.preview.predictedCompletionDate ? h("p", { class: "muted" }, `Done by about ${when(payload.preview.predictedCompletionDate)}`) : null,
              ]
            : null,
        );
      };
      const form = h(
        "form",
        {
          class: "modify",
          "aria-label": `Change ${p.name}`,
          novalidate: true,
          oninput: () => {
            if (checked !== null && asked() === checked) return; // a change event on leaving the field
            checked = null;
            clearTimeout(timer);
            const { errors: local } = readFields(fields);
            for (const f of fields) f.setError(local[f.name] ?? null);
            send.disabled = true;
            timer = setTimeout(check, 400);
          },
          onsubmit: (event) => event.preventDefault(),
        },
        h("fieldset", {}, h("legend", {}, `Change ${p.name}`), tierSelect ? field("Plan", tierSelect, "Another plan of the same product: a tier change.") : null, fields.map((f) => f.node)),
        formErrors,
        previewAt,
        h(
          "div",
          { class: "actions" },
          send,
          button("Cancel", () => {
            card.editing = false;
            panelAt.replaceChildren();
          }, { class: "secondary" }),
        ),
      );
      form.addEventListener("change", () => form.dispatchEvent(new Event("input")));
      send.addEventListener("click", () => {
        const { action, productId, ...extra } = changeLine();
        request(send, action, extra);
      });
      signal.addEventListener("abort", () => clearTimeout(timer));
      check();
      return form;
    };

    const disconnectPanel = async () => {
      const costAt = h("div", {}, h("p", { class: "muted" }, "Working out what it costs…"));
      const yes = button("Yes, disconnect", () => request(yes, "DELETE"), { class: "danger" });
      const panel = h(
        "div",
        { class: "confirm", role: "group", "aria-labelledby": `confirm-${shortId(p.id)}` },
        h("p", { id: `confirm-${shortId(p.id)}` }, h("strong", {}, `Disconnect ${p.name}?`), " The service ends and cannot be resumed afterwards."),
        costAt,
        h(
          "div",
          { class: "actions" },
          yes,
          button("Keep it", () => {
            card.editing = false;
            panelAt.replaceChildren();
          }, { class: "secondary" }),
        ),
      );
      clear(panelAt, panel);
      yes.focus();
      try {
        const payload = (await gql(PREVIEW, { input: { order: { customerId, lines: [{ action: "DELETE", productId: p.id }] } } })).orderPreview;
        const d = payload.preview?.lines[0]?.priceDelta;
        clear(
          costAt,
          payload.errors.length ? errorList(payload.errors) : null,
          d
            ? h(
                "p",
                {},
                `Your ${money(d.currentPrice.dutyFreeAmount)} ${d.recurringChargePeriod ? `per ${d.recurringChargePeriod} ` : ""}charge ends.`,
                d.earlyTerminationCharge
                  ? ` An early termination charge of ${money(d.earlyTerminationCharge.dutyFreeAmount ?? d.earlyTerminationCharge.taxIncludedAmount)} applies${d.remainingTermMonths ? ` (${d.remainingTermMonths} months left in the contract)` : ""}.`
                  : " No early termination charge.",
              )
            : null,
        );
      } catch (error) {
        clear(costAt, errorList(error));
      }
    };

    const open = (what) => {
      card.editing = true;
      errorsAt.replaceChildren();
      if (what === "MODIFY") clear(panelAt, modifyPanel());
      else disconnectPanel();
    };

    for (const action of allowed) {
      const hasTiers = Boolean(offering?.family) && [...offerings.values()].some((o) => o.family === offering.family && o.key !== offering.key);
      if (action === "MODIFY" && (offering?.characteristics.length || hasTiers)) actionsAt.append(button("Change", () => open("MODIFY"), { class: "secondary" }));
      if (action === "SUSPEND") {
        const b = button("Suspend", () => request(b, "SUSPEND"), { class: "secondary", "data-action": "suspend" });
        actionsAt.append(b);
      }
      if (action === "RESUME") {
        const b = button("Resume", () => request(b, "RESUME"), { "data-action": "resume" });
        actionsAt.append(b);
      }
      if (action === "DELETE") actionsAt.append(button("Disconnect", () => open("DELETE"), { class: "danger", "data-action": "disconnect" }));
    }

    const visible = p.characteristics.filter((c) => c.value !== null && c.value !== "");
    clear(
      li,
      h("div", { class: "order-head" }, h("h2", {}, p.name), h("span", { "data-product-status": p.status }, badge(p.status))),
      h(
        "p",
        { class: "muted" },
        p.startDate ? `Since ${day(p.startDate)}` : "Not started yet",
        p.terminationDate ? ` · ended ${day(p.terminationDate)}` : "",
        p.agreement?.endDate ? ` · contract until ${day(p.agreement.endDate)}` : "",
      ),
      h("p", { class: "headline-price" }, h("strong", {}, `${money(p.recurringPrice)} a month`), p.oneTimePrice && Number(p.oneTimePrice.amount) ? h("span", { class: "muted" }, ` · ${money(p.oneTimePrice)} paid once`) : null),
      busy
        ? h(
            "p",
            { class: "request", "data-request": busy.action.toLowerCase() },
            `${VERB[busy.action] ?? busy.action} requested: `,
            h("a", { href: `#/my/orders/${encodeURIComponent(busy.orderId)}` }, `order ${shortId(busy.orderId)}`),
            " ",
            badge(busy.state),
          )
        : null,
      STATUS_NOTE[p.status] && !busy ? h("p", { class: "muted" }, STATUS_NOTE[p.status]) : null,
      h(
        "details",
        {},
        h("summary", {}, "Details and prices"),
        h("dl", { class: "facts" }, visible.map((c) => [h("dt", {}, label(c.name)), h("dd", {}, valueText(c.value))])),
        p.productPrice.length ? priceList(p.productPrice, `Prices of ${p.name}`) : null,
      ),
      actionsAt.childNodes.length ? actionsAt : null,
      errorsAt,
      panelAt,
    );
  }

  const soon = coalesce(async () => {
    try {
      await load();
      errors.replaceChildren();
    } catch (error) {
      clear(errors, errorList(error));
    }
  }, 300, signal);
  let connectedOnce = false;
  titleRow.append(
    live(
      EVENTS,
      {},
      {
        connected: () => {
          if (connectedOnce) soon(); // reconnected: what changed while the socket was down
          connectedOnce = true;
        },
        next: ({ orderEvents: e }) => {
          if (e.entityKind === "product" || e.entityKind === "order" || e.entityKind === "line") soon();
        },
      },
      signal,
    ),
  );
  await load();
}
