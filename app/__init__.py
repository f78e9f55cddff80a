"""scim-gateway: one GraphQL API in front of many SCIM 2.0 directories."""
