"""The repo map: an outline of the definitions that matter most to the files in play, fitted to a token budget.

Files are ranked by PageRank over "uses a name that file defines", restarted at the files in play; each
definition is then scored by the rank flowing into it, and the best ones are rendered per file.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..workspace.listing import skipped
from .tagcache import load_tags
from .tags import FileTags, language_for
from .tokens import estimate

# Bigger files are generated or vendored (minified bundles, amalgamations) and parse slowly for little.
MAX_FILE_BYTES = 1_000_000
DAMPING = 0.85
# Names many files define (`get`, `run`, `__init__`) say little about which of them a use means.
COMMON_DEFINERS = 5
# A file's definitions share a little of the file's own rank, so files nobody references (entry points,
# the files in play) still show their outline, in order of importance.
OWN_SHARE = 0.1
# Most of the restart mass goes to the files in play; the rest is spread over every file, so that past the
# neighbourhood of the files in play the map still follows the repo's overall structure, not the alphabet.
IN_PLAY_RESTART = 0.9
# A name links files only within a family whose sources can call each other.
FAMILY = {"typescript": "javascript", "tsx": "javascript", "cpp": "c"}
_HUMP = re.compile(r"[a-z0-9][A-Z]|[A-Z][A-Z][a-z]")  # camelCase, HTTPServer


@dataclass(frozen=True)
class Limits:
    """How much work the map may do at startup, so that a huge folder that is not a repository (a home folder,
    `/`: 129 s before these) cannot hold up the first request. Walking stops after `files` files; walking and
    parsing together stop after `seconds`. Tags parsed before the stop are cached, so the next start maps more."""

    files: int = 50_000
    seconds: float = 5.0
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class RepoMap:
    text: str
    skipped: str = ""  # what the limits left out, as a sentence for the prompt; "" when nothing was


def repo_map(root: Path, *, in_play: Sequence[str] = (), budget_tokens: int = 1024, cache_dir: Path | None = None,
             files: Sequence[str] | None = None) -> str:
    """The outline of `root`'s most relevant definitions to `in_play`, at most `budget_tokens` long."""
    return build(root, in_play=in_play, budget_tokens=budget_tokens, cache_dir=cache_dir, files=files).text


def build(root: Path, *, in_play: Sequence[str] = (), budget_tokens: int = 1024, cache_dir: Path | None = None,
          files: Sequence[str] | None = None, limits: Limits = Limits()) -> RepoMap:
    """repo_map within `limits`, saying what they left out."""
    root = Path(root)
    stop = limits.clock() + limits.seconds
    walked, stopped = (files, "") if files is not None else _walk(root, limits, stop)
    candidates = _candidates(root, walked)
    play = list(dict.fromkeys(_relative(root, p) for p in in_play))
    tags, unread = load_tags(root, candidates, cache_dir, _first(candidates, play), lambda: limits.clock() >= stop)
    parts = [f"the search for files stopped {stopped}"] if stopped else []
    if unread:
        parts.append(f"{unread:,} of the {len(candidates):,} source files found were not read within "
                     f"{limits.seconds:g} s")
    skipped = f"The repo map is partial: {' and '.join(parts)}; find the rest with grep and glob." if parts else ""
    if not tags:
        return RepoMap("", skipped)
    play = [rel for rel in play if rel in tags]
    return RepoMap(_fit(_ranked(tags, play), tags, budget_tokens), skipped)


def definitions(root: Path, *, cache_dir: Path | None = None, files: Sequence[str] | None = None,
                limits: Limits = Limits()) -> dict[str, FileTags]:
    """The tags of the source files the map reads under `root` within `limits`, by relative path (cached as the
    map's are)."""
    root = Path(root)
    stop = limits.clock() + limits.seconds
    walked = files if files is not None else _walk(root, limits, stop)[0]
    candidates = _candidates(root, walked)
    return load_tags(root, candidates, cache_dir, list(candidates), lambda: limits.clock() >= stop)[0]


def _relative(root: Path, path: str) -> str:
    p = Path(path)
    if p.is_absolute():
        for base in (root, root.resolve()):
            if p.is_relative_to(base):
                return p.relative_to(base).as_posix()
        return path
    return p.as_posix().removeprefix("./")


def _candidates(root: Path, files: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Repo-relative paths of the source files to map, sorted, each with its (mtime_ns, size)."""
    found: dict[str, tuple[int, int]] = {}
    for rel in sorted({_relative(root, f) for f in files}):
        if language_for(rel) is None or any(part.startswith(".") for part in rel.split("/")):
            continue
        try:
            st = (root / rel).stat()
        except OSError:
            continue
        if st.st_size <= MAX_FILE_BYTES and os.path.isfile(root / rel):
            found[rel] = (st.st_mtime_ns, st.st_size)
    return found


def _walk(root: Path, limits: Limits, stop: float) -> tuple[list[str], str]:
    """The files under `root` (the skip set of workspace/listing.py left out), breadth first, so that a walk cut
    short has seen the top of the tree, and where the walk stopped short ("" when it did not)."""
    out: list[str] = []
    folders = deque([""])
    while folders:
        if limits.clock() >= stop:
            return out, f"after {limits.seconds:g} s"
        folder = folders.popleft()
        try:
            with os.scandir(root / folder) as found:
                entries = sorted(found, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            path = f"{folder}/{entry.name}" if folder else entry.name
            if entry.name.startswith("."):  # hidden: configuration, not the code a map is about
                continue
            if _is_folder(entry):
                if not skipped(entry.name):
                    folders.append(path)
                continue
            out.append(path)
            if len(out) >= limits.files:
                return out, f"at {limits.files:,} files"
    return out, ""


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _first(candidates: dict[str, tuple[int, int]], in_play: list[str]) -> list[str]:
    """The order to read candidates in: the files in play, then shallow before deep."""
    play = [rel for rel in in_play if rel in candidates]
    return play + sorted(set(candidates) - set(play), key=lambda rel: (rel.count("/"), rel))


# --- ranking -------------------------------------------------------------------------------------------


def _ranked(tags: dict[str, FileTags], in_play: list[str]) -> list[tuple[str, int]]:
    """Every definition as (path, index), best first; ties go to the path, then the line."""
    files = list(tags)  # sorted by path, so every sum below adds in the same order on every run
    family = [_family(f) for f in files]
    definers: dict[tuple[str, str], list[int]] = {}
    for i, f in enumerate(files):
        for name in dict.fromkeys(d.name for d in tags[f].definitions):
            definers.setdefault((family[i], name), []).append(i)
    mentioned: set[str] = set()
    for f in in_play:
        mentioned.update(d.name for d in tags[f].definitions)
        mentioned.update(name for name, _ in tags[f].references)
    key_id = {key: k for k, key in enumerate(definers)}
    edges = _edges(files, family, tags, definers, mentioned)
    edges = [[(key_id[key], share) for key, share in pairs] for pairs in edges]
    rank, flow = pagerank(edges, list(definers.values()), _restart(files, in_play))
    scored = []
    for i, f in enumerate(files):
        defs = tags[f].definitions
        own = OWN_SHARE * rank[i] / max(1, len(defs))
        scored.extend((-(flow[key_id[family[i], d.name]] + own), f, d.line, j) for j, d in enumerate(defs))
    return [(f, j) for _, f, _, j in sorted(scored)]


def _family(path: str) -> str:
    language = language_for(path) or ""
    return FAMILY.get(language, language)


def _restart(files: list[str], in_play: list[str]) -> list[float]:
    if not in_play:
        return [1.0 / len(files)] * len(files)
    play = set(in_play)
    spread = (1 - IN_PLAY_RESTART) / len(files)
    return [spread + (IN_PLAY_RESTART / len(play) if f in play else 0.0) for f in files]


def _edges(files: list[str], family: list[str], tags: dict[str, FileTags], definers: dict, mentioned: set[str]):
    """Per file, its (key, share) pairs: the share of its rank that flows to each file defining the key's name."""
    users: dict[tuple[str, str], int] = {}
    for i, f in enumerate(files):
        for name, _ in tags[f].references:
            users[(family[i], name)] = users.get((family[i], name), 0) + 1
    out = []
    for i, f in enumerate(files):
        weights = []
        for name, count in tags[f].references:
            key = (family[i], name)
            if key in definers:
                w = _weight(name, len(definers[key]), users[key], len(files), mentioned)
                weights.append((key, math.sqrt(count) * w))
        total = sum(w * len(definers[key]) for key, w in weights)
        out.append([(key, w / total) for key, w in weights])
    return out


def _weight(name: str, definers: int, users: int, files: int, mentioned: set[str]) -> float:
    """How much a use of `name` says about where it leads; generic names (`get`, `append`) say little."""
    w = math.log1p(files / users)  # a name every file uses is like a common word: little information
    if _specific(name):
        w *= 100.0 if name in mentioned else 10.0
    if name.startswith("_"):
        w *= 0.1
    if definers > COMMON_DEFINERS:
        w *= 0.1
    return w


def _specific(name: str) -> bool:
    """Long compound names (`make_hashable`, `FieldDoesNotExist`) mean one thing; short plain ones (`append`,
    `super`, `join`) are mostly the language's own methods that some file happens to define too."""
    core = name.strip("_")
    return len(core) >= 8 and ("_" in core or _HUMP.search(core) is not None)


def pagerank(
    edges: list[list[tuple[int, float]]], definers: list[list[int]], restart: list[float], iterations: int = 50
) -> tuple[list[float], list[float]]:
    """Power iteration over files linked through names: file i's rank flows, split by edges[i] as (name, share),
    into names, and from name k on to every file in definers[k]. Returns the ranks and each name's inflow."""
    used = sorted({k for pairs in edges for k, _ in pairs})  # most names are defined but never used elsewhere
    rank = list(restart)
    for _ in range(iterations):
        flow = [0.0] * len(definers)
        dangling = 0.0
        for src, pairs in enumerate(edges):
            r = rank[src]
            if not pairs:
                dangling += r  # a file that uses nothing hands its rank back as a restart
            for k, share in pairs:
                flow[k] += r * share
        new = [(1 - DAMPING + DAMPING * dangling) * r for r in restart]
        for k in used:
            for dst in definers[k]:
                new[dst] += DAMPING * flow[k]
        delta = sum(abs(a - b) for a, b in zip(new, rank))
        rank = new
        if delta < 1e-9:
            break
    return rank, [DAMPING * mass for mass in flow]


# --- rendering -----------------------------------------------------------------------------------------


def _fit(ranked: list[tuple[str, int]], tags: dict[str, FileTags], budget_tokens: int) -> str:
    """The longest prefix of `ranked` whose rendering fits the budget (rendering grows with the prefix)."""
    # Every definition adds a line of at least four characters, more than a token, so `budget_tokens` bounds it.
    lo, hi = 0, min(len(ranked), max(0, budget_tokens))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate(_render(ranked[:mid], tags)) <= budget_tokens:
            lo = mid
        else:
            hi = mid - 1
    return _render(ranked[:lo], tags)


def _render(chosen: list[tuple[str, int]], tags: dict[str, FileTags]) -> str:
    """Files in order of their best definition; in each, the chosen definitions and their enclosing ones
    (a method needs its class) in source order, indented by nesting."""
    by_file: dict[str, set[int]] = {}
    for f, i in chosen:
        shown = by_file.setdefault(f, set())
        defs = tags[f].definitions
        while i is not None and i not in shown:
            shown.add(i)
            i = defs[i].parent
    lines = []
    for f, shown in by_file.items():
        lines.append(f"{f}:")
        lines.extend("  " * (d.depth + 1) + d.signature for d in (tags[f].definitions[i] for i in sorted(shown)))
    return "".join(line + "\n" for line in lines)
