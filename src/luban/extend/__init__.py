"""What users bring to the agent: MCP servers, skills, custom subagents. Each plugs in as tools and prompt text,
never as a new loop; project-supplied ones count only once the user trusts them (project.py)."""
