"""Self-checks: with no test command (HumanEval), what judges a focused write is the function's own
specification. Where its docstring has doctest examples they are the checks; where it states examples another
way ("Input: arr = [1, 2], k = 1 Output: 1"), the model writes them out as asserts in a short request of their
own. When the greedy write fails a check, a few warmer samples of the same request are tried, and the write
that passes the most checks is kept (on a tie the greedy one, the model's own answer).

Measured (issue 16): the greedy write alone equals the model alone (one plain request); this is where the
harness can add to it. A sample is taken only when the greedy write fails the checks, so a problem the model
solves at once costs one request more at most (the asserts), and none where the docstring has doctests.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from ..tools import bash
from ..workspace import Workspace

SAMPLES = 3  # warmer tries after a greedy write that fails a check (settings.edit_samples less the greedy one)
MAX_ASSERTS = 12
TIMEOUT_S = 20  # one candidate's checks; an endless loop scores nothing
PROMPT = """\
Write each example that the docstring below gives for `{name}` as one Python assert statement, such as \
`assert {name}(...) == ...`, all in one ```python code block. Use only the examples the docstring states, with \
their exact values. Do not write the function itself.

```python
{source}
```"""
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_SCORE = re.compile(r"^checks passed: (\d+)/(\d+)$", re.MULTILINE)
# Run in the workspace on the written file: its doctests (as `python3 -m doctest` runs them) or the asserts,
# each on its own, so that one failing check does not hide the others.
_SCRIPT = """\
import ast, contextlib, doctest, importlib.util, io, sys
sys.path.insert(0, ".")
sys.dont_write_bytecode = True  # no __pycache__ left in the workspace (the 1.5B deleted one, and the file)
spec = importlib.util.spec_from_file_location("_luban_checked", {path!r})
module = importlib.util.module_from_spec(spec)
with contextlib.redirect_stdout(io.StringIO()):
    spec.loader.exec_module(module)
failures, asserts = [], {asserts!r}
def left(line):
    test = ast.parse(line).body[0].test
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return repr(eval(ast.unparse(test.left if isinstance(test, ast.Compare) else test), dict(vars(module))))
    except Exception as exc:
        return f"{{type(exc).__name__}}: {{exc}}"
if asserts:
    for line in asserts:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(line, dict(vars(module)))
        except AssertionError:
            failures.append(f"{{line}}  # failed; the left side is {{left(line)}}"[:400])
        except Exception as exc:
            failures.append(f"{{line}}  # {{type(exc).__name__}}: {{exc}}"[:400])
    passed, total = len(asserts) - len(failures), len(asserts)
else:
    runner = doctest.DocTestRunner(verbose=False)
    for test in doctest.DocTestFinder().find(module):
        runner.run(test, out=failures.append)
    passed, total = runner.tries - runner.failures, runner.tries
print("".join(failures)[:3000] if not asserts else "\\n".join(failures[:8]))
if not total:
    print({path!r}, "has no docstring examples left to run: they were the checks of this function.")
print(f"checks passed: {{passed}}/{{total}}")
# The same again as unittest prints it, after the line above (what `run` reads stops there), so that the checks
# can serve as the regression guard's test command: its report reader takes counts and failures from this.
for number, failure in enumerate(failures if asserts else [], 1):
    print("=" * 70, f"FAIL: check_{{number}} (luban.checks)", "-" * 70, failure, sep="\\n")
ok = 0 < total == passed  # no example left to run is no check passed
print("-" * 70, f"Ran {{total}} tests in 0.000s", "", "OK" if ok else f"FAILED (failures={{total - passed or 1}})",
      sep="\\n")
sys.exit(0 if ok else 1)
"""


@dataclass(frozen=True)
class Checks:
    """What judges a written function: the file's doctests (no asserts), or asserts the model wrote."""

    path: str
    asserts: tuple[str, ...] = ()

    @property
    def command(self) -> str:
        script = _SCRIPT.format(path=self.path, asserts=list(self.asserts))
        return f"python3 - <<'LUBAN_CHECKS'\n{script}LUBAN_CHECKS"

    @property
    def label(self) -> str:
        """The checks as a test command is named in the guard's notes: the script itself is long."""
        return f"python3 -m doctest {self.path}" if not self.asserts else f"Luban's checks of {self.path}"

    def describe(self) -> str:
        if not self.asserts:
            return f"its docstring examples (`python3 -m doctest {self.path}`)"
        return "the checks Luban had written from its docstring's examples"


@dataclass(frozen=True)
class Result:
    passed: int
    total: int
    report: str  # the failures, as the checks printed them

    @property
    def clean(self) -> bool:
        return 0 < self.total == self.passed


def doctests(path: str, source: str) -> Checks | None:
    """The doctests of a function's source as its checks, when it has any."""
    return Checks(path) if ">>>" in source else None


def needs_asserts(source: str) -> bool:
    """Whether a function without doctests has a docstring that could state examples to check."""
    try:
        node = ast.parse(textwrap.dedent(source)).body[0]
    except (SyntaxError, IndexError):
        return False
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and ast.get_docstring(node) is not None


def request_text(name: str, source: str) -> str:
    return PROMPT.format(name=name, source=textwrap.dedent(source).strip("\n"))


def asserts(blocks: list[str], name: str, source: str) -> tuple[str, ...]:
    """The assert statements of a reply's code blocks that call `name` with only values the function's `source`
    states, each on one line, without repeats.

    Why the values: asked for the docstring's one example of add_elements (HumanEval-122), the 1.5B wrote it and
    four of its own, one of them wrong (`add_elements([100, 200, 300, 400, 500], 2) == 500`); told that the correct
    write failed it, the model rewrote the function to do something else. An example the docstring states has its
    numbers and strings in the docstring."""
    found: list[str] = []
    for block in blocks:
        try:
            tree = ast.parse(textwrap.dedent(block))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert) and _calls(node, name) and _from_source(node, source):
                line = ast.unparse(node)
                if line not in found:
                    found.append(line)
    return tuple(found[:MAX_ASSERTS])


def _from_source(node: ast.AST, source: str) -> bool:
    """Whether every number and string the assert `node` uses is in `source` (a number as a number: 2.0 is 2)."""
    numbers = {float(n) for n in _NUMBER.findall(source)}
    for constant in ast.walk(node):
        value = getattr(constant, "value", None) if isinstance(constant, ast.Constant) else None
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)) and float(value) not in numbers:
            return False
        if isinstance(value, str) and value not in source:
            return False
    return True


def _calls(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in ast.walk(node))


def run(checks: Checks, ws: Workspace) -> Result:
    """The checks on the file as it is in the workspace now; a file that does not load passes none."""
    result = bash.TOOL({"command": checks.command, "timeout": TIMEOUT_S}, ws)
    scores = _SCORE.findall(result.content)
    if not scores:
        return Result(0, max(len(checks.asserts), 1), result.content[-1500:])
    passed, total = map(int, scores[-1])
    return Result(passed, total, result.content[:result.content.rfind("checks passed:")].strip())
