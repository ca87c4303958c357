"""Command line: argv → Settings and a command to run. No agent logic lives here.

Kept light on purpose: `luban --help` imports neither httpx nor the inference engine.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from .. import __version__
from ..config import OUTPUT_FORMATS, PERMISSION_MODES, SANDBOXES, TOOL_PROTOCOLS, load
from ..errors import ConfigError, LubanError
from . import sdk_flags

COMMANDS = ("run", "models", "demo", "eval", "init", "undo", "rewind", "trust", "tune", "mcp", "acp")


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("model and limits")
    g.add_argument("--base-url", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1")
    g.add_argument("--model", help="model name on that server (default: the one it serves)")
    g.add_argument("--api-key", help="API key for the server, if it needs one")
    g.add_argument("--embedded-model", help="embedded model to run when no --base-url is given")
    g.add_argument("--transformers", metavar="PATH", help="run a model in-process with Hugging Face transformers: "
                   "a model folder or a .gguf file (needs the `transformers` extra)")
    g.add_argument("--adapter", metavar="PATH", help="a LoRA adapter from luban tune train: OUT/adapter.gguf for the "
                   "embedded model, OUT/adapter (a PEFT folder) for --transformers")
    g.add_argument("--cwd", help="the workspace (default: the current directory)")
    g.add_argument("--max-steps", type=int, help="stop after this many model requests")
    g.add_argument("--max-wall-s", type=float, help="stop after this many seconds")
    # Claude Code's names too (default, acceptEdits, plan, bypassPermissions), as the Agent SDK passes them.
    g.add_argument("--permission-mode", choices=tuple(dict.fromkeys((*PERMISSION_MODES, *sdk_flags.CLAUDE_MODES))))
    g.add_argument("--sandbox", choices=SANDBOXES, help="how the agent's commands are confined (default: auto, "
                   "bubblewrap where it works, else Landlock)")
    g.add_argument("--no-sandbox", action="store_true", default=None,
                   help="run the agent's commands unconfined when no sandbox works (never with full-auto)")
    g.add_argument("--output-format", choices=OUTPUT_FORMATS)
    g.add_argument("--temperature", type=float)
    g.add_argument("--test-cmd", dest="test_command", help="the project's test command: its output is shown to "
                   "the model first, and the agent may not finish while it fails")
    g.add_argument("--tool-protocol", choices=TOOL_PROTOCOLS, help="native function calling, the model's own text "
                   "format, or schema-constrained JSON turns (default: json for the embedded and in-process models, "
                   "native for a server)")
    g.add_argument("--mcp-config", metavar="FILE", help="MCP servers in .mcp.json shape, over those of your config "
                   "folder (docs/extending.md)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="luban", description="An autonomous coding agent for open-weight models "
                                "on your own hardware. Commands: run TASK, demo, models [pull NAME], eval SUITE, "
                                "init, undo, rewind N, trust, tune data|train, acp (for editors).")
    p.add_argument("--version", action="version", version=f"luban {__version__}")
    p.add_argument("-p", "--print", dest="task", metavar="TASK", nargs="?", const="-",
                   help="run TASK headless and print the result; without TASK (or with -) the task is read from "
                   "standard input, and input piped beside a TASK is appended to it as context")
    p.add_argument("-c", "--continue", dest="continue_last", action="store_true",
                   help="continue the latest session in this directory")
    p.add_argument("--resume", metavar="ID", help="resume the session with this id")
    _common(p)
    sdk_flags.add_arguments(p)
    return p


def _sub_parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"luban {command}")
    if command == "init":  # no model flags: drafting AGENTS.md runs no model
        p.description = "Draft an AGENTS.md for the workspace from its manifests, build files and linter configs."
        p.add_argument("--force", action="store_true", help="replace an AGENTS.md that exists")
        p.add_argument("--cwd", help="the workspace (default: the current directory)")
        return p
    if command in ("undo", "rewind"):  # no model flags: a rewind runs no model
        _rewind_arguments(p, command)
        return p
    if command == "tune":  # its own flags: it trains a model rather than talking to one
        from .tune_cmd import arguments

        arguments(p)
        return p
    if command == "trust":
        p.description = ("Show what the workspace's own .luban/config.toml would add (a looser mode, allow rules, "
                         "hooks, its test command, model server and other settings) and trust that content of it; "
                         "until then it may only narrow.")
        p.add_argument("--yes", action="store_true", help="trust without asking")
        p.add_argument("--revoke", action="store_true", help="stop trusting it")
        p.add_argument("--cwd", help="the workspace (default: the current directory)")
        return p
    if command == "mcp":
        p.description = "List the configured MCP servers: each one's state and tools (it starts them to ask)."
        p.add_argument("action", nargs="?", choices=("list",), default="list")
        p.add_argument("--cwd", help="the workspace (default: the current directory)")
        p.add_argument("--mcp-config", metavar="FILE", help="MCP servers in .mcp.json shape")
        return p
    if command == "run":
        p.add_argument("task")
        p.add_argument("-c", "--continue", dest="continue_last", action="store_true")
        p.add_argument("--resume", metavar="ID")
    elif command == "models":
        p.add_argument("action", nargs="?", choices=("list", "pull"), default="list")
        p.add_argument("name", nargs="?")
    elif command == "demo":
        p.add_argument("--keep", metavar="DIR", help="work in DIR (kept afterwards) instead of a temp folder")
    elif command == "eval":
        _eval_arguments(p)
    elif command == "acp":
        p.description = ("Serve the Agent Client Protocol on stdin/stdout, for editors: Zed, JetBrains IDEs, Neovim "
                         "(docs/editors.md). Each session works in the folder the editor opens it in.")
    _common(p)
    return p


def _rewind_arguments(p: argparse.ArgumentParser, command: str) -> None:
    p.description = ("Put back the files and the conversation as they were before the last turn that changed files"
                     if command == "undo" else "Put back the files and the conversation as they were before the "
                     "N-th last turn that changed files") + ("; says which commands ran since and cannot be undone. "
                                                             "Files that .gitignore ignores are not restored.")
    if command == "rewind":
        p.add_argument("turns", type=int, nargs="?", metavar="N", help="how many turns that changed files to go back "
                       "(without N: list them)")
    p.add_argument("--session", metavar="ID", help="the session (default: the latest one in the workspace)")
    p.add_argument("--cwd", help="the workspace (default: the current directory)")


def _eval_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Run a task suite (humaneval, bugfix, ipi, or a folder of tasks) and grade it; or: "
                     "eval build-suite, eval compare RUN_A [RUN_B] [--held-out DATASET], eval report RUN.")
    p.add_argument("suite", help="humaneval | bugfix | ipi | PATH to task folders | build-suite | compare | report")
    p.add_argument("runs", nargs="*", help="run folders, for compare and report")
    p.add_argument("--scaffold", default="luban",
                   help="luban, bash-only, direct, luban-without-AID (an ablation: AID is one of regression-guard, "
                   "test-digests, skip-reruns, localize-faults, age-outputs, focused-rewrites, edit-samples, "
                   "focused-writes, finish-on-pass), or several: luban,direct")
    p.add_argument("--jobs", type=int, default=1, help="tasks run at once against the one model server")
    p.add_argument("--fresh-server", action="store_true", default=None,
                   help="start the embedded model anew for each run (the default with --jobs 1), so that no run finds "
                   "another's prompts in llama.cpp's cache, whose state changes its greedy replies; with LUBAN_SEED "
                   "set, a run repeats itself")
    p.add_argument("--shared-server", action="store_false", dest="fresh_server",
                   help="run every task against one embedded server (the default with --jobs > 1)")
    p.add_argument("--tasks", metavar="PATTERN", help="only task ids matching this glob, or one of several separated by "
                   "commas, e.g. 'HumanEval-1*' or 'boltons-*,toolz-*'")
    p.add_argument("--tier", help="only tasks of this difficulty tier (or injection vector, for ipi)")
    p.add_argument("--limit", type=int, help="a random sample of this many tasks (fixed by --seed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ray", metavar="ADDRESS", help="spread tasks over a Ray cluster (`local` starts one here)")
    p.add_argument("--run-dir", help="where the run's records go (default: under the data dir)")
    p.add_argument("--resume", metavar="RUN_DIR", help="finish an interrupted run without redoing its tasks")
    p.add_argument("--task-timeout", type=float, default=900.0, help="wall-clock cap per task in seconds")
    p.add_argument("--out", default="bugfix.json", help="build-suite: where to write the suite manifest")
    p.add_argument("--libraries", help="build-suite: comma-separated libraries (default: all pinned)")
    p.add_argument("--held-out", metavar="DATASET", help="compare: only tasks the tuned model did not learn from "
                   "(not in, nor of a library in, this dataset from luban tune data)")


_SETTING_FLAGS = ("base_url", "model", "api_key", "embedded_model", "transformers", "adapter", "cwd", "max_steps",
                  "max_wall_s", "permission_mode", "output_format", "temperature", "tool_protocol",
                  "test_command", "sandbox", "no_sandbox", "mcp_config")


def _settings(args: argparse.Namespace, project: bool = True):
    flags = {k: getattr(args, k, None) for k in _SETTING_FLAGS}
    return load({**flags, **sdk_flags.overrides(args)}, project=project)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _printable_streams()
    try:
        code = _dispatch(argv)
    except ConfigError as exc:
        print(f"luban: {exc}", file=sys.stderr)
        code = 2
    except LubanError as exc:
        print(f"luban: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("\nluban: interrupted; the session transcript is saved.", file=sys.stderr)
        code = 130
    return code


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] in COMMANDS:
        args = _sub_parser(argv[0]).parse_args(argv[1:])
        return _command(argv[0], args)
    args = _parser().parse_args(argv)
    sdk_flags.warn_ignored(args, sys.stderr)
    if args.input_format == "stream-json":  # the Claude Agent SDK drives this session (docs/stream-json.md)
        from .sdk_session import serve_sdk

        return serve_sdk(_settings(args), sdk_flags.instructions(args), args.permission_prompt_tool == "stdio",
                         sys.stdin, sys.stdout, sys.stderr, resume=args.resume, continue_last=args.continue_last)
    if args.task is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise ConfigError("The interactive session needs a terminal; to run without one, give a task: luban -p TASK.")
        from .tui import run_tui

        return run_tui(_settings(args), resume=args.resume, continue_last=args.continue_last)
    return _run(args)


def _command(command: str, args: argparse.Namespace) -> int:
    if command == "run":
        return _run(args)
    if command == "acp":
        from .acp import serve_acp

        return serve_acp(lambda cwd: _settings(argparse.Namespace(**{**vars(args), "cwd": cwd})), sys.stderr)
    if command == "eval":
        from .eval_cmd import eval_command

        return eval_command(_settings(args), args, sys.stdout, sys.stderr)
    if command == "init":
        from .init_cmd import init_command

        return init_command(_settings(args).cwd, args.force, sys.stdout)
    if command in ("undo", "rewind"):
        from .checkpoint_cmd import checkpoint_command

        return checkpoint_command(_settings(args), 1 if command == "undo" else args.turns, args.session, sys.stdout)
    if command == "tune":
        from .tune_cmd import tune_command

        return tune_command(_settings(args), args, sys.stdout, sys.stderr)
    if command == "trust":
        from .trust_cmd import trust_command

        return trust_command(_settings(args, project=False), args.yes, args.revoke, sys.stdout, input)
    if command == "mcp":
        from .mcp_cmd import mcp_command

        return mcp_command(_settings(args), sys.stdout)
    if command == "models":
        from .models_cmd import models_command

        return models_command(_settings(args), args.action, args.name, sys.stdout, sys.stderr)
    from .demo import run_demo

    return run_demo(_settings(args), args.keep, sys.stdout, sys.stderr)


def _run(args: Any) -> int:
    from .headless import EXIT_CODES, run_task
    from .task_input import task_from

    task = sdk_flags.with_instructions(task_from(args.task, sys.stdin, sys.stderr), sdk_flags.instructions(args))
    outcome = run_task(_settings(args), task, sys.stdout, sys.stderr, resume=args.resume,
                       continue_last=args.continue_last)
    return EXIT_CODES[outcome.status]


def _printable_streams() -> None:
    """A lone surrogate in what the model wrote (a broken JSON escape) is printed as its escape, \\udcff, not a
    crash: a strict UTF-8 terminal cannot encode it, and inside a JSON string the escape reads back as itself."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


if __name__ == "__main__":
    sys.exit(main())
