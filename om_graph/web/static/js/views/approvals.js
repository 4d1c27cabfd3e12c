// Approvals: the orders waiting at a level I approve (ordersAwaitingMyApproval, or a role's
// approvalQueue), each with its totals, manual discount and the approval policy's reasons; approve
// with a comment or reject with a reason (orderApprove / orderReject, typed errors shown). Also
// the revisions of running orders that wait for approval (revisionApprove / revisionReject). The
// list updates after each decision and live (orderEvents), keeping what is being typed.

import { gql, mutate } from "../gql.js";
import { can, viewer } from "../session.js";
import { act, badge, button, clear, coalesce, errorList, facts, field, h, live, money, section, shortId, table, toast, value, words } from "../ui.js";
import { ago, at } from "./tasks.js";

const MONEY = "amount currency";
const ALTERATION = `name priceType applicationDuration price { dutyFreeAmount { ${MONEY} } taxIncludedAmount { ${MONEY} } percentage } source { kind table reason actor }`;
const ORDER = `id state stage waitingFor version customerId description channel segment createdAt submittedAt createdBy
  requestedCompletionDate priority
  oneTimeTotal { ${MONEY} } recurringTotal { ${MONEY} } manualDiscountPercent discountOverLimit
  orderTotalPrice { name priceType recurringChargePeriod price { dutyFreeAmount { ${MONEY} } taxIncludedAmount { ${MONEY} } } priceAlteration { ${ALTERATION} } }
  approvals { id round level levels role reasons state actor comment createdAt decidedAt }
  lines { lineNumber action offeringKey quantity itemTotalPrice { priceType recurringChargePeriod price { dutyFreeAmount { ${MONEY} } taxIncludedAmount { ${MONEY} } } priceAlteration { ${ALTERATION} } } }`;
const MINE = `query($first: Int!) { ordersAwaitingMyApproval(first: $first) { ${ORDER} } }`;
const QUEUE = `query($role: String!, $first: Int!) { approvalQueue(role: $role, first: $first) { ${ORDER} } }`;
const APPROVE = `mutation($input: OrderApproveInput!) { orderApprove(input: $input) { order { id state stage waitingFor version } errors { field code message } } }`;
const REJECT = `mutation($input: OrderRejectInput!) { orderReject(input: $input) { order { id state stage version } errors { field code message } } }`;
const REVISIONS = `
query($first: Int!) {
  revisionsAwaitingApproval(first: $first) { id orderId state reason baseVersion requestedBy createdAt pointOfNoReturnAcknowledged charges diff { path kind from to } }
}`;
const REVISED_ORDERS = `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { id customerId state version } } }`;
const REVISION_APPROVE = `mutation($input: RevisionDecisionInput!) { revisionApprove(input: $input) { revision { id state } order { id state } errors { field code message } } }`;
const REVISION_REJECT = `mutation($input: RevisionDecisionInput!) { revisionReject(input: $input) { revision { id state } order { id state } errors { field code message } } }`;
const EVENTS = `subscription { orderEvents { orderId entityKind type toState } }`;
const LIMIT = 50;

function amount(price) {
  return money(price?.taxIncludedAmount ?? price?.dutyFreeAmount);
}

function alterations(prices) {
  const rows = prices.flatMap((p) => p.priceAlteration.map((a) => ({ ...a, charge: p.priceType })));
  if (!rows.length) return null;
  return h(
    "ul",
    { class: "alterations" },
    rows.map((a) =>
      h(
        "li",
        { class: a.source.kind === "manual" ? "manual" : null },
        h("strong", {}, `${words(a.priceType)} `),
        a.name,
        a.price.percentage ? ` (${Number(a.price.percentage)} %)` : "",
        `: ${amount(a.price)} on the ${a.charge} charge`,
        a.applicationDuration ? `, for ${a.applicationDuration} periods` : "",
        a.source.kind === "manual" ? h("span", { class: "badge manual" }, `manual${a.source.actor ? ` by ${a.source.actor}` : ""}`) : h("small", { class: "muted" }, ` rule ${a.source.table ?? ""}`),
        a.source.reason ? h("small", {}, ` — “${a.source.reason}”`) : null,
      ),
    ),
  );
}

export async function render(root, { query, signal, navigate }) {
  const me = viewer();
  const roles = me?.roles ?? [];
  const queue = query.get("role") && roles.includes(query.get("role")) ? query.get("role") : "";
  const chooser = h(
    "form",
    {
      class: "toolbar panel",
      "aria-label": "Choose the approval queue",
      onsubmit: (event) => {
        event.preventDefault();
        const role = new FormData(chooser).get("role");
        navigate(role ? `/approvals?role=${encodeURIComponent(role)}` : "/approvals");
      },
    },
    field(
      "Queue",
      h(
        "select",
        { name: "role" },
        h("option", { value: "", selected: !queue }, "Awaiting my decision"),
        roles.map((r) => h("option", { value: r, selected: r === queue }, `Every order at a level for ${r}`)),
      ),
      "Awaiting my decision leaves out the orders I submitted or already approved a level of.",
    ),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")),
  );
  const count = h("p", { class: "muted", "aria-live": "polite" });
  const errorsAt = h("div");
  const list = h("div", { class: "approval-list" });
  const revisionsBox = h("div");
  const bar = h("div", { class: "actions" }, count);
  root.append(
    h("h1", {}, "Approvals"),
    chooser,
    bar,
    errorsAt,
    section(queue ? `Orders waiting for ${queue}` : "Orders awaiting my approval", list),
    section("Revisions awaiting approval", h("p", { class: "muted" }, "Changes to running orders the approval policy holds, oldest first."), revisionsBox),
  );

  const cards = new Map(); // order id -> {version, el}

  function card(o) {
    const pending = o.approvals.filter((a) => a.state === "PENDING");
    const current = pending.sort((a, b) => a.level - b.level)[0];
    const round = current ? current.round : Math.max(0, ...o.approvals.map((a) => a.round));
    const headingId = `order-${shortId(o.id)}-h`;
    const comment = h("textarea", { name: "comment", rows: 2, maxlength: 2000 });
    const errs = h("div");
    const approveBtn = button("Approve", () => decide("approve"), { "data-action": "approve" });
    const rejectBtn = button("Reject", () => decide("reject"), { class: "danger", "data-action": "reject" });

    async function decide(kind) {
      const text = comment.value.trim();
      const target = kind === "approve" ? approveBtn : rejectBtn;
      if (kind === "reject" && !text) {
        comment.setAttribute("aria-invalid", "true");
        clear(errs, errorList([{ field: "reason", message: "say why the order goes back to its agent", code: "REQUIRED" }]));
        comment.focus();
        return;
      }
      comment.removeAttribute("aria-invalid");
      let payload = null;
      const ok = await act(target, errs, async () => {
        payload =
          kind === "approve"
            ? await mutate(APPROVE, { input: { id: o.id, version: o.version, comment: text || null } }, "orderApprove")
            : await mutate(REJECT, { input: { id: o.id, version: o.version, reason: text } }, "orderReject");
        return payload.errors;
      });
      if (ok) {
        const next = payload.order;
        toast(
          kind === "approve"
            ? `Order #${shortId(o.id)} approved${next?.waitingFor ? `: ${next.waitingFor}` : ""}`
            : `Order #${shortId(o.id)} sent back to its agent`,
        );
        await load();
      }
    }

    const levels = o.approvals.filter((a) => a.round === round).sort((a, b) => a.level - b.level);
    const lines = o.lines.map((l) => ({ ...l }));
    return h(
      "article",
      { class: "panel approval", "aria-labelledby": headingId, "data-order": o.id },
      h(
        "h3",
        { id: headingId },
        h("a", { href: `#/orders/${encodeURIComponent(o.id)}` }, `Order #${shortId(o.id)}`),
        ` · ${o.customerId}`,
        o.description ? ` · ${o.description}` : "",
      ),
      h("p", { class: "why" }, h("strong", {}, "Why: "), current ? current.reasons : o.waitingFor ?? "—"),
      h(
        "div",
        { class: "columns" },
        facts([
          ["State", [badge(o.state), " ", badge(o.stage, "stage")]],
          ["Waiting for", o.waitingFor ?? "—"],
          ["One-time total", money(o.oneTimeTotal)],
          ["Recurring total", money(o.recurringTotal)],
          [
            "Manual discount",
            [
              `${Number(o.manualDiscountPercent)} %`,
              o.discountOverLimit ? [" ", h("span", { class: "badge over-limit" }, "over the agent's limit")] : null,
            ],
          ],
          ["Submitted", [at(o.submittedAt), h("small", { class: "muted" }, ` (${ago(o.submittedAt)})`)]],
          ["Created by", o.createdBy ?? "—"],
          ["Channel", [o.channel ?? "—", o.segment ? ` · ${o.segment}` : ""]],
          o.priority !== null && o.priority !== undefined ? ["Priority", o.priority] : null,
        ]),
        h(
          "div",
          {},
          h("h4", {}, `Approval round ${round}`),
          table(
            `Approval levels of order ${shortId(o.id)}, round ${round}`,
            [
              { label: "Level", cell: (a) => `${a.level} of ${a.levels}` },
              { label: "Role", cell: (a) => a.role },
              { label: "State", cell: (a) => badge(a.state) },
              { label: "Decided", cell: (a) => (a.decidedAt ? [a.actor ?? "", h("br"), h("small", {}, at(a.decidedAt))] : "—") },
              { label: "Comment", cell: (a) => a.comment ?? "—" },
            ],
            levels,
            { empty: "No approval level recorded." },
          ),
        ),
      ),
      h("h4", {}, "Lines and price alterations"),
      table(
        `Lines of order ${shortId(o.id)}`,
        [
          { label: "Line", cell: (l) => `${l.lineNumber} · ${words(l.action)}` },
          { label: "Offering", cell: (l) => `${l.offeringKey} × ${l.quantity}` },
          { label: "Totals", cell: (l) => l.itemTotalPrice.map((p) => h("div", {}, `${p.priceType}${p.recurringChargePeriod ? ` / ${p.recurringChargePeriod}` : ""}: ${amount(p.price)}`)) },
          { label: "Alterations", cell: (l) => alterations(l.itemTotalPrice) ?? h("span", { class: "muted" }, "none") },
        ],
        lines,
      ),
      alterations(o.orderTotalPrice) ? [h("h4", {}, "Order-level alterations"), alterations(o.orderTotalPrice)] : null,
      h(
        "div",
        { class: "decision" },
        field("Comment, or the reason for a rejection", comment, "Approve: optional comment. Reject: required, sent to the agent."),
        errs,
        h("div", { class: "actions" }, approveBtn, rejectBtn),
      ),
    );
  }

  async function load() {
    let orders;
    try {
      const data = queue ? await gql(QUEUE, { role: queue, first: LIMIT }) : await gql(MINE, { first: LIMIT });
      orders = queue ? data.approvalQueue : data.ordersAwaitingMyApproval;
      errorsAt.replaceChildren();
    } catch (error) {
      clear(errorsAt, errorList(error));
      return;
    }
    if (signal.aborted) return;
    count.textContent = `${orders.length} order${orders.length === 1 ? "" : "s"} waiting`;
    const seen = new Set();
    const els = orders.map((o) => {
      seen.add(o.id);
      const kept = cards.get(o.id);
      if (kept && kept.version === o.version) return kept.el; // keeps a comment being typed
      const el = card(o);
      cards.set(o.id, { version: o.version, el });
      return el;
    });
    for (const id of [...cards.keys()]) if (!seen.has(id)) cards.delete(id);
    const focusWasInside = list.contains(document.activeElement);
    clear(list, els.length ? els : h("p", { class: "empty" }, "Nothing waits for your approval."));
    if (focusWasInside && !list.contains(document.activeElement)) list.closest("section")?.querySelector("h2")?.setAttribute("tabindex", "-1");
  }

  const revisionCards = new Map();
  function revisionCard(order, r) {
    const comment = h("textarea", { rows: 2, maxlength: 2000 });
    const errs = h("div");
    const own = r.requestedBy === me?.id;
    const decide = async (kind, btn) => {
      const ok = await act(btn, errs, async () => {
        const input = { id: r.id, comment: comment.value.trim() || null };
        const payload =
          kind === "approve"
            ? await mutate(REVISION_APPROVE, { input }, "revisionApprove")
            : await mutate(REVISION_REJECT, { input }, "revisionReject");
        return payload.errors;
      });
      if (ok) {
        toast(`Revision of order #${shortId(order.id)} ${kind === "approve" ? "approved" : "rejected"}`);
        await loadRevisions();
      }
    };
    const approveBtn = button("Approve revision", () => decide("approve", approveBtn), { "data-action": "approve-revision" });
    const rejectBtn = button("Reject revision", () => decide("reject", rejectBtn), { class: "danger", "data-action": "reject-revision" });
    const headingId = `rev-${r.id.replace(/[^a-zA-Z0-9]/g, "")}-h`;
    return h(
      "article",
      { class: "panel approval", "aria-labelledby": headingId, "data-revision": r.id },
      h("h3", { id: headingId }, h("a", { href: `#/orders/${encodeURIComponent(order.id)}` }, `Order #${shortId(order.id)}`), ` · ${order.customerId} · revision of version ${r.baseVersion}`),
      facts([
        ["Reason", r.reason],
        ["Requested by", [r.requestedBy, own ? h("small", { class: "muted" }, " (you: another approver decides)") : null]],
        ["Requested", [at(r.createdAt), h("small", { class: "muted" }, ` (${ago(r.createdAt)})`)]],
        ["Point of no return", r.pointOfNoReturnAcknowledged ? "acknowledged (charges apply)" : "—"],
        r.charges ? ["Charges", value(r.charges)] : null,
      ]),
      table(
        `What the revision of order ${shortId(order.id)} changes`,
        [
          { label: "Change", cell: (c) => [words(c.kind), h("br"), h("code", {}, c.path)] },
          { label: "From", cell: (c) => value(c.from) },
          { label: "To", cell: (c) => value(c.to) },
        ],
        r.diff,
        { empty: "No field-level change listed." },
      ),
      h(
        "div",
        { class: "decision" },
        field("Comment", comment, "Stored with the decision."),
        errs,
        h("div", { class: "actions" }, own ? null : [approveBtn, rejectBtn]),
      ),
    );
  }

  async function loadRevisions() {
    let waiting;
    try {
      const { revisionsAwaitingApproval: revisions } = await gql(REVISIONS, { first: 100 });
      const ids = [...new Set(revisions.map((r) => r.orderId))];
      const orders = ids.length ? (await gql(REVISED_ORDERS, { ids })).nodes : [];
      const byId = new Map(orders.filter(Boolean).map((o) => [o.id, o]));
      waiting = revisions.filter((r) => byId.has(r.orderId)).map((r) => [byId.get(r.orderId), r]);
    } catch (error) {
      clear(revisionsBox, errorList(error));
      return;
    }
    if (signal.aborted) return;
    const els = waiting.map(([o, r]) => {
      if (!revisionCards.has(r.id)) revisionCards.set(r.id, revisionCard(o, r));
      return revisionCards.get(r.id);
    });
    clear(revisionsBox, els.length ? els : h("p", { class: "empty" }, "No revision waits for approval."));
  }

  const reread = coalesce(() => {
    load();
    loadRevisions();
  }, 400, signal);
  const status = live(
    EVENTS,
    {},
    {
      connected: () => {
        load();
        loadRevisions();
      },
      next: ({ orderEvents: e }) => {
        if (e.entityKind !== "order" && e.entityKind !== "revision" && !String(e.type).toLowerCase().includes("approv")) return;
        reread();
      },
    },
    signal,
  );
  bar.append(status);
  if (!can("order:approve")) return;
  await Promise.all([load(), loadRevisions()]);
}
