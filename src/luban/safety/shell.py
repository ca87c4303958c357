"""Every simple command a bash command line would run, read with a real parser (tree-sitter bash), so that
permission rules judge `ls && curl x` as `ls` and `curl x`. What cannot be read with confidence is None:
the caller asks a human instead of guessing."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Iterable

MAX_DEPTH = 200  # syntax nesting; deeper input is not judged (and cannot exhaust Python's stack)
MAX_SHELL_NESTING = 8  # bash -c "bash -c '...'"


@dataclass(frozen=True)
class SimpleCommand:
    """One command that would run: its words after quote removal (an expansion keeps its text, e.g. `$HOME`),
    the files its output is redirected to, and the variables set for it (`X=1 cmd`, `env X=1 cmd`)."""

    argv: tuple[str, ...]
    writes: tuple[str, ...] = ()
    assignments: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        """The program's name: `/usr/bin/curl` is `curl`."""
        return self.argv[0].rsplit("/", 1)[-1]

    def __str__(self) -> str:
        return " ".join(self.argv)


class Unreadable(Exception):
    """The command line cannot be judged subcommand by subcommand; str() says why, in a phrase."""


@dataclass(frozen=True)
class _Word:
    text: str
    literal: bool  # no expansion, substitution or unquoted glob: the text is exactly what runs


@dataclass(frozen=True)
class _Wrapper:
    """A program that runs another: options (some take a value), then fixed operands, then the command."""

    valued: frozenset[str] = frozenset()
    operands: int = 0  # words before the command, e.g. timeout's DURATION
    assignments: bool = False  # NAME=VALUE words may precede the command
    unreadable: frozenset[str] = frozenset()  # options that make the command itself unreadable
    shell_options: frozenset[str] = frozenset()  # options that, with no command, start a shell reading input


# Builtins that run code given as text or change what a command name means.
CODE_BUILTINS = frozenset({"eval", "source", ".", "trap", "alias", "hash", "enable", "fc"})
# Setting these changes which program a name runs, or runs code on its own.
LOOKUP_VARIABLES = frozenset({"PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_ENV", "ENV", "IFS",
                              "PROMPT_COMMAND", "SHELLOPTS", "BASHOPTS", "PS4", "CDPATH", "GCONV_PATH"})
SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh"})
_SHELL_VALUED = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})
_SIMPLE = _Wrapper()
WRAPPERS: dict[str, _Wrapper] = {
    "env": _Wrapper(frozenset({"-u", "--unset", "-C", "--chdir"}), assignments=True,
                    unreadable=frozenset({"-S", "--split-string"})),
    "sudo": _Wrapper(frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "-R", "--user",
                                "--group", "--chdir", "--prompt", "--host", "--role", "--type", "--other-user",
                                "--command-timeout", "--chroot", "--close-from"}), assignments=True,
                     shell_options=frozenset({"-s", "-i", "--shell", "--login"})),
    "timeout": _Wrapper(frozenset({"-s", "--signal", "-k", "--kill-after"}), operands=1),
    "nice": _Wrapper(frozenset({"-n", "--adjustment"})),
    "ionice": _Wrapper(frozenset({"-c", "-n", "--class", "--classdata"})),
    "stdbuf": _Wrapper(frozenset({"-i", "-o", "-e", "--input", "--output", "--error"})),
    "time": _Wrapper(frozenset({"-f", "--format", "-o", "--output"})),
    "exec": _Wrapper(frozenset({"-a"})),
    "nohup": _SIMPLE, "command": _SIMPLE, "builtin": _SIMPLE, "setsid": _SIMPLE, "coproc": _SIMPLE,
}
_XARGS_VALUED = frozenset({"-a", "--arg-file", "-d", "--delimiter", "-E", "-I", "-L", "--max-lines", "-n",
                           "--max-args", "-P", "--max-procs", "-s", "--max-chars", "--process-slot-var"})
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_FIND_END = frozenset({";", "+"})
_LITERAL_LEAVES = frozenset({"word", "number"})
_CONTAINERS_OF_COMMANDS = frozenset({"command", "declaration_command", "unset_command", "redirected_statement"})
_DECLARATIONS = frozenset({"declaration_command", "unset_command"})
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")
_GLOB = re.compile(r"(?<!\\)[*?\[]")
_DQ_ESCAPE = re.compile(r"\\([$`\"\\\n])")
_ESCAPE = re.compile(r"\\(.)", re.S)
# bash joins `cu\<newline>rl` into `curl` before anything else; tree-sitter would read two words. An escaped
# backslash (an even run) before a newline is no continuation.
_CONTINUATION = re.compile(r"(?<!\\)((?:\\\\)*)\\\n")
# Builtins that assign to a variable named by an argument.
_SETTERS = frozenset({"read", "printf", "mapfile", "readarray", "getopts"})


def commands(source: str) -> tuple[SimpleCommand, ...] | None:
    """Every simple command `source` would run, in order, or None when it cannot be judged with confidence."""
    try:
        return read(source)
    except Unreadable:
        return None


def read(source: str, nesting: int = 0) -> tuple[SimpleCommand, ...]:
    """Like commands(), but raises Unreadable with the reason."""
    if nesting > MAX_SHELL_NESTING:
        raise Unreadable("shells nested too deeply")
    tree = _parser().parse(_CONTINUATION.sub(r"\1", source).encode("utf-8", "surrogatepass"))
    if tree.root_node.has_error:
        raise Unreadable("its syntax is incomplete or not bash")
    found: list[SimpleCommand] = []
    _Reader(found, nesting).visit(tree.root_node, 0)
    return tuple(found)


@lru_cache(maxsize=1)
def _parser() -> Any:
    from tree_sitter_language_pack import get_parser  # heavy: loaded on the first command judged

    return get_parser("bash")


@dataclass
class _Reader:
    out: list[SimpleCommand]
    nesting: int

    def visit(self, node: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise Unreadable("it is nested too deeply")
        if node.type == "ERROR" or node.is_missing:
            raise Unreadable("its syntax is incomplete or not bash")
        if node.type == "redirected_statement":
            self._redirected(node, depth)
            return
        if node.type == "command":
            self._command(node, depth)
        elif node.type in _DECLARATIONS:
            self.out.append(SimpleCommand(tuple(_word(c).text for c in node.children)))
            _check_assignments(node)
        elif node.type == "variable_assignment":
            _check_assignments(node.parent)
        elif node.type in ("for_statement", "select_statement"):
            _check_names(f"{_word(c).text}=" for c in node.children if c.type == "variable_name")
        for child in node.children:  # substitutions anywhere inside run too
            self.visit(child, depth + 1)

    def _redirected(self, node: Any, depth: int) -> None:
        """`body > file`: every command of the body may write the file (tree-sitter hangs `a && b > f` on the
        whole list; blaming both is the strict reading)."""
        inner = _Reader([], self.nesting)
        writes: list[str] = []
        for child in node.children:
            if child.type.endswith("_redirect"):
                writes += _output_targets(child)
                self.visit(child, depth + 1)
            else:
                inner.visit(child, depth + 1)
        self.out += [replace(c, writes=(*c.writes, *writes)) for c in inner.out]

    def _command(self, node: Any, depth: int) -> None:
        words, writes, assignments = [], [], []
        for child in node.children:
            if child.type == "variable_assignment":
                assignments.append(_word(child).text)
            elif child.type.endswith("_redirect"):
                writes += _output_targets(child)
            elif child.type != "comment":
                words.append(_word(child))
        _check_names(assignments)
        self.out += _run(words, tuple(writes), tuple(assignments), self.nesting)


def _run(words: list[_Word], writes: tuple[str, ...], assignments: tuple[str, ...],
         nesting: int) -> list[SimpleCommand]:
    """The command these words run, and whatever it runs in turn (wrappers, shells, xargs, find -exec)."""
    if not words:
        return []
    name = words[0]
    if not name.literal or not name.text:
        raise Unreadable(f"its command name `{name.text}` is not a plain word")
    here = SimpleCommand(tuple(w.text for w in words), writes, assignments)
    program = here.program
    if program in CODE_BUILTINS:
        raise Unreadable(f"`{program}` runs code that is only known when it runs")
    if program in _SETTERS:
        _check_names(f"{w.text}=" for w in words[1:])
    if program in WRAPPERS:
        inner, more = _unwrap(WRAPPERS[program], words[1:], program)
        return [here, *_run(inner, writes, (*assignments, *more), nesting)]
    if program in SHELLS:
        return [here, *_shell(words[1:], writes, nesting)]
    if program == "su":
        return [here, *_su(words[1:], writes, nesting)]
    if program == "xargs":
        return [here, *_run(_xargs(words[1:]), writes, assignments, nesting)]
    if program == "find":
        return [here, *[c for inner in _find_execs(words[1:]) for c in _run(inner, writes, (), nesting)]]
    return [here]


def _unwrap(wrapper: _Wrapper, words: list[_Word], program: str) -> tuple[list[_Word], tuple[str, ...]]:
    """Skip the wrapper's options and operands: the wrapped command's words, and the variables it sets."""
    operands, assignments, i = wrapper.operands, [], 0
    while i < len(words):
        text = words[i].text
        if text == "--":
            i += 1
            break
        if text.startswith("-") and len(text) > 1:
            if text.split("=", 1)[0] in wrapper.unreadable or text[:2] in wrapper.unreadable:
                raise Unreadable(f"`{program} {text}` builds its command at run time")
            i += 2 if text in wrapper.valued else 1
        elif wrapper.assignments and _ASSIGNMENT.match(text):
            assignments.append(text)
            i += 1
        elif operands > 0:
            operands -= 1
            i += 1
        else:
            break
    if i >= len(words) and any(w.text in wrapper.shell_options for w in words):
        raise Unreadable(f"`{program}` starts a shell that reads its commands from input")
    _check_names(assignments)
    return words[i:], tuple(assignments)


def _shell(words: list[_Word], writes: tuple[str, ...], nesting: int) -> list[SimpleCommand]:
    """`bash -c STRING` runs STRING; `bash script` runs a file (judged as `bash`); `bash` alone reads stdin."""
    has_c, i = False, 0
    while i < len(words):
        text = words[i].text
        if text == "--":
            i += 1
            break
        if text in _SHELL_VALUED or (text[:1] in "-+" and text[1:2] != "-" and text[-1:] in "oO"):
            i += 2
        elif text[:1] in "-+" and len(text) > 1:
            if text[:1] == "-" and not text.startswith("--") and "c" in text:
                has_c = True
            if text[:1] == "-" and not text.startswith("--") and "s" in text:
                raise Unreadable("the shell reads its commands from input")
            i += 1
        else:
            break
    if i >= len(words):
        raise Unreadable("the shell's commands come from input, not from the command line")
    if not has_c:
        return []
    script = words[i]
    if not script.literal:
        raise Unreadable(f"the shell's command string `{script.text}` is only known when it runs")
    return [replace(c, writes=(*c.writes, *writes)) for c in read(script.text, nesting + 1)]


def _su(words: list[_Word], writes: tuple[str, ...], nesting: int) -> list[SimpleCommand]:
    """`su -c STRING [user]` runs STRING in a shell; plain `su` starts a shell that reads its input."""
    for i, word in enumerate(words):
        if word.text.startswith("--command="):
            return _shell([_Word("-c", True), _Word(word.text.split("=", 1)[1], word.literal)], writes, nesting)
        if word.text in ("-c", "--command") and i + 1 < len(words):
            return _shell([_Word("-c", True), words[i + 1]], writes, nesting)
    raise Unreadable("`su` starts a shell that reads its commands from input")


def _xargs(words: list[_Word]) -> list[_Word]:
    """The command xargs runs; the words it reads from input are unknown (`{}` stands for them)."""
    replace_with, i = None, 0
    while i < len(words) and words[i].text.startswith("-") and len(words[i].text) > 1:
        text = words[i].text
        if text == "--":
            i += 1
            break
        if text == "-I" and i + 1 < len(words):
            replace_with = words[i + 1].text
        elif text.startswith("-I") or text.startswith("--replace="):
            replace_with = text.split("=", 1)[1] if "=" in text else text[2:]
        elif text.startswith("-i") or text == "--replace":
            replace_with = text[2:] or "{}"
        i += 2 if text in _XARGS_VALUED else 1
    command = list(words[i:]) or [_Word("echo", True)]
    if replace_with:
        return [_Word(w.text, w.literal and replace_with not in w.text) for w in command]
    return [*command, _Word("{}", False)]


def _find_execs(words: list[_Word]) -> Iterable[list[_Word]]:
    """The commands of find's -exec/-execdir/-ok/-okdir actions; `{}` (a found path) is not known."""
    i = 0
    while i < len(words):
        if words[i].text in _FIND_EXEC:
            end = next((j for j in range(i + 1, len(words)) if words[j].text in _FIND_END), len(words))
            yield [_Word(w.text, w.literal and "{}" not in w.text) for w in words[i + 1:end]]
            i = end
        i += 1


def _check_assignments(node: Any) -> None:
    _check_names([_word(c).text for c in node.children if c.type == "variable_assignment"])


def _check_names(assignments: Iterable[str]) -> None:
    for text in assignments:
        match = _ASSIGNMENT.match(text)
        if match and match.group(1) in LOOKUP_VARIABLES:
            raise Unreadable(f"it sets {match.group(1)}, which changes what later commands run")


def _output_targets(redirect: Any) -> list[str]:
    """The files a redirection writes: `> f`, `>> f`, `&> f`, `>| f`, `<> f`; not `2>&1` or `>&-`."""
    operator = next((c.type for c in redirect.children if ">" in c.type), None)
    destination = redirect.child_by_field_name("destination")
    if operator is None or destination is None:
        return [t for c in redirect.children if c.type.endswith("_redirect") for t in _output_targets(c)]
    target = _word(destination).text
    if operator in (">&", "<&") and (target.isdigit() or target == "-"):
        return []
    return [target]


def _word(node: Any) -> _Word:
    """A word after quote removal, and whether it is literal; an expansion keeps its source text."""
    kind, text = node.type, node.text.decode("utf-8", "surrogatepass")
    if kind in _LITERAL_LEAVES:
        return _Word(_ESCAPE.sub(r"\1", text), kind == "number" or not _GLOB.search(text))
    if kind == "raw_string":
        return _Word(text[1:-1], True)
    if kind == "string":
        parts = [_string_part(c) for c in node.children if c.type != '"']
        return _Word("".join(p.text for p in parts), all(p.literal for p in parts))
    if kind in ("concatenation", "variable_assignment", "command_name"):
        parts = [_word(c) for c in node.children]
        return _Word("".join(p.text for p in parts), all(p.literal for p in parts))
    if kind in ("=", "variable_name") or kind in _KEYWORDS:
        return _Word(text, True)
    return _Word(text, False)


def _string_part(node: Any) -> _Word:
    if node.type == "string_content":
        return _Word(_DQ_ESCAPE.sub(r"\1", node.text.decode("utf-8", "surrogatepass")), True)
    return _Word(node.text.decode("utf-8", "surrogatepass"), False)


_KEYWORDS = frozenset({"export", "local", "declare", "typeset", "readonly", "unset", "unsetenv"})
