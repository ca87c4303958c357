"""Risky commands: they can destroy work, so they ask in every permission mode, and the caller snapshots the
workspace before one runs (policy.py decides; this module says what is risky, as data)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Callable

from . import shell

Args = tuple[str, ...]


@dataclass(frozen=True)
class Risk:
    """`program` (and for git its `subcommand`, found past git's own options) with arguments that `applies`
    to, given whether the command runs inside the workspace; `what` completes "is risky (...)"."""

    program: str
    what: str
    applies: Callable[[Args, bool], bool]
    subcommand: str | None = None


def flag(args: Args, letters: str, *longs: str) -> bool:
    """A short option among `letters` (also inside a cluster like -fdx) or one of the long options."""
    for arg in args:
        if arg == "--":
            return False
        if arg in longs or any(arg.startswith(f"{long}=") for long in longs):
            return True
        if arg.startswith("-") and not arg.startswith("--") and any(c in arg[1:] for c in letters):
            return True
    return False


def operands(args: Args) -> Args:
    """The arguments that are not options (all of them after `--`)."""
    if "--" in args:
        cut = args.index("--")
        return tuple(a for a in args[:cut] if not a.startswith("-")) + args[cut + 1:]
    return tuple(a for a in args if not a.startswith("-"))


_PLAIN_PATH = re.compile(r"[\w.@%+=:,/*?\[\]-]+")


def inside(path: str) -> bool:
    """Whether a path as written stays in the workspace: relative, no `..` out, no `~` or expansion. An
    absolute path counts as outside (the text alone cannot tell)."""
    norm = posixpath.normpath(path)
    return bool(_PLAIN_PATH.fullmatch(path)) and not path.startswith("/") and not norm.startswith("..")


def _wipes(path: str, here: bool) -> bool:
    """A target whose recursive delete loses more than a folder of the workspace: outside it, or all of it."""
    first = posixpath.normpath(path).split("/")[0]
    return not here or not inside(path) or bool(re.fullmatch(r"[.*?\[\]]+", first))


def _find_deletes(args: Args, here: bool) -> bool:
    """find -delete from outside the workspace, or with nothing to choose what it deletes."""
    cut = next((i for i, a in enumerate(args) if a[:1] in "-(!"), len(args))
    starts, expression = args[:cut] or (".",), set(args[cut:])
    outside = not here or not all(inside(s) for s in starts)
    return "-delete" in expression and (outside or expression <= {"-delete", "-depth", "-xdev", "-mount"})


RISKS: tuple[Risk, ...] = (
    Risk("rm", "a recursive delete outside the workspace or of all of it",
         lambda a, here: flag(a, "rR", "--recursive") and any(_wipes(t, here) for t in operands(a))),
    Risk("find", "it deletes files outside the workspace or all of them", _find_deletes),
    Risk("git", "it discards uncommitted work", lambda a, _: "--hard" in a, "reset"),
    Risk("git", "it deletes untracked files", lambda a, _: flag(a, "f", "--force"), "clean"),
    Risk("git", "it can overwrite the remote's history",
         lambda a, _: flag(a, "f", "--force", "--force-with-lease") or any(o.startswith("+") for o in operands(a)),
         "push"),
    Risk("git", "it discards uncommitted changes", lambda a, _: "--" in a or "." in operands(a), "checkout"),
    Risk("git", "it discards uncommitted changes", lambda a, _: bool({".", ":/", "*"} & set(operands(a))),
         "restore"),
    Risk("git", "it deletes a branch that may not be merged",
         lambda a, _: flag(a, "D") or (flag(a, "d", "--delete") and flag(a, "f", "--force")), "branch"),
    Risk("mkfs", "it formats a file system", lambda a, _: True),
    Risk("dd", "it writes a device or file directly", lambda a, _: any(o.startswith("of=") for o in a)),
)
_GIT_VALUED = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env", "--exec-path"})


def risk_of(command: shell.SimpleCommand, here: bool = True) -> str | None:
    """What makes `command` risky, or None; `here`: it runs in the workspace (no cd out of it before)."""
    program, args = command.program, command.argv[1:]
    if program.startswith("mkfs."):
        program = "mkfs"
    subcommand = None
    if program == "git":
        i = 0
        while i < len(args) and args[i].startswith("-"):
            i += 2 if args[i] in _GIT_VALUED else 1
        subcommand, args = (args[i], args[i + 1:]) if i < len(args) else (None, ())
    return next((r.what for r in RISKS if r.program == program and r.subcommand == subcommand
                 and r.applies(args, here)), None)
