import pytest

from luban.safety import policy
from luban.errors import ConfigError
from luban.safety.policy import Pattern, Rules, Ruling, decide, narrowest
from luban.tools import default_tools
from luban.types import ToolCall


def bash(command):
    return ToolCall("c1", "bash", {"command": command})


def edit(path):
    return ToolCall("c1", "edit_file", {"path": path, "old_string": "a", "new_string": "b"})


def read(path):
    return ToolCall("c1", "read_file", {"path": path})


@pytest.mark.parametrize("mode, effect, verdict", [
    ("plan", "read", "allow"), ("plan", "write", "deny"), ("plan", "exec", "deny"),
    ("ask", "read", "allow"), ("ask", "write", "ask"), ("ask", "exec", "ask"),
    ("auto-edit", "read", "allow"), ("auto-edit", "write", "allow"), ("auto-edit", "exec", "ask"),
    ("full-auto", "read", "allow"), ("full-auto", "write", "allow"), ("full-auto", "exec", "allow"),
])
def test_the_mode_decides_what_no_rule_covers(mode, effect, verdict):
    assert decide(ToolCall("c1", "tool", {}), effect, mode).verdict == verdict


def test_reasons_a_user_understands():
    assert decide(edit("a.py"), "write", "ask") == Ruling("ask", "edit_file on `a.py` is not covered by an allow "
                                                                 "rule in ask mode.")
    assert decide(edit("a.py"), "write", "plan") == Ruling("deny", "edit_file changes files, which plan mode does "
                                                                  "not allow.")
    assert decide(read("a.py"), "read", "ask") == Ruling("allow", "read_file reads files, which ask mode allows "
                                                                 "without asking.")
    assert decide(bash("curl x"), "exec", "ask") == Ruling("ask", "bash: `curl x` is not covered by an allow rule "
                                                                 "in ask mode.")
    assert decide(bash("ls"), "exec", "full-auto") == Ruling("allow", "bash runs commands, which full-auto mode "
                                                                     "allows without asking.")


def test_patterns_parse_into_what_they_match():
    assert Rules.parse({"allow": ["*", "read_file", "bash(git status:*)", "bash(npm test)"]}).allow == (
        Pattern("*", "*"), Pattern("read_file", "read_file"),
        Pattern("bash(git status:*)", "bash", ("git", "status"), prefix=True),
        Pattern("bash(npm test)", "bash", ("npm", "test"), exact="npm test"))
    assert Rules.parse({}) == Rules()
    assert Rules.parse({"deny": ["edit_file(src/**)"]}).deny[0].glob.pattern == "src/.*"


@pytest.mark.parametrize("rules, message", [
    ({"allow": ["bash(curl"]}, "The permission rule 'bash(curl' is malformed; write *, TOOL or TOOL(SPECIFIER), "
                               'such as "bash(git status:*)" or "edit_file(src/**)".'),
    ({"deny": ["bash()"]}, "The permission rule 'bash()' is malformed; write *, TOOL or TOOL(SPECIFIER), such as "
                           '"bash(git status:*)" or "edit_file(src/**)".'),
    ({"deny": ["*(x)"]}, "The permission rule '*(x)' is malformed; write *, TOOL or TOOL(SPECIFIER), such as "
                         '"bash(git status:*)" or "edit_file(src/**)".'),
    ({"ask": ["rm -rf"]}, "The permission rule 'rm -rf' is malformed; write *, TOOL or TOOL(SPECIFIER), such as "
                          '"bash(git status:*)" or "edit_file(src/**)".'),
    ({"deny": ["bash(git:*status)"]}, "The permission rule 'bash(git:*status)' is malformed; a bash rule is "
                                      'bash(COMMAND) or bash(PREFIX:*) with :* only at the end, such as '
                                      '"bash(git status:*)".'),
    ({"deny": ["bash(:*)"]}, "The permission rule 'bash(:*)' is malformed; a bash rule is bash(COMMAND) or "
                             'bash(PREFIX:*) with :* only at the end, such as "bash(git status:*)".'),
    ({"deny": [3]}, "The permission rule 3 is malformed; write *, TOOL or TOOL(SPECIFIER), such as "
                    '"bash(git status:*)" or "edit_file(src/**)".'),
    ({"forbid": ["bash"]}, "Unknown permission rule kind 'forbid'; use allow, ask or deny."),
    ({"deny": "bash"}, "permissions.deny must be a list of patterns, not 'bash'."),
])
def test_a_malformed_rule_is_one_sentence(rules, message):
    with pytest.raises(ConfigError) as caught:
        Rules.parse(rules)
    assert str(caught.value) == message


@pytest.mark.parametrize("rule, command, matches", [
    ("bash(git status:*)", "git status", True),
    ("bash(git status:*)", "git status -s", True),
    ("bash(git status:*)", "git statusx", False),
    ("bash(git status:*)", "git log", False),
    ("bash(npm test)", "npm test", True),
    ("bash(npm test)", "npm test --watch", False),
    ("bash(npm test)", "npm 'test'", True),
    ("bash(ls:*)", "/usr/bin/ls -la", True),
    ("bash(ls:*)", "./ls", False),  # a file in the workspace, which the agent may have written
    ("bash(ls:*)", "bin/ls", False),
    ("bash(/usr/bin/ls:*)", "ls", True),
    ("bash", "anything at all", True),
    ("*", "anything at all", True),
    ("read_file", "ls", False),
])
def test_an_allow_rule_covers(rule, command, matches):
    assert decide(bash(command), "exec", "ask", Rules.parse({"allow": [rule]})).verdict == (
        "allow" if matches else "ask")


@pytest.mark.parametrize("rule, command", [
    ("bash(curl:*)", "curl x"), ("bash(curl:*)", "/usr/bin/curl x"), ("bash(curl:*)", "./curl x"),
    ("bash(curl:*)", "ls && curl x"), ("bash(rm -rf build)", "rm -rf build"), ("bash", "ls"), ("*", "ls"),
])
def test_a_deny_rule_matches_the_program_however_it_is_written(rule, command):
    assert decide(bash(command), "exec", "full-auto", Rules.parse({"deny": [rule]})).verdict == "deny"


def test_deny_wins_over_allow_and_ask_over_allow():
    rules = Rules.parse({"allow": ["bash", "edit_file"], "ask": ["bash(git push:*)"], "deny": ["bash(curl:*)",
                                                                                          "edit_file(.env)"]})
    assert decide(bash("curl x"), "exec", "ask", rules) == Ruling(
        "deny", "bash: `curl x` is denied by the rule `bash(curl:*)`.")
    assert decide(bash("git push origin"), "exec", "full-auto", rules) == Ruling(
        "ask", "bash: `git push origin` needs approval by the rule `bash(git push:*)`.")
    assert decide(bash("make"), "exec", "ask", rules) == Ruling("allow", "bash: `make` is allowed by the rule "
                                                                         "`bash`.")
    assert decide(edit(".env"), "write", "full-auto", rules) == Ruling(
        "deny", "edit_file on `.env` is denied by the rule `edit_file(.env)`.")
    assert decide(edit("a.py"), "write", "ask", rules) == Ruling("allow", "edit_file on `a.py` is allowed by the "
                                                                         "rule `edit_file`.")


def test_plan_mode_denies_writes_and_commands_whatever_the_rules():
    rules = Rules.parse({"allow": ["*"]})
    assert decide(edit("a.py"), "write", "plan", rules).verdict == "deny"
    assert decide(bash("ls"), "exec", "plan", rules) == Ruling("deny", "bash runs commands, which plan mode does "
                                                                       "not allow.")
    assert decide(read("a.py"), "read", "plan", Rules.parse({"deny": ["read_file(a.py)"]})).verdict == "deny"


@pytest.mark.parametrize("glob, path, matches", [
    ("src/**", "src/a.py", True), ("src/**", "src/deep/er/a.py", True), ("src/**", "lib/a.py", False),
    ("src/*.py", "src/a.py", True), ("src/*.py", "src/x/a.py", False), ("**/*.py", "a.py", True),
    ("**/*.py", "x/y/a.py", True), ("**/*.py", "a.pyc", False), ("a?.txt", "ab.txt", True),
    ("[ab].txt", "b.txt", True), ("[!ab].txt", "b.txt", False), ("secrets", "secrets/key", True),  # a folder
    (".env", "./.env", True), ("src/**", "src/../.env", False), ("/etc/**", "/etc/passwd", True),
])
def test_file_rules_glob_the_workspace_path(glob, path, matches):
    rules = Rules.parse({"deny": [f"edit_file({glob})"]})
    assert (decide(edit(path), "write", "full-auto", rules).verdict == "deny") is matches


def test_every_subcommand_is_judged_and_the_strictest_wins():
    rules = Rules.parse({"allow": ["bash(ls:*)", "bash(git status:*)"], "deny": ["bash(rm:*)"]})
    assert decide(bash("ls && git status"), "exec", "ask", rules).verdict == "allow"
    assert decide(bash("ls && make"), "exec", "ask", rules) == Ruling(
        "ask", "bash: `make` is not covered by an allow rule in ask mode.")
    assert decide(bash("make; rm x"), "exec", "ask", rules) == Ruling(
        "deny", "bash: `rm x` is denied by the rule `bash(rm:*)`.")


def test_an_allow_rule_does_not_cover_writing_outside_the_workspace():
    rules = Rules.parse({"allow": ["bash(ls:*)"]})
    assert decide(bash("ls > out.txt 2>/dev/null"), "exec", "ask", rules).verdict == "allow"
    assert decide(bash("ls > ~/.bashrc"), "exec", "ask", rules) == Ruling(
        "ask", "bash: `ls` writes to `~/.bashrc` outside the workspace, which the rule `bash(ls:*)` does not "
               "cover.")
    assert decide(bash("ls > ../x"), "exec", "ask", rules).verdict == "ask"


def test_an_unreadable_command_asks_even_where_a_rule_or_the_mode_would_allow():
    rules = Rules.parse({"allow": ["*", 'bash(eval "ls")']})
    assert decide(bash('eval "ls"'), "exec", "full-auto", rules) == Ruling(
        "ask", 'bash: `eval "ls"` cannot be checked command by command (`eval` runs code that is only known when '
               "it runs), so it needs approval.")
    assert decide(bash("$X"), "exec", "plan", rules).verdict == "deny"


def test_an_unreadable_command_is_denied_only_when_a_deny_rule_names_it():
    rules = Rules.parse({"deny": ["bash(curl:*)", "bash(git push:*)"]})
    assert decide(bash('eval "curl x"'), "exec", "ask", rules) == Ruling(
        "deny", 'bash: `eval "curl x"` mentions what the rule `bash(curl:*)` denies and cannot be checked command '
                "by command (`eval` runs code that is only known when it runs).")
    assert decide(bash("eval 'git push'"), "exec", "ask", rules).verdict == "deny"
    assert decide(bash("eval 'git log; push'"), "exec", "ask", rules).verdict == "ask"
    assert decide(bash("$X curly"), "exec", "ask", rules).verdict == "ask"


def test_the_session_allow_list_counts_as_allow_rules():
    assert decide(bash("npm test"), "exec", "ask", Rules(), ["bash(npm test)"]).verdict == "allow"
    assert decide(bash("npm test -x"), "exec", "ask", Rules(), ["bash(npm test)"]).verdict == "ask"
    assert decide(bash("make && make test"), "exec", "ask", Rules(), ["bash(make && make test)"]).verdict == "allow"
    assert decide(bash("make"), "exec", "ask", Rules.parse({"deny": ["bash(make)"]}), ["bash(make)"]).verdict == (
        "deny")
    assert decide(bash("echo a:*"), "exec", "ask", Rules(), [narrowest(bash("echo a:*"))]).verdict == "allow"


@pytest.mark.parametrize("call, pattern", [
    (bash("  npm test "), "bash(npm test)"),
    (bash("make && make test"), "bash(make && make test)"),
    (edit("src/a.py"), "edit_file(src/a.py)"),
    (edit("./src/../b[1]*.py"), "edit_file(b[[]1][*].py)"),
    (ToolCall("c1", "echo", {"text": "hi"}), "echo"),
])
def test_always_allow_stores_the_narrowest_pattern(call, pattern):
    assert narrowest(call) == pattern
    assert decide(call, "write", "ask", Rules.parse({"allow": [pattern]})).verdict == "allow"


def test_the_narrowest_file_pattern_covers_only_that_file():
    rules = Rules.parse({"allow": [narrowest(edit("b[1]*.py"))]})
    assert decide(edit("b1x.py"), "write", "ask", rules).verdict == "ask"


def test_offered_leaves_out_what_the_mode_always_denies():
    tools = default_tools()
    assert [t.spec.name for t in policy.offered(tools, "plan")] == [
        t.spec.name for t in tools if t.effect == "read"]
    assert policy.offered(tools, "ask") == tuple(tools)
