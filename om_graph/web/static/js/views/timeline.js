// An order's timeline (#/orders/:id/timeline): the Gantt chart of every task (js/gantt.js) with
// its legend, a details panel for the focused task and a table of the tasks as the text
// alternative. Live: orderEvents for the order re-read the timeline (debounced).

import { Gantt, SCALES, details, legend, markers, model, ms, taskTable, when } from "../gantt.js";
import { gql } from "../gql.js";
import { badge, button, clear, errorList, field, h, jeopardyBadge, live, shortId } from "../ui.js";

const DATES = "plannedStartDate plannedEndDate estimatedStartDate estimatedEndDate actualStartDate actualEndDate";
const TIMELINE = `
query Timeline($id: ID!) {
  order(id: $id) {
    id state jeopardy customerId description
    timeline {
      state jeopardy startDate requestedCompletionDate committedCompletionDate expectedCompletionDate completedAt
      lines {
        id lineNumber offeringKey state jeopardy expectedCompletionDate
        domainOrders {
          id parentId kind specKey unitIndex state jeopardy ${DATES}
          tasks {
            id key name kind state jeopardy durationSeconds ${DATES}
            dueAt critical totalFloat releaseAt finishBlocked assignee
            dependencies { predecessorId type lag }
          }
        }
      }
    }
  }
}`;
const EVENTS = `subscription($id: ID) { orderEvents(orderId: $id) { id type entityKind toState } }`;
const DEBOUNCE_MS = 300;

export async function render(root, { params, signal }) {
  const orderId = params.id;
  const orderLink = `#/orders/${encodeURIComponent(orderId)}`;
  let scale = "fit";
  let data = null;
  let current = null; // the drawn model

  const title = h("h1", {}, `Timeline · order #${shortId(orderId)}`);
  const facts = h("div", { class: "timeline-facts panel" });
  const problems = h("div");
  const detailPanel = h(
    "section",
    { class: "gantt-details panel", "aria-labelledby": "gantt-details-title" },
    h("h2", { id: "gantt-details-title" }, "Task details"),
    h("p", { class: "muted" }, "Focus or point at a task's bar (Tab into the chart, then the arrow keys) to see its dates."),
  );
  let selectedId = null;

  const gantt = new Gantt({
    onSelect: (row) => {
      selectedId = row.task.id;
      clear(detailPanel, h("h2", { id: "gantt-details-title" }, "Task details"), details(row, current.tasks));
    },
  });

  const scaleSelect = h(
    "select",
    {
      name: "scale",
      onchange: () => {
        scale = scaleSelect.value;
        draw();
      },
    },
    Object.entries(SCALES).map(([key, s]) => h("option", { value: key, selected: key === scale }, s.label)),
  );
  const nowButton = button("Scroll to now", () => gantt.scrollToTime(Date.now()), { class: "secondary" });
  const controls = h(
    "div",
    { class: "timeline-controls" },
    field("Time scale", scaleSelect),
    nowButton,
  );

  const textAlt = h("details", { class: "gantt-text" });
  const textSummary = h("summary", {}, "Tasks as a table");
  const textBody = h("div", { class: "scroll" });
  textAlt.append(textSummary, textBody);
  textAlt.addEventListener("toggle", () => {
    if (textAlt.open && current) fillTable();
  });
  const fillTable = () =>
    clear(
      textBody,
      taskTable(current, (taskId) => gantt.focusTask(taskId)),
    );

  const chartSection = h(
    "section",
    { class: "panel", "aria-labelledby": "gantt-title" },
    h("h2", { id: "gantt-title" }, "Gantt chart"),
    controls,
    legend(gantt),
    gantt.el,
  );
  const empty = h("p", { class: "empty" });

  root.append(
    h("div", { class: "timeline-head" }, h("div", {}, title, h("p", {}, h("a", { href: orderLink }, `← Back to order #${shortId(orderId)}`)))),
    problems,
    facts,
    empty,
    chartSection,
    detailPanel,
    textAlt,
  );

  function drawFacts(order) {
    const t = order.timeline;
    const marks = Object.fromEntries(markers(t, Date.now()).map((m) => [m.kind, m.t]));
    clear(
      facts,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Order state"),
        h("dd", { "data-fact": "state" }, badge(order.state), " ", jeopardyBadge(order.jeopardy)),
        h("dt", {}, "Customer"),
        h("dd", {}, order.customerId),
        h("dt", {}, "Planned from"),
        h("dd", {}, when(ms(t?.startDate))),
        h("dt", {}, "Requested completion"),
        h("dd", {}, when(marks.requested ?? null)),
        h("dt", {}, "Committed completion"),
        h("dd", { "data-fact": "committed" }, when(marks.committed ?? null)),
        h("dt", {}, "Expected completion"),
        h("dd", { "data-fact": "expected" }, when(marks.expected ?? null)),
        t?.completedAt ? [h("dt", {}, "Completed"), h("dd", {}, when(ms(t.completedAt)))] : null,
      ),
    );
  }

  function draw() {
    const t = data?.timeline;
    const count = t ? t.lines.reduce((n, l) => n + l.domainOrders.reduce((k, d) => k + d.tasks.length, 0), 0) : 0;
    chartSection.hidden = !count;
    textAlt.hidden = !count;
    empty.hidden = Boolean(count);
    if (!count) {
      empty.textContent = "No plan yet: the chart appears when the order's tasks are planned (after submission and approval).";
      current = null;
      return;
    }
    current = gantt.draw(t, { scale });
    nowButton.hidden = !markers(t, Date.now()).some((mark) => mark.kind === "now");
    textSummary.textContent = `Tasks as a table (${count} task${count === 1 ? "" : "s"})`;
    if (textAlt.open) fillTable();
    const selected = selectedId && current.tasks.get(selectedId);
    if (selected) gantt.onSelect(selected);
  }

  async function load() {
    const result = await gql(TIMELINE, { id: orderId });
    if (signal.aborted) return;
    if (!result.order) {
      clear(root, h("h1", {}, "Not found"), h("p", {}, "There is no such order, or your role may not see it."));
      return;
    }
    data = result.order;
    drawFacts(data);
    draw();
  }

  // Live: every event of the order reads the timeline again, at most every DEBOUNCE_MS.
  let timer = null;
  let loading = null;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (loading) {
        refresh();
        return;
      }
      loading = load()
        .then(() => problems.replaceChildren())
        .catch((error) => problems.replaceChildren(errorList(error)))
        .finally(() => {
          loading = null;
        });
    }, DEBOUNCE_MS);
  };
  controls.append(
    live(
      EVENTS,
      { id: orderId },
      {
        connected: () => refresh(), // (re)connected: read what may have changed before the subscription started
        next: () => refresh(),
        error: (error) => problems.replaceChildren(errorList(error)),
      },
      signal,
    ),
  );
  signal.addEventListener("abort", () => clearTimeout(timer));

  // Redraw a "fit" chart when the window's width changes (once it settles).
  let resizeTimer = null;
  const onResize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => scale === "fit" && current && draw(), 200);
  };
  window.addEventListener("resize", onResize);
  signal.addEventListener("abort", () => {
    clearTimeout(resizeTimer);
    window.removeEventListener("resize", onResize);
  });

  await load();
}
