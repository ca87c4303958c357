"""Luban's events as ACP session updates, with the package's own schema types."""

from acp.schema import AgentMessageChunk, AgentThoughtChunk, TextContentBlock

from luban.types import AssistantText, Notice, ToolCall, ToolFinished, ToolResult, ToolStarted
from luban.ui.acp_updates import Updates


def test_reasoning_goes_out_as_a_thought_and_the_words_as_a_message(tmp_path):
    sent = []
    updates = Updates(sent.append, tmp_path, lambda path: None)
    updates(AssistantText("Let me look.", reasoning="The bug is in add."))
    updates(Notice("Your edit repeated an earlier one."))
    assert sent == [
        AgentThoughtChunk(session_update="agent_thought_chunk",
                          content=TextContentBlock(type="text", text="The bug is in add.")),
        AgentMessageChunk(session_update="agent_message_chunk", content=TextContentBlock(type="text", text="Let me look.")),
        AgentMessageChunk(session_update="agent_message_chunk", content=TextContentBlock(
            type="text", text="\n\n> Luban: Your edit repeated an earlier one.\n\n")),
    ]


def test_a_write_is_diffed_against_the_file_as_it_was(tmp_path):
    files = {tmp_path / "a.txt": "old\n"}
    sent = []
    updates = Updates(sent.append, tmp_path, files.get)
    write = ToolCall("c1", "write_file", {"path": "a.txt", "content": "new\n"})
    updates(ToolStarted(write))
    files[tmp_path / "a.txt"] = "new\n"
    updates(ToolFinished(write, ToolResult("Wrote a.txt.")))
    started, finished = sent
    assert (started.kind, started.title, [loc.path for loc in started.locations]) == (
        "edit", "write_file(a.txt)", [str(tmp_path / "a.txt")])
    assert [(c.type, getattr(c, "old_text", None), getattr(c, "new_text", None)) for c in finished.content] == [
        ("diff", "old\n", "new\n"), ("content", None, None)]
    assert finished.status == "completed"
