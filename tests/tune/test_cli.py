"""`luban tune` from the command line: what it prints, and its exit codes for bad input."""

from luban.ui.cli import main


def test_tune_data_then_train_from_the_command_line(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home"))
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "calc.py").write_text('def add(a, b):\n    """Add."""\n    total = a + b\n    return total\n')
    assert main(["tune", "data", "--model", str(tiny_model), "--code", str(tmp_path / "code"), "--out",
                 str(tmp_path / "ds")]) == 0
    out, err = capsys.readouterr()
    assert err == f"tune data: 0 trajectories, 2 code samples; rendering for {tiny_model.name}\n"
    assert out.startswith("2 samples (1 docstring, 1 fim), ")
    assert out.endswith(f" trained) → {tmp_path / 'ds' / 'dataset.jsonl'}; card: {tmp_path / 'ds' / 'card.md'}\n")
    assert main(["tune", "train", "--model", str(tiny_model), "--data", str(tmp_path / "ds"), "--out",
                 str(tmp_path / "tuned"), "--steps", "2", "--accumulate", "1", "--max-length", "128"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines()[-1].startswith("step 2/2  loss ")
    assert out.startswith("Trained 2 steps on 3 windows in ")
    assert out.endswith(f"adapter: {tmp_path / 'tuned' / 'adapter'}, {tmp_path / 'tuned' / 'adapter.gguf'}.\n")


def test_bad_input_exits_with_one_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home"))
    assert main(["tune", "data", "--model", str(tmp_path), "--out", str(tmp_path / "ds")]) == 1
    assert capsys.readouterr().err == (f"luban: {tmp_path} is not a model: give a Hugging Face model folder (with "
                                       "config.json), a GGUF file, or an embedded model name (qwen2.5-coder-1.5b, "
                                       "qwen2.5-coder-0.5b).\n")
    assert main(["tune", "train", "--model", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err == "luban: luban tune train needs --data DIR, a dataset from luban tune data.\n"
