// Hash routes -> screen modules. Each screen module exports `render(root, ctx)`; `ctx.signal`
// aborts when the user leaves the screen (subscriptions and timers stop with it). When a screen
// has rendered, <main> gets data-ready and its render time is kept in window.omRenderTimes
// (the browser tests and bench/ui.py read it); data-path says which address it rendered.

import { clear, errorList, h } from "./ui.js";

const routes = [];
let controller = null;
window.omRenderTimes = window.omRenderTimes ?? {};

/** route("/orders/:id", () => import("./views/order.js"), {title, allowed}) */
export function route(pattern, load, options = {}) {
  const names = [];
  const regex = new RegExp(
    `^${pattern.replace(/:([a-zA-Z]+)/g, (_, name) => {
      names.push(name);
      return "([^/]+)";
    })}$`,
  );
  routes.push({ pattern, regex, names, load, ...options });
}

export function navigate(path) {
  if (location.hash === `#${path}`) render();
  else location.hash = path;
}

export function currentPath() {
  return location.hash.replace(/^#/, "") || "/";
}

export async function render() {
  const main = document.getElementById("main");
  const path = currentPath().split("?")[0];
  const query = new URLSearchParams(currentPath().split("?")[1] ?? "");
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  const found = routes.find((r) => r.regex.test(path));
  main.removeAttribute("data-ready");
  main.dataset.path = currentPath(); // which address the coming data-ready is for
  if (!found || (found.allowed && !found.allowed())) {
    clear(main, h("h1", {}, "Not found"), h("p", {}, "There is no such screen, or your role may not open it."));
    main.dataset.ready = "missing";
    return;
  }
  const params = Object.fromEntries(found.names.map((n, i) => [n, decodeURIComponent(path.match(found.regex)[i + 1])]));
  const started = performance.now();
  document.title = `${found.title ?? "om-graph"} · om-graph`;
  main.dataset.view = found.pattern;
  try {
    const module = await found.load();
    if (signal.aborted) return;
    clear(main);
    await module.render(main, { params, query, signal, navigate });
    if (signal.aborted) return;
    window.omRenderTimes[found.pattern] = performance.now() - started;
    main.dataset.ready = "true";
    document.dispatchEvent(new CustomEvent("om:rendered", { detail: { view: found.pattern } }));
  } catch (error) {
    if (signal.aborted) return;
    clear(main, h("h1", {}, found.title ?? "Error"), errorList(error));
    main.dataset.ready = "error";
  }
  for (const link of document.querySelectorAll("#nav a")) {
    const active = path === link.dataset.path || path.startsWith(`${link.dataset.path}/`);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

export function start() {
  window.addEventListener("hashchange", render);
  return render();
}
