"""LiST Studio's engine: prompt-based adapter tuning with meta re-weighted self-training (Wang et al. 2022).

Python API:  `ListClassifier(template, verbalizer).fit(labeled, unlabeled).predict(texts)`
CLI:         `python -m list_core train ...` / `python -m list_core predict ...`
"""

from .config import ListConfig, PRESETS
from .job import __version__

__all__ = ["ListClassifier", "ListConfig", "PRESETS", "__version__"]


def __getattr__(name: str):
    # Lazy: importing list_core (e.g. for ListConfig in the app) must not pull torch in.
    if name == "ListClassifier":
        from .classifier import ListClassifier

        return ListClassifier
    raise AttributeError(name)
