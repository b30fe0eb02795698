"""scikit-learn-shaped API: `ListClassifier(...).fit(labeled, unlabeled).predict(texts)`, `save` / `load`.

Inputs are flexible so a notebook needs no glue: a list of strings, a list of dicts with the template's columns, a
pandas DataFrame, or (for labeled data) a pair `(texts, labels)`.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .config import PRESETS, ListConfig
from .data import is_missing
from .prompts import Template, Verbalizer
from .runs import atomic_write_json, read_json


_SETTINGS = {f.name for f in dataclass_fields(ListConfig)} - {"template", "verbalizer", "model"}
"""The keyword settings ListClassifier takes beside its own arguments ('preset' stays: a loaded 'custom' run's)."""


class NotFittedError(ValueError, AttributeError):
    """The classifier was used before `fit` or `load` (a ValueError and an AttributeError, like scikit-learn's)."""


def _check_label(i: int, label: Any) -> None:
    """A labeled row without a label (None, NaN, blank) would otherwise be read as the class 'nan' or 'None'."""
    if is_missing(label) or not str(label).strip():
        raise ValueError(f"labeled row {i} has no label ({label!r}): label it, or pass it with the unlabeled texts; "
                         "e.g. frame.dropna(subset=['label']) keeps the labeled rows only")


def _as_rows(data: Any, fields: Sequence[str], with_labels: bool = False,
             originals: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Normalise user input to a list of row dicts holding the template's fields (and 'label'). `originals`
    collects each label that is not a string as given (0, not '0'), keyed by the string the trainer uses."""
    if data is None:
        return []
    if with_labels and isinstance(data, tuple) and len(data) == 2:
        texts, labels = data
        rows = _as_rows(list(texts), fields)
        labels = list(labels)
        if len(rows) != len(labels):
            raise ValueError(f"{len(rows)} texts but {len(labels)} labels")
        for i, y in enumerate(labels):
            _check_label(i, y)
        if originals is not None:
            for y in labels:
                if not isinstance(y, str):
                    originals.setdefault(str(y).strip(), y)
        return [{**r, "label": str(y)} for r, y in zip(rows, labels)]
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        data = data.to_dict("records")
    if isinstance(data, str):
        data = [data]
    rows = []
    for i, item in enumerate(data):
        if isinstance(item, Mapping):
            row = dict(item)
            missing = [f for f in fields if f not in row]
            if missing:
                raise ValueError(f"row {i} has no column {', '.join(repr(f) for f in missing)}, which the template "
                                 f"reads (its columns are {list(fields)}; the row has {list(row)}): rename the "
                                 "column(s) to the template's, or the template's placeholders to the columns")
            # A pair with one blank text would be answered from the other text alone (the CLI and the app leave
            # such rows out); one blank text of a one-text template is the user's to classify.
            empty = [f for f in fields if is_missing(row[f]) or len(fields) > 1 and not str(row[f]).strip()]
            if empty:
                raise ValueError(f"row {i} has no text in {', '.join(repr(f) for f in empty)} (None, NaN"
                                 f"{', or blank: a pair needs both texts' if len(fields) > 1 else ''}): drop or fill "
                                 "such rows first, e.g. frame.dropna(subset=[...])")
        elif isinstance(item, str):
            if len(fields) != 1:
                raise ValueError(f"the template needs columns {list(fields)}; pass dicts, not plain strings")
            row = {fields[0]: item}
        else:
            raise TypeError(f"row {i}: expected a string or a dict, got {type(item).__name__}")
        row.setdefault("id", i)
        if with_labels:
            _check_label(i, row.get("label"))
        if "label" in row and row["label"] is not None:
            if originals is not None and not isinstance(row["label"], str):
                originals.setdefault(str(row["label"]).strip(), row["label"])
            row["label"] = str(row["label"]).strip()
        rows.append(row)
    return rows


class ListClassifier:
    """Few-shot text classifier trained with LiST (prompt + adapters + self-training with meta re-weighting)."""

    def __init__(self, template: str = "{text} It was {mask}.", verbalizer: Mapping[str, str] | str | None = None,
                 model: str = "default", preset: str = "quick", **overrides: Any):
        if isinstance(verbalizer, str):
            verbalizer = Verbalizer.parse(verbalizer)
        unknown = [k for k in overrides if k not in _SETTINGS]
        if unknown:  # else a bare TypeError from the config at fit(), naming no alternative
            near = difflib.get_close_matches(unknown[0], sorted(_SETTINGS), n=3)
            raise TypeError(f"ListClassifier got an unknown setting {unknown[0]!r}" + (
                f"; did you mean {', '.join(near)}?" if near else
                "; the settings are the fields of list_core.config.ListConfig, listed with their help there"))
        self.template = template
        self.verbalizer = dict(verbalizer or {})
        self.model = model
        self.preset = preset
        self.overrides = overrides
        self.template_ = Template(template)

    def _config(self) -> ListConfig:
        overrides = dict(self.overrides)
        name = overrides.pop("preset", None)  # a loaded 'custom' run: the preset's name only, every value is given
        config = ListConfig.from_preset(self.preset, template=self.template, verbalizer=self.verbalizer,
                                        model=self.model, **overrides)
        if name:
            config.preset = name
        if config.model != "default" and os.path.isdir(config.model):
            # './my-bert' is saved as an absolute path, so load() from another directory finds it again
            config.model = os.path.abspath(config.model)
        return config

    def fit(self, labeled: Any, unlabeled: Any = None, eval_set: Any = None, callbacks: Sequence = (),
            backbone: tuple | None = None) -> "ListClassifier":
        from .trainer import ListTrainer

        fields = self.template_.fields
        config = self._config()
        trainer = ListTrainer(config, callbacks=callbacks, backbone=backbone)
        originals: dict[str, Any] = {}  # the labels as given: predict answers in them (0/1, not '0'/'1')
        trainer.fit(_as_rows(labeled, fields, True, originals), _as_rows(unlabeled, fields),
                    _as_rows(eval_set, fields, True) or None)
        # Only a finished fit replaces the fitted state: a failed or interrupted one leaves the previous model and
        # the config it was trained with together (save() writes them side by side).
        self.config_ = config
        self._adopt(trainer, originals)
        self.history_ = trainer.history_
        return self

    def _adopt(self, trainer, originals: Mapping[str, Any] | None = None) -> None:
        self.trainer_ = trainer
        self.model_ = trainer.model_
        labels = trainer.verbalizer_.labels
        self.classes_ = np.array([(originals or {}).get(lab, lab) for lab in labels])

    def _check_fitted(self) -> None:
        if not hasattr(self, "trainer_"):
            raise NotFittedError("this ListClassifier is not fitted yet: call fit(labeled, unlabeled) first, or get "
                                 "a trained one with ListClassifier.load(directory)")

    def predict_proba(self, texts: Any) -> np.ndarray:
        import torch

        self._check_fitted()
        rows = _as_rows(texts, self.template_.fields)
        if not rows:
            return np.zeros((0, len(self.classes_)))
        encoded = [self.trainer_.encoder_.encode(r) for r in rows]
        logits = self.trainer_.predict_logits(encoded)
        return torch.softmax(logits, -1).numpy()

    def predict(self, texts: Any) -> np.ndarray:
        self._check_fitted()
        return self.classes_[self.predict_proba(texts).argmax(-1)]

    def score(self, texts: Any, labels: Sequence[Any]) -> float:
        pred = [str(p) for p in self.predict(texts)]
        return float((np.asarray(pred) == np.asarray([str(y).strip() for y in labels])).mean())

    # --- files ---------------------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """config.json + labels.json + model.safetensors (adapters and head only)."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_json(directory / "config.json", {"config": self.config_.to_dict()})
        atomic_write_json(directory / "labels.json", {"labels": list(self.classes_),
                                                      "words": list(self.config_.verbalizer.values()),
                                                      "template": self.config_.template})
        self.model_.save_trainable(directory / "model.safetensors", metadata={"labels": list(self.classes_)})
        atomic_write_json(directory / "history.json", {"history": list(getattr(self, "history_", []))})
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None, backbone: tuple | None = None
             ) -> "ListClassifier":
        """Load from a `save` directory or a run directory (its latest finished iteration)."""
        import torch

        from .modeling import ListModel
        from .trainer import ListTrainer

        directory = Path(directory)
        config_path, weights = directory / "config.json", directory / "model.safetensors"
        absent = [p.name for p in (config_path, weights) if not p.exists()]
        if absent:
            raise FileNotFoundError(f"{directory} has no {' and no '.join(absent)}; pass a run directory with at "
                                    "least one finished iteration, or a directory made by save()")
        spec = read_json(config_path)
        if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
            raise ValueError(f"{config_path} is damaged or not a LiST Studio model config (no 'config' object); "
                             "save the model again, or export it again from the app")
        saved = dict(spec["config"])
        if saved.get("unlabeled_per_iteration") == 0 and (saved.get("iterations") or 0) > 0:
            # Made before ListConfig refused it: its iterations saw no pool text, so the model is its teacher (and
            # the labeled fine-tune, if any). fit() again trains the teacher alone rather than refuse to load.
            saved["iterations"] = 0
        config = ListConfig.from_dict(saved)
        if device:
            config.device = device
        elif str(config.device).startswith("cuda") and not torch.cuda.is_available():
            config.device = "auto"  # saved on a GPU, loaded where there is none: as the exported zip does
        # Every setting the model was trained with, so that fit() on the loaded classifier trains the same way.
        given = ("template", "verbalizer", "model", "preset")
        settings = {k: v for k, v in config.to_dict().items() if k not in given}
        clf = cls(config.template, config.verbalizer, config.model,
                  preset=config.preset if config.preset in PRESETS else "quick", **settings)
        if config.preset not in PRESETS:  # the app's 'custom': quick's values, all overridden
            clf.overrides["preset"] = config.preset
        clf.config_ = config
        trainer = ListTrainer(config, backbone=backbone)
        model = trainer.setup(clf.template_.fields)
        try:
            state = ListModel.read_trainable(weights)
            model.load_trainable(state)
        except Exception as exc:  # safetensors' own errors name no file; a shape mismatch is a torch RuntimeError
            raise ValueError(f"{weights} could not be loaded into the model its config.json describes "
                             f"({type(exc).__name__}: {str(exc)[:200]}); save or export the model again") from exc
        # The labels as fit() was given them (0/1 stay numbers); run directories and older saves hold strings.
        saved = read_json(directory / "labels.json", {})
        saved = saved.get("labels") if isinstance(saved, dict) else None
        typed = isinstance(saved, list) and [str(y).strip() for y in saved] == trainer.verbalizer_.labels
        clf._adopt(trainer, {str(y).strip(): y for y in saved} if typed else None)
        clf.history_ = _saved_history(directory)
        return clf


def _saved_history(directory: Path) -> list[dict[str, Any]]:
    """The per-iteration metrics of a loaded model: save()'s history.json, or a run directory's metrics.jsonl
    (older saves have neither: an empty history, as the model itself is whole)."""
    from .runs import RunDir

    saved = read_json(directory / "history.json", {})
    if isinstance(saved, dict) and isinstance(saved.get("history"), list):
        return [row for row in saved["history"] if isinstance(row, dict)]
    if (directory / "metrics.jsonl").exists():
        return list(RunDir(directory).metrics())
    return []
