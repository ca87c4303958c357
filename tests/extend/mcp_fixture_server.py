"""An MCP server for the tests, on the real SDK (MCPServer, formerly FastMCP): over stdio by default, over
streamable HTTP with `http PORT`. Its tools echo, return a long text, crash the process mid-call, or hang."""

import os
import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("fixture")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def lines(n: int) -> str:
    """Return n numbered lines."""
    return "\n".join(f"line {i} of the long output" for i in range(n))


@server.tool()
def crash() -> str:
    """End the server process in the middle of the call."""
    os._exit(3)


@server.tool()
def hang() -> str:
    """Never answer."""
    time.sleep(3600)
    return "late"


@server.resource("notes://readme")
def readme() -> str:
    """The fixture's notes."""
    return "Fixture notes: the answer is 42."


@server.prompt()
def review(path: str) -> str:
    """Ask for a review of one file."""
    return f"Review {path} for bugs and say what you found."


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
