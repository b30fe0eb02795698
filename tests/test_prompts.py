"""Templates, the prompt encoder (truncation never touches the template or the mask) and the verbalizer."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_tokenizer
from list_core.prompts import PromptEncoder, PromptError, Segment, Template, Verbalizer

TOK = make_tokenizer()


def ids_of(text: str) -> list[int]:
    return TOK(text, add_special_tokens=False)["input_ids"]


# --- Template parsing ---------------------------------------------------------------------------------------------

def test_template_segments_and_fields():
    t = Template("{text} It was {mask}.")
    assert t.fields == ["text"]
    assert t.segments == [Segment("field", "text"), Segment("text", " It was "), Segment("mask"),
                          Segment("text", ".")]


def test_pair_template_fields_in_order_and_modifiers():
    t = Template("{premise:strip_punct} ? {mask} , {hypothesis:lower_first}")
    assert t.fields == ["premise", "hypothesis"]
    fields = [s for s in t.segments if s.kind == "field"]
    assert [(s.value, s.modifier) for s in fields] == [("premise", "strip_punct"), ("hypothesis", "lower_first")]
    assert t.render({"premise": "It rained!!", "hypothesis": "The ground is wet"}) == \
        "It rained ? [MASK] , the ground is wet"


def test_mask_placeholder_is_case_and_space_insensitive():
    assert sum(s.kind == "mask" for s in Template("{text} { MASK }").segments) == 1


def test_escaped_braces_are_literal():
    t = Template("{{note}} {text} }} {mask}")
    assert t.fields == ["text"]
    assert t.render({"text": "hi"}, mask_token="<m>") == "{note} hi } <m>"


def test_repeated_field_listed_once():
    assert Template("{text} {mask} {text}").fields == ["text"]


@pytest.mark.parametrize("text,needle", [
    ("{text} It was great.", "no {mask}"),
    ("{text} {mask} and {mask}", "2 {mask}"),
    ("", "empty"),
    ("   ", "empty"),
    ("{mask} only", "uses no column"),
    ("{text} {mask} {", "unbalanced"),
    ("{text} {mask} }", "unbalanced"),
    ("{text} {} {mask}", "empty placeholder"),
    ("{text:upper} {mask}", "unknown modifier"),
    ("{text} It was {mask:lower_first}.", "takes no modifier"),
    ("{text} It was {MASK:strip_punct}.", "takes no modifier"),
])
def test_template_errors(text, needle):
    with pytest.raises(PromptError, match=None) as info:
        Template(text)
    assert needle in str(info.value)


def test_check_columns_names_the_missing_placeholder():
    t = Template("{premise} ? {mask} , {hypothesis}")
    t.check_columns(["premise", "hypothesis", "label"])
    with pytest.raises(PromptError) as info:
        t.check_columns(["premise", "label"])
    assert "{hypothesis}" in str(info.value) and "premise, label" in str(info.value)


# --- PromptEncoder ------------------------------------------------------------------------------------------------

def assert_well_formed(enc, max_length):
    ids = enc.input_ids
    assert len(ids) <= max_length
    assert ids[0] == TOK.cls_token_id and ids[-1] == TOK.sep_token_id
    assert ids.count(TOK.mask_token_id) == 1
    assert ids[enc.mask_position] == TOK.mask_token_id


def test_short_input_is_not_truncated_and_has_template_tokens():
    enc = PromptEncoder("{text} it was {mask} .", TOK, 32).encode({"text": "great movie"})
    assert enc.truncated == 0
    assert enc.input_ids == [TOK.cls_token_id] + ids_of("great movie it was") + [TOK.mask_token_id] + ids_of(".") \
        + [TOK.sep_token_id]
    assert enc.mask_position == 5


@pytest.mark.parametrize("max_length", [16, 20, 32, 64])
@pytest.mark.parametrize("n_chars", [500, 100_000])
def test_truncation_keeps_template_and_mask_single(max_length, n_chars):
    enc_ = PromptEncoder("{text} it was {mask} .", TOK, max_length)
    filler = ("movie " * (n_chars // 6 + 1))[:n_chars]
    enc = enc_.encode({"text": filler})
    assert_well_formed(enc, max_length)
    assert len(enc.input_ids) == max_length  # the text fills the whole budget
    movie = ids_of("movie")[0]
    # Without the text tokens, exactly the template remains, in order.
    assert [t for t in enc.input_ids if t != movie] == enc_.encode({"text": ""}).input_ids
    assert enc.input_ids[enc.mask_position - 2: enc.mask_position + 3] == \
        ids_of("it was") + [TOK.mask_token_id] + ids_of(".") + [TOK.sep_token_id]
    assert enc.truncated > 0


def test_truncation_of_pair_keeps_both_fields_and_all_template_tokens():
    enc_ = PromptEncoder("{premise} ? {mask} , {hypothesis}", TOK, 24)
    enc = enc_.encode({"premise": "movie " * 5000, "hypothesis": "film " * 3000})
    assert_well_formed(enc, 24)
    assert len(enc.input_ids) == 24
    movie, film = ids_of("movie")[0], ids_of("film")[0]
    body = enc.input_ids
    n_movie, n_film = body.count(movie), body.count(film)
    assert n_movie > 0 and n_film > 0 and abs(n_movie - n_film) <= 1  # longest first: both end up equal
    assert [t for t in body if t not in (movie, film)] == enc_.encode({"premise": "", "hypothesis": ""}).input_ids
    # Layout: [CLS] premise ? [MASK] , hypothesis [SEP]
    assert body[enc.mask_position - 1] == ids_of("?")[0] and body[enc.mask_position + 1] == ids_of(",")[0]
    assert set(body[1: enc.mask_position - 1]) == {movie}
    assert set(body[enc.mask_position + 2: -1]) == {film}


def test_pair_truncation_shortens_only_the_long_field():
    enc = PromptEncoder("{premise} ? {mask} , {hypothesis}", TOK, 24).encode(
        {"premise": "movie " * 200, "hypothesis": "good film"})
    assert_well_formed(enc, 24)
    assert enc.input_ids[enc.mask_position + 2: -1] == ids_of("good film")


@pytest.mark.parametrize("text", ["😀" * 50_000, "中文字符测试" * 20_000, "שלום עולם " * 10_000,
                                  "مرحبا بالعالم " * 8000, "great 😀 中文 שלום movie " * 4000])
def test_unicode_long_inputs(text):
    enc = PromptEncoder("{text} it was {mask} .", TOK, 32).encode({"text": text})
    assert_well_formed(enc, 32)


def test_literal_mask_token_in_user_text_does_not_become_a_second_mask():
    enc = PromptEncoder("{text} it was {mask} .", TOK, 32).encode({"text": "great [MASK] movie"})
    assert_well_formed(enc, 32)
    assert enc.input_ids[enc.mask_position - 2: enc.mask_position] == ids_of("it was")


def test_modifiers_applied_when_encoding():
    enc_ = PromptEncoder("{premise:strip_punct} ? {mask} , {hypothesis:lower_first}", TOK, 32)
    a = enc_.encode({"premise": "good film !!", "hypothesis": "Yes"})
    assert a.input_ids[1: a.mask_position] == ids_of("good film ?")


def test_template_longer_than_budget_is_refused():
    with pytest.raises(PromptError, match="max_length"):
        PromptEncoder("{text} " + "it was the movie " * 5 + "{mask}", TOK, 16)


def test_missing_field_value_encodes_as_empty():
    enc = PromptEncoder("{text} it was {mask} .", TOK, 32).encode({})
    assert_well_formed(enc, 32)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=400), other=st.text(max_size=200), max_length=st.integers(16, 64),
       pair=st.booleans())
def test_property_mask_always_present_and_length_bounded(text, other, max_length, pair):
    template = "{a} ? {mask} , {b}" if pair else "{a} it was {mask} ."
    enc = PromptEncoder(template, TOK, max_length).encode({"a": text, "b": other})
    assert_well_formed(enc, max_length)


@settings(max_examples=40, deadline=None)
@given(words=st.lists(st.sampled_from(["great", "movie", "bad", "the", "plot", "!", "very"]), max_size=80),
       max_length=st.integers(16, 40))
def test_property_truncation_only_removes_text_tokens(words, max_length):
    enc_ = PromptEncoder("{text} it was {mask} .", TOK, max_length)
    enc = enc_.encode({"text": " ".join(words)})
    assert_well_formed(enc, max_length)
    full = ids_of(" ".join(words))
    kept = enc.input_ids[1: enc.mask_position - 2]
    assert kept == full[: len(kept)]  # a prefix of the text, cut from the end
    assert enc.truncated == len(full) - len(kept)


# --- Verbalizer ---------------------------------------------------------------------------------------------------

def test_verbalizer_maps_labels_to_single_ids():
    v = Verbalizer({"neg": "terrible", "pos": "great"}, TOK)
    assert v.labels == ["neg", "pos"] and len(v) == 2
    assert v.token_ids == [ids_of("terrible")[0], ids_of("great")[0]]
    assert v.index("pos") == 1 and v.index(" neg ") == 0


def test_multi_token_word_is_refused_with_name_and_suggestions():
    assert len(ids_of("greats")) == 2
    with pytest.raises(PromptError) as info:
        Verbalizer({"neg": "terrible", "pos": "greats"}, TOK)
    msg = str(info.value)
    assert "'greats'" in msg and "'pos'" in msg and "2 tokens" in msg
    assert "e.g." in msg and "great" in msg.split("e.g.")[1]


def test_multi_token_suggestions_use_embeddings_when_given():
    import torch

    emb = torch.zeros(len(TOK.get_vocab()), 4)
    for word, vec in (("great", [1, 0, 0, 0]), ("good", [0.9, 0.1, 0, 0]), ("bad", [0, 1, 0, 0])):
        emb[ids_of(word)[0]] = torch.tensor(vec)
    emb[TOK.convert_tokens_to_ids("##s")] = torch.tensor([1.0, 0, 0, 0])
    with pytest.raises(PromptError) as info:
        Verbalizer({"neg": "bad", "pos": "greats"}, TOK, emb)
    suggestions = str(info.value).split("e.g. ")[1]
    assert suggestions.startswith("great, good")


def test_unknown_word_is_refused():
    with pytest.raises(PromptError, match="'xyzzy'.*not in the vocabulary"):
        Verbalizer({"neg": "xyzzy", "pos": "great"}, TOK)


@pytest.mark.parametrize("mapping,needle", [
    ({"neg": "great", "pos": "great"}, "share the label word"),
    ({"neg": "Great", "pos": "great"}, "share the label word"),
    ({"pos": "great"}, "at least two labels"),
    ({}, "no label words"),
    ({"neg": "", "pos": "great"}, "empty label word"),
])
def test_verbalizer_errors(mapping, needle):
    with pytest.raises(PromptError) as info:
        Verbalizer(mapping, TOK)
    assert needle in str(info.value)


def test_parse_spec():
    assert Verbalizer.parse("neg=terrible,pos=great") == {"neg": "terrible", "pos": "great"}
    assert Verbalizer.parse(" 0 = terrible , 1=great ,") == {"0": "terrible", "1": "great"}


@pytest.mark.parametrize("spec,needle", [
    ("neg:terrible,pos=great", "has no '='"),
    ("", "empty"),
    (" , ", "empty"),
    ("neg=terrible,neg=bad", "appears twice"),
])
def test_parse_bad_specs(spec, needle):
    with pytest.raises(PromptError) as info:
        Verbalizer.parse(spec)
    assert needle in str(info.value)


def test_suggestions_never_offer_another_class_its_word_or_name():
    """'spam' splits into tokens and its nearest common word is 'ham', the other class: never suggest that."""
    import torch

    emb = torch.zeros(len(TOK.get_vocab()), 4)
    for word, vec in (("bad", [1, 0, 0, 0]), ("good", [0.9, 0.1, 0, 0]), ("great", [0.5, 0.5, 0, 0])):
        emb[ids_of(word)[0]] = torch.tensor(vec)
    emb[TOK.convert_tokens_to_ids("##s")] = torch.tensor([1.0, 0, 0, 0])
    with pytest.raises(PromptError) as info:
        Verbalizer({"bad": "terrible", "pos": "greats"}, TOK, emb)  # 'bad' is the other class's name
    suggestions = str(info.value).split("e.g. ")[1].split(", ")
    assert "bad" not in suggestions and suggestions[0] == "good"
    with pytest.raises(PromptError) as info:
        Verbalizer({"neg": "bad", "pos": "greats"}, TOK, emb)  # ... and 'bad' is its word
    suggestions = str(info.value).split("e.g. ")[1].split(", ")
    assert "bad" not in suggestions and suggestions[0] == "good"


def test_suggestions_never_offer_the_opposite_of_the_word():
    """The nearest common word can mean the opposite ('ham' for 'spam' in MiniLM's embeddings): a hint for 'very
    good' must not offer 'bad', while one for the negated 'not good' may."""
    import torch

    emb = torch.zeros(len(TOK.get_vocab()), 4)
    for word, vec in (("bad", [1, 0, 0, 0]), ("great", [0.8, 0.2, 0, 0]), ("very", [1, 0, 0, 0]),
                      ("good", [0.5, 0.5, 0, 0]), ("not", [1, 0, 0, 0])):
        emb[ids_of(word)[0]] = torch.tensor(vec)
    with pytest.raises(PromptError) as info:
        Verbalizer({"neg": "awful", "pos": "very good"}, TOK, emb)
    suggestions = str(info.value).split("e.g. ")[1].split(", ")
    assert "bad" not in suggestions and suggestions[0] == "great"  # 'bad' is the second nearest
    with pytest.raises(PromptError) as info:
        Verbalizer({"neg": "not good", "pos": "fun"}, TOK, emb)
    assert str(info.value).split("e.g. ")[1].split(", ")[:2] == ["great", "bad"]

