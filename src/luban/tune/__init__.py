"""Tuning the model on Luban's own work: datasets from transcripts and code (`luban tune data`), LoRA training
and the GGUF adapter the embedded server loads (`luban tune train`). Needs the `transformers` extra."""
