"""A whole-file read of a long source file: its first lines and an outline of the rest, not a head and a tail."""

from luban.agent import loop
from luban.config import Settings
from luban.context.outline import outlined
from luban.context.output import Limits
from luban.models import ModelInfo
from luban.models.scripted import ScriptedModel, assistant
from luban.tools import read
from luban.types import Message, ToolCall
from luban.ui.headless import drive
from luban.workspace import Workspace

LIMITS = Limits(chars=4_000, lines=100)


def module(functions: int, methods: int = 0) -> str:
    """A long module: a docstring, then functions of five lines each, then a class with `methods` methods."""
    parts = ['"""A module long enough to matter."""\n\nimport os\n\n']
    parts += [f"\ndef step_{i}(value, scale={i}):\n    total = value * scale\n    total += {i}\n"
              f"    return total\n" for i in range(functions)]
    if methods:
        parts.append("\n\nclass Ledger:\n" + "".join(f"    def entry_{i}(self):\n        return {i}\n\n"
                                                        for i in range(methods)))
    return "".join(parts)


def read_view(tmp_path, text: str, **arguments) -> str:
    (tmp_path / "repo").mkdir(exist_ok=True)
    (tmp_path / "repo" / "ledger.py").write_text(text)
    ws = Workspace.open(tmp_path / "repo", tmp_path / "scratch")
    return read.TOOL({"path": "ledger.py", **arguments}, ws).content


def test_the_rest_of_the_file_is_an_outline_with_true_line_numbers(tmp_path):
    text = module(60, methods=3)
    shown = outlined({"path": "ledger.py"}, read_view(tmp_path, text), LIMITS)
    assert shown is not None and len(shown) <= LIMITS.chars
    lines = text.splitlines()
    assert shown.startswith('     1\t"""A module long enough to matter."""')
    middle = lines.index("def step_30(value, scale=30):") + 1
    assert f"{middle:>6}  def step_30(value, scale=30)" in shown
    method = lines.index("    def entry_2(self):") + 1
    assert f"{method:>6}      def entry_2(self)" in shown  # a method indented under its class
    assert "total += 30" not in shown  # bodies are what the next read is for
    assert f"[ledger.py has {len(lines)} lines, more than one result shows. Lines " in shown
    assert "call read_file with offset=<its line>" in shown


def test_when_signatures_do_not_fit_names_and_lines_do_several_to_a_line(tmp_path):
    text = module(120, methods=20)
    shown = outlined({"path": "ledger.py"}, read_view(tmp_path, text), LIMITS)
    assert shown is not None and len(shown) <= LIMITS.chars and len(shown.splitlines()) <= LIMITS.lines
    lines = text.splitlines()
    entry = lines.index("    def entry_19(self):") + 1
    middle = lines.index("def step_60(value, scale=60):") + 1
    assert f"{middle} step_60, " in shown and f"{entry} Ledger.entry_19" in shown
    assert "scale=60)" not in shown


def test_what_does_not_fit_even_so_is_counted(tmp_path):
    text = module(390)  # under the 2000 lines one read shows
    shown = outlined({"path": "ledger.py"}, read_view(tmp_path, text), LIMITS)
    assert shown is not None and len(shown) <= LIMITS.chars and len(shown.splitlines()) <= LIMITS.lines
    last = shown.splitlines()[-1]
    assert last.startswith("[... ") and " more definitions after line " in last
    head, outline = shown.split("limit=<how many lines>.]\n")
    assert int(last.split()[1]) + outline.count(" step_") + head.count("def step_") == 390


def test_a_long_range_is_outlined_with_the_file_s_own_line_numbers(tmp_path):
    text = module(120)
    lines = text.splitlines()
    start = lines.index("def step_40(value, scale=40):") + 1
    view = read_view(tmp_path, text, offset=start, limit=300)
    shown = outlined({"path": "ledger.py", "offset": start, "limit": 300}, view, LIMITS)
    assert shown is not None and shown.startswith(f"{start:>6}\tdef step_40(value, scale=40):")
    assert f"[Lines {start}-{start + 299} of ledger.py are more than one result shows." in shown
    middle = lines.index("def step_70(value, scale=70):") + 1
    assert f"{middle:>6}  def step_70(value, scale=70)" in shown or f"{middle} step_70" in shown


def test_short_reads_output_without_definitions_and_other_files_are_left_to_the_usual_cut(tmp_path):
    assert outlined({"path": "ledger.py"}, read_view(tmp_path, module(2)), LIMITS) is None
    data = "".join(f"value_{i} = {i}  # a line long enough to matter\n" for i in range(600))
    assert outlined({"path": "ledger.py"}, read_view(tmp_path, data), LIMITS) is None
    (tmp_path / "repo" / "notes.txt").write_text(module(60))
    notes = read.TOOL({"path": "notes.txt"}, Workspace.open(tmp_path / "repo", tmp_path / "scratch")).content
    assert outlined({"path": "notes.txt"}, notes, LIMITS) is None


def test_in_a_run_the_model_sees_the_outline_and_reads_the_function_it_names(tmp_path):
    (tmp_path / "repo").mkdir()
    text = module(150)
    (tmp_path / "repo" / "ledger.py").write_text(text)
    ws = Workspace.open(tmp_path / "repo", tmp_path / "scratch")
    seen: list[str] = []

    def reply(request):
        seen.append(request.messages[-1].content)
        if len(seen) == 1:
            return assistant(calls=[ToolCall("r", "read_file", {"path": "ledger.py"})])
        return assistant("Done.")

    model = ScriptedModel([reply] * 2, ModelInfo("scripted", 8192))
    drive(loop.run("Read ledger.py.", model=model, tools=(read.TOOL,), ws=ws,
                   settings=Settings(permission_mode="full-auto"), history=[Message("system", "Test agent.")]),
          lambda event: None)
    line = text.splitlines().index("def step_120(value, scale=120):") + 1
    assert f"{line} step_120" in seen[1] and "total += 120" not in seen[1]
