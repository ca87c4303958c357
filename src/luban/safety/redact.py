"""Secrets out of tool output: known credential formats, and the values of the user's credential-named
environment variables, are replaced by a marker before a result reaches the transcript or the model.
The marker is distinctive so that writing it back into a file can be refused (it would destroy the secret)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from ..sandbox import SECRET_NAME

MARKER = "[REDACTED:{kind}]"
MARKER_PREFIX = "[REDACTED:"
MIN_KNOWN = 8  # shorter variable values ("1", "true") would redact ordinary text

# (kind, pattern); where the pattern has a group, only the group is the secret.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(p)) for kind, p in (
    ("private-key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----"),
    ("aws-access-key-id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("aws-secret-access-key", r"(?i)aws_secret_access_key[\"']?\s*[=:]\s*[\"']?([A-Za-z0-9/+=]{40})\b"),
    ("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ("gitlab-token", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    ("slack-token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    ("api-key", r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}\b"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("stripe-key", r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}\b"),
    ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("pypi-token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    # No \b before the scheme: in `CANARY_postgres://` or `DB=x_mysql://` the scheme follows a word character.
    ("url-password", r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:([^\s/@]+)@"),
))


@dataclass(frozen=True)
class Redactor:
    known: tuple[str, ...] = ()  # exact secret values, longest first

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Redactor:
        values = {v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_KNOWN}
        return cls(tuple(sorted(values, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for value in self.known:
            text = text.replace(value, MARKER.format(kind="environment-secret"))
        for kind, pattern in PATTERNS:
            text = pattern.sub(lambda m, kind=kind: _masked(m, kind), text)
        return text


def _masked(match: re.Match[str], kind: str) -> str:
    if not match.re.groups:
        return MARKER.format(kind=kind)
    whole, start = match.group(0), match.start(1) - match.start(0)
    return whole[:start] + MARKER.format(kind=kind) + whole[start + len(match.group(1)):]


def carries_marker(arguments: Mapping[str, object]) -> str | None:
    """The name of a string argument that contains a redaction marker, if any: writing it would put the
    marker where the user's secret was."""
    return next((k for k, v in arguments.items() if isinstance(v, str) and MARKER_PREFIX in v), None)
