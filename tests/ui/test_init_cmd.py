import os

import pytest

from luban.context.init import draft_agents_md
from luban.ui.cli import main


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A small Go project as the working directory, with LUBAN_HOME on a fresh folder and no other LUBAN_*."""
    for name in [n for n in os.environ if n.startswith("LUBAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home"))
    root = tmp_path / "tool"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/tool\n")
    (root / "main.go").write_text("package main\n")
    monkeypatch.chdir(root)
    return root


def test_init_writes_agents_md_and_says_where(project, capsys):
    assert main(["init"]) == 0
    assert capsys.readouterr() == (
        f"Wrote {project / 'AGENTS.md'}: 30 lines in sections Overview, Setup, Build, Test, Conventions, Notes for "
        "agents. Review it and add what the repository's files could not say.\n", "")
    assert (project / "AGENTS.md").read_text() == draft_agents_md(project)
    assert len(draft_agents_md(project).splitlines()) == 30


def test_init_in_another_folder(project, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    assert main(["init", "--cwd", str(other)]) == 0
    assert capsys.readouterr().out == (f"Wrote {other / 'AGENTS.md'}: 13 lines in sections Test, Notes for agents. "
                                       "Review it and add what the repository's files could not say.\n")
    assert not (project / "AGENTS.md").exists()


def test_init_refuses_to_overwrite_without_force(project, capsys):
    (project / "AGENTS.md").write_text("hand-written\n")
    assert main(["init"]) == 2
    assert capsys.readouterr() == (
        "", f"luban: {project / 'AGENTS.md'} already exists; pass --force to replace it with a fresh draft.\n")
    assert (project / "AGENTS.md").read_text() == "hand-written\n"
    assert main(["init", "--force"]) == 0
    assert capsys.readouterr().out.startswith(f"Wrote {project / 'AGENTS.md'}: ")
    assert (project / "AGENTS.md").read_text() == draft_agents_md(project)


def test_init_in_a_missing_folder(project, tmp_path, capsys):
    assert main(["init", "--cwd", str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().err == (
        f"luban: The workspace {tmp_path / 'missing'} does not exist or is not a directory.\n")
