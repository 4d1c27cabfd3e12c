"""GraphQL over HTTP: what the transport checks before a request reaches the schema (body size,
media types, the shape of the request body) and the GraphiQL page served from the package."""
