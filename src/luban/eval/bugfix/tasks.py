"""Task records for the manifest: the edits, fail-to-pass and pass-to-pass tests, an issue-style
statement and a difficulty tier, for a validated bug (a mutation or a reverted release hunk)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any, Mapping, Sequence

from .mutate import Mutation
from .pins import Pin
from .statement import concrete, evaluate, find_repro, from_crash, mentions_tests, tidy
from .validate import Baseline, Bench, Judgement, applied

PASS_TO_PASS_SAMPLE = 25  # pass-to-pass: every test in the files that break, plus this many others,
PASS_TO_PASS_MAX = 60  # then a seeded sample of at most this many, to keep the manifest small
HARD_KINDS = {"condition removed", "and/or swap", "off by one", "swapped operands"}


def make_task(pin: Pin, root: Path, pristine: Path, bench: Bench, base: Baseline, mutation: Mutation,
              verdict: Judgement, seed: int, **extra: Any) -> dict[str, Any]:
    """The manifest entry for a mutation; `extra` overrides fields (a release revert's edits, kind, tier)."""
    f2p = list(verdict.broken)
    p2p = pass_to_pass(base, f2p, seed)
    failure = verdict.run.failures.get(f2p[0], {}) if verdict.run else {}
    statement, _ = write_statement(pin, root, pristine, bench, mutation, failure, set(f2p) | set(p2p))
    edit = mutation.edit
    task = {"id": f"{pin.name}-{digest(edit.file, edit.offset, edit.old, edit.new)}",
            "library": pin.name, "version": pin.sdist.version, "kind": "mutation", "mutation": mutation.kind,
            "tier": "", "function": mutation.function, "line": mutation.line,
            "edits": [vars(edit)], "hidden": {}, "removed": [], "fail_to_pass": f2p, "pass_to_pass": p2p,
            "statement": statement}
    task = {**task, **extra}
    return finish(task)


def finish(task: Mapping[str, Any]) -> dict[str, Any]:
    """The derived fields of a task entry: a capped pass-to-pass list, a tidy statement, the tier. Applied
    again when manifests are merged, so parts built by earlier code agree."""
    p2p = list(task["pass_to_pass"])
    if len(p2p) > PASS_TO_PASS_MAX:
        p2p = sorted(random.Random(task["id"]).sample(p2p, PASS_TO_PASS_MAX))
    task = {**task, "pass_to_pass": p2p, "statement": tidy(task["statement"])}
    return {**task, "tier": tier_of(task)}


def pass_to_pass(base: Baseline, f2p: Sequence[str], seed: int) -> list[str]:
    files = {t.split("::")[0] for t in f2p}
    same = sorted(t for t in base.stable if t.split("::")[0] in files and t not in f2p)
    others = sorted(t for t in base.stable if t.split("::")[0] not in files)
    sample = random.Random(f"{seed}:{','.join(f2p)}").sample(others, min(PASS_TO_PASS_SAMPLE, len(others)))
    return sorted(same + sample)


def write_statement(pin: Pin, root: Path, pristine: Path, bench: Bench, mutation: Mutation,
                    failure: Mapping[str, Any], tests: set[str]) -> tuple[str, bool]:
    """(statement, whether it has a concrete reproduction)."""
    package = Path(pin.package).name
    repro = find_repro(failure, package) if failure else None
    if repro is not None:
        with applied(root, [mutation.edit]):
            broken = evaluate(pin, root, bench, repro)
        good = evaluate(pin, pristine, bench, repro)
        text = concrete(pin, repro, broken, good) if broken and good else ""
        if text and not mentions_tests(text, tests):
            return text, True
    names = {t.split("::")[-1].split("[")[0] for t in tests}
    text = from_crash(pin, failure, public_name(pin, mutation, failure), names)
    return text, False


def public_name(pin: Pin, mutation: Mutation, failure: Mapping[str, Any]) -> str:
    """The public function a user would see misbehave: the mutated one if public, else one it was called
    through, else the module."""
    module = _module(pin, mutation.edit.file)
    if mutation.function and not any(part.startswith("_") for part in mutation.function.split(".")):
        return f"`{module}.{mutation.function}`"
    for path, _, name in reversed(failure.get("frames", [])):
        rel = path.split(f"/{Path(pin.package).name}/", 1)
        if len(rel) == 2 and not name.startswith("_") and "test" not in path.rsplit("/", 1)[-1]:
            return f"`{_module(pin, pin.package + '/' + rel[1])}.{name}`"
    return f"the `{module}` module"


def _module(pin: Pin, rel: str) -> str:
    path = Path(rel).relative_to(pin.import_root) if pin.import_root != "." else Path(rel)
    parts = list(path.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tier_of(task: Mapping[str, Any]) -> str:
    """easy / medium / hard from the task itself, so any manifest can be re-tiered the same way: a reverted
    release is hard; a mutation scores 0 with a concrete reproduction in its statement, 1 when the statement
    names the broken function, else 2; plus 1 for a subtle kind and 1 when a single test breaks."""
    if task["kind"] == "release revert":
        return "hard"
    statement, function = task["statement"], task.get("function", "")
    if "Reproduction:" in statement:
        score = 0
    elif function and f".{function}`" in statement.splitlines()[0]:
        score = 1
    else:
        score = 2
    score += (task.get("mutation") in HARD_KINDS) + (len(task["fail_to_pass"]) == 1)
    return "easy" if score <= 1 else "medium" if score == 2 else "hard"


def digest(*parts: Any) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()[:8]
