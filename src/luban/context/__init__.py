"""Building each request: a frozen prefix, the append-only history, compaction, the repo map, project memory."""
