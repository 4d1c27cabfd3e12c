"""The reference front-end: the staff workspace and the customer portal, served by ``om-graph serve``.

Everything a screen shows or does goes through the public GraphQL API from the browser (HTTP for
queries and mutations, graphql-transport-ws for live updates) with the caller's bearer token, so
the API's permissions and row scoping are the front-end's. The server side only serves the static
shell and modules (``static/``, hand-written ES modules: no build step) and, in demo mode, the demo
tokens to sign in with (docs/web.md).
"""
