"""Child-process entry point that serves a GGUF with xllamacpp until told to stop or orphaned.

argv: GGUF ALIAS PORT CONTEXT THREADS PARENT_PID SLOTS HEADS SPECULATIVE [ADAPTER]

HEADS: the folder where slots are saved and restored from (head_cache.py); empty: none.

SPECULATIVE: llama.cpp's draftless speculative decoding (its --spec-type: `ngram-simple`, `ngram-mod`, ...), then
`,name=value` options (draft_max, draft_min, size_n, size_m); empty: none.

ADAPTER: a GGUF LoRA adapter (`luban tune train` writes one) applied to every request at scale 1.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def main(argv: list[str]) -> None:
    gguf, alias, port, context, threads, parent, slots, heads, speculative, *adapter = argv
    import xllamacpp  # deferred: heavy, and only this child needs it

    params = xllamacpp.CommonParams()
    params.model.path = gguf
    params.model_alias = {alias}
    params.port = int(port)
    # One slot per concurrent agent (eval jobs); each gets the whole `context` and its own prompt cache.
    params.n_parallel = int(slots)
    params.n_ctx = int(context) * int(slots)
    params.cpuparams.n_threads = int(threads)
    params.cpuparams_batch.n_threads = int(threads)
    params.use_jinja = True
    params.endpoint_props = True
    if heads:
        params.slot_save_path = os.path.join(heads, "")  # llama.cpp appends the file name to it as it is
    if speculative:
        draft(params, speculative, xllamacpp)
    if adapter:
        params.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(adapter[0], 1.0)]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server = xllamacpp.Server(params)  # noqa: F841 - serves until this process ends
    while os.getppid() == int(parent):  # reparented means Luban died: do not linger holding GBs of RAM
        time.sleep(1)
    os._exit(0)


def draft(params, spec: str, xllamacpp) -> None:
    """Set `params` for draftless speculative decoding as `spec` says (see SPECULATIVE above)."""
    kind, *options = spec.split(",")
    member = "COMMON_SPECULATIVE_TYPE_" + kind.strip().upper().replace("-", "_")
    params.speculative.types = [xllamacpp.common_speculative_type.__members__[member]]
    ngram = params.speculative.ngram_mod if kind == "ngram-mod" else params.speculative.ngram_simple
    fields = {"draft_max": (params.speculative.draft, "n_max"), "draft_min": (params.speculative.draft, "n_min"),
              "size_n": (ngram, "n_match" if kind == "ngram-mod" else "size_n"),
              "size_m": (ngram, "n_max" if kind == "ngram-mod" else "size_m")}
    for option in options:
        name, _, value = option.partition("=")
        owner, field = fields[name.strip()]
        setattr(owner, field, int(value))


if __name__ == "__main__":
    main(sys.argv[1:])
