"""Skills: folders holding a SKILL.md (front matter name and description, then instructions) and optional files
beside it, as Claude Code, Codex, Gemini CLI and others share them. Only names and descriptions reach the prompt
(the `skill` tool's description); the model loads a body, or a file beside it, when it needs it.

A skill is text for the model and nothing more: front matter such as `allowed-tools` is not read, so no skill
changes what the permission rules allow. Project skills count only once trusted (extend/project.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace
from .frontmatter import Unreadable, read_document
from .project import SKILL_DIRS

NAME = "skill"
MAX_FILE_CHARS = 40_000


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    folder: Path

    def body(self) -> str:
        return read_document(self.folder / "SKILL.md").body

    def files(self) -> list[str]:
        """The files beside SKILL.md, relative to its folder."""
        return sorted(str(p.relative_to(self.folder)) for p in self.folder.rglob("*")
                      if p.is_file() and p.name != "SKILL.md")


def discover(user_dir: Path | None, project: Path | None) -> tuple[tuple[Skill, ...], list[str]]:
    """Skills by name from the user's config folder (skills/) and the trusted project's folders; a project skill
    of the same name wins. One warning per SKILL.md that cannot be read."""
    folders = [user_dir / "skills"] if user_dir else []
    folders += [project / d for d in SKILL_DIRS] if project else []
    found: dict[str, Skill] = {}
    warnings: list[str] = []
    for folder in folders:
        for path in sorted(folder.glob("*/SKILL.md")) if folder.is_dir() else ():
            try:
                doc = read_document(path)
            except Unreadable as why:
                warnings.append(f"Skipped the skill {why}.")
                continue
            name, description = doc.fields.get("name", path.parent.name), doc.fields.get("description", "")
            if not name.strip() or not description.strip():
                warnings.append(f"Skipped the skill {path}: it needs a name and a description in its front matter.")
                continue
            found[name.strip()] = Skill(name.strip(), " ".join(description.split()), path.parent)
    return tuple(sorted(found.values(), key=lambda s: s.name)), warnings


@dataclass(frozen=True)
class SkillTool:
    spec: ToolSpec
    skills: Mapping[str, Skill]
    effect: Effect = "read"

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        skill = self.skills.get(str(args.get("name", "")))
        if skill is None:
            return ToolResult(f"There is no skill {args.get('name')!r}; skills: {', '.join(self.skills)}.", error=True)
        wanted = args.get("file")
        if wanted:
            return _file(skill, str(wanted))
        files = skill.files()
        beside = f"\n\nFiles beside it (load one with skill name={skill.name!r} file=PATH): {', '.join(files)}" \
            if files else ""
        return ToolResult(f"Skill {skill.name}:\n\n{skill.body().strip()}{beside}")

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return Touched()  # its own folder, never the workspace


def _file(skill: Skill, wanted: str) -> ToolResult:
    """A file of the skill's folder; nothing outside it (a `..` or a link out is refused)."""
    folder = skill.folder.resolve()
    path = (folder / wanted).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        return ToolResult(f"The skill {skill.name} has no file {wanted!r}; its files: {', '.join(skill.files())}.",
                          error=True)
    text = path.read_text(encoding="utf-8", errors="replace")
    return ToolResult(text if len(text) <= MAX_FILE_CHARS else text[:MAX_FILE_CHARS] + "\n[... file cut]")


def skill_tool(skills: Sequence[Skill]) -> SkillTool:
    """The tool whose description lists every skill by name and description: all of them that the prompt holds."""
    listing = "\n".join(f"- {s.name}: {s.description}" for s in skills)
    spec = ToolSpec(NAME, "Load the instructions of a skill when the task calls for it (optionally one of its "
                          f"files). Skills:\n{listing}", {
                              "type": "object",
                              "properties": {"name": {"enum": [s.name for s in skills]}, "file": {"type": "string"}},
                              "required": ["name"]})
    return SkillTool(spec, {s.name: s for s in skills})
