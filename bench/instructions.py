"""``python -m bench.instructions [BASE]``: CPU instructions per answer, this tree against BASE.

Wall-clock and CPU-time figures on a shared VM drift by tens of percent within minutes (the
same code measured 12-19 ms of CPU per acme answer in one hour). An instruction count does
not: ``valgrind --tool=callgrind`` counts the same total for the same program and inputs,
whatever else the machine is doing. Each tree answers a scenario-2 query (or scenario 3's
``node(id:)``, ``--case "node(id:)"``) in process over recorded upstream answers
(:mod:`bench.replay`) twice under callgrind, ``--answers`` times apart; the difference,
divided by that, is the instructions of one answer, with start-up and warm-up taken out.
Slow (callgrind runs Python ~50x slower: a few minutes per tree, runs two at a time) and
blind to what the clock sees (waits, cache misses, the other vCPU), so it complements
``python -m bench.ab`` rather than replacing it.

BASE is another checkout of the project (``git worktree add /tmp/base <rev>``); its ``app``
is measured with this tree's child script. Needs valgrind.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.floor import NODE_QUERY
from bench.scenarios import FULL, MEMBERS
from bench.scenarios.latency import cases

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "replay.py"
_COLLECTED = re.compile(rb"Collected : (\d+)")
FEW = 2
"""Counted answers in the shorter of a tree's two runs."""
NODE = "node(id:)"


def count(tree: Path, query: str, answers: int) -> int:
    """Instructions callgrind counts for the child answering ``answers`` times in ``tree``."""
    sizes = [str(FULL.groups), str(MEMBERS), str(FULL.users), str(answers)]
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, str(CHILD), query, *sizes]
    # A fixed hash seed: with a random one, dicts and sets lay out differently from run to
    # run, and the count moves by more than a small change (several M per answer).
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        tail = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
        raise RuntimeError(f"callgrind run in {tree} failed:\n{tail}")
    return int(found.group(1))


def per_answer(trees: list[Path], query: str, answers: int) -> list[float]:
    """Each tree's instructions per answer (its two runs side by side, two at a time)."""
    jobs = [(tree, n) for tree in trees for n in (FEW, FEW + answers)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = list(pool.map(lambda job: count(job[0], query, job[1]), jobs))
    return [(totals[2 * i + 1] - totals[2 * i]) / answers for i in range(len(trees))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", nargs="?", type=Path, help="another checkout of the project")
    queries = {case.name: case.query for case in cases(50)}
    queries[NODE] = NODE_QUERY  # scenario 3's request, of acme's first group
    parser.add_argument("--case", default="acme alone", choices=list(queries))
    parser.add_argument("--answers", type=int, default=10, help="answers between the two runs")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    query = queries[args.case]
    trees = [ROOT, *([args.base.resolve()] if args.base else [])]
    label = args.case if args.case == NODE else f"{args.case}, N=50"
    print(f"{label}: instructions per answer (callgrind, {args.answers} answers)")
    figures = per_answer(trees, query, args.answers)
    for tree, figure in zip(trees, figures, strict=True):
        print(f"  {figure / 1e6:8.2f} M  {tree}")
    if len(figures) == 2:
        print(f"  this tree / base: {figures[0] / figures[1]:.3f}x")


if __name__ == "__main__":
    main()
