"""Point from a failing test to the code under test: the names called on the failing lines of a Python
traceback, and where in the workspace each is defined.

Weak models read the test file over and over; naming `pricing.py:11 apply_discount` sends them to the code.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path
from typing import Sequence

from ..workspace import Workspace

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
MAX_DEFINITIONS = 8
SOURCE_MAX_LINES = 30
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def code_under_test(output: str, ws: Workspace, files: Sequence[str]) -> list[str]:
    """`path:line name(args)` for functions and classes called on the traceback's lines in the workspace,
    the ones called by the most failing lines first."""
    called = _called_names(output, ws)
    found: list[tuple[int, str]] = []
    for rel in (f for f in files if f.endswith(".py")):
        for name, line, signature in _definitions(ws.root / rel):
            if called[name] and not name.startswith("test"):
                found.append((-called[name], f"{rel}:{line} {signature}"))
    return [text for _, text in sorted(found)][:MAX_DEFINITIONS]


def _called_names(output: str, ws: Workspace) -> Counter[str]:
    names: Counter[str] = Counter()
    for file, line in _FRAME.findall(output):
        path = Path(file) if Path(file).is_absolute() else ws.root / file
        if ws.root not in path.resolve().parents:
            continue
        try:
            text = path.read_text(errors="replace").splitlines()[int(line) - 1]
        except (OSError, IndexError):
            continue
        names.update(set(_CALLED.findall(text)))
    return names


def _definitions(path: Path) -> list[tuple[str, int, str]]:
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = ", ".join(a.arg for a in node.args.args if a.arg != "self")
            out.append((node.name, node.lineno, f"{node.name}({args})"))
        elif isinstance(node, ast.ClassDef):
            out.append((node.name, node.lineno, f"class {node.name}"))
    return out


def source_of(pointer: str, ws: Workspace, max_lines: int = SOURCE_MAX_LINES) -> str:
    """The text of the definition a `path:line name(...)` pointer names, as it is in the file (no line
    numbers), or "" when it cannot be read or is longer than `max_lines`."""
    rel, _, rest = pointer.partition(":")
    line = int(rest.split(" ", 1)[0]) if rest.split(" ", 1)[0].isdigit() else 0
    try:
        text = (ws.root / rel).read_text(errors="replace")
        tree = ast.parse(text)
    except (SyntaxError, ValueError, OSError):
        return ""
    for node in ast.walk(tree):
        if isinstance(node, _DEFINITIONS) and node.lineno == line:
            segment = "\n".join(text.splitlines()[node.lineno - 1:node.end_lineno])
            return segment if segment.count("\n") < max_lines else ""
    return ""
