"""Issue-style problem statements: the symptom, a small reproduction and the expected behaviour, derived
from a failing assertion (evaluated on the pristine and the broken library when it is self-contained) or
from the exception it raised. A statement never names or quotes the tests."""

from __future__ import annotations

import ast
import builtins
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..grade import run_command
from .pins import Pin
from .validate import Bench, python_env


@dataclass(frozen=True)
class Repro:
    """A self-contained expression that shows the bug: the imports it needs, the call, what it should give."""

    imports: tuple[str, ...]
    call: str
    expected: str  # an expression for the expected value, or "" for "should be true"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str  # repr of the value, or "ExcType: message"


def find_repro(failure: Mapping[str, Any], package: str) -> Repro | None:
    """A reproduction from the failing assertion, if it only needs the library, builtins and literals."""
    try:
        node = ast.parse(failure.get("statement", "")).body[0]
        source = Path(failure["test_file"]).read_text(encoding="utf-8")
        imports = _library_imports(ast.parse(source), package)
    except (SyntaxError, IndexError, OSError, KeyError):
        return None
    if not isinstance(node, ast.Assert):
        return None
    params = {k: ast.parse(v, mode="eval").body for k, v in failure.get("params", {}).items()}
    call, expected = _sides(node.test, set(_bound(imports)))
    if call is None:
        return None
    call, expected = _Substitute(params).visit(call), expected and _Substitute(params).visit(expected)
    known = set(_bound(imports)) | set(dir(builtins))
    if not _free_names(call) <= known or (expected is not None and not _free_names(expected) <= known):
        return None
    return Repro(tuple(ast.unparse(i) for i in imports), ast.unparse(call),
                 ast.unparse(expected) if expected is not None else "")


def _library_imports(tree: ast.Module, package: str) -> list[ast.stmt]:
    found: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == package:
            found.append(node)
        elif isinstance(node, ast.Import) and all(a.name.split(".")[0] == package for a in node.names):
            found.append(node)
    return found


def _bound(imports: list[ast.stmt]) -> list[str]:
    names = []
    for node in imports:
        for alias in node.names:  # type: ignore[attr-defined]
            names.append(alias.asname or alias.name.split(".")[0])
    return [n for n in names if n != "*"]


def _sides(test: ast.expr, library: set[str]) -> tuple[ast.expr | None, ast.expr | None]:
    """(the library call, the expected expression) of `assert a == b` or `assert call(...)`."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        left, right = test.left, test.comparators[0]
        if _calls_library(right, library) and not _calls_library(left, library):
            return right, left
        return (left, right) if _calls_library(left, library) else (None, None)
    if _calls_library(test, library):
        return test, None
    return None, None


def _calls_library(node: ast.expr, library: set[str]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            root = sub.func
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in library:
                return True
    return False


def _free_names(node: ast.AST) -> set[str]:
    bound = {n.arg for n in ast.walk(node) if isinstance(n, ast.arg)}
    bound |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound


class _Substitute(ast.NodeTransformer):
    """Replace a parametrized test's argument names by their literal values."""

    def __init__(self, params: Mapping[str, ast.expr]):
        self.params = params

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.params.get(node.id, node) if isinstance(node.ctx, ast.Load) else node


_EVAL = """
import json, sys
def show(code):
    try:
        return [True, repr(eval(code, ns))[:400]]
    except BaseException as exc:
        return [False, (type(exc).__name__ + ": " + str(exc))[:400]]
ns = {}
exec(sys.argv[1], ns)
print(json.dumps([show(sys.argv[2]), show(sys.argv[3]) if sys.argv[3] else [True, "True"]]))
"""


def evaluate(pin: Pin, root: Path, bench: Bench, repro: Repro) -> tuple[Outcome, Outcome] | None:
    """(what the call gives, what it should give) in the tree at `root`."""
    path = ":".join([pin.import_root, "_deps"])
    args = " ".join(_quote(a) for a in ("\n".join(repro.imports), repro.call, repro.expected))
    command = f"PYTHONPATH={path} PYTHONDONTWRITEBYTECODE=1 python -c {_quote(_EVAL)} {args}"
    code, output = run_command(command, root, bench.sandbox, 30, python_env())
    if code != 0:
        return None
    try:
        (ok, text), (exp_ok, exp_text) = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return Outcome(ok, text), Outcome(exp_ok, exp_text)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def concrete(pin: Pin, repro: Repro, broken: tuple[Outcome, Outcome], pristine: tuple[Outcome, Outcome]) -> str:
    """A statement with the actual and expected results, when the broken and pristine results differ."""
    actual, expected = broken[0], pristine[0]
    if not expected.ok or actual == expected:
        return ""
    setup = "\n".join(f">>> {line}" for line in repro.imports)
    got = actual.text if actual.ok else f"Traceback (most recent call last):\n  ...\n{actual.text}"
    verb = f"returns `{_short(actual.text)}`" if actual.ok else f"raises `{_short(actual.text)}`"
    return (f"## `{repro.call}` gives the wrong result\n\n"
            f"With {pin.name} {pin.sdist.version} from this repository, `{repro.call}` {verb}, but it should "
            f"return `{_short(expected.text)}`.\n\n"
            f"Reproduction:\n\n```python\n{setup}\n>>> {repro.call}\n{got}\n```\n\n"
            f"Expected:\n\n```python\n>>> {repro.call}\n{expected.text}\n```\n\n" + _CLOSING)


def from_crash(pin: Pin, failure: Mapping[str, Any], where: str, hidden_names: set[str]) -> str:
    """A statement from the exception or assertion message alone, naming the public function involved."""
    crash = _scrub(failure.get("crash", ""), hidden_names)
    first = crash.splitlines()[0] if crash else "an unexpected result"
    return (f"## {where} misbehaves\n\n"
            f"With {pin.name} {pin.sdist.version} from this repository, code that uses {where} now fails. "
            f"The failure looks like this:\n\n```\n{crash}\n```\n\n"
            f"Expected: {where} behaves as documented and as in earlier releases, so this does not "
            f"happen (`{_short(first)}` should not occur).\n\n" + _CLOSING)


_CLOSING = ("Please fix the library code so it behaves as expected. The project's test suite should pass "
            "afterwards; do not change the tests.")


def _scrub(text: str, hidden_names: set[str]) -> str:
    """Keep the first lines of a crash message, without lines that would point at a test."""
    keep = []
    for line in text.splitlines()[:12]:
        if "test" in line.lower() or any(name in line for name in hidden_names):
            continue
        keep.append(re.sub(r"/tmp/\S+?/", "", line))
    return "\n".join(keep).strip()


def tidy(statement: str) -> str:
    """Drop what differs from run to run (object addresses), so a rebuild writes the same statement."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", statement)


def _short(text: str, limit: int = 120) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[:limit - 1] + "…"


def mentions_tests(statement: str, test_ids: set[str]) -> bool:
    """Whether a statement names a test (its function or its file)."""
    for test_id in test_ids:
        file, _, rest = test_id.partition("::")
        func = rest.split("[")[0].split("::")[-1]
        if (func and func in statement) or Path(file).name in statement:
            return True
    return False
