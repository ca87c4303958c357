"""A session's extensions, gathered once from the user's config folder, --mcp-config, and (when trusted) the
project: the MCP servers, the subagent definitions, the skills, and the tools they add after the built-in ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..config import Settings, environment, user_config_file
from .agents import EXPLORE, AgentDef
from .agents import discover as discover_agents
from .mcp_client import McpServers
from .mcp_config import configured
from .mcp_tools import mcp_tools
from .project import trusted_project, waiting_extensions
from .skills import Skill, skill_tool
from .skills import discover as discover_skills


@dataclass
class Extensions:
    servers: McpServers
    agents: tuple[AgentDef, ...] = (EXPLORE,)
    skills: tuple[Skill, ...] = ()
    warnings: list[str] = field(default_factory=list)
    user_dir: Path | None = None
    project: Path | None = None  # the workspace, when its own extensions are trusted

    def tools(self) -> tuple:
        """The extension tools, in a fixed order; starts the MCP servers the first time (in parallel)."""
        self.warnings += self.servers.start()
        return (*((skill_tool(self.skills),) if self.skills else ()), *mcp_tools(self.servers))

    def close(self) -> None:
        self.servers.close()


def open_extensions(settings: Settings, env: Mapping[str, str] | None = None) -> Extensions:
    """What the settings' folders configure; nothing starts yet. A bad config file is a ConfigError."""
    env = environment() if env is None else env
    user_dir = user_config_file(env).parent
    cwd, data_dir = Path(settings.cwd), Path(settings.data_dir)
    project = trusted_project(cwd, data_dir)
    servers = configured(user_dir, settings.mcp_config, project, env)
    warnings = []
    pending = waiting_extensions(cwd, data_dir)
    if pending:
        warnings.append(f"This repository's own extensions ({'; '.join(pending)}) stay off until you review them "
                        "with `luban trust`.")
    agents, unread = discover_agents(user_dir, project)
    skills, unreadable = discover_skills(user_dir, project)
    return Extensions(McpServers(servers, Path(settings.data_dir) / "logs"), agents, skills,
                      warnings + unread + unreadable, user_dir, project)

