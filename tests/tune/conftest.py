import pytest

pytest.importorskip("transformers", reason="the transformers extra is not installed")
pytest.importorskip("peft", reason="the transformers extra is not installed")

from luban.models.protocol import JsonProtocol  # noqa: E402
from luban.safety.redact import Redactor  # noqa: E402
from luban.tune.dataset import build  # noqa: E402
from luban.tune.domain import code_samples  # noqa: E402
from luban.tune.trajectories import Found, from_sessions  # noqa: E402

from . import tiny  # noqa: E402
from .sessions import record  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A Hugging Face folder with a tiny random Qwen2 and its tokenizer."""
    return tiny.model_folder(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


@pytest.fixture(scope="session")
def dataset(tmp_path_factory, tiny_model, tiny_tokenizer):
    """A dataset from a recorded session and a small code folder, rendered for the tiny model."""
    root = tmp_path_factory.mktemp("data")
    (root / "work").mkdir()
    record(root / "sessions", root / "work")
    found = Found()
    from_sessions(root / "sessions", found)
    (root / "code").mkdir()
    (root / "code" / "calc.py").write_text('def add(a, b):\n    """Add."""\n    total = a + b\n    return total\n')
    build(root / "ds", tiny_tokenizer, JsonProtocol(), found, code_samples(root / "code"), tiny_model.name,
          lambda text: Redactor()(text) != text)
    return root / "ds"
