"""What the built-in tools share about their input: checking the model's arguments against a tool's schema
(arguments.py's rules), placing paths beneath the workspace, and "did you mean" suggestions from its listing."""

from __future__ import annotations

import difflib
import errno
import re
import time
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Callable, Mapping

from ..errors import PathRefused
from ..types import ToolResult, ToolSpec
from ..workspace import Workspace
from ..workspace.boundary import Place
from .arguments import keys, matches, type_name, types_of, wrong_type

SIMILAR_AMONG = 20_000  # files compared with a name not found, shallow ones first
# A NUL byte this early means a binary file; the same rule git and grep use.
BINARY_PROBE = 8192

# In a str from JSON, a surrogate is always a lone one: a valid pair decodes to the character it encodes.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_SHOWN = 120  # a path in an error message; a name too long to open would drown the sentence


class ToolError(Exception):
    """A mistake the model can fix; its message (one or two sentences on how) becomes an error ToolResult."""

    def result(self) -> ToolResult:
        return ToolResult(str(self), error=True)


# Why the system refused a path, in words the model can act on; other errors say the system's own words.
_FAULTS = {
    errno.ELOOP: "it leads through a loop of symbolic links (or more than 40 of them); use the path of the real file",
    errno.ENAMETOOLONG: "the path is too long for this system (a name may have at most 255 bytes); use a shorter one",
    errno.EACCES: "permission denied (this user may not use it, or a folder on its way)",
    errno.EPERM: "the system does not permit it for this user",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.ENXIO: "it is a device or a pipe, not a regular file",
    errno.ENODEV: "it is a device, not a regular file",
}


def fault(error: OSError, doing: str, shown: str) -> ToolError:
    """An error the system raised on a path, as one sentence: 'Could not read x: it leads through a loop ...'."""
    reason = _FAULTS.get(error.errno or 0) or (error.strerror or str(error)).rstrip(".").lower()
    if len(shown) > MAX_SHOWN:
        shown = f"{shown[:MAX_SHOWN - 3]}..."
    return ToolError(f"Could not {doing} {shown}: {reason}.")


def answer(spec: ToolSpec, args: Any, doing: str, body: Callable[[dict[str, Any]], ToolResult]) -> ToolResult:
    """Run a file tool's body on its checked arguments. Whatever the system refuses on the way (a symlink loop,
    a name too long, a permission, a full disk) becomes one sentence in a ToolResult(error=True), never a crash."""
    try:
        checked = parse_args(spec, args)
        try:
            return body(checked)
        except OSError as error:
            raise fault(error, doing, str(checked.get("path") or ".")) from None
    except (ToolError, PathRefused) as error:
        return ToolResult(str(error), error=True)


Tick = Callable[[], None]  # called often by a tool's long loops; raises ToolError once its time is up


@dataclass(frozen=True)
class Deadline:
    """When a file tool's call must stop, as a command has its timeout: its loops over lines call `check`, so a
    call on a huge file ends with an error rather than running on. An edit checks only before it writes."""

    tool: str
    shown: str
    limit_s: float
    at: float
    writes: bool

    @classmethod
    def start(cls, tool: str, shown: str, limit_s: float, writes: bool = False) -> Deadline:
        return cls(tool, shown, limit_s, time.monotonic() + limit_s, writes)

    def check(self) -> None:
        if time.monotonic() >= self.at:
            unchanged = ", which it left unchanged" if self.writes else ""
            raise ToolError(f"{self.tool} stopped after {self.limit_s:g} s, its time limit, on {self.shown}"
                            f"{unchanged}; for a file this large use bash (grep, sed, or a script) instead.")


def parse_args(spec: ToolSpec, args: Any) -> dict[str, Any]:
    """Check `args` against the spec's schema and fill in defaults; raise ToolError saying how to fix them.

    An optional argument given as null counts as left out: weak models often send every key.
    """
    props: Mapping[str, Mapping[str, Any]] = spec.parameters["properties"]
    required = spec.parameters.get("required", ())
    if not isinstance(args, Mapping):
        raise ToolError(f"The arguments of {spec.name} must be a JSON object with the keys {keys(spec)}.")
    unknown = sorted(str(key) for key in args if key not in props)
    if unknown:
        names = ", ".join(f"'{key}'" for key in unknown)
        raise ToolError(f"{spec.name} has no argument {names}; its arguments are {keys(spec)}.")
    clean: dict[str, Any] = {}
    for key, schema in props.items():
        value = args.get(key)
        if value is None and key in required:
            raise ToolError(f"{spec.name} needs the argument '{key}' ({type_name(schema)}).")
        clean[key] = schema.get("default") if value is None else _check(spec.name, key, schema, value)
    return clean


def _check(tool: str, key: str, schema: Mapping[str, Any], value: Any) -> Any:
    if "integer" in types_of(schema) and isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema counts 3.0 as an integer, and some servers emit it.
    if not matches(value, schema):
        raise ToolError(wrong_type(tool, key, schema, value))
    if isinstance(value, str) and (lone := _LONE_SURROGATE.search(value)):
        # Refused rather than written as a raw byte (surrogateescape) or as '?': it can only come from a broken
        # escape in the model's JSON (half of an emoji's UTF-16 pair), never from text the model was shown, so
        # writing it would put bytes in the file that nobody meant.
        raise ToolError(
            f"Argument '{key}' of {tool} holds a lone surrogate (\\u{ord(lone.group()):04x} at character "
            f"{lone.start()}), half of a UTF-16 pair, which is not text and cannot be saved as UTF-8; write the "
            "character itself, or leave it out."
        )
    low, high = schema.get("minimum"), schema.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        bound = f"between {low} and {high}" if low is not None and high is not None else f"at least {low}"
        raise ToolError(f"Argument '{key}' of {tool} must be {bound}, not {value}.")
    return value


def looks_binary(head: bytes) -> bool:
    return b"\x00" in head[:BINARY_PROBE]


def not_found(ws: Workspace, where: Place) -> ToolError:
    """A 'file not found' error naming up to five files in the workspace with similar names."""
    rel = where.shown
    similar = similar_files(ws, where.name)
    if similar:
        return ToolError(f"File not found: {rel}. Similar files in the workspace: {', '.join(similar)}.")
    return ToolError(f"File not found: {rel}. Use glob or list_dir to find the right path.")


def similar_files(ws: Workspace, name: str, limit: int = 5) -> list[str]:
    scored = []
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(name)
    for rel in ws.listing.files()[:SIMILAR_AMONG]:
        matcher.set_seq1(PurePath(rel).name)
        if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6 and matcher.ratio() >= 0.6:
            scored.append((-matcher.ratio(), rel))
    return [rel for _, rel in sorted(scored)[:limit]]
