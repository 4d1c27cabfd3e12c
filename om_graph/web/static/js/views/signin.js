// Sign in with an om-graph API token or a JWT from the identity provider; in demo mode, pick a
// demo role (its token comes from /ui/demo-sign-in, which production mode does not serve).

import { ApiError } from "../gql.js";
import { loadViewer, signIn, signOut } from "../session.js";
import { button, clear, errorList, field, h } from "../ui.js";

const ROLE_LABELS = {
  customer: "Customer (account DEMO-CUSTOMER-1)",
  customer_b: "Customer B (account DEMO-CUSTOMER-2)",
};

async function useToken(value, errorsAt) {
  signIn(value);
  try {
    await loadViewer();
  } catch (error) {
    signOut();
    clear(errorsAt, errorList(error instanceof ApiError ? error : { message: "that token was not accepted" }));
    return;
  }
  document.dispatchEvent(new CustomEvent("om:signed-in"));
}

export async function render(root) {
  const errors = h("div");
  const tokenInput = h("input", { type: "password", name: "token", autocomplete: "off", required: true });
  const form = h(
    "form",
    {
      class: "panel signin",
      onsubmit: (event) => {
        event.preventDefault();
        useToken(tokenInput.value, errors);
      },
    },
    h("h2", {}, "With a token"),
    field("API token or JWT", tokenInput, "Issued by `om-graph token create` or your identity provider."),
    h("button", { type: "submit" }, "Sign in"),
  );
  root.append(h("h1", {}, "Sign in to om-graph"), errors, form);

  const demo = await fetch("demo-sign-in").then((r) => (r.ok ? r.json() : { demo: false })).catch(() => ({ demo: false }));
  if (!demo.demo) return;
  root.append(
    h(
      "section",
      { class: "panel", "aria-labelledby": "demo-roles" },
      h("h2", { id: "demo-roles" }, "Demo roles"),
      h("p", {}, "Demo mode: sign in as one of the demo users."),
      h(
        "ul",
        { class: "demo-roles" },
        demo.roles.map(({ label }) =>
          h(
            "li",
            {},
            button(ROLE_LABELS[label] ?? label.replaceAll("_", " "), async () => {
              const answer = await fetch("demo-sign-in", {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ label }),
              })
                .then((r) => r.json())
                .catch(() => ({ error: "the server did not answer" }));
              if (answer.token) useToken(answer.token, errors);
              else clear(errors, errorList({ message: answer.error }));
            }, { "data-role": label }),
          ),
        ),
      ),
    ),
  );
}
