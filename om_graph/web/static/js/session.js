// Who is signed in: the token (gql.js keeps it for this tab) and the API's `viewer` — roles,
// the customer's account and the permissions the roles grant. Screens and actions are shown by
// permission; the API checks every one again.

import { gql, setToken, token } from "./gql.js";

let current = null;

export async function loadViewer() {
  if (!token()) return null;
  const data = await gql("{ viewer { id roles accountId permissions } }");
  current = { ...data.viewer, permissions: new Set(data.viewer.permissions) };
  return current;
}

export function viewer() {
  return current;
}

export function can(permission) {
  return Boolean(current?.permissions.has(permission));
}

/** Customers (an account set) get the portal; staff the workspace. */
export function isCustomer() {
  return Boolean(current?.accountId);
}

export function signIn(value) {
  setToken(value.trim());
}

export function signOut() {
  current = null;
  setToken(null);
}
