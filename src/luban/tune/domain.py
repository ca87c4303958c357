"""Domain samples cut from a repository's own code: fill-in-the-middle inside functions (every language the
repo map parses), and docstring → body for Python functions. Files that .gitignore (or .ignore) excludes, and
hidden files, are never read; a sample in which the redaction finds a secret is left out (dataset.py)."""

from __future__ import annotations

import random
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..config import environment
from ..context.tags import definition_nodes, is_function, language_for
from ..errors import TuneError
from ..workspace.listing import rg_binary

MAX_FILE_BYTES = 200_000
MAX_FUNCTION_CHARS = 4_000
PREFIX_CHARS, SUFFIX_CHARS = 1_500, 600  # context around a FIM hole: the file before matters most
MAX_HOLE_LINES = 8


@dataclass(frozen=True)
class CodeSample:
    """`kind` fim: the model sees `before` and `after` and learns `middle`; docstring: it sees `before` (the
    signature and docstring) and learns the whole function, `middle`."""

    kind: str
    origin: dict[str, Any]
    before: str
    middle: str
    after: str = ""
    language: str = ""


def source_files(root: Path) -> list[str]:
    """The repository's files that the repo map can parse, as ripgrep lists them: .gitignore and .ignore
    honoured (in a git checkout or not), hidden files skipped."""
    rg = rg_binary(environment())
    if rg is None:
        raise TuneError("Listing the repository's files needs ripgrep (rg), which is not installed.")
    run = subprocess.run([rg, "--files", "--no-require-git", "--sort", "path"], cwd=root, capture_output=True,
                         text=True)
    if run.returncode not in (0, 1):  # 1: no files
        raise TuneError(f"Could not list the files of {root}: {run.stderr.strip() or 'ripgrep failed'}.")
    return [line for line in run.stdout.splitlines() if language_for(line)]


def code_samples(root: Path, seed: int = 0) -> Iterator[CodeSample]:
    """One FIM sample per function, and one docstring sample per documented Python function."""
    rng = random.Random(seed)
    for rel in source_files(root):
        path = root / rel
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if len(data) > MAX_FILE_BYTES or b"\0" in data:
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        yield from _samples(data, rel, language_for(rel), str(root), rng)


def _samples(data: bytes, rel: str, language: str, repo: str, rng: random.Random) -> Iterator[CodeSample]:
    for node in definition_nodes(data, language):
        if not is_function(node) or node.end_byte - node.start_byte > MAX_FUNCTION_CHARS:
            continue
        name = node.child_by_field_name("name")
        origin = {"repo": repo, "file": rel, "function": name.text.decode() if name else "",
                  "line": node.start_point[0] + 1}
        fim = _fim(data, node, rng)
        if fim:
            yield CodeSample("fim", origin, *fim, language=language)
        if language == "python":
            documented = _docstring(data, node)
            if documented:
                yield CodeSample("docstring", origin, *documented, language=language)


def _fim(data: bytes, node, rng: random.Random) -> tuple[str, str, str] | None:
    """A hole of up to MAX_HOLE_LINES whole lines inside the function's body."""
    body = node.child_by_field_name("body")
    if body is None:
        return None
    first, last = body.start_point[0], body.end_point[0]
    if last - first < 1:
        return None  # a one-line body: the hole would be the whole function
    lines = data.decode("utf-8").splitlines(keepends=True)
    start = rng.randint(first, last)
    end = min(last, start + rng.randint(0, MAX_HOLE_LINES - 1))
    before = "".join(lines[:start])
    middle = "".join(lines[start:end + 1])
    after = "".join(lines[end + 1:])
    if not middle.strip():
        return None
    return before[-PREFIX_CHARS:], middle, after[:SUFFIX_CHARS]


def _docstring(data: bytes, node) -> tuple[str, str] | None:
    """(the signature and docstring, the whole function), both dedented."""
    body = node.child_by_field_name("body")
    first = body.named_children[0] if body is not None and body.named_children else None
    # Grammar versions differ: the docstring is the block's own string, or one inside an expression statement.
    if first is not None and first.type == "expression_statement" and first.named_children:
        first = first.named_children[0] if first.named_children[0].type == "string" else None
    if first is None or first.type != "string":
        return None
    if len(body.named_children) < 2:
        return None  # a docstring and nothing else: no body to learn
    indent = b" " * node.start_point[1]
    head = textwrap.dedent((indent + data[node.start_byte:first.end_byte]).decode("utf-8"))
    whole = textwrap.dedent((indent + data[node.start_byte:node.end_byte]).decode("utf-8"))
    return head, whole
