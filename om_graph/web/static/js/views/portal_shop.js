// Portal: the catalog's orderable offerings with their prices (each price list's charges:
// one-time, recurring, usage, tiers or a pricing matrix), each leading to its configuration.

import { gql } from "../gql.js";
import { can } from "../session.js";
import { h, money } from "../ui.js";

const MONEY = "{ amount currency }";
const SHOP = `{
  productOfferings {
    id key name description oneTimePrice ${MONEY} recurringPrice ${MONEY} recurringPeriod minQuantity maxQuantity
    productOfferingPrice { priceList name priceType recurringChargePeriod recurringChargePeriodLength unitOfMeasure amount ${MONEY} tiers { minQuantity amount ${MONEY} } matrix }
  }
}`;
const LISTS = `{ priceLists { key name currency taxRate taxIncluded description } }`;

function charge(p) {
  const period = p.recurringChargePeriod ? ` / ${p.recurringChargePeriodLength > 1 ? `${p.recurringChargePeriodLength} ` : ""}${p.recurringChargePeriod}` : "";
  const unit = p.unitOfMeasure ? ` per ${p.unitOfMeasure}` : "";
  if (p.amount) return `${money(p.amount)}${unit}${period}`;
  if (p.tiers.length) return `${p.tiers.map((t) => `from ${t.minQuantity}: ${money(t.amount)}`).join(", ")}${unit}${period}`;
  if (p.matrix) return `priced by your choices${period}`;
  return "—";
}

const TYPE = { oneTime: "One-time", recurring: "Recurring", usage: "Usage" };

function prices(offering, lists) {
  const byList = new Map();
  for (const p of offering.productOfferingPrice) {
    if (!byList.has(p.priceList)) byList.set(p.priceList, []);
    byList.get(p.priceList).push(p);
  }
  if (!byList.size) return null;
  return h(
    "details",
    { class: "prices" },
    h("summary", {}, "All prices"),
    [...byList].map(([key, rows]) => {
      const list = lists.get(key);
      const tax = list ? (list.taxIncluded ? `incl. ${Number(list.taxRate)} % tax` : Number(list.taxRate) ? `plus ${Number(list.taxRate)} % tax` : "") : "";
      return h(
        "div",
        { class: "price-list" },
        h("p", { class: "muted" }, list?.name ?? key, tax ? ` · ${tax}` : ""),
        h(
          "ul",
          { class: "price-lines" },
          rows.map((p) => h("li", {}, h("div", { class: "price-line" }, h("span", {}, `${TYPE[p.priceType] ?? p.priceType}: ${p.name}`), h("span", { class: "amount" }, charge(p))))),
        ),
      );
    }),
  );
}

export async function render(root) {
  const [shop, priceLists] = await Promise.all([gql(SHOP), can("price:read") ? gql(LISTS) : Promise.resolve({ priceLists: [] })]);
  const lists = new Map(priceLists.priceLists.map((l) => [l.key, l]));
  const offerings = [...shop.productOfferings].sort((a, b) => a.name.localeCompare(b.name));
  root.append(
    h("h1", {}, "Shop"),
    h("p", { class: "lead" }, "Choose a product, configure it and see its price and delivery date before you order."),
    offerings.length
      ? h(
          "ul",
          { class: "offerings", "aria-label": "Offerings" },
          offerings.map((o) =>
            h(
              "li",
              { class: "offering panel", "data-offering": o.key },
              h("h2", { id: `o-${o.key}` }, o.name),
              h("p", {}, o.description),
              h(
                "p",
                { class: "headline-price" },
                h("strong", {}, `${money(o.recurringPrice)} / ${o.recurringPeriod}`),
                Number(o.oneTimePrice.amount) ? h("span", { class: "muted" }, ` + ${money(o.oneTimePrice)} one-time`) : null,
              ),
              prices(o, lists),
              h("a", { class: "button-link", href: `#/shop/${encodeURIComponent(o.key)}`, "aria-describedby": `o-${o.key}` }, "Configure and order"),
            ),
          ),
        )
      : h("p", { class: "empty" }, "Nothing can be ordered at the moment."),
  );
}
