"""``bench/replay.py``, the child ``python -m bench.instructions`` counts, answers for real.

It runs as a script with a tree on ``PYTHONPATH`` (here this one), builds its own gateway over
recorded upstream answers and fails loudly when a query does not answer: a count of a failing
run would measure an error path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = ["20", "5", "40", "2"]  # groups, members per group, users, counted answers


def _replay(query: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "replay.py"), query, *SIZES],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_child_answers_a_page_of_every_tenant() -> None:
    run = _replay("{ tenants { groups(first: 5) { nodes { displayName members { display } } } } }")
    assert run.returncode == 0, run.stderr


def test_the_child_answers_scenario_3s_node_of_a_group_it_looked_up() -> None:
    from bench.floor import NODE_QUERY

    run = _replay(NODE_QUERY)
    assert run.returncode == 0, run.stderr


def test_a_query_that_fails_fails_the_child() -> None:
    run = _replay('{ tenant(id: "acme") { groups(first: -1) { totalCount } } }')
    assert run.returncode != 0
    assert re.search(r"the query failed: .*first must be between", run.stderr), run.stderr


def test_the_parent_reads_callgrinds_count() -> None:
    from bench.instructions import _COLLECTED

    found = _COLLECTED.search(b"==1== Events    : Ir\n==1== Collected : 6888202496\n")
    assert found is not None and int(found.group(1)) == 6_888_202_496
