"""The web front-end (/ui/, om_graph/web/static): render times in Debian's Chromium, driven by
Playwright as tests/web drives it (no browser download), against one ``om-graph serve``
(embedded SQLite, in-process workers, the demo catalog from the installed packs). Three figures:

1. **Order list render**: the ``#/orders`` screen (its first page of 25) over N demo orders (fibre
   broadband, created through GraphQL, one in five submitted so they run), signed in as the demo
   order_manager. ``window.omRenderTimes['/orders']`` (the router's time from the hash change to
   the screen rendered, its GraphQL round trip included) over R renders (``#/orders?r=<i>``).
   Reference: the very request the screen sent (captured), timed with ``fetch`` from the same
   page, alternating with the renders; the ratio is the UI's cost over the API's.
   Target: median < 300 ms.
2. **Order detail render**: ``#/orders/<id>`` for a running fibre order (its plan exists), the same
   way; reference the screen's own detail query timed with ``fetch``. Target: median < 300 ms.
3. **Gantt draw**: the SD-WAN order of tests/web/test_timeline.py (3 lines x 12 ``sdwan-site``:
   504 tasks; 1 line, 168 tasks, at --size tiny) at ``#/orders/<id>/timeline``;
   ``window.omGanttRender.ms`` (the chart's draw) over R redraws (the scale select switched between
   week, day and fit), and the longest gap between animation frames while they run. Reference: the
   same page building a plain SVG of as many ``rect`` elements as the chart has (a trivial loop),
   same run. Target: draw median < 1000 ms and longest frame gap < 1000 ms.

Beside, the mean CPU per render where it is cheap: the page's main-thread task time (CDP
``Performance.getMetrics`` TaskDuration: script, style, layout, paint, from the hash change until
the render was reported back, so the first paint is included) and the server's CPU (from /proc, in
10 ms ticks: a mean over the renders, not a per-render figure). Renders are 1.2 s apart: each
screen's live subscription starts timers when it connects (a re-read of the visible rows or the
order), which must fire outside the next measured render. Skipped when Chromium is not installed.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
import uuid
from pathlib import Path

from bench.common import (
    CREATE,
    SUBMIT,
    Client,
    Result,
    base_env,
    percentile,
    sqlite_url,
    start_server,
    wait_for,
)

PARAMS = {
    "tiny": dict(orders=20, renders=5, redraws=3, sdwan_lines=1),
    "small": dict(orders=200, renders=30, redraws=15, sdwan_lines=3),
    "full": dict(orders=1000, renders=60, redraws=30, sdwan_lines=3),
}
SUBMIT_EVERY = 5  # one order in five submitted (it runs to the on-site installation work order)
SITES = 12  # sdwan-site quantity per line: 14 tasks each
TASKS_PER_SITE = 14
TARGET_RENDER_MS = 300.0
TARGET_GANTT_MS = 1000.0
TARGET_FRAME_GAP_MS = 1000.0
SETTLE_S = 1.2  # after each render: the screen's subscription timers (1 s at most) fire before the next
VIEWPORT = {"width": 1400, "height": 900}

FIBRE = [{"name": "bandwidth", "value": 500}, {"name": "installationAddress", "value": "12 Harbour Road, Leith"}]
SDWAN_SITE = [
    {"name": "siteName", "value": "Branch"},
    {"name": "siteAddress", "value": "1 Gantt Street"},
    {"name": "bandwidth", "value": 500},
    {"name": "wanLinks", "value": 3},
    {"name": "haPair", "value": True},
]
APPROVE = "mutation($id: ID!) { orderApprove(input: {id: $id}) { order { state } errors { code message } } }"
APPROVALS = "query($id: ID!) { order(id: $id) { state approvals { level role state } } }"
RUNNING = "{ orders(first: 1, states: [IN_PROGRESS]) { totalCount } }"
TASKS = "query($id: ID!) { order(id: $id) { domainOrders { tasks { key state } } } }"
TIMELINE = """
query($id: ID!) {
  order(id: $id) { timeline { lines { domainOrders { tasks { id plannedStartDate } } } } }
}"""

# -- in the page ------------------------------------------------------------------------------------

# Change the hash; resolve when the router says the screen rendered (om:rendered), with its time.
RENDER_JS = """async ({ hash, pattern, timeout }) => {
  const main = document.getElementById("main");
  const rendered = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no render of ${hash} within ${timeout} ms (data-ready=${main.dataset.ready}): `
      + main.innerText.slice(0, 500))), timeout);
    document.addEventListener("om:rendered", (e) => { clearTimeout(timer); resolve(e.detail.view); }, { once: true });
  });
  location.hash = hash;
  const view = await rendered;
  return { view, ms: window.omRenderTimes[pattern], rows: document.querySelectorAll("main tbody tr").length };
}"""

# The screen's own request, as gql.js sends it: fetch, then the JSON read.
FETCH_JS = """async ({ body }) => {
  const started = performance.now();
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${sessionStorage.getItem("om-graph-token")}` },
    body,
  });
  const data = await response.json();
  const ms = performance.now() - started;
  if (data.errors?.length) throw new Error(JSON.stringify(data.errors).slice(0, 1000));
  return { ms, bytes: JSON.stringify(data).length };
}"""

# Redraws at each scale in turn while an animation-frame loop records the gaps between frames.
REDRAW_JS = """async ({ redraws, pause }) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const gaps = [];
  let last = performance.now();
  let running = true;
  const tick = (t) => { gaps.push(t - last); last = t; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  await sleep(200);
  const select = document.querySelector("select[name=scale]");
  const scales = ["week", "day", "fit"];
  const renders = [];
  for (let i = 0; i < redraws; i++) {
    const scale = scales[i % scales.length];
    const asked = performance.now();
    select.value = scale;
    select.dispatchEvent(new Event("change"));
    const drawn = window.omGanttRender;  // the draw is synchronous in the change handler
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    renders.push({ scale: drawn.scale, ms: drawn.ms, tasks: drawn.tasks, untilNextFrameMs: performance.now() - asked });
    await sleep(pause);
  }
  running = false;
  const chart = document.querySelector("svg.gantt-chart");
  return {
    renders,
    maxFrameGapMs: Math.max(...gaps),
    frames: gaps.length,
    rects: chart.querySelectorAll("rect").length,
    elements: chart.querySelectorAll("*").length,
  };
}"""

# The reference: a plain SVG of n rects built detached and put into the page, once a frame.
PLAIN_SVG_JS = """async ({ n, reps }) => {
  const NS = "http://www.w3.org/2000/svg";
  const host = document.createElement("div");
  document.body.append(host);
  const times = [];
  for (let r = 0; r < reps; r++) {
    const started = performance.now();
    const root = document.createElementNS(NS, "svg");
    root.setAttribute("width", 2000);
    root.setAttribute("height", 26 * n / 3);
    for (let i = 0; i < n; i++) {
      const rect = document.createElementNS(NS, "rect");
      rect.setAttribute("x", (i * 37) % 1800);
      rect.setAttribute("y", 26 * Math.floor(i / 3));
      rect.setAttribute("width", 40 + (i % 7) * 10);
      rect.setAttribute("height", 14);
      rect.setAttribute("class", "planned");
      root.append(rect);
    }
    host.replaceChildren(root);
    times.push(performance.now() - started);
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 150)));
  }
  host.remove();
  return times;
}"""


def run(size: str, workdir: Path) -> list[Result]:
    from tests.web.harness import CHROMIUM, CHROMIUM_ARGS

    chromium = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if chromium is None:
        return [Result("web UI render times", None, "", note=f"skipped: chromium not installed ({CHROMIUM})")]
    from playwright.sync_api import sync_playwright

    p = PARAMS[size]
    # The demo catalog: the installed packs (entry points), not the test packs.
    env = base_env(OM_GRAPH_DATABASE_URL=sqlite_url(workdir / "ui.db"))
    server = start_server(env, workdir, name="ui")
    try:
        tokens = json.loads((server.log.parent / f"demo-tokens-{server.url.rsplit(':', 1)[1]}.json").read_text())["tokens"]
        seeded = _seed(server, tokens, p["orders"])
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                page, cdp, errors = _signed_in_page(browser, server.url, tokens["order_manager"])
                listing = _screen(
                    page,
                    cdp,
                    errors,
                    server,
                    "/orders",
                    "/orders",
                    p["renders"],
                    marker="orders(first",
                    name=f"{p['orders']:,} orders",
                )
                listing.data["seeded"] = seeded
                detail = _screen(
                    page,
                    cdp,
                    errors,
                    server,
                    f"/orders/{seeded['detail_order']}",
                    "/orders/:id",
                    p["renders"],
                    marker="query Order(",
                    name=f"running fibre order, {seeded['detail_tasks']} tasks",
                )
                page.context.close()
                gantt = _gantt(browser, server, tokens, p)
            finally:
                browser.close()
    finally:
        server.stop()
    return [listing, detail, gantt]


# -- data ---------------------------------------------------------------------------------------


def _seed(server, tokens: dict[str, str], count: int) -> dict:
    """N fibre orders through GraphQL, one in five submitted; waits until those are in progress
    with their on-site installation work order READY (the plan exists, the workers are idle)."""
    agent = Client(server.url, tokens["order_agent"])
    manager = Client(server.url, tokens["order_manager"])
    started = time.perf_counter()
    submitted = []
    try:
        for n in range(count):
            line = {"offering": "fibre-broadband-500", "characteristics": FIBRE}
            created = agent(CREATE, {"input": {"customerId": f"CUST-UI-{n % 37:03d}", "lines": [line]}})["orderCreate"]
            if created["errors"]:
                raise RuntimeError(f"orderCreate: {created['errors']}")
            if n % SUBMIT_EVERY == 0:
                order_id = created["order"]["id"]
                answer = agent(SUBMIT, {"id": order_id})["orderSubmit"]
                if answer["errors"]:
                    raise RuntimeError(f"orderSubmit: {answer['errors']}")
                submitted.append(order_id)
        wait_for(
            lambda: manager(RUNNING)["orders"]["totalCount"] >= len(submitted),
            120 + count / 5,
            interval=0.5,
            message=f"{len(submitted)} submitted orders in progress",
        )
        detail_order = submitted[-1]

        def installation_ready():
            tasks = [t for d in manager(TASKS, {"id": detail_order})["order"]["domainOrders"] for t in d["tasks"]]
            ready = any(t["key"] == "tsm.onsite-installation" and t["state"] == "READY" for t in tasks)
            return tasks if ready else None

        tasks = wait_for(installation_ready, 60, interval=0.3, message="the on-site installation work order READY")
    finally:
        agent.close()
        manager.close()
    return {
        "orders": count,
        "submitted": len(submitted),
        "seconds": round(time.perf_counter() - started, 1),
        "detail_order": detail_order,
        "detail_tasks": len(tasks),
    }


def _sdwan_order(server, tokens: dict[str, str], lines: int) -> tuple[str, int]:
    """The order of tests/web/test_timeline.py: ``lines`` x 12 SD-WAN sites (14 tasks each),
    submitted, each approval level decided as the role it names, until every task is planned."""
    gql = {role: Client(server.url, token) for role, token in tokens.items()}
    try:
        order_lines = [{"offering": "sdwan-site", "quantity": SITES, "characteristics": SDWAN_SITE}] * lines
        customer = f"CUST-GANTT-{uuid.uuid4().hex[:8]}"
        created = gql["order_agent"](CREATE, {"input": {"customerId": customer, "lines": order_lines}})["orderCreate"]
        if created["errors"]:
            raise RuntimeError(f"orderCreate: {created['errors']}")
        order_id = created["order"]["id"]
        submitted = gql["order_agent"](SUBMIT, {"id": order_id})["orderSubmit"]
        if submitted["errors"]:
            raise RuntimeError(f"orderSubmit: {submitted['errors']}")
        # The processing job asks for approval a moment after the submit: decide each level as
        # the role it names (a large order asks for two) until the order is in progress.
        deadline = time.monotonic() + 60
        while True:
            order = gql["order_manager"](APPROVALS, {"id": order_id})["order"]
            pending = [a for a in order["approvals"] if a["state"] == "PENDING"]
            if pending:
                level = min(pending, key=lambda a: a["level"])
                answer = gql[level["role"]](APPROVE, {"id": order_id})["orderApprove"]
                if answer["errors"]:
                    raise RuntimeError(f"orderApprove as {level['role']}: {answer['errors']}")
            elif order["state"] == "IN_PROGRESS":
                break
            elif order["state"] not in ("ACKNOWLEDGED", "PENDING") or time.monotonic() > deadline:
                raise RuntimeError(f"the SD-WAN order is {order['state']}, approvals {order['approvals']}")
            else:
                time.sleep(0.2)
        expected = lines * SITES * TASKS_PER_SITE

        def planned():
            timeline = gql["order_manager"](TIMELINE, {"id": order_id})["order"]["timeline"]
            tasks = [t for line in (timeline or {}).get("lines", []) for d in line["domainOrders"] for t in d["tasks"]]
            return len(tasks) if len(tasks) >= expected and all(t["plannedStartDate"] for t in tasks) else None

        return order_id, wait_for(planned, 180, interval=0.5, message=f"the {expected}-task plan")
    finally:
        for client in gql.values():
            client.close()


# -- the browser --------------------------------------------------------------------------------


def _signed_in_page(browser, url: str, token: str):
    """A fresh context signed in with the token in sessionStorage (gql.js's key), reloaded. The
    context bypasses the Content-Security-Policy so that Playwright may evaluate scripts."""
    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{url}/ui/")
    page.evaluate("token => sessionStorage.setItem('om-graph-token', token)", token)
    page.goto(f"{url}/ui/#/orders")
    page.reload()
    page.wait_for_selector('main[data-ready="true"][data-view="/orders"]')
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    return page, cdp, errors


def _task_seconds(cdp) -> float:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["TaskDuration"]


def _render(page, path: str, pattern: str, i: int) -> dict:
    rendered = page.evaluate(RENDER_JS, {"hash": f"#{path}?r={i}", "pattern": pattern, "timeout": 30_000})
    if rendered["view"] != pattern:
        raise RuntimeError(f"rendered {rendered['view']!r}, not {pattern!r}")
    return rendered


def _screen(page, cdp, errors, server, path: str, pattern: str, renders: int, *, marker: str, name: str) -> Result:
    """R renders of a screen, each followed (after the settle pause) by its request timed with fetch."""
    sent: list[str] = []

    def on_request(request):
        if request.method == "POST" and request.url.endswith("/graphql"):
            sent.append(request.post_data or "")

    page.on("request", on_request)
    first = _render(page, path, pattern, -1)  # warm-up: the module loaded; the screen's request captured
    page.wait_for_timeout(SETTLE_S * 1000)
    page.remove_listener("request", on_request)
    body = next((b for b in sent if marker in b), None)
    if body is None:
        raise RuntimeError(f"{pattern}: no request with {marker!r} among {len(sent)} sent")
    page.evaluate(FETCH_JS, {"body": body})  # warm-up

    times, refs, task_ms, server_ms = [], [], [], []
    for i in range(renders):
        tasks, cpu = _task_seconds(cdp), server.cpu_seconds()
        rendered = _render(page, path, pattern, i)
        task_ms.append(1000 * (_task_seconds(cdp) - tasks))
        server_ms.append(1000 * (server.cpu_seconds() - cpu))
        times.append(rendered["ms"])
        page.wait_for_timeout(SETTLE_S * 1000)
        ref = page.evaluate(FETCH_JS, {"body": body})
        refs.append(ref["ms"])
        page.wait_for_timeout(300)
    if errors:
        raise RuntimeError(f"script errors on {pattern}: {errors[:3]}")
    median, p95, ref_median = statistics.median(times), percentile(times, 95), statistics.median(refs)
    screen = "order list" if pattern == "/orders" else "order detail"
    return Result(
        f"UI {screen} render ({name}), {renders} renders",
        median,
        "ms median",
        target=f"median < {TARGET_RENDER_MS:.0f} ms",
        ok=median < TARGET_RENDER_MS,
        reference=ref_median,
        reference_unit="ms median fetch",
        ratio=median / ref_median if ref_median else None,
        note=f"p95 {p95:.0f} ms (fetch p95 {percentile(refs, 95):.0f} ms, {ref['bytes'] / 1024:.0f} KB); "
        f"main-thread tasks {statistics.mean(task_ms):.0f} ms/render, server CPU {statistics.mean(server_ms):.1f} ms/render"
        + (f"; {first['rows']} rows" if pattern == "/orders" else ""),
        data={
            "render_ms": times,
            "fetch_ms": refs,
            "main_thread_task_ms": task_ms,
            "server_cpu_ms": server_ms,
            "response_bytes": ref["bytes"],
            "query_chars": len(body),
            "rows": first["rows"],
        },
    )


def _gantt(browser, server, tokens: dict[str, str], p: dict) -> Result:
    order_id, tasks = _sdwan_order(server, tokens, p["sdwan_lines"])
    page, cdp, errors = _signed_in_page(browser, server.url, tokens["order_manager"])
    try:
        opened = _render(page, f"/orders/{order_id}/timeline", "/orders/:id/timeline", 0)
        page.wait_for_selector("svg.gantt-chart")
        first = page.evaluate("window.omGanttRender")
        if first["tasks"] != tasks:
            raise RuntimeError(f"the chart drew {first['tasks']} tasks, the plan has {tasks}")
        page.wait_for_timeout(2000)  # the subscription's first refresh (a second load and draw) is over
        busy = _task_seconds(cdp)
        redraw = page.evaluate(REDRAW_JS, {"redraws": p["redraws"], "pause": 150})
        task_ms = 1000 * (_task_seconds(cdp) - busy) / p["redraws"]
        plain = page.evaluate(PLAIN_SVG_JS, {"n": redraw["rects"], "reps": p["redraws"]})
        if errors:
            raise RuntimeError(f"script errors on the timeline: {errors[:3]}")
    finally:
        page.context.close()
    draws = [r["ms"] for r in redraw["renders"]]
    if any(r["tasks"] != tasks for r in redraw["renders"]):
        raise RuntimeError(f"a redraw drew other than {tasks} tasks: {redraw['renders']}")
    median, plain_median, gap = statistics.median(draws), statistics.median(plain), redraw["maxFrameGapMs"]
    by_scale = {s: statistics.median([r["ms"] for r in redraw["renders"] if r["scale"] == s]) for s in ("week", "day", "fit")}
    return Result(
        f"UI Gantt draw ({tasks} tasks), {p['redraws']} redraws",
        median,
        "ms median",
        target=f"median < {TARGET_GANTT_MS:.0f} ms, frame gap < {TARGET_FRAME_GAP_MS:.0f} ms",
        ok=median < TARGET_GANTT_MS and gap < TARGET_FRAME_GAP_MS,
        reference=plain_median,
        reference_unit=f"ms plain SVG of {redraw['rects']} rects",
        ratio=median / plain_median if plain_median else None,
        note=f"longest frame gap {gap:.0f} ms; p95 {percentile(draws, 95):.0f} ms; by scale "
        + ", ".join(f"{s} {v:.0f}" for s, v in by_scale.items())
        + f"; first draw {first['ms']:.0f} ms, screen {opened['ms']:.0f} ms; main-thread tasks {task_ms:.0f} ms/redraw "
        f"(with layout and paint); {redraw['elements']:,} SVG elements",
        data={
            "tasks": tasks,
            "draw_ms": draws,
            "plain_svg_ms": plain,
            "max_frame_gap_ms": gap,
            "redraws": redraw["renders"],
            "rects": redraw["rects"],
            "elements": redraw["elements"],
            "first_draw_ms": first["ms"],
            "screen_ms": opened["ms"],
            "main_thread_task_ms_per_redraw": task_ms,
            "frames": redraw["frames"],
        },
    )
