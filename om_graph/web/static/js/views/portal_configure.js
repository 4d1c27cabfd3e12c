// Portal: configure an offering (its characteristics, from the catalog's specification), checked
// as the customer types — locally from the specification (required, type, allowed values, range,
// length, pattern, dependent constraints) and by the server (orderPreview, debounced) — with the
// preview of the order (price, steps, predicted completion); then place it (orderCreate with an
// idempotency key, orderSubmit) and go to its tracking page.

import { gql, mutate } from "../gql.js";
import { can, viewer } from "../session.js";
import { act, clear, date, dateTime, duration, errorList, field, h, money, words } from "../ui.js";

export const CHARACTERISTIC_SPEC = `name valueType required allowedValues default minValue maxValue maxLength pattern description
  constraints { description when { characteristic values } then { allowedValues minValue maxValue pattern maxLength required } }`;
const OFFERINGS = `{ productOfferings { id key name description oneTimePrice { amount currency } recurringPrice { amount currency }
  recurringPeriod minQuantity maxQuantity characteristics { ${CHARACTERISTIC_SPEC} } } }`;

const MONEY = "{ amount currency }";
const PRICE = `{ dutyFreeAmount ${MONEY} taxIncludedAmount ${MONEY} taxRate percentage }`;
export const ORDER_PRICE = `name priceType recurringChargePeriod recurringChargePeriodLength unitOfMeasure price ${PRICE}
  priceAlteration { name priceType priority applicationDuration recurringChargePeriod price ${PRICE} source { kind } }`;
export const PREVIEW = `query Preview($input: OrderPreviewInput!) {
  orderPreview(input: $input) {
    preview {
      currency priceList oneTimeTotal ${MONEY} recurringTotal ${MONEY}
      orderTotalPrice { ${ORDER_PRICE} }
      lines { lineNumber action offeringKey quantity itemTotalPrice { ${ORDER_PRICE} }
        priceDelta { priceType recurringChargePeriod currentPrice ${PRICE} newPrice ${PRICE} deltaPrice ${PRICE} remainingTermMonths earlyTerminationCharge ${PRICE} } }
      enrichmentTasks { lineNumber key name capture }
      approvalSteps { level levels role reasons }
      waits { stage waitingFor }
      domainOrders { ref kind specKey }
      tasks { ref key name kind durationSeconds earliestStart earliestFinish critical }
      startsAt predictedCompletionDate requestedCompletionDate meetsRequestedCompletionDate
    }
    errors { field code message }
  }
}`;
const CREATE = `mutation Create($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id state version } errors { field code message } }
}`;
const SUBMIT = `mutation Submit($input: OrderSubmitInput!) {
  orderSubmit(input: $input) { order { id state } errors { field code message } }
}`;
const ONE_ORDER = `query($id: ID!) { order(id: $id) { id state } }`;

// -- dates: the API's DateTimes are UTC, some without a zone ("2026-12-03T15:49:46") -----------

export function utc(value) {
  if (!value) return value;
  return /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
}
export const when = (value) => dateTime(utc(value));
export const day = (value) => date(utc(value));

// -- idempotency keys: one per intended order ---------------------------------------------------

export function newKey(prefix = "portal") {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

// -- characteristics: the rules that apply, local checks, controls ------------------------------

const display = (v) => (typeof v === "boolean" ? (v ? "yes" : "no") : String(v));
const label = (name) => name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/^./, (c) => c.toUpperCase());

/** The specification's rules narrowed by the dependent constraints whose conditions hold. */
export function rulesFor(spec, values) {
  const rules = {
    required: spec.required,
    allowedValues: spec.allowedValues,
    minValue: spec.minValue,
    maxValue: spec.maxValue,
    maxLength: spec.maxLength,
    patterns: spec.pattern ? [spec.pattern] : [],
    because: [],
  };
  for (const c of spec.constraints ?? []) {
    const holds = c.when.every((w) => (w.values ?? []).some((v) => v === values[w.characteristic]));
    if (!holds) continue;
    const t = c.then;
    if (t.required) rules.required = true;
    if (t.allowedValues) rules.allowedValues = t.allowedValues;
    if (t.minValue !== null && t.minValue !== undefined) rules.minValue = Math.max(rules.minValue ?? -Infinity, t.minValue);
    if (t.maxValue !== null && t.maxValue !== undefined) rules.maxValue = Math.min(rules.maxValue ?? Infinity, t.maxValue);
    if (t.maxLength) rules.maxLength = Math.min(rules.maxLength ?? Infinity, t.maxLength);
    if (t.pattern) rules.patterns.push(t.pattern);
    rules.because.push(c.description);
  }
  return rules;
}

/** What the specification says, for the field's hint. */
export function describe(spec) {
  const parts = [];
  if (spec.description) parts.push(spec.description);
  parts.push(spec.required ? "Required" : "Optional");
  if (spec.allowedValues?.length > 1) parts.push(`one of ${spec.allowedValues.map(display).join(", ")}`);
  const hasMin = spec.minValue !== null && spec.minValue !== undefined;
  const hasMax = spec.maxValue !== null && spec.maxValue !== undefined;
  if (hasMin && hasMax) parts.push(`${spec.minValue} to ${spec.maxValue}`);
  else if (hasMin) parts.push(`at least ${spec.minValue}`);
  else if (hasMax) parts.push(`at most ${spec.maxValue}`);
  if (spec.valueType === "string" && spec.maxLength) parts.push(`up to ${spec.maxLength} characters`);
  for (const c of spec.constraints ?? []) parts.push(c.description);
  return parts.join(" · ");
}

function compile(pattern) {
  try {
    return new RegExp(`^(?:${pattern})$`, "u");
  } catch {
    return null; // a Python-only construct: the server checks it (orderPreview)
  }
}

/**
 * Read a raw control value against the rules: {empty, value (typed, or the raw text the server
 * will refuse with a typed error), error (a message or null)}.
 */
export function check(spec, raw, values) {
  const rules = rulesFor(spec, values);
  const because = rules.because.length ? ` (${rules.because.join(" ")})` : "";
  if (raw === "" || raw === null || raw === undefined || (typeof raw === "string" && raw.trim() === "")) {
    return { empty: true, value: null, error: rules.required ? `Required${because}` : null };
  }
  let value = raw;
  if (spec.valueType === "integer" || spec.valueType === "number") {
    if (typeof raw === "string") {
      const text = raw.trim();
      const ok = spec.valueType === "integer" ? /^[-+]?\d+$/.test(text) : text !== "" && Number.isFinite(Number(text));
      if (!ok) return { empty: false, value: raw, error: spec.valueType === "integer" ? "Enter a whole number" : "Enter a number" };
      value = Number(text);
    }
  }
  if (spec.valueType === "boolean" && typeof raw !== "boolean") value = raw === "true";
  if (rules.allowedValues && !rules.allowedValues.some((a) => a === value)) {
    return { empty: false, value, error: `${display(value)} is not available: choose ${rules.allowedValues.map(display).join(" or ")}${because}` };
  }
  if (typeof value === "number") {
    if (rules.minValue !== null && rules.minValue !== undefined && value < rules.minValue) {
      return { empty: false, value, error: `Must be at least ${rules.minValue}${because}` };
    }
    if (rules.maxValue !== null && rules.maxValue !== undefined && value > rules.maxValue) {
      return { empty: false, value, error: `Must be at most ${rules.maxValue}${because}` };
    }
  }
  if (typeof value === "string") {
    if (rules.maxLength && [...value].length > rules.maxLength) {
      return { empty: false, value, error: `At most ${rules.maxLength} characters (now ${[...value].length})` };
    }
    for (const p of rules.patterns) {
      const re = compile(p);
      if (re && !re.test(value)) {
        return { empty: false, value, error: `Not in the expected format${spec.description ? `: ${spec.description}` : ""}${because}` };
      }
    }
  }
  return { empty: false, value, error: null };
}

/**
 * A labelled control for a characteristic, with its hint and its error text (aria-describedby
 * names both; aria-invalid when wrong). Returns {name, spec, node, control, read(), setError(msg)}.
 */
export function characteristicField(spec, initial, idPrefix) {
  const id = `${idPrefix}-${spec.name}`;
  const start = initial !== undefined && initial !== null ? initial : spec.default;
  let control;
  let read;
  if (spec.allowedValues?.length) {
    const options = spec.allowedValues;
    const blank = !spec.required || start === null || start === undefined;
    control = h(
      "select",
      { id, name: spec.name },
      blank ? h("option", { value: "" }, spec.required ? "Choose…" : "— none —") : null,
      options.map((v, i) => h("option", { value: String(i), selected: v === start }, display(v))),
    );
    read = () => (control.value === "" ? "" : options[Number(control.value)]);
  } else if (spec.valueType === "boolean") {
    control = h("input", { id, name: spec.name, type: "checkbox", checked: start === true });
    read = () => control.checked;
  } else if (spec.valueType === "integer" || spec.valueType === "number") {
    control = h("input", {
      id,
      name: spec.name,
      type: "text",
      inputmode: spec.valueType === "integer" ? "numeric" : "decimal",
      autocomplete: "off",
      value: start === null || start === undefined ? "" : String(start),
    });
    read = () => control.value;
  } else {
    const long = (spec.maxLength ?? 0) >= 500;
    control = long
      ? h("textarea", { id, name: spec.name, rows: 2 }, start ?? "")
      : h("input", { id, name: spec.name, type: "text", autocomplete: "off", value: start ?? "" });
    read = () => control.value;
  }
  if (spec.required) control.setAttribute("aria-required", "true");
  const node = field(spec.required ? `${label(spec.name)} (required)` : label(spec.name), control, describe(spec));
  node.classList.add("char-field");
  if (control.type === "checkbox") node.classList.add("check");
  node.dataset.characteristic = spec.name;
  const errorId = `${id}-error`;
  const error = h("p", { id: errorId, class: "field-error", hidden: true });
  node.append(error);
  control.setAttribute("aria-describedby", `${id}-hint ${errorId}`);
  const setError = (message) => {
    if (message) {
      error.textContent = message;
      error.hidden = false;
      control.setAttribute("aria-invalid", "true");
    } else {
      error.textContent = "";
      error.hidden = true;
      control.removeAttribute("aria-invalid");
    }
  };
  return { name: spec.name, spec, node, control, read, setError };
}

/** Read every field: {values (typed, by name), characteristics (the non-empty ones, for the API), local errors by name}. */
export function readFields(fields) {
  const raw = Object.fromEntries(fields.map((f) => [f.name, f.read()]));
  // A first pass gives typed values for the constraints' conditions.
  const values = {};
  for (const f of fields) values[f.name] = check({ ...f.spec, constraints: [] }, raw[f.name], {}).value;
  const errors = {};
  const characteristics = [];
  for (const f of fields) {
    const result = check(f.spec, raw[f.name], values);
    if (result.error) errors[f.name] = result.error;
    if (!result.empty) characteristics.push({ name: f.name, value: result.value });
  }
  return { values, characteristics, errors };
}

// -- the preview ---------------------------------------------------------------------------------

const per = (p) => (p.priceType === "recurring" ? ` / ${p.recurringChargePeriodLength > 1 ? `${p.recurringChargePeriodLength} ` : ""}${p.recurringChargePeriod ?? "period"}` : "");
const kind = (p) => (p.priceType === "oneTime" ? "one-time" : p.priceType === "recurring" ? "recurring" : p.priceType);

function alterationText(a) {
  const amount = a.price.dutyFreeAmount ?? a.price.taxIncludedAmount;
  const pct = a.price.percentage ? ` (${Number(a.price.percentage)} %)` : "";
  const lasts = a.applicationDuration ? ` for ${a.applicationDuration} ${a.recurringChargePeriod ?? "period"}${a.applicationDuration > 1 ? "s" : ""}` : "";
  return `${a.priceType === "discount" ? "Discount" : "Surcharge"}: ${a.name} ${money(amount)}${pct}${lasts}`;
}

/** Price lines (a line's or the order's), each with its alterations. */
export function priceList(prices, caption) {
  if (!prices?.length) return h("p", { class: "empty" }, "No charge.");
  return h(
    "ul",
    { class: "price-lines", "aria-label": caption },
    prices.map((p) =>
      h(
        "li",
        {},
        h(
          "div",
          { class: "price-line" },
          h("span", {}, p.name, h("span", { class: "muted" }, ` · ${kind(p)}`)),
          h(
            "span",
            { class: "amount" },
            `${money(p.price.dutyFreeAmount ?? p.price.taxIncludedAmount)}${per(p)}`,
            p.price.taxIncludedAmount && p.price.dutyFreeAmount && p.price.taxIncludedAmount.amount !== p.price.dutyFreeAmount.amount
              ? h("small", { class: "muted" }, ` (${money(p.price.taxIncludedAmount)} incl. ${Number(p.price.taxRate ?? 0)} % tax)`)
              : null,
          ),
        ),
        p.priceAlteration?.length ? h("ul", { class: "alterations" }, p.priceAlteration.map((a) => h("li", {}, alterationText(a)))) : null,
      ),
    ),
  );
}

const STAGE_WORDS = {
  enrichment: "Details to be completed",
  enrichmentWaiting: "Waiting for details",
  approval: "Approval",
  approvalWaiting: "Waiting for approval",
  decomposition: "Planning",
};

/** The preview's parts: price, the steps it will take, the predicted completion. */
export function previewView(p, offeringName) {
  const tasks = [...p.tasks].sort((a, b) => a.earliestStart.localeCompare(b.earliestStart) || a.ref - b.ref);
  const meets = p.meetsRequestedCompletionDate;
  return h(
    "div",
    { class: "preview-body" },
    h(
      "div",
      { class: "totals" },
      h("div", { class: "total" }, h("span", { class: "muted" }, "Pay now"), h("strong", { "data-total": "oneTime" }, money(p.oneTimeTotal))),
      h(
        "div",
        { class: "total" },
        h("span", { class: "muted" }, "Then every month"),
        h("strong", { "data-total": "recurring" }, money(p.recurringTotal)),
      ),
    ),
    h("h3", {}, "Price"),
    p.lines.map((line) =>
      h(
        "div",
        { class: "preview-line" },
        p.lines.length > 1 || offeringName ? h("p", { class: "muted" }, `Line ${line.lineNumber}: ${offeringName ?? line.offeringKey}${line.quantity > 1 ? ` × ${line.quantity}` : ""}`) : null,
        priceList(line.itemTotalPrice, `Charges of line ${line.lineNumber}`),
        line.priceDelta ? deltaView(line.priceDelta) : null,
      ),
    ),
    p.orderTotalPrice.length ? [h("p", { class: "muted" }, `Order totals${p.priceList ? ` (price list ${p.priceList})` : ""}`), priceList(p.orderTotalPrice, "Order totals")] : null,
    h("h3", {}, "What happens next"),
    h(
      "ol",
      { class: "steps" },
      h("li", {}, "We receive and check your order."),
      p.approvalSteps.map((s) => h("li", {}, `Approval ${s.level} of ${s.levels} (${words(s.role)})`, s.reasons.length ? h("span", { class: "muted" }, `: ${s.reasons.join("; ")}`) : null)),
      p.enrichmentTasks.map((t) => h("li", {}, `${t.name}`, t.capture.length ? h("span", { class: "muted" }, ` (${t.capture.map(label).join(", ")})`) : null)),
      p.waits.map((w) => h("li", {}, `${STAGE_WORDS[w.stage] ?? words(w.stage)}: ${w.waitingFor}`)),
      tasks.map((t) =>
        h(
          "li",
          { "data-task": t.key },
          t.name,
          h("span", { class: "muted" }, ` · ${t.kind === "MANUAL" ? "by a technician" : "automatic"}, about ${duration(t.durationSeconds)}`),
        ),
      ),
      h("li", {}, "Your order is complete."),
    ),
    h("h3", {}, "When"),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Work starts"),
      h("dd", {}, when(p.startsAt)),
      h("dt", {}, "Predicted completion"),
      h("dd", { "data-predicted": p.predictedCompletionDate ?? "" }, p.predictedCompletionDate ? when(p.predictedCompletionDate) : "at once (nothing to install)"),
      p.requestedCompletionDate ? [h("dt", {}, "You asked for"), h("dd", {}, when(p.requestedCompletionDate))] : null,
      meets === null || meets === undefined
        ? null
        : [
            h("dt", {}, "Your date"),
            h("dd", {}, h("span", { class: `badge ${meets ? "state-completed" : "state-failed"}`, "data-meets": String(meets) }, meets ? "✓ can be met" : "✗ cannot be met")),
          ],
    ),
  );
}

function deltaView(d) {
  return h(
    "dl",
    { class: "facts delta" },
    h("dt", {}, "Now"),
    h("dd", {}, `${money(d.currentPrice.dutyFreeAmount)}${d.recurringChargePeriod ? ` / ${d.recurringChargePeriod}` : ""}`),
    h("dt", {}, "After the change"),
    h("dd", {}, `${money(d.newPrice.dutyFreeAmount)}${d.recurringChargePeriod ? ` / ${d.recurringChargePeriod}` : ""}`),
    d.earlyTerminationCharge ? [h("dt", {}, "Early termination charge"), h("dd", {}, money(d.earlyTerminationCharge.dutyFreeAmount ?? d.earlyTerminationCharge.taxIncludedAmount))] : null,
    d.remainingTermMonths ? [h("dt", {}, "Months left in the contract"), h("dd", {}, String(d.remainingTermMonths))] : null,
  );
}

/** Server errors on `lines.0.characteristics.<name>` go to their field; the rest are listed. */
export function splitErrors(errors, line = 0) {
  const prefix = `lines.${line}.characteristics.`;
  const byField = {};
  const rest = [];
  for (const e of errors) {
    if (e.field?.startsWith(prefix)) byField[e.field.slice(prefix.length)] = e;
    else rest.push(e);
  }
  return { byField, rest };
}

// -- the screen ------------------------------------------------------------------------------

export async function render(root, { params, signal, navigate }) {
  const data = await gql(OFFERINGS);
  const offering = data.productOfferings.find((o) => o.key === params.key);
  if (!offering) {
    root.append(h("h1", {}, "Not found"), h("p", {}, "There is no such offering in the catalog."), h("p", {}, h("a", { href: "#/shop" }, "Back to the shop")));
    return;
  }
  const me = viewer();
  const customerId = me.accountId;
  const mayOrder = can("order:capture");

  const fields = offering.characteristics.map((spec) => characteristicField(spec, undefined, "c"));
  const required = fields.filter((f) => f.spec.required);
  const optional = fields.filter((f) => !f.spec.required);
  const quantity =
    offering.maxQuantity > 1
      ? h("input", { id: "quantity", name: "quantity", type: "number", min: offering.minQuantity, max: offering.maxQuantity, value: offering.minQuantity, inputmode: "numeric" })
      : null;
  const completion = h("input", { id: "requested-completion", name: "requestedCompletionDate", type: "date" });

  const formErrors = h("div", { "aria-live": "polite" });
  const placeErrors = h("div");
  const status = h("p", { class: "muted preview-status", role: "status" }, "Fill in the details to see your price and dates.");
  const previewArea = h("div", { class: "preview-area" });
  const place = h("button", { type: "button", disabled: true, "aria-describedby": "place-why" }, "Place order");
  const placeWhy = h("p", { id: "place-why", class: "muted" }, "The order can be placed once every detail is valid.");

  const form = h(
    "form",
    { class: "configure", "aria-label": `Configure ${offering.name}`, novalidate: true },
    h(
      "fieldset",
      { class: "panel" },
      h("legend", {}, "Your details"),
      required.map((f) => f.node),
      quantity ? field(`Quantity (${offering.minQuantity} to ${offering.maxQuantity})`, quantity) : null,
      field("Wanted by (optional)", completion, "We tell you whether the date can be met."),
      optional.length ? h("details", { class: "more" }, h("summary", {}, `More options (${optional.length})`), optional.map((f) => f.node)) : null,
    ),
    formErrors,
  );

  root.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/shop" }, "Shop"), " › ", offering.name),
    h("h1", {}, offering.name),
    h("p", { class: "lead" }, offering.description),
    h(
      "div",
      { class: "configure-grid" },
      form,
      h(
        "section",
        { class: "panel preview", "aria-labelledby": "preview-title" },
        h("h2", { id: "preview-title" }, "Your order"),
        status,
        previewArea,
        mayOrder ? h("div", { class: "place" }, place, placeWhy, placeErrors) : h("p", { class: "muted" }, "Your role may not place orders."),
      ),
    ),
  );

  let key = newKey();
  let seq = 0;
  let timer = null;
  let lastInput = null;
  let valid = false;
  let placing = false;

  const orderInput = (characteristics) => {
    const wanted = completion.value ? new Date(`${completion.value}T23:59:59`).toISOString() : null;
    return {
      customerId,
      requestedCompletionDate: wanted,
      lines: [{ action: "ADD", offering: offering.key, quantity: quantity ? Number(quantity.value) || 0 : 1, characteristics }],
    };
  };

  const touched = new Set(); // an empty field the customer has not reached yet shows no error
  const show = (local, server) => {
    for (const f of fields) {
      const untouched = !touched.has(f.name) && (f.read() === "" || f.read() === null);
      f.setError(untouched ? null : local[f.name] ?? server[f.name]?.message ?? null);
    }
  };

  async function preview() {
    const { characteristics, errors: local } = readFields(fields);
    const input = orderInput(characteristics);
    const mine = ++seq;
    status.textContent = "Checking…";
    let payload;
    try {
      payload = (await gql(PREVIEW, { input: { order: input } })).orderPreview;
    } catch (error) {
      if (mine !== seq || signal.aborted) return;
      status.textContent = "The preview could not be computed.";
      clear(formErrors, errorList(error));
      return;
    }
    if (mine !== seq || signal.aborted) return;
    const { byField, rest } = splitErrors(payload.errors);
    const current = readFields(fields).errors; // the customer may have typed on meanwhile
    show(current, byField);
    clear(formErrors, rest.length ? errorList(rest) : null);
    const problems = Object.keys({ ...current, ...byField }).length + rest.length;
    valid = problems === 0 && Boolean(payload.preview);
    lastInput = input;
    place.disabled = !valid || placing;
    placeWhy.textContent = valid ? "Nothing is charged before the order is placed." : "The order can be placed once every detail is valid.";
    if (payload.preview) {
      clear(previewArea, previewView(payload.preview, offering.name));
      status.textContent = problems ? `${problems} detail${problems === 1 ? "" : "s"} missing or not valid yet.` : "Preview up to date.";
    } else {
      clear(previewArea);
      status.textContent = `${problems} detail${problems === 1 ? "" : "s"} missing or not valid: we price your order once they are filled in.`;
    }
  }

  const changed = (event) => {
    if (event?.target?.name) touched.add(event.target.name);
    // A change event on leaving a field (or a click on "Place order") changes nothing.
    if (lastInput && JSON.stringify(orderInput(readFields(fields).characteristics)) === JSON.stringify(lastInput)) return;
    key = newKey(); // another payload: another intended order
    valid = false;
    place.disabled = true;
    const { errors } = readFields(fields);
    show(errors, {}); // local checks at once, the server's after the pause
    clearTimeout(timer);
    timer = setTimeout(preview, 400);
  };
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  signal.addEventListener("abort", () => clearTimeout(timer));

  form.addEventListener("submit", (event) => event.preventDefault());
  place.addEventListener("click", async () => {
    if (placing || !valid || !lastInput) return;
    placing = true;
    const input = { ...lastInput, idempotencyKey: key };
    let orderId = null;
    // A double click, or a retry after a lost answer, sends the same key: one order.
    const ok = await act(place, placeErrors, async () => {
      const created = await mutate(CREATE, { input }, "orderCreate");
      if (created.errors.length) return created.errors;
      orderId = created.order.id;
      if (created.order.state !== "DRAFT") return []; // submitted by an earlier click
      const submitted = await mutate(SUBMIT, { input: { id: orderId, version: created.order.version } }, "orderSubmit");
      if (submitted.errors.length) {
        const now = (await gql(ONE_ORDER, { id: orderId })).order;
        if (now && now.state !== "DRAFT") return []; // another click submitted it
        return submitted.errors;
      }
      return [];
    });
    placing = false;
    if (ok && orderId) navigate(`/my/orders/${encodeURIComponent(orderId)}`);
    else place.disabled = !valid;
  });

  await preview();
}
