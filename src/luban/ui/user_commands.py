"""User-defined slash commands: markdown files in the project's `.luban/commands/` and the user's `commands/`
folder (project files win), whose body becomes the task."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class UserCommand:
    """A markdown file whose body becomes the task; `$ARGUMENTS` in it is replaced by what follows the name."""

    name: str
    description: str
    body: str

    def task(self, arguments: str) -> str:
        if "$ARGUMENTS" in self.body:
            return self.body.replace("$ARGUMENTS", arguments)
        return f"{self.body}\n\n{arguments}".strip() if arguments else self.body


def user_commands(folders: Sequence[Path]) -> dict[str, UserCommand]:
    """Commands from `*.md` in each folder; an earlier folder's command wins over a later one of that name."""
    found: dict[str, UserCommand] = {}
    for folder in reversed(folders):
        for path in sorted(folder.glob("*.md")) if folder.is_dir() else ():
            found[path.stem] = read_command(path)
    return dict(sorted(found.items()))


def read_command(path: Path) -> UserCommand:
    text = path.read_text(errors="replace")
    description, body = "", text
    if text.startswith("---\n") and "\n---" in text[4:]:
        head, _, body = text[4:].partition("\n---")
        body = body.partition("\n")[2]
        for line in head.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "description":
                description = value.strip()
    body = body.strip()
    if not description and body:
        description = body.splitlines()[0][:60]
    return UserCommand(path.stem, description, body)
