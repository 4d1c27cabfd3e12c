// Runs graphql-http's GraphQL over HTTP server audit against a live om-graph server and prints
// the results as one JSON object. Usage: OM_GRAPH_AUDIT_TOKEN=<token> node audit.mjs <url>
// Exit status: 0 when every audit is ok, 1 when any is a warning or an error, 2 on bad usage.
import { auditServer } from 'graphql-http';

const [url] = process.argv.slice(2);
const token = process.env.OM_GRAPH_AUDIT_TOKEN;
if (!url || !token) {
  console.error('usage: OM_GRAPH_AUDIT_TOKEN=<token> node audit.mjs http://127.0.0.1:8000/graphql');
  process.exit(2);
}

// Every om-graph request needs a bearer token; the audit's own requests carry none.
function authenticatedFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: authenticatedFetch });
const report = { ok: 0, warn: 0, error: 0, results: [] };
for (const result of results) {
  report[result.status] += 1;
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = result.reason;
    entry.response = result.response ? { status: result.response.status, headers: Object.fromEntries(result.response.headers) } : null;
  }
  report.results.push(entry);
}
console.log(JSON.stringify(report, null, 2));
process.exit(report.warn + report.error === 0 ? 0 : 1);
