// The catalog, read only: each offering with its specification, the characteristics a line of it
// accepts (types, allowed values, limits, dependent constraints) and its prices in every price
// list; then the price lists (currency, validity, audience, tax) with their prices. Price lists
// are read with price:read; roles without it see the offerings only.

import { gql } from "../gql.js";
import { append, button, h, money, section, table, value } from "../ui.js";
import { can } from "../session.js";

const PRICE = `priceList offeringKey name priceType recurringChargePeriod recurringChargePeriodLength unitOfMeasure
  amount { amount currency } tiers { minQuantity amount { amount currency } } matrix`;
const OFFERINGS = `{ productOfferings { key name description recurringPeriod minQuantity maxQuantity
  productSpecification { key name version }
  characteristics { name valueType required allowedValues default minValue maxValue maxLength pattern description
    constraints { description when { characteristic values } then { allowedValues minValue maxValue pattern maxLength required } } }
  productOfferingPrice { ${PRICE} } } }`;
const PRICE_LISTS = `{ priceLists { key name currency validFrom validTo segments accounts channels taxRate taxIncluded description
  productOfferingPrice { ${PRICE} } } }`;

const list = (v) => (Array.isArray(v) ? v.map((x) => value(x)).join(", ") : value(v));

function limits(c) {
  const parts = [];
  if (c.allowedValues !== null && c.allowedValues !== undefined) parts.push(`one of ${list(c.allowedValues)}`);
  if (c.minValue !== null) parts.push(`≥ ${c.minValue}`);
  if (c.maxValue !== null) parts.push(`≤ ${c.maxValue}`);
  if (c.maxLength !== null) parts.push(`at most ${c.maxLength} characters`);
  if (c.pattern) parts.push(h("span", {}, "matches ", h("code", {}, c.pattern)));
  if (!parts.length) return h("span", { class: "muted" }, "any");
  return parts.flatMap((p, i) => (i ? ["; ", p] : [p]));
}

function restriction(then) {
  const parts = [];
  if (then.required) parts.push("required");
  if (then.allowedValues !== null && then.allowedValues !== undefined) parts.push(`one of ${list(then.allowedValues)}`);
  if (then.minValue !== null) parts.push(`≥ ${then.minValue}`);
  if (then.maxValue !== null) parts.push(`≤ ${then.maxValue}`);
  if (then.maxLength !== null) parts.push(`at most ${then.maxLength} characters`);
  if (then.pattern) parts.push(`matches ${then.pattern}`);
  return parts.join("; ") || "—";
}

function constraints(c) {
  if (!c.constraints.length) return h("span", { class: "muted" }, "—");
  return h(
    "ul",
    { class: "plain" },
    c.constraints.map((k) =>
      h(
        "li",
        {},
        "when ",
        k.when.map((w, i) => [i ? " and " : "", h("code", {}, w.characteristic), ` is ${list(w.values)}`]),
        `: ${restriction(k.then)}`,
        k.description ? h("div", { class: "muted" }, k.description) : null,
      ),
    ),
  );
}

function characteristicsTable(offering) {
  return table(
    `Characteristics of ${offering.name}`,
    [
      { label: "Characteristic", cell: (c) => h("code", {}, c.name) },
      { label: "Type", cell: (c) => c.valueType },
      { label: "Required", cell: (c) => (c.required ? "required" : "optional") },
      { label: "Allowed values and limits", cell: limits },
      { label: "Default", cell: (c) => (c.default === null ? h("span", { class: "muted" }, "—") : value(c.default)) },
      { label: "Depends on others", cell: constraints },
      { label: "Description", cell: (c) => c.description || "—", class: "hide-narrow" },
    ],
    offering.characteristics,
    { empty: "No characteristics." },
  );
}

function period(p) {
  if (p.priceType !== "recurring") return "";
  const n = p.recurringChargePeriodLength ?? 1;
  return n === 1 ? ` per ${p.recurringChargePeriod ?? "period"}` : ` every ${n} ${p.recurringChargePeriod ?? "periods"}s`;
}

function amount(p) {
  if (p.matrix) return h("span", {}, "from the matrix ", h("a", { href: `#/admin/decisions/${encodeURIComponent(p.matrix)}` }, h("code", {}, p.matrix)));
  if (p.tiers.length) {
    return h(
      "ul",
      { class: "plain" },
      p.tiers.map((t) => h("li", {}, `from ${t.minQuantity} unit${t.minQuantity === 1 ? "" : "s"}: ${money(t.amount)} each`)),
    );
  }
  return money(p.amount);
}

function pricesTable(caption, prices, { withList = true, withOffering = false } = {}) {
  return table(
    caption,
    [
      withOffering ? { label: "Offering", cell: (p) => h("a", { href: `#off-${p.offering.key}`, onclick: jump(`off-${p.offering.key}`) }, p.offering.name) } : null,
      withList ? { label: "Price list", cell: (p) => h("code", {}, p.priceList) } : null,
      { label: "Charge", cell: (p) => p.name },
      { label: "Type", cell: (p) => `${p.priceType}${period(p)}` },
      { label: "Amount", cell: amount },
      { label: "Unit", cell: (p) => p.unitOfMeasure ?? "—", class: "hide-narrow" },
    ].filter(Boolean),
    prices,
    { empty: "No prices." },
  );
}

function offeringPanel(o) {
  const spec = o.productSpecification;
  const n = o.characteristics.length;
  const prices = o.productOfferingPrice.length;
  return h(
    "details",
    { class: "panel cat-offering", "data-offering": o.key, id: `off-${o.key}` },
    h(
      "summary",
      {},
      h("h3", {}, o.name, " ", h("code", { class: "muted" }, o.key)),
      h("span", { class: "muted" }, ` ${n} characteristic${n === 1 ? "" : "s"}, ${prices} price${prices === 1 ? "" : "s"}`),
    ),
    h("p", {}, o.description || "—"),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Specification"),
      h("dd", {}, spec ? [spec.name, " ", h("code", {}, spec.key), ` version ${spec.version}`] : "—"),
      h("dt", {}, "Quantity"),
      h("dd", {}, o.minQuantity === o.maxQuantity ? String(o.minQuantity) : `${o.minQuantity} to ${o.maxQuantity}`),
      h("dt", {}, "Recurring period"),
      h("dd", {}, o.recurringPeriod || "—"),
    ),
    h("h4", {}, "Characteristics"),
    h("div", { class: "scroll" }, characteristicsTable(o)),
    h("h4", {}, "Prices"),
    h("div", { class: "scroll" }, pricesTable(`Prices of ${o.name} in every price list`, o.productOfferingPrice)),
  );
}

function audience(p) {
  const parts = [];
  if (p.segments.length) parts.push(`segments ${p.segments.join(", ")}`);
  if (p.channels.length) parts.push(`channels ${p.channels.join(", ")}`);
  if (p.accounts.length) parts.push(`accounts ${p.accounts.join(", ")}`);
  return parts.join("; ") || "everyone";
}

/** A price list's prices, each with the offering it is for (by its offeringKey; one the catalog no
 * longer sells is shown by its key). */
function priceListPrices(p, offerings) {
  const byKey = new Map(offerings.map((o) => [o.key, o]));
  const priced = p.productOfferingPrice.map((x) => ({ ...x, offering: byKey.get(x.offeringKey) ?? { key: x.offeringKey, name: x.offeringKey } }));
  return pricesTable(`Prices in ${p.name}, by offering`, priced, { withList: false, withOffering: true });
}

function priceListPanel(p, offerings) {
  const validity = p.validFrom || p.validTo ? `${p.validFrom ?? "always"} to ${p.validTo ?? "open end"}` : "always";
  const n = p.productOfferingPrice.length;
  return h(
    "details",
    { class: "panel cat-pricelist", "data-price-list": p.key, id: `pl-${p.key}` },
    h(
      "summary",
      {},
      h("h3", {}, p.name, " ", h("code", { class: "muted" }, p.key)),
      h("span", { class: "muted" }, ` ${p.currency}, ${p.taxRate} % tax, ${n} price${n === 1 ? "" : "s"}`),
    ),
    h("p", {}, p.description || "—"),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Currency"),
      h("dd", {}, p.currency),
      h("dt", {}, "Valid"),
      h("dd", {}, validity),
      h("dt", {}, "Audience"),
      h("dd", {}, audience(p)),
      h("dt", {}, "Tax"),
      h("dd", {}, `${p.taxRate} %, amounts ${p.taxIncluded ? "include" : "exclude"} tax`),
    ),
    h("div", { class: "scroll" }, priceListPrices(p, offerings)),
  );
}

export async function render(root) {
  const priceRead = can("price:read");
  const [offerings, priceLists] = await Promise.all([gql(OFFERINGS), priceRead ? gql(PRICE_LISTS) : Promise.resolve(null)]);
  const items = offerings.productOfferings;
  const lists = priceLists?.priceLists ?? [];
  append(root, [
    h("h1", {}, "Catalog"),
    h(
      "nav",
      { class: "cat-toc panel", "aria-label": "Catalog contents" },
      h("h2", {}, "Contents"),
      h(
        "ul",
        {},
        h("li", {}, h("a", { href: "#cat-offerings", onclick: jump("cat-offerings") }, `Offerings (${items.length})`)),
        priceRead ? h("li", {}, h("a", { href: "#cat-price-lists", onclick: jump("cat-price-lists") }, `Price lists (${lists.length})`)) : null,
      ),
      h("ul", { class: "cat-keys" }, items.map((o) => h("li", {}, h("a", { href: `#off-${o.key}`, onclick: jump(`off-${o.key}`) }, o.name)))),
    ),
    h(
      "section",
      { id: "cat-offerings", "aria-labelledby": "cat-offerings-h" },
      h("h2", { id: "cat-offerings-h" }, "Offerings"),
      expandAll("offerings"),
      items.length ? items.map(offeringPanel) : h("p", { class: "empty" }, "The catalog has no offering."),
    ),
    priceRead
      ? h(
          "section",
          { id: "cat-price-lists", "aria-labelledby": "cat-price-lists-h" },
          h("h2", { id: "cat-price-lists-h" }, "Price lists"),
      expandAll("price lists"),
          lists.length ? lists.map((p) => priceListPanel(p, items)) : h("p", { class: "empty" }, "No price list."),
        )
      : section("Price lists", h("p", { class: "muted" }, "Price lists take the price:read permission, which your role does not have.")),
  ]);
}

/** Open or close every panel of its section. */
function expandAll(what) {
  return h(
    "div",
    { class: "actions cat-expand" },
    button(`Open all ${what}`, (e) => e.target.closest("section").querySelectorAll("details").forEach((d) => (d.open = true)), { class: "secondary small" }),
    button(`Close all ${what}`, (e) => e.target.closest("section").querySelectorAll("details").forEach((d) => (d.open = false)), { class: "secondary small" }),
  );
}

/** In-page links: the address's hash is the router's, so scroll instead of navigating. */
function jump(id) {
  return (event) => {
    event.preventDefault();
    const target = document.getElementById(id);
    if (!target) return;
    if (target.tagName === "DETAILS") {
      target.open = true;
      target.querySelector("summary").focus();
      target.scrollIntoView();
      return;
    }
    const heading = target.querySelector("h2");
    heading.setAttribute("tabindex", "-1");
    heading.scrollIntoView();
    heading.focus();
  };
}
