"""How well fault localization finds the bug in the bugfix suite's tasks, without a model.

    python bench/localize.py [--limit 20 --seed 1 --tier easy] [--tasks ID,ID]

Each task's workspace is prepared as `luban eval bugfix` prepares it, and its tests run once under coverage, one
context per test case. The ranking is then made four ways from that one run: with a test per case (as Luban now
measures) or per test function (the cases of a parametrized test merged, as coverage's own contexts do), each with
and without the evidence of quoted values (harness/literals.py). For each task it prints where the mutated function
ranks, and `*` where the opening repair would rewrite it (among the first suspects that score close to the top);
then, per way, how many tasks have it first, in the top three, and among the rewrite targets.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from luban import config
from luban.eval.evaluate import load_suite, select
from luban.eval.runner import python_first
from luban.eval.task import Task
from luban.harness.faults import WEIGHTS, Suspect, mentions, rank
from luban.harness.rewrites import CLOSE_TO_TOP, SUSPECTS_TRIED
from luban.harness.spectrum import Measured, Spectrum, measure
from luban.sandbox import make
from luban.workspace import Workspace

WAYS = {
    "cases+literals": (True, WEIGHTS),
    "cases": (True, {**WEIGHTS, "literals": 0.0}),
    "functions+literals": (False, WEIGHTS),
    "functions": (False, {**WEIGHTS, "literals": 0.0}),
}


def by_function(spectrum: Spectrum) -> Spectrum:
    """The spectrum with each pytest case counted as its test function (`test_x.py::test_f[1]` as `test_x.py::
    test_f`): a function fails when any of its cases does."""
    def merged(context: str) -> str:
        return context.split("[", 1)[0] if "::" in context else context

    lines = {rel: {n: frozenset(merged(c) for c in tests) for n, tests in by_line.items()}
             for rel, by_line in spectrum.lines.items()}
    failing = frozenset(merged(c) for c in spectrum.failing)
    return Spectrum(lines, failing, frozenset(merged(c) for c in spectrum.passing) - failing)


def place(suspects: list[Suspect], function: str) -> tuple[int | None, bool]:
    """The 1-based rank of the suspect that holds `function` (itself, or the function it is nested in), and whether
    the opening repair would rewrite it."""
    top = suspects[0].score if suspects else 0.0
    for number, suspect in enumerate(suspects, 1):
        if function == suspect.function or function.startswith(suspect.function + "."):
            return number, number <= SUSPECTS_TRIED and suspect.score >= CLOSE_TO_TOP * top
    return None, False


def measured(task: Task, folder: Path) -> tuple[Measured, Path]:
    root = folder / "ws"
    root.mkdir()
    task.source.prepare(root)
    sandbox = make("auto", env={"PATH": python_first(), **task.env}, host=config.environment())
    ws = Workspace.open(root, folder / "out", sandbox)
    return measure(task.test_command, ws, timeout=int(task.grading.timeout_s)), root


def ranks(task: Task) -> dict[str, tuple[int | None, bool]]:
    with tempfile.TemporaryDirectory(prefix=f"luban-localize-{task.id}-") as tmp:
        found, root = measured(task, Path(tmp))
        if found.spectrum is None:
            print(f"{task.id}: no spectrum ({found.problem})")
        text = mentions(task.prompt, found.tested.report)
        places = {}
        for way, (cases, weights) in WAYS.items():
            spectrum = found.spectrum and (found.spectrum if cases else by_function(found.spectrum))
            scores = spectrum.ochiai() if spectrum else {}
            suspects = rank(root, scores, found.tested.report.failures, text, task.prompt, weights=weights)
            places[way] = place(suspects, task.meta["function"])
        return places


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tier", default="easy")
    parser.add_argument("--tasks", default=None)
    args = parser.parse_args()
    settings = config.load({})
    suite = load_suite("bugfix", Path(settings.data_dir) / "eval" / "cache")
    tasks = select(suite.tasks, args.tasks, args.limit, args.seed, args.tier)
    print("| task | mutated function | " + " | ".join(WAYS) + " |")
    print("|---|---|" + "---|" * len(WAYS))
    totals = {way: [0, 0, 0] for way in WAYS}
    for task in tasks:
        places = ranks(task)
        cells = []
        for way, (number, rewritten) in places.items():
            cells.append(f"{number or '-'}{' *' if rewritten else ''}")
            totals[way][0] += number == 1
            totals[way][1] += number is not None and number <= 3
            totals[way][2] += rewritten
        print(f"| {task.id} | {task.meta['function']} | " + " | ".join(cells) + " |")
    print(f"\n{len(tasks)} tasks: first / top three / rewritten by the opening repair")
    for way, (first, three, rewritten) in totals.items():
        print(f"  {way}: {first} / {three} / {rewritten}")


if __name__ == "__main__":
    main()
