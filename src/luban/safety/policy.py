"""Pure permission decisions: a call, its effect, what its tool declares it touches (paths, a command line judged
subcommand by subcommand), the mode and the allow / ask / deny rules give allow, ask or deny, with a sentence
that says why. The pattern language is in docs/permissions.md; risky commands are data (RISKS, in risks.py)."""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

from ..errors import ConfigError
from ..tools import declared
from ..types import Effect, ToolCall, Touched
from . import shell
from .risks import inside, risk_of

if TYPE_CHECKING:
    from ..tools import Tool

Verdict = Literal["allow", "ask", "deny"]
KINDS = ("allow", "ask", "deny")
_SEVERITY: dict[Verdict, int] = {"allow": 0, "ask": 1, "deny": 2}
_TABLE: dict[str, dict[Effect, Verdict]] = {
    "plan": {"read": "allow", "write": "deny", "exec": "deny"},
    "ask": {"read": "allow", "write": "ask", "exec": "ask"},
    "auto-edit": {"read": "allow", "write": "allow", "exec": "ask"},
    "full-auto": {"read": "allow", "write": "allow", "exec": "allow"},
}
MODES = tuple(_TABLE)  # strictest first
_DOES = {"read": "reads files", "write": "changes files", "exec": "runs commands"}
_PATTERN = re.compile(r"(\*|[A-Za-z_][A-Za-z0-9_.-]*)(?:\((.*)\))?", re.S)
# A program named by a path in one of these is the same program as its bare name for an allow rule; `./ls`
# (a file the agent may have written) is not.
SYSTEM_BIN = frozenset({"/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin", "/usr/local/sbin"})
_DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})
_TOKEN = re.compile(r"[^\s;&|()<>`$\"'\\{}]+")
_SHOWN = 80  # characters of a command quoted in a reason
_GLOB_CHAR = re.compile(r"([*?\[])")


@dataclass(frozen=True)
class Ruling:
    verdict: Verdict
    reason: str
    risky: bool = False  # a command that can destroy work: the caller snapshots the workspace first


@dataclass(frozen=True)
class Pattern:
    """One rule: `*`, `TOOL`, `TOOL(PREFIX:*)` or `TOOL(EXACT)` on the command a call runs, `TOOL(GLOB)` on the
    paths it touches. bash's specifier is read as a command only, any other tool's both ways."""

    text: str
    tool: str
    words: tuple[str, ...] | None = None  # the command's words
    prefix: bool = False  # TOOL(PREFIX:*): the words start the command
    exact: str | None = None  # TOOL(EXACT): also matches the whole command line, e.g. `make && make test`
    glob: re.Pattern[str] | None = None  # on the workspace-relative paths

    @classmethod
    def parse(cls, text: str, written: bool = True) -> Pattern:
        """`written`: by a person, who means :* as a wildcard wherever it is (a stored command line is literal)."""
        match = _PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
        if not match or (match.group(2) is not None and (match.group(1) == "*" or not match.group(2).strip())):
            raise ConfigError(f"The permission rule {text!r} is malformed; write *, TOOL or TOOL(SPECIFIER), such "
                              f'as "bash(git status:*)" or "edit_file(src/**)".')
        tool, spec = match.groups()
        if spec is None:
            return cls(text, tool)
        spec = spec.strip()
        words, prefix, exact = _command_parts(spec, written)
        if tool != "bash":
            return cls(text, tool, words, prefix, exact, glob_regex(spec))
        if (prefix and not words) or (written and ":*" in (spec[:-2] if prefix else spec)):
            raise ConfigError(f"The permission rule {text!r} is malformed; a bash rule is bash(COMMAND) or "
                              f'bash(PREFIX:*) with :* only at the end, such as "bash(git status:*)".')
        return cls(text, tool, words, prefix, exact)

    def covers(self, name: str) -> bool:
        return self.tool in ("*", name) or server_of(name) == self.tool

    def matches_call(self, call: ToolCall, touched: Touched) -> bool:
        """A whole call, by the paths it touches; a command specifier never matches here (see matches_command)."""
        if not self.covers(call.name):
            return False
        if self.glob is not None:
            return any(self.glob.fullmatch(p) for path in _workspace_paths(touched) for p in _with_parents(path))
        return self.words is None and self.exact is None

    def matches_command(self, command: shell.SimpleCommand, tool: str, for_allow: bool) -> bool:
        if not self.covers(tool):
            return False
        if self.words is None:
            return self.exact is None
        argv, n = command.argv, len(self.words)
        if len(argv) < n or (not self.prefix and len(argv) != n) or tuple(argv[1:n]) != self.words[1:]:
            return False
        return _same_program(self.words[0], argv[0], for_allow)

    def matches_line(self, line: str, tool: str) -> bool:
        """TOOL(EXACT) on the whole command line as written."""
        return self.covers(tool) and self.exact is not None and self.exact == line.strip()

    def mentioned_in(self, line: str, tool: str) -> bool:
        """For a deny rule and a line that cannot be parsed: do the rule's words occur in it, in order?"""
        if not self.covers(tool):
            return False
        if self.words is None:
            return self.exact is None or self.exact in line
        tokens, n = _TOKEN.findall(line), len(self.words)
        return any(_same_program(self.words[0], tokens[i], False) and tuple(tokens[i + 1:i + n]) == self.words[1:]
                   for i in range(len(tokens) - n + 1))


def server_of(name: str) -> str | None:
    """`mcp__time` for the MCP tool `mcp__time__get_current_time`: as in Claude Code, a rule naming the server
    covers every tool it offers."""
    if not name.startswith("mcp__"):
        return None
    server, sep, _ = name[5:].partition("__")
    return f"mcp__{server}" if sep and server else None


def _command_parts(spec: str, written: bool) -> tuple[tuple[str, ...] | None, bool, str | None]:
    """A command specifier's words, whether they are a prefix (`:*`), and the exact line it also matches."""
    prefix = written and spec.endswith(":*")
    body = spec[:-2].strip() if prefix else spec
    try:
        words = tuple(shlex.split(body))
    except ValueError:
        words = ()
    return words or None, prefix, None if prefix else body


@dataclass(frozen=True)
class Rules:
    """The allow / ask / deny rules of all config layers, parsed once per run."""

    allow: tuple[Pattern, ...] = ()
    ask: tuple[Pattern, ...] = ()
    deny: tuple[Pattern, ...] = ()

    @classmethod
    def parse(cls, mapping: Mapping[str, Any]) -> Rules:
        for kind, patterns in mapping.items():
            if kind not in KINDS:
                raise ConfigError(f"Unknown permission rule kind {kind!r}; use allow, ask or deny.")
            if isinstance(patterns, str) or not isinstance(patterns, Sequence):
                raise ConfigError(f"permissions.{kind} must be a list of patterns, not {patterns!r}.")
        return cls(*(tuple(Pattern.parse(p) for p in mapping.get(kind, ())) for kind in KINDS))

    def with_allowed(self, patterns: Sequence[str]) -> Rules:
        return Rules(self.allow + tuple(Pattern.parse(p, written=False) for p in patterns), self.ask, self.deny)


@lru_cache(maxsize=8)
def _parsed(frozen: tuple[tuple[str, tuple[str, ...]], ...]) -> Rules:
    return Rules.parse(dict(frozen))


def rules_of(permissions: Mapping[str, Any]) -> Rules:
    """The settings' permission rules, parsed once (settings do not change during a run)."""
    return _parsed(tuple((kind, tuple(p) if isinstance(p, (list, tuple)) else p)
                         for kind, p in sorted(permissions.items())))


def decide(call: ToolCall, effect: Effect, mode: str, rules: Rules = Rules(),
           session_allow: Sequence[str] = (), touched: Touched | None = None) -> Ruling:
    """Deny rules win everywhere; plan mode only reads; then risky commands ask, then ask rules, allow rules
    (and what the user allowed for this session), and last the mode. `touched`: what the call's tool declares
    (by default the built-in tool of its name), its paths workspace-relative (agent/call.py resolves them)."""
    rules = rules.with_allowed(session_allow) if session_allow else rules
    touched = declared(call) if touched is None else touched
    if touched.command is not None:
        return _decide_line(call, touched, touched.command, effect, mode, rules)
    return _decide_call(call, touched, effect, mode, rules)


def _decide_call(call: ToolCall, touched: Touched, effect: Effect, mode: str, rules: Rules) -> Ruling:
    subject = f"{call.name} on `{', '.join(_workspace_paths(touched))}`" if touched.paths else call.name
    denied = _first(rules.deny, call, touched)
    if denied:
        return Ruling("deny", f"{subject} is denied by the rule `{denied.text}`.")
    if _TABLE[mode][effect] == "deny":
        return Ruling("deny", f"{call.name} {_DOES[effect]}, which plan mode does not allow.")
    asked = _first(rules.ask, call, touched)
    if asked:
        return Ruling("ask", f"{subject} needs approval by the rule `{asked.text}`.")
    allowed = _first(rules.allow, call, touched)
    if allowed:
        return Ruling("allow", f"{subject} is allowed by the rule `{allowed.text}`.")
    if _TABLE[mode][effect] == "allow":
        return Ruling("allow", f"{call.name} {_DOES[effect]}, which {mode} mode allows without asking.")
    return Ruling("ask", f"{subject} is not covered by an allow rule in {mode} mode.")


def _decide_line(call: ToolCall, touched: Touched, line: str, effect: Effect, mode: str, rules: Rules) -> Ruling:
    try:
        commands = shell.read(line)
    except shell.Unreadable as why:
        return _unreadable(call.name, line, str(why), mode, rules)
    if not commands:
        return _decide_call(call, touched, effect, mode, rules)
    whole = next((p for p in rules.allow if p.matches_line(line, call.name)), None)
    rulings, here = [], True
    for command in commands:
        rulings.append(_decide_command(command, call.name, mode, rules, whole, here))
        if command.program in ("cd", "pushd", "popd"):
            # Relative paths after a cd out of the workspace are outside it too.
            here = here and len(command.argv) == 2 and command.program != "popd" and inside(command.argv[1])
    worst = max(rulings, key=lambda r: (_SEVERITY[r.verdict], r.risky))  # the first of the strictest
    return Ruling(worst.verdict, worst.reason, any(r.risky for r in rulings))


def _decide_command(command: shell.SimpleCommand, tool: str, mode: str, rules: Rules, whole: Pattern | None,
                    here: bool) -> Ruling:
    shown = _shown(str(command))
    denied = next((p for p in rules.deny if p.matches_command(command, tool, for_allow=False)), None)
    risk = risk_of(command, here)
    if denied:
        return Ruling("deny", f"{tool}: `{shown}` is denied by the rule `{denied.text}`.", risk is not None)
    if mode == "plan":
        return Ruling("deny", f"{tool} runs commands, which plan mode does not allow.", risk is not None)
    if risk:
        return Ruling("ask", f"{tool}: `{shown}` is risky ({risk}), so it needs approval in every mode.", True)
    asked = next((p for p in rules.ask if p.matches_command(command, tool, for_allow=False)), None)
    if asked:
        return Ruling("ask", f"{tool}: `{shown}` needs approval by the rule `{asked.text}`.")
    allowed = whole or next((p for p in rules.allow if p.matches_command(command, tool, for_allow=True)), None)
    unsafe = next((w for w in command.writes if w not in _DEVICES and not inside(w)), None)
    if allowed and not unsafe:
        return Ruling("allow", f"{tool}: `{shown}` is allowed by the rule `{allowed.text}`.")
    if mode == "full-auto":
        return Ruling("allow", f"{tool} runs commands, which full-auto mode allows without asking.")
    if allowed:
        return Ruling("ask", f"{tool}: `{shown}` writes to `{unsafe}` outside the workspace, which the rule "
                             f"`{allowed.text}` does not cover.")
    return Ruling("ask", f"{tool}: `{shown}` is not covered by an allow rule in {mode} mode.")


def _unreadable(tool: str, line: str, why: str, mode: str, rules: Rules) -> Ruling:
    """A line that cannot be judged command by command is never allowed by a rule: a human reads it."""
    shown = _shown(line.strip())
    denied = next((p for p in rules.deny if p.mentioned_in(line, tool)), None)
    if denied:
        return Ruling("deny", f"{tool}: `{shown}` mentions what the rule `{denied.text}` denies and cannot be "
                              f"checked command by command ({why}).")
    if mode == "plan":
        return Ruling("deny", f"{tool} runs commands, which plan mode does not allow.")
    return Ruling("ask", f"{tool}: `{shown}` cannot be checked command by command ({why}), so it needs approval.")


def narrowest(call: ToolCall, touched: Touched | None = None) -> str:
    """The pattern "always allow" stores: this exact command line, this exact path, or else the tool."""
    touched = declared(call) if touched is None else touched
    if touched.command and touched.command.strip():
        return f"{call.name}({touched.command.strip()})"
    if len(touched.paths) == 1:
        return f"{call.name}({_GLOB_CHAR.sub(_bracketed, _workspace_paths(touched)[0])})"
    return call.name


def _bracketed(match: re.Match[str]) -> str:
    return f"[{match.group(1)}]"  # a glob character in a path, matched literally


def offered(tools: Sequence[Tool], mode: str) -> tuple[Tool, ...]:
    """The tools worth showing the model: one the mode always denies only invites refused calls."""
    return tuple(t for t in tools if _TABLE[mode][t.effect] != "deny")


def _workspace_paths(touched: Touched) -> list[str]:
    return [posixpath.normpath(p) if p.strip() else "." for p in touched.paths] or ["."]


def glob_regex(glob: str) -> re.Pattern[str]:
    """`**` any depth (`**/` also none), `*` and `?` within one path segment, `[...]` a character class."""
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        char, end = glob[i], glob.find("]", i + 2)
        if char == "[" and end > 0:
            body = re.sub(r"([\\\[^])", r"\\\1", glob[i + 1:end])
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
            continue
        out.append({"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char)))
        i += 1
    return re.compile("".join(out), re.S)


def _with_parents(path: str) -> list[str]:
    """The path and its folders: a rule on a folder covers what is inside it."""
    parts = path.split("/")
    return ["/".join(parts[:n]) or "/" for n in range(len(parts), 0, -1)]


def _same_program(rule: str, written: str, for_allow: bool) -> bool:
    """`curl` in a rule is `/usr/bin/curl` too; an allow rule does not cover `./curl` (a file in the workspace)."""
    name = rule.rsplit("/", 1)[-1]
    if written == rule or written.rsplit("/", 1)[-1] != name:
        return written == rule
    if not for_allow:
        return True
    folder = written.rsplit("/", 1)[0] if "/" in written else ""
    return folder in SYSTEM_BIN or ("/" not in written and "/" in rule)


def _first(patterns: Sequence[Pattern], call: ToolCall, touched: Touched) -> Pattern | None:
    return next((p for p in patterns if p.matches_call(call, touched)), None)


def _shown(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
