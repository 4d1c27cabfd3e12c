// The one way the front-end talks to om-graph: the public GraphQL API with the caller's bearer
// token. Queries and mutations over HTTP; live updates over one graphql-transport-ws socket.

const TOKEN_KEY = "om-graph-token";

export class ApiError extends Error {
  constructor(errors, status) {
    super(errors.map((e) => e.message).join("; ") || `request failed (${status})`);
    this.errors = errors;
    this.code = errors[0]?.extensions?.code ?? null;
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  socket.close();
}

/** Run a query or mutation; resolves to `data`, rejects with ApiError on GraphQL or HTTP errors. */
export async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token() ?? ""}` },
    body: JSON.stringify({ query, variables }),
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new ApiError([{ message: `the server answered ${response.status}` }], response.status);
  }
  if (body.errors?.length) throw new ApiError(body.errors, response.status);
  if (!response.ok) throw new ApiError([{ message: `the server answered ${response.status}` }], response.status);
  return body.data;
}

/**
 * Run a mutation whose payload carries typed `errors` (UserError: field, code, message): resolves
 * to the payload, with `errors` empty on success.
 */
export async function mutate(query, variables, field) {
  const data = await gql(query, variables);
  return data[field];
}

// -- subscriptions (graphql-transport-ws) ------------------------------------------------------

class Socket {
  constructor() {
    this.ws = null;
    this.ready = false;
    this.nextId = 1;
    this.active = new Map(); // id -> {payload, handlers}
    this.retry = 0;
    this.timer = null;
  }

  subscribe(query, variables, handlers, signal) {
    const id = String(this.nextId++);
    const entry = { payload: { query, variables }, handlers };
    this.active.set(id, entry);
    this.ensure();
    if (this.ready) {
      this.send({ id, type: "subscribe", payload: entry.payload });
      queueMicrotask(() => this.active.has(id) && handlers.connected?.());
    }
    signal?.addEventListener("abort", () => this.unsubscribe(id), { once: true });
    return () => this.unsubscribe(id);
  }

  unsubscribe(id) {
    // The socket stays open for the next screen's subscriptions (one per tab, closed at sign-out).
    if (!this.active.delete(id)) return;
    if (this.ready) this.send({ id, type: "complete" });
  }

  ensure() {
    if (this.ws || this.active.size === 0) return;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
    const ws = new WebSocket(url, "graphql-transport-ws");
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token() ?? ""}` } }));
    ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    ws.onclose = () => {
      if (this.ws !== ws) return; // a socket closed on purpose (sign-out) before this one opened
      this.ws = null;
      this.ready = false;
      if (this.active.size) this.reconnect();
    };
  }

  reconnect() {
    const delay = Math.min(10000, 250 * 2 ** this.retry++);
    for (const { handlers } of this.active.values()) handlers.reconnecting?.();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.ensure(), delay);
  }

  receive(message) {
    switch (message.type) {
      case "connection_ack":
        this.ready = true;
        this.retry = 0;
        for (const [id, entry] of this.active) {
          this.send({ id, type: "subscribe", payload: entry.payload });
          entry.handlers.connected?.();
        }
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next": {
        const entry = this.active.get(message.id);
        if (!entry) break;
        if (message.payload.errors?.length) entry.handlers.error?.(new ApiError(message.payload.errors));
        else entry.handlers.next(message.payload.data);
        break;
      }
      case "error":
        this.active.get(message.id)?.handlers.error?.(new ApiError(message.payload ?? []));
        this.active.delete(message.id);
        break;
      case "complete":
        this.active.delete(message.id);
        break;
    }
  }

  send(message) {
    this.ws?.send(JSON.stringify(message));
  }

  close() {
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    ws?.close();
  }
}

const socket = new Socket();

/**
 * Subscribe; `handlers.next(data)` for each result, optional `error`, `connected` (also after a
 * reconnect: reload what may have been missed) and `reconnecting`. Ends when `signal` aborts.
 */
export function subscribe(query, variables, handlers, signal) {
  return socket.subscribe(query, variables, handlers, signal);
}
