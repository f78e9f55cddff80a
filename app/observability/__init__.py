"""Operator-facing observation: request ids, structured logs, Prometheus metrics, tracing.

Nothing here imports the adapters' internals or lets Strawberry into them: the upstream send
step (:mod:`app.adapters.http`) only reads an optional observer and an optional tracer from
context variables (the tracer only when ``[tracing]`` is enabled, :mod:`.tracing`).
"""
