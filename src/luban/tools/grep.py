"""grep: search file contents with ripgrep (the `rg` binary from the ripgrep wheel).

rg never sees a path it could follow out: a folder is searched from inside it (its descriptor, opened beneath
the root, is rg's working directory; rg does not follow symlinks below that), a file is fed to rg on stdin."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace
from ..workspace.boundary import Place
from ..workspace.listing import rg_binary, rg_skips
from . import path_argument
from ._input import ToolError, answer

MAX_MATCHES = 200
RG_TIMEOUT_S = 60

SPEC = ToolSpec(
    name="grep",
    description=(
        "Search inside files for a regular expression. Returns matching lines as path:line number:text. "
        "Shows at most 200 matches. Files ignored by git, and .git, node_modules, __pycache__ and virtualenv "
        "folders, are skipped."
    ),
    parameters={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Regular expression to search for, e.g. def \\w+_total"},
            "path": {"type": "string", "x-existing": "any", "default": ".", "description": "File or folder to search; default: everything."},
            "glob": {"type": "string", "description": "Only search files whose names match this, e.g. *.py"},
            "ignore_case": {"type": "boolean", "default": False, "description": "Match upper and lower case alike."},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
)


@dataclass(frozen=True)
class Grep:
    spec: ToolSpec = SPEC
    effect: Effect = "read"

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return path_argument(args)

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        return answer(self.spec, args, "search", lambda checked: _grep(ws, checked))


TOOL = Grep()


def _grep(ws: Workspace, checked: Mapping[str, Any]) -> ToolResult:
    pattern, glob, ignore_case = checked["pattern"], checked["glob"], checked["ignore_case"]
    if not pattern:
        raise ToolError("pattern is empty; give the regular expression to search for.")
    target = ws.files.place(checked["path"])
    rel = target.shown
    info = ws.files.stat(target)
    if info is None:
        raise ToolError(f"Path not found: {rel}. Use list_dir or glob to find the right path.")
    found, code, problem = _search(ws, target, stat.S_ISDIR(info.st_mode), _Query(pattern, False, ignore_case), glob)
    if not found:
        # Weak models escape what needs no escaping (`total\(`), double the escapes, or guess the case:
        # the nearest reading that finds something, named, beats "No matches." and a dead end.
        for query, how in _readings(pattern, ignore_case):
            found, _, _ = _search(ws, target, stat.S_ISDIR(info.st_mode), query, glob)
            if found:
                broken = f"is not a valid regular expression ({_first(problem)})" if code == 2 else "matches nothing"
                return ToolResult(f"The pattern {broken}; {how}:\n" + _listed(found))
    if code == 2 and not found:
        raise ToolError(f"grep failed: {problem}{_hint(problem)}")
    if not found:
        return _elsewhere(ws, rel, checked) or ToolResult("No matches.")
    lines = _listed(found)
    if code == 2:
        lines += f"\n[some files could not be searched: {_first(problem)}]"
    return ToolResult(lines)


def _elsewhere(ws: Workspace, rel: str, checked: Mapping[str, Any]) -> ToolResult | None:
    """Weak models search one file after another for a name defined elsewhere; when a narrowed search (a path
    or a glob) finds nothing, the same search over the whole workspace is one step instead of ten."""
    if rel == "." and not checked["glob"]:
        return None
    found, _, _ = _search(ws, ws.files.place("."), True, _Query(checked["pattern"], False, checked["ignore_case"]),
                          None)
    if not found:
        return None
    glob = f"files matching {checked['glob']}" if checked["glob"] else ""
    where = glob if rel == "." else f"{rel} ({glob})" if glob else rel
    return ToolResult(f"No matches in {where}; the same search over the whole workspace finds:\n" + _listed(found))


@dataclass(frozen=True)
class _Query:
    pattern: str
    fixed: bool  # the pattern is plain text, not a regular expression
    ignore_case: bool


# A backslash before one of these makes it plain text; \b (a word boundary) means nothing in plain text.
_ESCAPED = re.compile(r"\\+([.()\[\]{}*+?|^$\\/])|\\b")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w{2,}")
_METACHARACTERS = frozenset(".()[]{}*+?|^$\\")


def _readings(pattern: str, ignore_case: bool) -> list[tuple[_Query, str]]:
    """Other ways to read a pattern that matched nothing, nearest first, each with how to say it."""
    plain = _ESCAPED.sub(lambda m: m.group(1) or "", pattern)
    plain = plain if plain != pattern and "\\" not in plain else ""
    readings = []
    if plain:
        readings.append((_Query(plain, True, False), f"searching for the plain text `{plain}` finds"))
    if any(c in pattern for c in _METACHARACTERS):
        readings.append((_Query(pattern, True, False), f"searching for the plain text `{pattern}` finds"))
    if not ignore_case:
        readings.append((_Query(pattern, False, True), "searching again ignoring case finds"))
        if plain:
            readings.append((_Query(plain, True, True), f"searching for the plain text `{plain}` ignoring case finds"))
    names = sorted(set(_IDENTIFIER.findall(pattern)), key=len, reverse=True)
    if names and names[0] not in (pattern, plain):
        readings.append((_Query(names[0], True, True), f"searching for the name `{names[0]}` alone, ignoring case, finds"))
    return readings


def _search(ws: Workspace, target: Place, is_dir: bool, query: _Query, glob: str | None
            ) -> tuple[list[str], int, str]:
    """(matching lines as path:line:text, rg's exit code, what rg said on stderr)."""
    rg = rg_binary(ws.environ)
    if rg is None:
        raise ToolError("grep is unavailable because ripgrep (rg) is not installed; use bash with grep -rn instead.")
    # --sort path keeps the order stable from call to call (rg is otherwise parallel and unordered).
    argv = [rg, "--line-number", "--no-heading", "--color", "never", "--sort", "path"]
    argv += ["--max-columns", "300", "--max-columns-preview", "--hidden"]
    argv += ["--ignore-case"] if query.ignore_case else []
    argv += ["--fixed-strings"] if query.fixed else []
    argv += ["--glob", glob] if glob else []
    argv += [*rg_skips(), "--regexp", query.pattern]
    rel = target.shown
    if is_dir:
        with ws.files.folder(target) as folder:
            done = _run([*argv, "--with-filename", "--", "."], cwd=folder)
        # rg prints "./src/x.py" for files under "."; the model should see paths from the root everywhere.
        prefix = "" if rel == "." else f"{rel}/"
        found = [prefix + line.removeprefix("./") for line in _lines(done.stdout)]
    else:
        with ws.files.open_read(target) as source:
            done = _run([*argv, "--no-filename", "--", "-"], stdin=source)
        found = [f"{rel}:{line}" for line in _lines(done.stdout)]
    return found, done.returncode, done.stderr.decode("utf-8", errors="replace").strip()


def _listed(found: list[str]) -> str:
    lines = found[:MAX_MATCHES]
    if len(found) > MAX_MATCHES:
        lines.append(f"[{len(found) - MAX_MATCHES} more matches not shown; narrow the pattern, path or glob]")
    return "\n".join(lines)


def _first(problem: str) -> str:
    """rg's own words for what went wrong: its `error:` line, else its first line."""
    lines = [line.strip() for line in problem.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["rg failed"])[0].removeprefix("rg: ")


def _run(argv: list[str], *, cwd: int | None = None, stdin: Any = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    """Run rg, in the folder descriptor `cwd` when given: entered by descriptor, so there is no path to swap."""
    options: dict[str, Any] = {}
    if cwd is not None and os.path.isdir("/proc/self/fd"):
        options = {"cwd": f"/proc/self/fd/{cwd}", "pass_fds": (cwd,)}  # the child's own copy of the fd
    elif cwd is not None:  # no /proc (the BSDs, macOS): the child enters it itself before exec
        options = {"preexec_fn": lambda: os.fchdir(cwd)}
    try:
        return subprocess.run(argv, stdin=stdin, capture_output=True, timeout=RG_TIMEOUT_S, **options)
    except subprocess.TimeoutExpired:
        raise ToolError(f"grep took longer than {RG_TIMEOUT_S} s; search a smaller path or add a glob.") from None


def _lines(output: bytes) -> list[str]:
    return output.decode("utf-8", errors="replace").splitlines()


def _hint(problem: str) -> str:
    if "regex parse error" not in problem:
        return ""
    return "\nThe pattern is a regular expression: put a backslash before ( ) [ ] { } . * + ? | to match them as text."
