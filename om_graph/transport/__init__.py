"""GraphQL over HTTP: what the transport checks before a request reaches the schema (body size,
media types, the shape of the request body), the graphql-transport-ws handler's message checks, and the
GraphiQL page served from the package."""
