"""Operator-facing observation: request ids, structured logs, Prometheus metrics, tracing.

Nothing here imports the adapters' internals or lets Strawberry into them: the upstream send
step (:mod:`app.adapters.http`) only reads an optional observer from a context variable.
"""
