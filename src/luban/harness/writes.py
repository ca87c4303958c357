"""Focused writes: for a weak model (its profile's `focused_writes`), each function the task asks for that is
still a stub is first written from a short, separate request (the file and nothing else), before the agent's
conversation starts. A judge decides what stays: the tests where there is a test command (a write that leaves
fewer passing is put back), else the file's own docstring examples, else that it parses.

Measured (issue 16): on 20 HumanEval problems one plain request per problem resolved 12, the agent 9; a small
model writes a function far more often right from a short, focused question than deep in a conversation. The
agent then starts from the written function, with what the judge said about it.
"""

from __future__ import annotations

import ast
import re
import shlex
import textwrap
from dataclasses import dataclass, replace
from typing import Callable, Generator, Protocol

from ..types import Completion, Decision, Event, Message, Notice, Request
from ..session import Transcript
from ..workspace import Workspace, atomic_write
from . import selfchecks
from .candidates import SAMPLE_TEMPERATURE
from .judge import Judge, Verdict

MAX_STUBS = 3
MAX_FILE_CHARS = 8_000  # a longer file is not sent whole: only the stub's own text
PROMPT = """\
Complete the following Python code. Reply with the complete function, and any imports it needs, in one \
```python code block.

```python
{code}
```"""  # also the direct scaffold's (eval/direct.py): the model alone, asked the same way
_FENCED = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.DOTALL)
_STUB_CALLS = ("NotImplementedError",)


class Asker(Protocol):
    """What the writes ask of the agent's run: a model request, counted as the run's own, and the record."""

    def ask(self, request: Request) -> Generator[Event, Decision | None, Completion]: ...

    def record(self, event: Event) -> Event: ...


@dataclass(frozen=True)
class Stub:
    path: str
    name: str
    source: str  # the definition as it is now, whole lines
    text: str  # the whole file


def named_files(ws: Workspace, task: str) -> list[str]:
    """The workspace's Python files the task names, by path or by file name."""
    return [rel for rel in ws.listing.files()
            if rel.endswith(".py") and (rel in task or rel.rsplit("/", 1)[-1] in task)]


def stubs(ws: Workspace, task: str) -> list[Stub]:
    """The functions still to be written that the task names, in the Python files it names. (A library's
    deliberate no-op, `def noop(): pass`, is left alone unless the task asks for it by name.)"""
    found: list[Stub] = []
    for rel in named_files(ws, task):
        try:
            text = (ws.root / rel).read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            continue
        lines = text.splitlines()
        for node in tree.body:  # top-level and undecorated: not a Protocol's `...`, not an @overload
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.decorator_list and _is_stub(node) \
                    and re.search(rf"\b{re.escape(node.name)}\b", task):
                source = "\n".join(lines[node.lineno - 1:node.end_lineno])
                found.append(Stub(rel, node.name, source, text))
    return found[:MAX_STUBS]


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Only a docstring, `pass`, `...` or `raise NotImplementedError`."""
    body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
    for statement in body:
        if isinstance(statement, ast.Pass) or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
                                               and statement.value.value is Ellipsis):
            continue
        if isinstance(statement, ast.Raise) and _STUB_CALLS[0] in ast.unparse(statement):
            continue
        return False
    return True


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(
        statement.value.value, str)


def request(stub: Stub, max_tokens: int | None) -> Request:
    code = stub.text if len(stub.text) <= MAX_FILE_CHARS else textwrap.dedent(stub.source)
    return Request((Message("user", PROMPT.format(code=code.strip("\n"))),), (), 0.0, max_tokens,
                   enough=lambda text: written(text, stub) is not None)  # what follows the function goes unread


def code_blocks(reply: str) -> list[str]:
    """The Python code blocks of a reply, in order."""
    return _FENCED.findall(reply)


def written(reply: str, stub: Stub) -> str | None:
    """The file with the stub replaced by the reply's function, with whatever imports and helpers its block
    brings, or None when the reply has no block that parses and defines it."""
    defines = re.compile(rf"^(?:async\s+)?def\s+{re.escape(stub.name)}\s*\(", re.MULTILINE)
    for block in code_blocks(reply):
        code = textwrap.dedent(block).strip("\n")
        try:
            ast.parse(code)
        except SyntaxError:
            continue
        if defines.search(code):
            text = stub.text.replace(stub.source, _with_docstring(code, stub), 1)
            try:
                ast.parse(text)
            except SyntaxError:
                continue
            return text
    return None


def _with_docstring(code: str, stub: Stub) -> str:
    """The reply's code with the stub's docstring put back into its function when it left it out: the file keeps
    its specification, and its examples can still be run."""
    node = next(n for n in ast.parse(code).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                and n.name == stub.name)
    original = next(n for n in ast.parse(textwrap.dedent(stub.source)).body
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    if not original.body or not _is_docstring(original.body[0]) or (node.body and _is_docstring(node.body[0])):
        return code
    lines, stub_lines = code.splitlines(), textwrap.dedent(stub.source).splitlines()
    docstring = stub_lines[original.body[0].lineno - 1:original.body[0].end_lineno]
    first = node.body[0].lineno - 1
    indent = lines[first][:len(lines[first]) - len(lines[first].lstrip())]
    old_indent = docstring[0][:len(docstring[0]) - len(docstring[0].lstrip())]
    moved = [indent + line.removeprefix(old_indent) if line.strip() else line for line in docstring]
    return "\n".join(lines[:first] + moved + lines[first:])


def checks_command(path: str, text: str) -> str | None:
    """The command that runs the file's docstring examples, when it has any, and fails once none is left.

    Why: `python3 -m doctest` passes a file without examples. In he-37's HumanEval-10 the 1.5B rewrote
    solution.py whole without its docstrings, the examples "passed", and finish_on_pass ended the run on a wrong
    answer that the hidden tests failed."""
    if ">>>" not in text:
        return None
    quoted = shlex.quote(path)
    gone = shlex.quote(f"{path} has no docstring examples left to run: they were the checks of this task.")
    return f"python3 -m doctest {quoted} && {{ grep -q '>>>' {quoted} || {{ echo {gone}; false; }}; }}"


@dataclass(frozen=True)
class Written:
    notes: tuple[str, ...]  # one per stub, for the model
    checks: tuple[selfchecks.Checks, ...]  # without a judge: the self-checks the writes were judged by
    passed: bool = False  # every stub was written, and its judge (the tests, or self-checks) passed after it


def write_stubs(task: str, ws: Workspace, asker: Asker, judge: Judge | None, max_tokens: int | None,
                transcript: Transcript | None = None, may_write: Callable[[str], bool] = lambda rel: True,
                samples: int = selfchecks.SAMPLES) -> Generator[Event, Decision | None, Written]:
    """Write each stub that `may_write` allows (the mode and rules, without asking) from a focused request,
    judged (without a judge: by self-checks, with up to `samples` warmer tries). What the model wrote is kept in
    the transcript as a rewrite record (it is not part of the conversation)."""
    notes, used, passes = [], [], []
    for stub in [s for s in stubs(ws, task) if may_write(s.path)]:
        stub = replace(stub, text=(ws.root / stub.path).read_text(encoding="utf-8"))
        new = yield from _write(stub, asker, max_tokens, transcript, 0.0)
        if new is None:
            yield asker.record(Notice(f"Focused write of {stub.name}: the reply held no usable function."))
            passes.append(False)
            continue
        if judge:
            judge.before(ws)
            _put(ws, stub.path, new)
            verdict = judge.after(ws)
            notes.append(_judged(stub, verdict))
            passes.append(bool(verdict and not verdict.refused and verdict.run.passed))
        else:
            checked = yield from _self_checked(stub, new, ws, asker, max_tokens, transcript, samples)
            notes.append(_self_judged(stub, *checked))
            used += [checked[0]] if checked[0] else []
            passes.append(bool(checked[1] and checked[1].clean))
        yield asker.record(Notice(f"Focused write of {stub.name} in {stub.path}."))
    return Written(tuple(notes), tuple(used), bool(passes) and all(passes))


def _write(stub: Stub, asker: Asker, max_tokens: int | None, transcript: Transcript | None, temperature: float
           ) -> Generator[Event, Decision | None, str | None]:
    """The file with the stub written by one focused request, or None when the reply held no usable function."""
    completion = yield from asker.ask(replace(request(stub, max_tokens), temperature=temperature))
    new = written(completion.message.content, stub)
    if transcript:
        transcript.append_rewrite(f"{stub.path}:{stub.name}", completion.message.content, new is not None)
    return new


def _put(ws: Workspace, path: str, text: str) -> None:
    atomic_write(ws.resolve(path), text.encode("utf-8"))
    ws.listing.changed()


def _self_checked(stub: Stub, first: str, ws: Workspace, asker: Asker, max_tokens: int | None,
                  transcript: Transcript | None, samples: int
                  ) -> Generator[Event, Decision | None, tuple[selfchecks.Checks | None, selfchecks.Result | None]]:
    """Put the write that passes the most of the stub's self-checks into the file: the greedy one, else the
    first warmer sample that does better (harness/selfchecks.py). Returns the checks and the kept write's result."""
    checks = selfchecks.doctests(stub.path, stub.source)
    if checks is None and selfchecks.needs_asserts(stub.source):
        ask = Request((Message("user", selfchecks.request_text(stub.name, stub.source)),), (), 0.0, max_tokens)
        reply = (yield from asker.ask(ask)).message.content
        found = selfchecks.asserts(code_blocks(reply), stub.name, stub.source)
        checks = selfchecks.Checks(stub.path, found) if found else None
    _put(ws, stub.path, first)
    if checks is None:
        return None, None
    best, best_result = first, selfchecks.run(checks, ws)
    for _ in range(samples if not best_result.clean else 0):
        sample = yield from _write(stub, asker, max_tokens, transcript, SAMPLE_TEMPERATURE)
        if sample is None:
            continue
        _put(ws, stub.path, sample)
        result = selfchecks.run(checks, ws)
        if result.passed > best_result.passed:
            best, best_result = sample, result
        if best_result.clean:
            break
    _put(ws, stub.path, best)
    return checks, best_result


def _judged(stub: Stub, verdict: Verdict | None) -> str:
    what = f"[Luban wrote {stub.name} in {stub.path} from a short, separate request"
    if verdict and verdict.refused:
        return f"{what}, but the tests did worse with it, so it was put back: {verdict.run.view[:1500]}]"
    return f"{what}; the tests after it: {verdict.run.view[:1500] if verdict else 'no change'}]"


def _self_judged(stub: Stub, checks: selfchecks.Checks | None, result: selfchecks.Result | None) -> str:
    what = f"[Luban wrote {stub.name} in {stub.path} from a short, separate request"
    if checks is None or result is None:
        return f"{what}. Check it against the task; finish if it is right.]"
    if result.clean:
        shown = ":\n" + "\n".join(checks.asserts) + "\n" if checks.asserts else ". "
        return f"{what}; {checks.describe()} pass{shown}Check it against the task; finish if it is right.]"
    # An example can be wrong itself (HumanEval has a few): the model is asked to judge, not told to change it.
    return (f"{what}; {result.total - result.passed} of {result.total} of {checks.describe()} fail:\n"
            f"{result.report[:1500]}\nCheck whether the function or the example is wrong, and fix the function if "
            "it is.]")
