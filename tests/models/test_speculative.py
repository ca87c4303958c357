"""Draftless speculative decoding for the embedded server (models/llama_server.py's SPECULATIVE argument), set on
llama.cpp's own parameters."""

import pytest

xllamacpp = pytest.importorskip("xllamacpp")

from luban.models.llama_server import draft  # noqa: E402

TYPES = xllamacpp.common_speculative_type


def test_ngram_simple_with_its_sizes():
    params = xllamacpp.CommonParams()
    draft(params, "ngram-simple,size_n=4,size_m=16,draft_max=16", xllamacpp)
    assert params.speculative.types == [TYPES.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
    assert (params.speculative.ngram_simple.size_n, params.speculative.ngram_simple.size_m) == (4, 16)
    assert params.speculative.draft.n_max == 16


def test_ngram_mod_sizes_go_to_its_own_fields():
    params = xllamacpp.CommonParams()
    draft(params, "ngram-mod,size_n=8,size_m=32,draft_min=4", xllamacpp)
    assert params.speculative.types == [TYPES.COMMON_SPECULATIVE_TYPE_NGRAM_MOD]
    assert (params.speculative.ngram_mod.n_match, params.speculative.ngram_mod.n_max) == (8, 32)
    assert params.speculative.draft.n_min == 4


def test_an_unknown_kind_or_option_is_refused():
    with pytest.raises(KeyError):
        draft(xllamacpp.CommonParams(), "ngram-magic", xllamacpp)
    with pytest.raises(KeyError):
        draft(xllamacpp.CommonParams(), "ngram-simple,speed=9", xllamacpp)
