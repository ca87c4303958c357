"""A repository's own extensions (its .mcp.json, skills and agents) are project content: whoever wrote the
repository is not the user. They count only once the user has trusted exactly this content (`luban trust`,
by fingerprint, as safety/trust.py does for .luban/config.toml); until then they add nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..safety.trust import ProjectConfig, is_trusted
from .mcp_config import PROJECT_MCP, read_mcp_json

SKILL_DIRS = (Path(".luban") / "skills", Path(".agents") / "skills", Path(".claude") / "skills")
AGENT_DIRS = (Path(".luban") / "agents", Path(".claude") / "agents")
TRUST_KEY = Path(".luban") / "extensions"  # the trust store's entry for all of it
_MAX_FILES = 500  # a fingerprint over a vendored tree would be slow and mean nothing


def project_files(cwd: Path) -> list[Path]:
    """Every file of the project's extensions, in a fixed order."""
    files = [cwd / PROJECT_MCP] if (cwd / PROJECT_MCP).is_file() else []
    for folder in (*SKILL_DIRS, *AGENT_DIRS):
        if (cwd / folder).is_dir():
            files += sorted(p for p in (cwd / folder).rglob("*") if p.is_file())[:_MAX_FILES]
    return files


def project_extensions(cwd: Path) -> ProjectConfig | None:
    """The project's extension content as something to trust (None: it has none). `values` lists what it holds,
    for `luban trust` and the start-up warning; a malformed .mcp.json still gets fingerprinted."""
    cwd = cwd.resolve()
    files = project_files(cwd)
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(cwd)).encode() + b"\0" + path.read_bytes() + b"\0")
    values = {"MCP servers": _servers(cwd), "skills": _named(cwd, SKILL_DIRS, "SKILL.md"),
              "agents": _named(cwd, AGENT_DIRS, "*.md")}
    return ProjectConfig(cwd / TRUST_KEY, {k: v for k, v in values.items() if v}, digest.hexdigest())


def trusted_project(cwd: Path, data_dir: Path) -> Path | None:
    """`cwd` when its extensions are trusted as they are now, else None."""
    content = project_extensions(cwd)
    return cwd.resolve() if content is not None and is_trusted(data_dir, content) else None


def waiting_extensions(cwd: Path, data_dir: Path) -> list[str]:
    """What the project's untrusted extensions would add, one line each (empty: none, or trusted)."""
    content = project_extensions(cwd)
    if content is None or is_trusted(data_dir, content):
        return []
    return [f"{kind[:-1] if len(names) == 1 else kind} {', '.join(names)}" for kind, names in content.values.items()]


def _servers(cwd: Path) -> list[str]:
    try:
        return sorted(read_mcp_json(cwd / PROJECT_MCP))
    except Exception:  # a broken file is listed by name; reading it for real reports the error
        return [PROJECT_MCP + " (unreadable)"] if (cwd / PROJECT_MCP).exists() else []


def _named(cwd: Path, folders: tuple[Path, ...], pattern: str) -> list[str]:
    names = []
    for folder in folders:
        if (cwd / folder).is_dir():
            found = (cwd / folder).glob(f"*/{pattern}" if pattern == "SKILL.md" else pattern)
            names += [p.parent.name if pattern == "SKILL.md" else p.stem for p in sorted(found)]
    return sorted(dict.fromkeys(names))
