// The shell: sign-in, the navigation the caller's permissions allow, and the screens' routes.

import { ApiError } from "./gql.js";
import { currentPath, navigate, route, start } from "./router.js";
import { can, isCustomer, loadViewer, signOut, viewer } from "./session.js";
import { button, clear, h } from "./ui.js";

const staff = (permission) => () => !isCustomer() && can(permission);
const customer = () => isCustomer();

// Workspace (staff)
route("/orders", () => import("./views/orders.js"), { title: "Orders", allowed: staff("order:read") });
route("/orders/:id", () => import("./views/order.js"), { title: "Order", allowed: staff("order:read") });
route("/orders/:id/timeline", () => import("./views/timeline.js"), { title: "Timeline", allowed: staff("fulfilment:read") });
route("/tasks", () => import("./views/tasks.js"), { title: "My tasks", allowed: staff("task:complete") });
route("/approvals", () => import("./views/approvals.js"), { title: "Approvals", allowed: staff("order:approve") });
route("/fallout", () => import("./views/fallout.js"), { title: "Fallout", allowed: staff("fallout:work") });
route("/admin/decisions", () => import("./views/decisions.js"), { title: "Decision tables", allowed: staff("decision:read") });
route("/admin/decisions/:name", () => import("./views/decision.js"), { title: "Decision table", allowed: staff("decision:read") });
route("/admin/catalog", () => import("./views/catalog_admin.js"), { title: "Catalog", allowed: staff("catalog:read") });
route("/admin/packs", () => import("./views/packs.js"), { title: "Packs", allowed: staff("decision:read") });
// Portal (customers)
route("/shop", () => import("./views/portal_shop.js"), { title: "Shop", allowed: customer });
route("/shop/:key", () => import("./views/portal_configure.js"), { title: "Configure", allowed: customer });
route("/my/orders", () => import("./views/portal_orders.js"), { title: "My orders", allowed: customer });
route("/my/orders/:id", () => import("./views/portal_order.js"), { title: "Order", allowed: customer });
route("/my/products", () => import("./views/portal_products.js"), { title: "My products", allowed: customer });
// Both
route("/signin", () => import("./views/signin.js"), { title: "Sign in" });
route("/", () => ({ render: () => navigate(home()) }), { title: "Home" });

const STAFF_NAV = [
  ["/orders", "Orders", "order:read"],
  ["/tasks", "My tasks", "task:complete"],
  ["/approvals", "Approvals", "order:approve"],
  ["/fallout", "Fallout", "fallout:work"],
  ["/admin/decisions", "Decision tables", "decision:read"],
  ["/admin/catalog", "Catalog", "catalog:read"],
  ["/admin/packs", "Packs", "decision:read"],
];
const PORTAL_NAV = [
  ["/shop", "Shop"],
  ["/my/orders", "My orders"],
  ["/my/products", "My products"],
];

function home() {
  if (!viewer()) return "/signin";
  if (isCustomer()) return "/shop";
  return STAFF_NAV.find(([, , permission]) => can(permission))?.[0] ?? "/signin";
}

function drawChrome() {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  const me = viewer();
  if (!me) {
    clear(nav);
    clear(who);
    return;
  }
  const items = isCustomer() ? PORTAL_NAV : STAFF_NAV.filter(([, , permission]) => can(permission));
  clear(nav, h("ul", {}, items.map(([path, label]) => h("li", {}, h("a", { href: `#${path}`, "data-path": path }, label)))));
  clear(
    who,
    h("span", { class: "who", title: me.roles.join(", ") }, me.accountId ? `Account ${me.accountId}` : me.roles.join(", ")),
    button("Sign out", () => {
      signOut();
      drawChrome();
      navigate("/signin");
    }, { class: "link" }),
  );
}

document.addEventListener("om:signed-in", async () => {
  await loadViewer();
  drawChrome();
  navigate(home());
});

async function boot() {
  try {
    await loadViewer();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    signOut(); // an expired or revoked token: sign in again
  }
  drawChrome();
  if (!viewer() && currentPath() !== "/signin") location.hash = "/signin";
  await start();
}

boot();
