"""Skills: found in every folder, only names and descriptions in the prompt, bodies loaded on demand, and a
project skill that cannot widen permissions (nor count before the user trusts it)."""

from __future__ import annotations

from luban.agent import loop
from luban.config import Settings
from luban.extend.extensions import open_extensions
from luban.extend.project import project_extensions
from luban.extend.skills import NAME
from luban.models.protocol import JsonProtocol
from luban.models.scripted import assistant, script
from luban.safety.trust import set_trust
from luban.tools import default_tools
from luban.types import ApprovalNeeded, Decision, Message, ToolCall, ToolFinished
from luban.workspace import Workspace


def skill(folder, name, description, body, extra=""):
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(f"---\nname: {name}\ndescription: {description}\n{extra}---\n{body}\n")


def layout(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    skill(home / "skills" / "release", "release", "Cut a release: version, changelog, tag.", "1. Bump the version.")
    (home / "skills" / "release" / "checklist.md").parent.mkdir(exist_ok=True)
    (home / "skills" / "release" / "checklist.md").write_text("- changelog\n- tag\n")
    skill(work / ".luban" / "skills" / "style", "style", "The house style.", "Use tabs.")
    skill(work / ".agents" / "skills" / "db", "db", "Migrate the database.", "Run alembic.",
          "allowed-tools: bash(*)\n")
    skill(work / ".claude" / "skills" / "docs", "docs", "Write the docs.", "Use Sphinx.")
    (work / ".claude" / "skills" / "broken").mkdir(parents=True)
    (work / ".claude" / "skills" / "broken" / "SKILL.md").write_text("---\nname: broken\n---\nno description\n")
    settings = Settings(cwd=str(work), data_dir=str(home / "data"))
    return home, work, settings, {"LUBAN_HOME": str(home)}


def test_skills_are_found_in_every_folder_once_the_project_is_trusted(tmp_path):
    home, work, settings, env = layout(tmp_path)
    untrusted = open_extensions(settings, env)
    assert [s.name for s in untrusted.skills] == ["release"]
    assert untrusted.warnings == ["This repository's own extensions (skills broken, db, docs, style) stay off until "
                                  "you review them with `luban trust`."]
    set_trust(home / "data", project_extensions(work), True)
    trusted = open_extensions(settings, env)
    assert [s.name for s in trusted.skills] == ["db", "docs", "release", "style"]
    assert trusted.warnings == [f"Skipped the skill {work / '.claude/skills/broken/SKILL.md'}: it needs a name and "
                                "a description in its front matter."]


def test_only_names_and_descriptions_reach_the_prompt_and_a_body_loads_on_demand(tmp_path):
    home, work, settings, env = layout(tmp_path)
    (tool,) = [t for t in open_extensions(settings, env).tools() if t.spec.name == NAME]
    assert tool.spec.description.endswith("Skills:\n- release: Cut a release: version, changelog, tag.")
    prompt = JsonProtocol().system_text([tool.spec])
    assert "Cut a release" in prompt and "Bump the version" not in prompt
    calls = [ToolCall("c1", NAME, {"name": "release"}),
             ToolCall("c2", NAME, {"name": "release", "file": "checklist.md"}),
             ToolCall("c3", NAME, {"name": "release", "file": "../../config.toml"})]
    model = script(assistant(calls=calls), assistant("done"))
    ws = Workspace.open(work, tmp_path / "out")
    events = list(loop.run("release it", model=model, tools=(tool,), ws=ws, settings=Settings(),
                           history=[Message("system", "s")]))
    results = [e.result for e in events if isinstance(e, ToolFinished)]
    assert results[0].content == ("Skill release:\n\n1. Bump the version.\n\nFiles beside it (load one with skill "
                                  "name='release' file=PATH): checklist.md")
    assert results[1].content == "- changelog\n- tag\n"
    assert results[2].error and results[2].content == ("The skill release has no file '../../config.toml'; its files: "
                                                       "checklist.md.")


def test_a_project_skill_cannot_widen_permissions(tmp_path):
    home, work, settings, env = layout(tmp_path)
    set_trust(home / "data", project_extensions(work), True)
    extensions = open_extensions(settings, env)
    tools = (*default_tools(), *extensions.tools())
    model = script(assistant(calls=[ToolCall("c1", NAME, {"name": "db"})]),
                   assistant(calls=[ToolCall("c2", "bash", {"command": "alembic upgrade head"})]), assistant("ok"))
    ws = Workspace.open(work, tmp_path / "out")
    run = loop.run("migrate", model=model, tools=tools, ws=ws, settings=settings, history=[Message("system", "s")])
    events, answer = [], None
    try:
        while True:
            event = run.send(answer)
            events.append(event)
            answer = Decision(False) if isinstance(event, ApprovalNeeded) else None
    except StopIteration as stop:
        outcome = stop.value
    loaded = next(e.result for e in events if isinstance(e, ToolFinished) and e.call.name == NAME)
    assert loaded.content == "Skill db:\n\nRun alembic."  # its allowed-tools line is not read
    assert [e.call.name for e in events if isinstance(e, ApprovalNeeded)] == ["bash"]
    assert [d.call.name for d in outcome.denials] == ["bash"] and extensions.skills[0].name == "db"


def test_front_matter_as_the_shared_format_writes_it(tmp_path):
    import pytest

    from luban.extend.frontmatter import Document, Unreadable, listed, read_document

    path = tmp_path / "SKILL.md"
    path.write_text('---\nname: "pdf"\ndescription: >\n  Fill PDF forms,\n  and merge them.\ntools: [Read, "Grep"]\n'
                    "# a comment: ignored\n---\n\nBody line.\n")
    assert read_document(path) == Document({"name": "pdf", "description": "Fill PDF forms, and merge them.",
                                            "tools": '[Read, "Grep"]'}, "Body line.\n")
    assert listed('[Read, "Grep"]') == ("Read", "Grep") and listed("a, b c") == ("a", "b", "c")
    path.write_text("---\nname: x\n")
    with pytest.raises(Unreadable, match="has front matter without its closing --- line$"):
        read_document(path)
