import os
from pathlib import Path

from luban.sandbox import Bubblewrap, toolchains


def _script(path: Path, shebang: str = "#!/bin/sh") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{shebang}\necho\n")
    path.chmod(0o755)


def test_the_folders_path_and_the_test_command_lead_to_less_the_secrets(tmp_path):
    home = tmp_path / "home"
    for program in (".pyenv/shims/python", ".pyenv/libexec/pyenv", ".cargo/bin/cargo", "apps/tool-1.0/bin/tool",
                    "opt/py/bin/py", "venvs/proj/bin/pytest", "bin/mine", ".ssh/evil"):
        _script(home / program)
    (home / ".rustup").mkdir()
    (home / ".cargo" / "credentials.toml").write_text("token")
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "bin" / "tool").symlink_to(home / "apps" / "tool-1.0" / "bin" / "tool")
    _script(home / ".local" / "bin" / "black", shebang=f"#!{home}/opt/py/bin/py -u")
    _script(tmp_path / "elsewhere" / "nvm" / "versions" / "node" / "v20" / "bin" / "node")
    (home / ".nvm").symlink_to(tmp_path / "elsewhere" / "nvm")
    (home / "tools").symlink_to(home / ".ssh")
    path = [".pyenv/shims", ".cargo/bin", ".local/bin", ".nvm/versions/node/v20/bin", "bin", ".ssh", "tools", ""]
    host = {"HOME": str(home), "PATH": os.pathsep.join([*(str(home / p) for p in path), "/usr/bin"])}
    found = toolchains.find(host, programs=["FOO=1 ~/venvs/proj/bin/pytest -q", "python -m pytest"])
    assert found == toolchains.Toolchains(
        tuple(home / p for p in (".cargo/bin", ".local/bin", ".nvm", ".pyenv", ".rustup", "apps/tool-1.0", "bin",
                                 "opt/py", "venvs/proj")),
        {"CARGO_HOME": str(home / ".cargo"), "RUSTUP_HOME": str(home / ".rustup"), "NVM_DIR": str(home / ".nvm"),
         "PYENV_ROOT": str(home / ".pyenv")})


def test_the_hosts_own_toolchain_variables_win_and_name_folders_too(tmp_path):
    home = tmp_path / "home"
    _script(home / ".pyenv" / "shims" / "python")
    _script(home / "sdk" / "jdk-21" / "bin" / "java")
    host = {"HOME": str(home), "PATH": str(home / ".pyenv" / "shims"), "PYENV_ROOT": str(home / ".pyenv"),
            "JAVA_HOME": str(home / "sdk" / "jdk-21")}
    assert toolchains.find(host) == toolchains.Toolchains((home / ".pyenv", home / "sdk"), {})


def test_bubblewrap_binds_a_linked_toolchain_where_path_names_it(tmp_path):
    real = tmp_path / "elsewhere" / "nvm"
    real.mkdir(parents=True)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".nvm").symlink_to(real)
    argv = Bubblewrap(readable=(home / ".nvm",), host={"HOME": str(home)}).wrap(["true"], tmp_path / "ws")
    assert argv[argv.index(str(home)) + 1: argv.index(str(home)) + 4] == ["--ro-bind-try", str(real), str(home / ".nvm")]
