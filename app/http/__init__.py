"""HTTP-level concerns of the ASGI app that are not GraphQL: CORS."""
