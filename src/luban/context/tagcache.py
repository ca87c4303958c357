"""The repo map's tags, cached per file by (mtime_ns, size) in one JSON file, so that a map of an unchanged tree
costs no parsing."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

from .tags import Definition, FileTags, extract, language_for

CACHE_FILE = "repomap-tags.json"
CACHE_VERSION = 1


def load_tags(root: Path, candidates: dict[str, tuple[int, int]], cache_dir: Path | None, order: list[str],
               time_up: Callable[[], bool]) -> tuple[dict[str, FileTags], int]:
    """The tags of each candidate that could be read, sorted by path, from the cache where its mtime and size still
    match, else parsed in `order` until `time_up`; and how many were left unparsed."""
    cache_path = cache_dir / CACHE_FILE if cache_dir is not None else None
    cached = _read_cache(cache_path, root) if cache_path is not None else {}
    tags: dict[str, FileTags] = {}
    entries: dict[str, dict] = {}
    unread = 0
    for rel in order:
        mtime_ns, size = candidates[rel]
        entry = cached.get(rel)
        found = _decode(entry) if entry and entry.get("mtime_ns") == mtime_ns and entry.get("size") == size else None
        if found is None:
            if unread or time_up():  # parsing is what takes the time; a cached entry costs next to nothing
                unread += 1
                continue
            found = _parse(root / rel)
            if found is None:
                continue  # unreadable now; maybe not next time, so not cached
            entry = _encode(found, mtime_ns, size)
        tags[rel] = found
        entries[rel] = entry
    if cache_path is not None and entries != cached:
        _write_cache(cache_path, root, entries)
    return {rel: tags[rel] for rel in sorted(tags) if tags[rel].definitions or tags[rel].references}, unread


def _parse(path: Path) -> FileTags | None:
    """The file's tags; empty for a binary or non-UTF-8 file, None when it cannot be read."""
    try:
        source = path.read_bytes()
    except OSError:
        return None
    try:
        if b"\0" in source:
            raise ValueError("binary")
        source.decode("utf-8")
    except ValueError:
        return FileTags()
    return extract(source, language_for(path.name))


def _read_cache(path: Path, root: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or data.get("root") != str(root.resolve()):
        return {}
    files = data.get("files")
    return {k: v for k, v in files.items() if isinstance(v, dict)} if isinstance(files, dict) else {}


def _write_cache(path: Path, root: Path, entries: dict[str, dict]) -> None:
    # Written whole to a temporary file and renamed: a crash or a concurrent reader never sees half a file.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"version": CACHE_VERSION, "root": str(root.resolve()), "files": entries}), "utf-8")
        os.replace(tmp, path)
    except OSError:
        # The cache only saves time: a read-only or missing disk must not stop the map.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _encode(tags: FileTags, mtime_ns: int, size: int) -> dict:
    return {
        "mtime_ns": mtime_ns,
        "size": size,
        "defs": [[d.name, d.line, d.depth, d.parent, d.signature] for d in tags.definitions],
        "refs": [list(r) for r in tags.references],
    }


def _decode(entry: dict) -> FileTags | None:
    """An entry's tags, or None when it is not what `_encode` writes (an old or damaged cache)."""
    try:
        defs = []
        for name, line, depth, parent, signature in entry["defs"]:
            if not (parent is None or (type(parent) is int and 0 <= parent < len(defs))):
                return None
            defs.append(Definition(_str(name), _int(line), _int(depth), parent, _str(signature)))
        refs = tuple((_str(name), _int(count)) for name, count in entry["refs"])
    except (KeyError, TypeError, ValueError):
        return None
    return FileTags(tuple(defs), refs)


def _str(value) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _int(value) -> int:
    if type(value) is not int:
        raise TypeError(value)
    return value
