"""Benchmarks of scim-gateway: ``python -m bench`` (quick) or ``python -m bench --full``.

Everything runs over real HTTP on 127.0.0.1: each emulator, the gateway and the floor app are
uvicorn servers in their own processes (:mod:`bench.servers`), driven by ``httpx.AsyncClient``.
Every figure is printed beside a baseline measured in the same run; nothing fails on a time.
See ``docs/performance.md``.
"""
