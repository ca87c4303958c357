import functools
import shlex

import pytest

from luban.safety import shell
from luban.safety.shell import SimpleCommand as C


@pytest.mark.parametrize("source, expected", [
    ("", ()),
    ("# only a comment", ()),
    ("ls -la", (C(("ls", "-la")),)),
    ("ls && curl x", (C(("ls",)), C(("curl", "x")))),
    ("ls; curl x\npwd", (C(("ls",)), C(("curl", "x")), C(("pwd",)))),
    ("ls || curl x | wc -l", (C(("ls",)), C(("curl", "x")), C(("wc", "-l")))),
    ("ls |& tee log", (C(("ls",)), C(("tee", "log")))),
    ("echo $(curl x)", (C(("echo", "$(curl x)")), C(("curl", "x")))),
    ("echo `curl x`", (C(("echo", "`curl x`")), C(("curl", "x")))),
    ('echo "a $(curl x) b"', (C(("echo", "a $(curl x) b")), C(("curl", "x")))),
    ("echo ${X:-$(curl x)} $((1 + $(wc)))", (C(("echo", "${X:-$(curl x)}", "$((1 + $(wc)))")), C(("curl", "x")),
                                            C(("wc",)))),
    ("cat <(curl x) >(tee y)", (C(("cat", "<(curl x)", ">(tee y)")), C(("curl", "x")), C(("tee", "y")))),
    ("(cd src && make)", (C(("cd", "src")), C(("make",)))),
    ("{ ls; curl x; }", (C(("ls",)), C(("curl", "x")))),
    ("if true; then a; elif b; then c; else d; fi", (C(("true",)), C(("a",)), C(("b",)), C(("c",)), C(("d",)))),
    ("for f in $(ls); do rm \"$f\"; done", (C(("ls",)), C(("rm", "$f")))),
    ("while read l; do echo $l; done < in", (C(("read", "l")), C(("echo", "$l")))),
    ("case $x in a) curl x;; esac", (C(("curl", "x")),)),
    ("f() { curl x; }; f", (C(("curl", "x")), C(("f",)))),
    ("[[ -f $(curl x) ]] && ok", (C(("curl", "x")), C(("ok",)))),
    ("x=$(curl x); echo $x", (C(("curl", "x")), C(("echo", "$x")))),
    ("cat <<EOF\n$(curl x)\nEOF", (C(("curl", "x")), C(("cat",)))),
    ("cat <<'EOF'\n$(curl x)\nEOF", (C(("cat",)),)),
    ('"curl" x', (C(("curl", "x")),)),
    ("\\curl x", (C(("curl", "x")),)),
    ("cu''r\"l\" 'a b' c\\ d", (C(("curl", "a b", "c d")),)),
    ("/usr/bin/curl x", (C(("/usr/bin/curl", "x")),)),
    ("cu\\\nrl x", (C(("curl", "x")),)),  # bash joins a continued line before it reads words
    ("echo a\\\\\ncurl x", (C(("echo", "a\\")), C(("curl", "x")))),  # an escaped backslash, then a new line
    ("git commit -m 'fix: a \"b\"'", (C(("git", "commit", "-m", 'fix: a "b"')),)),
])
def test_every_command_that_would_run(source, expected):
    assert shell.commands(source) == expected


@pytest.mark.parametrize("source, expected", [
    ("ls > out 2>&1", (C(("ls",), ("out",)),)),
    ("ls >> a &> b >| c 2>/dev/null >&2", (C(("ls",), ("a", "b", "c", "/dev/null")),)),
    ("> out ls", (C(("ls",), ("out",)),)),
    ("ls < in", (C(("ls",)),)),
    ("ls > $(curl x)", (C(("curl", "x")), C(("ls",), ("$(curl x)",)))),
    ("a && b > f", (C(("a",), ("f",)), C(("b",), ("f",)))),  # tree-sitter hangs it on the list: blame both
    ("while :; do x; done > log", (C((":",), ("log",)), C(("x",), ("log",)))),
    ("cat <<EOF > o\nhi\nEOF", (C(("cat",), ("o",)),)),
    ("timeout 5 make > log", (C(("timeout", "5", "make"), ("log",)), C(("make",), ("log",)))),
])
def test_the_files_a_command_writes(source, expected):
    assert shell.commands(source) == expected


@pytest.mark.parametrize("source, expected", [
    ("bash -c 'curl x'", (C(("bash", "-c", "curl x")), C(("curl", "x")))),
    ('sh -c "ls; curl x"', (C(("sh", "-c", "ls; curl x")), C(("ls",)), C(("curl", "x")))),
    ("bash -euo pipefail -c make", (C(("bash", "-euo", "pipefail", "-c", "make")), C(("make",)))),
    ("zsh -lc 'a' > o", (C(("zsh", "-lc", "a"), ("o",)), C(("a",), ("o",)))),
    ("bash run.sh", (C(("bash", "run.sh")),)),
    ("su -c 'curl x' root", (C(("su", "-c", "curl x", "root")), C(("curl", "x")))),
    ("echo x | xargs curl", (C(("echo", "x")), C(("xargs", "curl")), C(("curl", "{}")))),
    ("xargs -0 -n 1 -I F cp F dst", (C(("xargs", "-0", "-n", "1", "-I", "F", "cp", "F", "dst")),
                                     C(("cp", "F", "dst")))),
    ("xargs", (C(("xargs",)), C(("echo", "{}")))),
    ("find . -name '*.py' -exec curl {} \\; -execdir rm {} +",
     (C(("find", ".", "-name", "*.py", "-exec", "curl", "{}", ";", "-execdir", "rm", "{}", "+")),
      C(("curl", "{}")), C(("rm", "{}")))),
    ("find . -ok rm {} ';'", (C(("find", ".", "-ok", "rm", "{}", ";")), C(("rm", "{}")))),
    ("env -i X=1 -u Y curl x", (C(("env", "-i", "X=1", "-u", "Y", "curl", "x")), C(("curl", "x"), (), ("X=1",)))),
    ("X=1 make", (C(("make",), (), ("X=1",)),)),
    ("sudo -u root timeout -s KILL 5 nice -n 3 nohup curl x",
     (C(("sudo", "-u", "root", "timeout", "-s", "KILL", "5", "nice", "-n", "3", "nohup", "curl", "x")),
      C(("timeout", "-s", "KILL", "5", "nice", "-n", "3", "nohup", "curl", "x")),
      C(("nice", "-n", "3", "nohup", "curl", "x")), C(("nohup", "curl", "x")), C(("curl", "x")))),
    ("command -p ls", (C(("command", "-p", "ls")), C(("ls",)))),
    ("exec -a name curl x", (C(("exec", "-a", "name", "curl", "x")), C(("curl", "x")))),
    ("time -p make", (C(("time", "-p", "make")), C(("make",)))),
    ("stdbuf -oL -e 0 curl x", (C(("stdbuf", "-oL", "-e", "0", "curl", "x")), C(("curl", "x")))),
    ("exec > log", (C(("exec",), ("log",)),)),
    ("export A=1 B=$(curl x)", (C(("export", "A=1", "B=$(curl x)")), C(("curl", "x")))),
])
def test_what_shells_wrappers_xargs_and_find_run(source, expected):
    assert shell.commands(source) == expected


def test_a_long_chain_is_read_to_its_end():
    assert shell.commands("true && " * 60 + "curl x") == (*[C(("true",))] * 60, C(("curl", "x")))


@pytest.mark.parametrize("source, why", [
    ("ls &&", "its syntax is incomplete or not bash"),
    ("echo 'unclosed", "its syntax is incomplete or not bash"),
    ("{curl,x} y", "its syntax is incomplete or not bash"),
    ('eval "curl x"', "`eval` runs code that is only known when it runs"),
    ("source env.sh", "`source` runs code that is only known when it runs"),
    (". env.sh", "`.` runs code that is only known when it runs"),
    ("trap 'curl x' EXIT", "`trap` runs code that is only known when it runs"),
    ("command eval x", "`eval` runs code that is only known when it runs"),
    ("$CMD x", "its command name `$CMD` is not a plain word"),
    ("$(echo curl) x", "its command name `$(echo curl)` is not a plain word"),
    ("/usr/bin/c*rl x", "its command name `/usr/bin/c*rl` is not a plain word"),
    ("$'curl' x", "its command name `$'curl'` is not a plain word"),
    ("env $X y", "its command name `$X` is not a plain word"),
    ("echo x | xargs -I{} {}", "its command name `{}` is not a plain word"),
    ("find . -exec {} \\;", "its command name `{}` is not a plain word"),
    ('bash -c "$X"', "the shell's command string `$X` is only known when it runs"),
    ("echo curl x | xargs sh -c", "the shell's command string `{}` is only known when it runs"),
    ("curl x | bash", "the shell's commands come from input, not from the command line"),
    ("bash -s < script", "the shell reads its commands from input"),
    ("sudo -s", "`sudo` starts a shell that reads its commands from input"),
    ("su", "`su` starts a shell that reads its commands from input"),
    ("env -S 'curl x'", "`env -S` builds its command at run time"),
    ("PATH=. ls", "it sets PATH, which changes what later commands run"),
    ("export PATH=.:$PATH; ls", "it sets PATH, which changes what later commands run"),
    ("env LD_PRELOAD=x.so ls", "it sets LD_PRELOAD, which changes what later commands run"),
    ("IFS=/; ls", "it sets IFS, which changes what later commands run"),
    ("read PATH < f; ls", "it sets PATH, which changes what later commands run"),
    ("for PATH in .; do ls; done", "it sets PATH, which changes what later commands run"),
    (functools.reduce(lambda inner, _: f"bash -c {shlex.quote(inner)}", range(10), "x"), "shells nested too deeply"),
    ("(" * 300 + "x" + ")" * 300, "it is nested too deeply"),
])
def test_what_cannot_be_judged(source, why):
    with pytest.raises(shell.Unreadable) as caught:
        shell.read(source)
    assert str(caught.value) == why
    assert shell.commands(source) is None


def test_the_program_is_the_name_without_its_folder():
    assert (C(("/usr/bin/curl", "x")).program, C(("./ls",)).program, str(C(("git", "status", "-s")))) == (
        "curl", "ls", "git status -s")
