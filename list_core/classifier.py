"""scikit-learn-shaped API: `ListClassifier(...).fit(labeled, unlabeled).predict(texts)`, `save` / `load`.

Inputs are flexible so a notebook needs no glue: a list of strings, a list of dicts with the template's columns, a
pandas DataFrame, or (for labeled data) a pair `(texts, labels)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .config import ListConfig
from .prompts import Template, Verbalizer
from .runs import atomic_write_json, read_json


def _as_rows(data: Any, fields: Sequence[str], with_labels: bool = False) -> list[dict[str, Any]]:
    """Normalise user input to a list of row dicts holding the template's fields (and 'label')."""
    if data is None:
        return []
    if with_labels and isinstance(data, tuple) and len(data) == 2:
        texts, labels = data
        rows = _as_rows(list(texts), fields)
        if len(rows) != len(labels):
            raise ValueError(f"{len(rows)} texts but {len(labels)} labels")
        return [{**r, "label": str(y)} for r, y in zip(rows, labels)]
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        data = data.to_dict("records")
    if isinstance(data, str):
        data = [data]
    rows = []
    for i, item in enumerate(data):
        if isinstance(item, Mapping):
            row = dict(item)
        elif isinstance(item, str):
            if len(fields) != 1:
                raise ValueError(f"the template needs columns {list(fields)}; pass dicts, not plain strings")
            row = {fields[0]: item}
        else:
            raise TypeError(f"row {i}: expected a string or a dict, got {type(item).__name__}")
        row.setdefault("id", i)
        if "label" in row and row["label"] is not None:
            row["label"] = str(row["label"]).strip()
        rows.append(row)
    return rows


class ListClassifier:
    """Few-shot text classifier trained with LiST (prompt + adapters + self-training with meta re-weighting)."""

    def __init__(self, template: str = "{text} It was {mask}.", verbalizer: Mapping[str, str] | str | None = None,
                 model: str = "default", preset: str = "quick", **overrides: Any):
        if isinstance(verbalizer, str):
            verbalizer = Verbalizer.parse(verbalizer)
        self.template = template
        self.verbalizer = dict(verbalizer or {})
        self.model = model
        self.preset = preset
        self.overrides = overrides
        self.template_ = Template(template)

    def _config(self) -> ListConfig:
        return ListConfig.from_preset(self.preset, template=self.template, verbalizer=self.verbalizer,
                                      model=self.model, **self.overrides)

    def fit(self, labeled: Any, unlabeled: Any = None, eval_set: Any = None, callbacks: Sequence = (),
            backbone: tuple | None = None) -> "ListClassifier":
        from .trainer import ListTrainer

        fields = self.template_.fields
        self.config_ = self._config()
        trainer = ListTrainer(self.config_, callbacks=callbacks, backbone=backbone)
        trainer.fit(_as_rows(labeled, fields, True), _as_rows(unlabeled, fields),
                    _as_rows(eval_set, fields, True) or None)
        self._adopt(trainer)
        self.history_ = trainer.history_
        return self

    def _adopt(self, trainer) -> None:
        self.trainer_ = trainer
        self.model_ = trainer.model_
        self.classes_ = np.array(trainer.verbalizer_.labels)

    def predict_proba(self, texts: Any) -> np.ndarray:
        import torch

        rows = _as_rows(texts, self.template_.fields)
        if not rows:
            return np.zeros((0, len(self.classes_)))
        encoded = [self.trainer_.encoder_.encode(r) for r in rows]
        logits = self.trainer_.predict_logits(encoded)
        return torch.softmax(logits, -1).numpy()

    def predict(self, texts: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(-1)]

    def score(self, texts: Any, labels: Sequence[Any]) -> float:
        return float((self.predict(texts) == np.asarray([str(y) for y in labels])).mean())

    # --- files ---------------------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """config.json + labels.json + model.safetensors (adapters and head only)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_json(directory / "config.json", {"config": self.config_.to_dict()})
        atomic_write_json(directory / "labels.json", {"labels": list(self.classes_),
                                                      "words": list(self.config_.verbalizer.values()),
                                                      "template": self.config_.template})
        self.model_.save_trainable(directory / "model.safetensors", metadata={"labels": list(self.classes_)})
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None, backbone: tuple | None = None
             ) -> "ListClassifier":
        """Load from a `save` directory or a run directory (its latest finished iteration)."""
        from .modeling import ListModel
        from .trainer import ListTrainer

        directory = Path(directory)
        spec = read_json(directory / "config.json")
        weights = directory / "model.safetensors"
        if spec is None or not weights.exists():
            raise FileNotFoundError(f"{directory} has no config.json and model.safetensors; pass a run directory "
                                    "with at least one finished iteration, or a directory made by save()")
        config = ListConfig.from_dict(spec["config"])
        if device:
            config.device = device
        clf = cls(config.template, config.verbalizer, config.model, preset=config.preset)
        clf.config_ = config
        trainer = ListTrainer(config, backbone=backbone)
        model = trainer.setup(clf.template_.fields)
        state = ListModel.read_trainable(weights)
        model.load_trainable(state)
        clf._adopt(trainer)
        return clf
