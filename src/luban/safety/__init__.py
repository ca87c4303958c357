"""May this run, may the model see it: permission decisions, shell parsing, project trust, redaction."""
