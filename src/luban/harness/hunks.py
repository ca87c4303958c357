"""The places a rewrite changes: a definition with just one of them applied, to try each alone.

Why: a 1.5B asked to rewrite a function fixes the bug and, as often, changes a line that was right. In bf-32 the
opening repair's rewrite of a jinja2 decorator swapped two branches: the one the bug was in, now right, and the
other, now wrong; 19 of the 37 failing tests passed after it and 18 failed, and three more rounds of rewrites never
took the wrong half back. The fix alone was one of the two places.
"""

from __future__ import annotations

import ast
import textwrap
from difflib import SequenceMatcher

MAX_PLACES = 3  # a rewrite that changes more places than this is a new function, not a fix plus noise


def each_alone(old: str, new: str) -> list[str]:
    """`old` with one of the places `new` changes applied, for each place, when `new` changes two to MAX_PLACES
    separate runs of lines; the variants that do not parse are left out."""
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    places = [op for op in SequenceMatcher(None, before, after, autojunk=False).get_opcodes() if op[0] != "equal"]
    if not 2 <= len(places) <= MAX_PLACES:
        return []
    variants = ["".join(before[:i1] + after[j1:j2] + before[i2:]) for _, i1, i2, j1, j2 in places]
    return [variant for variant in variants if _parses(variant)]


def _parses(source: str) -> bool:
    try:
        ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return False
    return True
