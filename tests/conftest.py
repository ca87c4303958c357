"""Shared by every test: the real pytest runs the tests start print what they print on a developer's machine."""

import pytest


@pytest.fixture(autouse=True)
def _not_on_ci(monkeypatch):
    """pytest prints whole assertion diffs when CI or BUILD_NUMBER is set (as on the CI machine), which changes the
    line counts and excerpts the tests compare; they hold the local form."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
