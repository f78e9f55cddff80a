"""HTTP-level concerns of the ASGI app: the GraphQL endpoint's view, and CORS."""
