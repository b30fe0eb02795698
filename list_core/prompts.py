"""Prompt templates and verbalizers: turn examples into token ids with one mask, and labels into label-word ids.

Template syntax: literal text with `{column}` placeholders and exactly one `{mask}`; `{{` and `}}` are literal
braces. A placeholder may carry one modifier: `{hypothesis:lower_first}` (lower-case the first letter, as the
paper's NLI templates do) or `{premise:strip_punct}` (drop final punctuation). Examples: `{text} It was {mask}.`,
`{premise:strip_punct} ? {mask} , {hypothesis:lower_first}`.

Rendering tokenizes each segment on its own and joins the ids, so truncation can shorten the text fields (longest
first, from the end) without ever touching the template's words or the mask. Whitespace before a placeholder is
given to the field (BPE vocabularies such as RoBERTa's encode the space inside the next token); whitespace before
the mask is dropped (the label word's token carries it, see `Verbalizer`).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

MASK = "mask"
MODIFIERS = ("lower_first", "strip_punct")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class PromptError(ValueError):
    """A template or verbalizer problem found before training starts; the message says how to fix it."""


@dataclass(frozen=True)
class Segment:
    kind: str  # "text", "field" or "mask"
    value: str = ""  # literal text or column name
    modifier: str = ""


def _apply_modifier(value: str, modifier: str) -> str:
    if modifier == "lower_first" and value:
        return value[0].lower() + value[1:]
    if modifier == "strip_punct":
        return value.rstrip().rstrip(string.punctuation + " ")
    return value


class Template:
    """A parsed prompt template. `fields` are the columns it needs, in order of appearance."""

    def __init__(self, text: str):
        if not isinstance(text, str) or not text.strip():
            raise PromptError("the template is empty; write one such as '{text} It was {mask}.'")
        self.text = text
        self.segments = self._parse(text)
        masks = sum(s.kind == "mask" for s in self.segments)
        if masks == 0:
            raise PromptError(f"the template {text!r} has no {{mask}}; add one where the label word should go, "
                              "e.g. '{text} It was {mask}.'")
        if masks > 1:
            raise PromptError(f"the template {text!r} has {masks} {{mask}} placeholders; use exactly one")
        self.fields = list(dict.fromkeys(s.value for s in self.segments if s.kind == "field"))
        if not self.fields:
            raise PromptError(f"the template {text!r} uses no column; add a placeholder such as {{text}}")

    @staticmethod
    def _parse(text: str) -> list[Segment]:
        segments: list[Segment] = []
        literal = ""
        pos = 0
        for m in _PLACEHOLDER.finditer(text):
            literal += text[pos:m.start()]
            pos = m.end()
            token = m.group(0)
            if token in ("{{", "}}"):
                literal += token[0]
                continue
            if m.group(1) is None:
                raise PromptError(f"unbalanced brace at position {m.start()} of the template {text!r}; "
                                  "write {{ or }} for a literal brace")
            name, _, modifier = m.group(1).strip().partition(":")
            name, modifier = name.strip(), modifier.strip()
            if not name:
                raise PromptError(f"empty placeholder {{}} in the template {text!r}; name a column, e.g. {{text}}")
            if modifier and modifier not in MODIFIERS:
                raise PromptError(f"unknown modifier {modifier!r} in {{{m.group(1)}}}; known: {', '.join(MODIFIERS)}")
            if literal:
                segments.append(Segment("text", literal))
                literal = ""
            if name.lower() == MASK:
                if modifier:  # the label word is the model's to fill: a modifier on it would be ignored unseen
                    raise PromptError(f"{{{m.group(1)}}}: the {{mask}} takes no modifier (the label word goes there "
                                      "as the verbalizer writes it); write {mask}, and put modifiers on columns, "
                                      "e.g. {hypothesis:lower_first}")
                segments.append(Segment("mask"))
            else:
                segments.append(Segment("field", name, modifier))
        literal += text[pos:]
        if literal:
            segments.append(Segment("text", literal))
        return segments

    def check_columns(self, columns: Sequence[str]) -> None:
        missing = [f for f in self.fields if f not in columns]
        if missing:
            raise PromptError(f"the template uses {', '.join('{' + f + '}' for f in missing)} but the data has no "
                              f"such column; columns are: {', '.join(columns)}")

    def render(self, example: Mapping[str, Any], mask_token: str = "[MASK]") -> str:
        """The filled-in prompt as text (for previews); the model uses `PromptEncoder.encode`."""
        out = []
        for s in self.segments:
            if s.kind == "text":
                out.append(s.value)
            elif s.kind == "mask":
                out.append(mask_token)
            else:
                out.append(_apply_modifier(str(example.get(s.value, "")), s.modifier))
        return "".join(out)


@dataclass
class Encoded:
    input_ids: list[int]
    mask_position: int
    truncated: int  # text tokens removed to fit max_length


def special_token_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after a single sequence ([CLS] ... [SEP], <s> ... </s>), found by
    comparing an encoding with and without special tokens (works for every tokenizer family)."""
    probe = "hello"
    plain = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start: start + len(plain)] == plain:
            return list(full[:start]), list(full[start + len(plain):])
    return [], []


class PromptEncoder:
    """Renders examples to token ids with a template, keeping the template and the mask whole under truncation."""

    def __init__(self, template: Template | str, tokenizer: Any, max_length: int):
        self.template = template if isinstance(template, Template) else Template(template)
        self.tokenizer = tokenizer
        self.max_length = max_length
        if tokenizer.mask_token_id is None:
            raise PromptError("this tokenizer has no mask token; choose a masked language model")
        self._literal_ids: dict[int, list[int]] = {}
        self._plan = self._build_plan()
        self._prefix, self._suffix = special_token_frame(tokenizer)
        fixed = sum(len(ids) for kind, ids, _ in self._plan if kind == "text") + 1
        specials = len(self._prefix) + len(self._suffix)
        self._budget = max_length - specials - fixed
        if self._budget < 4:
            raise PromptError(f"the template alone takes {fixed + specials} of max_length={max_length} tokens; "
                              "shorten it or raise max_length")

    def _build_plan(self) -> list[tuple[str, list[int], Segment | None]]:
        """Segments with whitespace moved: a literal's trailing space goes to a following field, or is dropped
        before the mask; literal ids are tokenized once here."""
        plan: list[tuple[str, list[int], Segment | None]] = []
        segs = self.template.segments
        for i, s in enumerate(segs):
            nxt = segs[i + 1] if i + 1 < len(segs) else None
            if s.kind == "text":
                value = s.value
                if nxt is not None and nxt.kind in ("field", "mask"):
                    value = value.rstrip()
                if value.strip():
                    ids = self.tokenizer(value, add_special_tokens=False)["input_ids"]
                    plan.append(("text", ids, s))
            elif s.kind == "mask":
                plan.append(("mask", [], s))
            else:
                plan.append(("field", [], s))
        return plan

    def _field_text(self, seg: Segment, example: Mapping[str, Any], first: bool) -> str:
        value = _apply_modifier(str(example.get(seg.value, "") or "").strip(), seg.modifier)
        return value if first else " " + value

    def encode(self, example: Mapping[str, Any]) -> Encoded:
        pieces: list[list[int]] = []
        field_idx: list[int] = []
        for i, (kind, ids, seg) in enumerate(self._plan):
            if kind == "text":
                pieces.append(ids)
            elif kind == "mask":
                pieces.append([self.tokenizer.mask_token_id])
            else:
                text = self._field_text(seg, example, first=(i == 0))
                # Cut absurdly long texts by characters first: tokenizing 100k characters only to drop them is slow.
                text = text[: self.max_length * 12]
                field_ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
                # A literal mask token in user text ("[MASK]", "<mask>") would become a second mask: drop it.
                pieces.append([t for t in field_ids if t != self.tokenizer.mask_token_id])
                field_idx.append(len(pieces) - 1)
        total = sum(len(pieces[i]) for i in field_idx)
        removed = 0
        while total > self._budget:
            longest = max(field_idx, key=lambda j: len(pieces[j]))
            runner_up = max((len(pieces[j]) for j in field_idx if j != longest), default=0)
            cut = min(total - self._budget, max(1, len(pieces[longest]) - runner_up))
            pieces[longest] = pieces[longest][: len(pieces[longest]) - cut]
            total -= cut
            removed += cut
        body: list[int] = [t for p in pieces for t in p]
        ids = self._prefix + body + self._suffix
        mask_pos = ids.index(self.tokenizer.mask_token_id)
        return Encoded(ids, mask_pos, removed)

    def encode_many(self, examples: Sequence[Mapping[str, Any]]) -> list[Encoded]:
        return [self.encode(e) for e in examples]


class Verbalizer:
    """Maps each class to one label word and that word to a single vocabulary id.

    Words are tokenized with a leading space, the form they take after `It was` in a sentence (RoBERTa's `Ġgreat`);
    WordPiece vocabularies ignore the space. A word that splits into several tokens is refused with suggestions of
    single-token words close to it in the embedding space, since one mask position scores one token.
    """

    def __init__(self, mapping: Mapping[str, str], tokenizer: Any, embeddings: Any | None = None):
        if not mapping:
            raise PromptError("no label words given; map every label to a word, e.g. 'neg=terrible,pos=great'")
        self.labels = [str(k) for k in mapping]
        self.words = [str(v).strip() for v in mapping.values()]
        for label, word in zip(self.labels, self.words):
            if not word:
                raise PromptError(f"label {label!r} has an empty label word")
        seen: dict[str, str] = {}
        for label, word in zip(self.labels, self.words):
            if word.lower() in seen:
                raise PromptError(f"labels {seen[word.lower()]!r} and {label!r} share the label word {word!r}; "
                                  "each class needs its own word")
            seen[word.lower()] = label
        if len(self.labels) < 2:
            raise PromptError("a classifier needs at least two labels")
        self.token_ids: list[int] = []
        for label, word in zip(self.labels, self.words):
            ids = tokenizer(" " + word, add_special_tokens=False)["input_ids"]
            unk = getattr(tokenizer, "unk_token_id", None)
            if len(ids) != 1 or ids[0] == unk:
                taken = {x for lab, w in zip(self.labels, self.words) if lab != label for x in (lab, w)}
                hint = suggest_single_token_words(word, tokenizer, embeddings, exclude=taken)
                problem = "is not in the vocabulary" if ids == [unk] else f"splits into {len(ids)} tokens " \
                    f"{tokenizer.convert_ids_to_tokens(ids)}"
                raise PromptError(f"label word {word!r} (label {label!r}) {problem}; use a single-token word"
                                  + (f", e.g. {', '.join(hint)}" if hint else ""))
            self.token_ids.append(ids[0])
        if len(set(self.token_ids)) != len(self.token_ids):
            raise PromptError("two label words map to the same token; choose distinct words")

    @classmethod
    def parse(cls, spec: str) -> dict[str, str]:
        """'neg=terrible,pos=great' -> {'neg': 'terrible', 'pos': 'great'}."""
        mapping: dict[str, str] = {}
        for part in [p for p in spec.split(",") if p.strip()]:
            if "=" not in part:
                raise PromptError(f"verbalizer entry {part.strip()!r} has no '='; write label=word pairs such as "
                                  "'neg=terrible,pos=great'")
            label, word = (x.strip() for x in part.split("=", 1))
            if not label:
                raise PromptError(f"verbalizer entry {part.strip()!r} has an empty label; write label=word pairs "
                                  "such as 'neg=terrible,pos=great'")
            if label in mapping:
                raise PromptError(f"label {label!r} appears twice in the verbalizer")
            mapping[label] = word
        if not mapping:
            raise PromptError("the verbalizer is empty; write label=word pairs such as 'neg=terrible,pos=great'")
        return mapping

    def __len__(self) -> int:
        return len(self.labels)

    def index(self, label: Any) -> int:
        return self.labels.index(str(label).strip())


COMMON_LABEL_WORDS = ("great good bad terrible yes no maybe positive negative true false spam ham fine poor "
                      "awful excellent right wrong happy sad angry neutral sports business world science politics "
                      "news music art health money love hate funny boring useful useless agree disagree junk").split()


# Common words of opposite meaning, near each other in an embedding space: 'ham' is the closest common word to
# 'spam' in MiniLM's embeddings, and 'terrible' is among those closest to 'very good'. A hint never offers a word of
# the other side: it would name the other class.
_POSITIVE = set("great good excellent positive happy love useful right yes true agree fine".split())
_NEGATIVE = set("terrible bad awful negative sad hate useless wrong no false disagree poor".split())
_OPPOSITE_PAIRS = (("spam", "ham"),)
_NEGATIONS = {"not", "no", "non", "never"}


def _opposites(word: str) -> set[str]:
    """Common words opposite in meaning to `word`; none for a negated phrase ('not spam' means 'ham')."""
    words = set(re.findall(r"[a-z]+", word.lower()))
    if words & _NEGATIONS:
        return set()
    out = {b for a, b in _OPPOSITE_PAIRS if a in words} | {a for a, b in _OPPOSITE_PAIRS if b in words}
    if words & _POSITIVE:
        out |= _NEGATIVE
    if words & _NEGATIVE:
        out |= _POSITIVE
    return out


def suggest_single_token_words(word: str, tokenizer: Any, embeddings: Any | None, n: int = 5,
                               exclude: Iterable[str] = ()) -> list[str]:
    """Single-token words near `word`: by cosine similarity of input embeddings when given, else common ones.
    Words in `exclude` (the other classes' names and words), the word itself and its opposites ('ham' for 'spam',
    'bad' for 'very good') are never suggested."""
    skip = {w.strip().lower() for w in exclude} | {word.strip().lower()} | _opposites(word)
    candidates = []
    for w in (w for w in COMMON_LABEL_WORDS if w not in skip):
        ids = tokenizer(" " + w, add_special_tokens=False)["input_ids"]
        if len(ids) == 1 and ids[0] != getattr(tokenizer, "unk_token_id", None):
            candidates.append((w, ids[0]))
    if embeddings is None or not candidates:
        return [w for w, _ in candidates[:n]]
    import torch

    ids = tokenizer(" " + word, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        query = embeddings[ids].float().mean(0)
        cand = embeddings[[i for _, i in candidates]].float()
        sims = torch.nn.functional.cosine_similarity(cand, query[None], dim=-1)
    order = sims.argsort(descending=True).tolist()
    return [candidates[i][0] for i in order[:n]]


SUGGESTED_TEMPLATES = {
    "sentiment": ("{text} It was {mask}.", {"negative": "terrible", "positive": "great"}),
    "topic": ("[Topic: {mask}] {text}", {}),
    "subjectivity": ("{text} This is {mask}.", {"subjective": "subjective", "objective": "objective"}),
    "pair inference (NLI)": ("{premise:strip_punct} ? {mask} , {hypothesis:lower_first}",
                             {"contradiction": "No", "entailment": "Yes", "neutral": "Maybe"}),
    "paraphrase": ("{q1} {mask} , {q2:lower_first}", {"different": "No", "same": "Yes"}),
}
