"""`luban tune data`'s pieces on real folders and transcripts: code samples that respect .gitignore and never
carry a secret, the JSONL and its card, and the one-sentence refusal of an empty dataset."""

import json

import pytest

from luban.errors import TuneError
from luban.models.protocol import JsonProtocol
from luban.safety.redact import Redactor
from luban.tune.dataset import build, labelled
from luban.tune.domain import code_samples, source_files
from luban.tune.trajectories import Found, from_sessions

from .sessions import record

SECRET = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
CALC = '''def add(a, b):
    """Add two numbers."""
    total = a + b
    return total


def mul(a, b):
    result = 0
    for _ in range(b):
        result += a
    return result
'''
KEYS = f'''def client():
    key = "{SECRET}"
    return connect(key)
'''


def secret(text):
    return Redactor()(text) != text


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "build").mkdir(parents=True)
    (root / "calc.py").write_text(CALC)
    (root / "keys.py").write_text(KEYS)
    (root / "build" / "generated.py").write_text("def generated():\n    x = 1\n    return x\n")
    (root / ".gitignore").write_text("build/\n")
    (root / "README.md").write_text("# calc\n")
    return root


def test_code_samples_skip_ignored_files_and_cut_fim_and_docstring_samples(repo):
    assert source_files(repo) == ["calc.py", "keys.py"]
    samples = list(code_samples(repo))
    assert [(s.kind, s.origin["file"], s.origin["function"], s.origin["line"]) for s in samples] == [
        ("fim", "calc.py", "add", 1), ("docstring", "calc.py", "add", 1), ("fim", "calc.py", "mul", 7),
        ("fim", "keys.py", "client", 1)]
    docstring = samples[1]
    assert (docstring.before, docstring.middle) == ('def add(a, b):\n    """Add two numbers."""',
                                                    CALC.split("\n\n\n")[0])
    for fim in (s for s in samples if s.kind == "fim"):
        assert fim.middle.strip() and fim.before + fim.middle + fim.after == (repo / fim.origin["file"]).read_text()


def test_the_dataset_leaves_out_secrets_and_its_card_says_where_each_sample_came_from(repo, tmp_path,
                                                                                     tiny_tokenizer):
    (tmp_path / "work").mkdir()
    session = record(tmp_path / "sessions", tmp_path / "work")
    found = Found()
    from_sessions(tmp_path / "sessions", found)
    out = tmp_path / "ds"
    card = build(out, tiny_tokenizer, JsonProtocol(), found, code_samples(repo), "tiny", secret)
    lines = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    assert [(s["kind"], s["origin"].get("file") or s["origin"]["id"]) for s in lines] == [
        ("trajectory", session.stem), ("fim", "calc.py"), ("docstring", "calc.py"), ("fim", "calc.py")]
    assert not any(SECRET in s["text"] or "generated" in s["text"] for s in lines)
    for sample in lines:
        ids, mask = labelled(tiny_tokenizer, sample["text"], sample["train"])
        assert (sample["tokens"], sample["trained_tokens"]) == (len(ids), sum(mask))
    assert {k: card[k] for k in ("model", "protocol", "samples", "sessions", "files", "left_out", "turns_dropped",
                                 "turns_masked", "eval_tasks")} == {
        "model": "tiny", "protocol": "json", "samples": 4, "sessions": [session.stem],
        "files": [f"{repo}/calc.py"], "left_out": {"fim: held a secret": 1}, "turns_dropped": 1,
        "turns_masked": {"repaired call": 1, "refused finish": 1}, "eval_tasks": []}
    assert card["tokens"] == sum(s["tokens"] for s in lines)
    assert card["by_kind"]["fim"]["samples"] == 2
    assert json.loads((out / "card.json").read_text()) == card
    md = (out / "card.md").read_text()
    assert f"Sessions (1): {session.stem}" in md and "- fim: held a secret: 1" in md
    assert "- repaired call: 1" in md and "Turns dropped: 1." in md


def test_nothing_to_learn_from_is_one_sentence_and_writes_nothing(tmp_path, tiny_tokenizer):
    (tmp_path / "work").mkdir()
    record(tmp_path / "sessions", tmp_path / "work", gate=None)
    found = Found()
    from_sessions(tmp_path / "sessions", found)
    with pytest.raises(TuneError) as caught:
        build(tmp_path / "ds", tiny_tokenizer, JsonProtocol(), found, [], "tiny", secret)
    assert str(caught.value) == (
        "No training samples: no trajectory qualified and no code sample was made (1 session with a run that had "
        "no test gate); run Luban with a test command (--test-cmd) until some tasks finish done, or add --code DIR.")
    assert not (tmp_path / "ds").exists()
