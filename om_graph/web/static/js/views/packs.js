// Installed packs: the plugins this server runs (installedPacks), the distribution each comes
// from and the hooks it implements (docs/plugins.md), with the decision tables whose shipped
// default it provides.

import { gql } from "../gql.js";
import { append, h, table } from "../ui.js";

const PACKS = `{ installedPacks { name distribution hooks } decisionTables { name defaultSource activeVersion { number source } } }`;

export async function render(root) {
  const data = await gql(PACKS);
  const packs = data.installedPacks;
  const tablesOf = (name) => data.decisionTables.filter((t) => t.defaultSource === `pack:${name}`);
  const hooks = [...new Set(packs.flatMap((p) => p.hooks))].sort();
  append(root, [
    h("h1", {}, "Installed packs"),
    h("p", { class: "muted" }, `${packs.length} plugin${packs.length === 1 ? "" : "s"} loaded by this server, in the order pluggy registered them.`),
    packs.length
      ? packs.map((p) => {
          const id = `pack-${p.name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
          const tables = tablesOf(p.name);
          return h(
            "article",
            { class: "panel pack", "data-pack": p.name, "aria-labelledby": id },
            h("h2", { id }, h("code", {}, p.name)),
            h("dl", { class: "facts" }, h("dt", {}, "Distribution"), h("dd", {}, p.distribution), h("dt", {}, "Hooks"), h("dd", {}, String(p.hooks.length))),
            h("h3", {}, "Hooks it implements"),
            p.hooks.length ? h("ul", { class: "pack-hooks" }, p.hooks.map((hook) => h("li", {}, h("code", {}, hook)))) : h("p", { class: "empty" }, "No hook."),
            tables.length
              ? [
                  h("h3", {}, "Decision tables it ships a default of"),
                  h(
                    "ul",
                    { class: "plain" },
                    tables.map((t) =>
                      h(
                        "li",
                        {},
                        h("a", { href: `#/admin/decisions/${encodeURIComponent(t.name)}` }, h("code", {}, t.name)),
                        t.activeVersion
                          ? h("span", { class: "muted" }, ` active v${t.activeVersion.number} (${t.activeVersion.source === `pack:${p.name}` ? "the shipped default" : t.activeVersion.source})`)
                          : h("span", { class: "muted" }, " none active"),
                      ),
                    ),
                  ),
                ]
              : null,
          );
        })
      : h("p", { class: "empty" }, "No plugin is installed."),
    h(
      "section",
      { class: "panel", "aria-labelledby": "pack-matrix" },
      h("h2", { id: "pack-matrix" }, "Hooks by pack"),
      h(
        "div",
        { class: "scroll" },
        table(
          "Which pack implements which hook",
          [{ label: "Hook", cell: (hook) => h("code", {}, hook) }, ...packs.map((p) => ({ label: p.name, cell: (hook) => (p.hooks.includes(hook) ? "✓ yes" : h("span", { class: "muted" }, "no")) }))],
          hooks,
          { empty: "No hook is implemented." },
        ),
      ),
    ),
  ]);
}
