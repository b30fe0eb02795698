"""The LiST training loop: prompt-tune a teacher on labeled data, then self-train students on pseudo-labels.

Schedule (the paper, arXiv 2110.06274, and the authors' code, github.com/microsoft/LiST; every number is a
`ListConfig` field):
1. Teacher: prompt + adapter tuning on the labeled examples with cross-entropy. With `teachers` > 1 (our addition,
   not the paper's), several seeds are tuned, the first pseudo-labels are their mean probabilities, and the member
   that agrees most with that mean on the pool is kept (`train_teachers`).
2. For each self-training iteration:
   a. the teacher (frozen, eval mode) gives soft pseudo-labels q = softmax(logits / T) on a sample of the pool;
      with `propagation` > 0 (our addition, off by default) they are then spread over a nearest-neighbour graph of
      the teacher's states (`list_core.propagation`);
   b. the student starts fresh (or from the teacher, `student_init`);
   c. knowledge-distillation warm-up: loss = mean_i KL(q_i || p_student(x_i)) for `warmup_fraction` of the steps;
   d. meta re-weighted steps: loss = sum_i w_i KL(q_i || p_student(x_i)) with w from `reweight.l2rw_weights`
      against a batch of labeled examples;
   e. labeled fine-tuning of the student, evaluation, and the student becomes the next teacher.
The last model is kept (no selection on the evaluation set).

The trainer emits events to callbacks (`on_event(dict)`), checks a stop flag at every step, and, given a `RunDir`,
leaves a checkpoint after every iteration so a run can resume from the last finished one with the same result as
an uninterrupted run (each stage reseeds from (seed, iteration)).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .config import ConfigError, ListConfig
from .modeling import Batch, ListModel, batches, collate, load_backbone, max_tokens, resolve_device
from .prompts import Encoded, PromptEncoder, Template, Verbalizer
from .propagation import spread_labels
from .reweight import kl_per_example, l2rw_weights, meta_gradient, normalise
from .runs import Cancelled

Event = dict[str, Any]
Callback = Callable[[Event], None]


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def stage_seed(seed: int, iteration: int, stage: int) -> int:
    return seed * 1_000_003 + iteration * 101 + stage


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    f1s = []
    for c in range(n_classes):
        tp = int(((y_pred == c) & (y_true == c)).sum())
        fp = int(((y_pred == c) & (y_true != c)).sum())
        fn = int(((y_pred != c) & (y_true == c)).sum())
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return {"accuracy": float((y_true == y_pred).mean()) if len(y_true) else float("nan"),
            "macro_f1": float(np.mean(f1s)) if len(y_true) else float("nan")}


def supervised_contrastive_loss(states: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """SCL of Gunel et al. 2021 (after Khosla et al. 2020): for each anchor, the mean negative log-probability of
    its same-class batch mates among all other batch members, by cosine similarity / temperature. Anchors without a
    same-class mate are skipped; a batch with none gives 0."""
    z = F.normalize(states, dim=-1)
    sim = z @ z.t() / temperature
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    log_prob = sim.masked_fill(self_mask, float("-inf")).log_softmax(dim=1).masked_fill(self_mask, 0.0)
    positive = (labels[:, None] == labels[None, :]) & ~self_mask
    count = positive.sum(1)
    anchors = count > 0
    if not anchors.any():
        return states.sum() * 0.0
    return -((log_prob * positive).sum(1)[anchors] / count[anchors]).mean()


class PlainEncoder:
    """Classic fine-tuning's input: the text fields as a (pair of) sequence(s), no template, no mask."""

    def __init__(self, fields: Sequence[str], tokenizer: Any, max_length: int):
        self.fields, self.tokenizer, self.max_length = list(fields), tokenizer, max_length

    def encode(self, example: Mapping[str, Any]) -> Encoded:
        texts = [str(example.get(f, "") or "")[: self.max_length * 12] for f in self.fields[:2]]
        ids = self.tokenizer(*texts, truncation=True, max_length=self.max_length)["input_ids"]
        return Encoded(ids, 0, 0)


@dataclass
class Prepared:
    """Encoded examples with their integer labels (-1 where unknown) and ids."""

    encoded: list[Encoded]
    labels: list[int]
    ids: list[Any]
    texts: list[str]

    def __len__(self) -> int:
        return len(self.encoded)

    def subset(self, idx: Iterable[int]) -> "Prepared":
        idx = list(idx)
        return Prepared([self.encoded[i] for i in idx], [self.labels[i] for i in idx], [self.ids[i] for i in idx],
                        [self.texts[i] for i in idx])


class ListTrainer:
    """Owns the loop; `fit` returns the trained `ListModel` (also kept as `model_`)."""

    def __init__(self, config: ListConfig, callbacks: Sequence[Callback] = (), stop: Callable[[], bool] | None = None,
                 backbone: tuple | None = None):
        self.config = config
        self.callbacks = list(callbacks)
        self.stop = stop or (lambda: False)
        self.backbone = backbone
        self.model_: ListModel | None = None
        self.history_: list[dict[str, Any]] = []
        # iteration -> (pseudo-label probabilities, the kept teacher's states or None), computed early
        self._pseudo_cache: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}

    # --- events -------------------------------------------------------------------------------------------------
    def emit(self, type_: str, **payload: Any) -> None:
        event = {"type": type_, **payload}
        for cb in self.callbacks:
            cb(event)

    def check_stop(self) -> None:
        if self.stop():
            raise Cancelled("stop requested")

    # --- set-up -------------------------------------------------------------------------------------------------
    def setup(self, text_fields: Sequence[str]) -> ListModel:
        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        set_seed(cfg.seed)
        device = resolve_device(cfg.device)
        backbone = self.backbone or load_backbone(cfg.model)
        tokenizer = backbone[1]
        template = Template(cfg.template)
        if cfg.tuning != "classic":
            template.check_columns(list(text_fields))
        embeddings = backbone[0].get_input_embeddings().weight
        self.verbalizer_ = Verbalizer(cfg.verbalizer, tokenizer, embeddings.detach())
        model = ListModel(cfg, self.verbalizer_.token_ids, backbone).to_device(device)
        if cfg.reweight_method == "probe" and not model.supports_probe():
            raise ConfigError(f"reweight_method 'probe' needs tuning 'adapter' or 'head' (got {cfg.tuning!r}); "
                              "use 'auto' or 'jvp'")
        limit = max_tokens(backbone[0], tokenizer)
        self.max_length_ = min(cfg.max_length, limit) if limit else cfg.max_length
        self.encoder_ = (PlainEncoder(template.fields if template.fields else text_fields, tokenizer, self.max_length_)
                         if cfg.tuning == "classic" else PromptEncoder(template, tokenizer, self.max_length_))
        self.text_fields_ = list(template.fields)
        self.model_ = model
        return model

    def prepare(self, rows: Sequence[Mapping[str, Any]], labeled: bool) -> Prepared:
        encoded, labels, ids, texts = [], [], [], []
        for i, row in enumerate(rows):
            label = row.get("label")
            if labeled:
                if label is None or str(label).strip() not in self.verbalizer_.labels:
                    raise ValueError(f"labeled row {i} has label {label!r}, which is not one of the verbalizer's "
                                     f"labels {self.verbalizer_.labels}")
            y = self.verbalizer_.labels.index(str(label).strip()) if label is not None and \
                str(label).strip() in self.verbalizer_.labels else -1
            encoded.append(self.encoder_.encode(row))
            labels.append(y)
            ids.append(row.get("id", i))
            texts.append(" | ".join(str(row.get(f, "")) for f in self.text_fields_))
        return Prepared(encoded, labels, ids, texts)

    # --- primitives ---------------------------------------------------------------------------------------------
    def _collate(self, encoded: list[Encoded]) -> Batch:
        return collate(encoded, self.model_.tokenizer.pad_token_id or 0)

    @torch.inference_mode()
    def predict_logits(self, data: Prepared | list[Encoded], params: dict[str, torch.Tensor] | None = None,
                       stage: str | None = None, with_states: bool = False
                       ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits for all examples (with `with_states`, also the states the head read); sorted by length so padding
        is minimal, returned in the input order."""
        model = self.model_
        encoded = data.encoded if isinstance(data, Prepared) else data
        model.eval()
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
        out = torch.empty((len(encoded), len(self.verbalizer_)), dtype=torch.float32)
        states: torch.Tensor | None = None
        size = self.config.eval_batch_size
        for n, chunk in enumerate(batches(order, size)):
            self.check_stop()
            logits, h = model.logits(self._collate([encoded[i] for i in chunk]), params, with_states=True)
            out[chunk] = logits.cpu()
            if with_states:
                if states is None:
                    states = torch.empty((len(encoded), h.shape[-1]), dtype=torch.float32)
                states[chunk] = h.cpu()
            if stage:
                self.emit("progress", stage=stage, step=min((n + 1) * size, len(encoded)), total=len(encoded))
        if with_states:
            return out, states if states is not None else torch.empty((0, 0))
        return out

    def evaluate(self, data: Prepared | None, params: dict[str, torch.Tensor] | None = None
                 ) -> tuple[dict[str, float], np.ndarray | None]:
        if data is None or not len(data):
            return {}, None
        pred = self.predict_logits(data, params, stage="evaluate").argmax(-1).numpy()
        return classification_metrics(data.labels, pred, len(self.verbalizer_)), pred

    def _optimizer(self, lr: float, total_steps: int) -> tuple[torch.optim.Optimizer, Any]:
        params = list(self.model_.trainable_state().values())
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=self.config.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / max(1, total_steps)))
        return opt, sched

    def _step(self, loss: torch.Tensor, opt: torch.optim.Optimizer, sched: Any) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(self.model_.trainable_state().values()), self.config.max_grad_norm)
        opt.step()
        sched.step()

    def train_labeled(self, data: Prepared, epochs: int, max_steps: int, lr: float, stage: str, seed: int,
                      min_steps: int = 0) -> float:
        """Cross-entropy prompt tuning on labeled examples (plus the contrastive term when `contrastive_weight` > 0);
        returns the mean loss of the last epoch."""
        cfg, model = self.config, self.model_
        per_epoch = math.ceil(len(data) / cfg.labeled_batch_size)
        total = epochs * per_epoch
        if epochs and len(data):
            total = max(total, min_steps)
        if max_steps:
            total = min(total, max_steps)
        if total == 0:
            return float("nan")
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        opt, sched = self._optimizer(lr, total)
        model.train()
        labels = torch.tensor(data.labels)
        step, recent = 0, []
        while step < total:
            for chunk in batches(rng.permutation(len(data)).tolist(), cfg.labeled_batch_size):
                self.check_stop()
                logits, states = model.logits(self._collate([data.encoded[i] for i in chunk]), with_states=True)
                y = labels[chunk].to(logits.device)
                loss = F.cross_entropy(logits, y)
                if cfg.contrastive_weight > 0:
                    loss = ((1 - cfg.contrastive_weight) * loss + cfg.contrastive_weight
                            * supervised_contrastive_loss(states, y, cfg.contrastive_temperature))
                self._step(loss, opt, sched)
                recent = (recent + [loss.item()])[-per_epoch:]
                step += 1
                self.emit("progress", stage=stage, step=step, total=total, loss=recent[-1])
                if step >= total:
                    break
        return float(np.mean(recent))

    def init_prototype_rows(self, data: Prepared) -> None:
        """Class rows = mean head feature at the mask of each class's labeled examples, scaled like the label rows."""
        model = self.model_
        with torch.inference_mode():
            model.eval()
            feats = torch.cat([model.mask_features(self._collate(c)).cpu()
                               for c in batches(data.encoded, self.config.eval_batch_size)])
        labels = torch.tensor(data.labels)
        rows = model.head.rows
        with torch.no_grad():
            scale = rows.norm(dim=-1).mean()
            for c in range(rows.shape[0]):
                proto = feats[labels == c].mean(0).to(rows.device)  # the features were gathered on the CPU
                rows[c] = proto / proto.norm().clamp(min=1e-6) * scale
        model.initial_state_ = {k: v.detach().clone() for k, v in model.trainable_state().items()}

    # --- self-training ------------------------------------------------------------------------------------------
    def reweighted_loss(self, batch: Batch, target: torch.Tensor, meta_batch: Batch, meta_labels: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """(sum_i w_i KL_i, w) for a pseudo-labeled batch, the model left in train mode for the update.

        With the per-example probe (adapter/head tuning) the weights are read from the very forward pass the update
        uses: grad L_meta is computed first (dropout off), then one training forward runs inside
        `ListModel.probing`, one activation backward gives every dl_i/ds_i, and the weighted loss backpropagates
        through the same graph. That saves the separate eval-mode pass of the reference (whose weights are measured
        without dropout); measured cost in bench/speed.py. Other tuning modes use `meta_weights` (forward-mode AD).
        """
        model = self.model_
        method = self.config.reweight_method
        if not (method in ("probe", "auto") and model.supports_probe()):
            w = self.meta_weights(batch, target, meta_batch, meta_labels)
            model.train()
            return (w * kl_per_example(target, model.logits(batch))).sum(), w
        model.eval()
        direction = meta_gradient(lambda p: F.cross_entropy(model.logits(meta_batch, p), meta_labels),
                                  model.trainable_state())
        model.train()
        with model.probing(direction, len(batch)) as s:
            losses = kl_per_example(target, model.logits(batch))
            (alignment,) = torch.autograd.grad(losses.sum(), s, retain_graph=True)
        w = normalise(alignment.detach())
        return (w * losses).sum(), w

    def meta_weights(self, batch: Batch, target: torch.Tensor, meta_batch: Batch, meta_labels: torch.Tensor
                     ) -> torch.Tensor:
        """L2RW weights of a pseudo-labeled batch against a labeled batch, dropout off (as the reference)."""
        model = self.model_
        model.eval()
        method = self.config.reweight_method
        probe = method == "probe" or (method == "auto" and model.supports_probe())

        def losses(p=None):
            return kl_per_example(target, model.logits(batch, p))

        directional = (lambda v: model.directional_derivatives(batch, lambda lg: kl_per_example(target, lg), v)
                       ) if probe else None
        with contextlib.nullcontext() if probe else model.eager_attention():
            return l2rw_weights(losses, lambda p: F.cross_entropy(model.logits(meta_batch, p), meta_labels),
                                model.trainable_state(), directional)

    def train_student(self, pool: Prepared, q: torch.Tensor, meta: Prepared, iteration: int
                      ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        """KD warm-up then meta re-weighted steps; returns per-example mean weight (NaN where never re-weighted),
        the number of re-weighted steps per example, and step statistics."""
        cfg, model = self.config, self.model_
        total = cfg.student_steps
        weights_sum, weights_n = np.zeros(len(pool)), np.zeros(len(pool))
        if total == 0 or not len(pool):
            return np.full(len(pool), np.nan), weights_n, {}
        seed = stage_seed(cfg.seed, iteration, 2)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        opt, sched = self._optimizer(cfg.student_lr, total)
        warm = cfg.warmup_steps
        meta_labels = torch.tensor(meta.labels)
        order: list[int] = []
        zero_steps = 0
        for step in range(total):
            self.check_stop()
            if len(order) < cfg.unlabeled_batch_size:
                order += rng.permutation(len(pool)).tolist()
            chunk, order = order[: cfg.unlabeled_batch_size], order[cfg.unlabeled_batch_size:]
            batch = self._collate([pool.encoded[i] for i in chunk])
            target = q[chunk].to(model.device_)
            reweighted = step >= warm
            if reweighted:
                m_idx = rng.choice(len(meta), size=min(cfg.meta_batch_size, len(meta)), replace=False).tolist()
                m_batch = self._collate([meta.encoded[i] for i in m_idx])
                loss, w = self.reweighted_loss(batch, target, m_batch, meta_labels[m_idx].to(model.device_))
                np.add.at(weights_sum, chunk, (w * len(chunk)).cpu().numpy())
                np.add.at(weights_n, chunk, 1)
                if float(w.sum()) == 0.0:  # every example disagrees with the labeled data: no update
                    zero_steps += 1
                    self.emit("progress", stage="reweight", step=step + 1, total=total, iteration=iteration)
                    sched.step()
                    continue
            else:
                model.train()
                loss = kl_per_example(target, model.logits(batch)).mean()
            self._step(loss, opt, sched)
            self.emit("progress", stage="reweight" if reweighted else "warmup", step=step + 1, total=total,
                      iteration=iteration, loss=loss.item())
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_w = np.where(weights_n > 0, weights_sum / np.maximum(weights_n, 1), np.nan)
        return mean_w, weights_n, {"skipped_all_zero_steps": zero_steps, "warmup_steps": warm,
                                   "reweighted_steps": total - warm}

    def fit(self, labeled: Sequence[Mapping[str, Any]], unlabeled: Sequence[Mapping[str, Any]] = (),
            eval_set: Sequence[Mapping[str, Any]] | None = None, resume_state: tuple[int, dict] | None = None
            ) -> ListModel:
        """Train. `resume_state` = (finished iteration, its trainable state) continues a stopped run."""
        cfg = self.config
        fields = sorted({k for row in labeled for k in row if k not in ("label", "id")})
        model = self.setup(fields)
        t0 = time.time()
        self.emit("stage", stage="encode", iteration=0)
        lab = self.prepare(labeled, labeled=True)
        pool = self.prepare(unlabeled, labeled=False)
        known = set(lab.texts)
        keep = [i for i, t in enumerate(pool.texts) if t not in known]
        if len(keep) < len(pool):  # a text the user labeled is not pseudo-labeled again
            self.emit("log", message=f"{len(pool) - len(keep)} unlabeled texts are already labeled: left out of "
                                     "the pool")
            pool = pool.subset(keep)
        counts = np.bincount(lab.labels, minlength=len(self.verbalizer_))
        if (counts == 0).any():
            missing = [self.verbalizer_.labels[c] for c in np.flatnonzero(counts == 0)]
            raise ValueError(f"no labeled example for class(es) {missing}; label at least one per class")
        train, holdout = self._split_holdout(lab)
        evaluation = self.prepare(eval_set, labeled=True) if eval_set is not None and len(eval_set) else None
        if evaluation is not None:  # a text trained on measures nothing: as the app and the CLI do, it is left out
            fresh = [i for i, t in enumerate(evaluation.texts) if t not in known]
            if len(fresh) < len(evaluation):
                self.emit("log", message=f"{len(evaluation) - len(fresh)} evaluation rows are labeled examples: left "
                                         "out of the evaluation" + ("" if fresh else "; it uses labeled examples "
                                                                    "held out of training instead"))
                evaluation = evaluation.subset(fresh) if fresh else None
        if evaluation is not None:
            eval_source = "eval set"
            if cfg.meta_set == "labeled":
                train = lab  # nothing needs to be held out
        else:
            evaluation = holdout if holdout is not None and len(holdout) else None
            eval_source = (f"held-out {len(holdout)} of the {len(lab)} labeled examples (not trained on)"
                           if evaluation is not None else "none (too few labels to hold any out)")
        meta = holdout if cfg.meta_set == "holdout" and holdout is not None and len(holdout) else train
        counts = model.parameter_counts()
        row_init = cfg.row_init if cfg.row_init != "auto" else (
            "label_words" if model.head_pretrained else "prototypes")
        self.info_ = {"eval_source": eval_source, "n_train": len(train), "n_eval": len(evaluation or []),
                      "n_unlabeled": len(pool), "params": counts, "device": str(model.device_),
                      "head_init": getattr(model, "head_init_used_", None), "adapter_dim": model.adapter_dim,
                      "row_init": row_init, "pooling": model.pooling, "max_length": self.max_length_}
        self.emit("info", **self.info_)
        self.emit("log", message=f"trainable parameters {counts['trainable']:,} of {counts['total']:,} "
                                 f"({100 * counts['trainable'] / max(1, counts['backbone']):.2f}% of the backbone); "
                                 f"evaluation on {eval_source}")
        if self.max_length_ < cfg.max_length:
            self.emit("log", message=f"max_length {cfg.max_length} is more than this model reads: prompts are cut "
                                     f"to {self.max_length_} tokens")
        if row_init == "prototypes" and cfg.tuning != "classic":
            self.init_prototype_rows(train)

        self._pseudo_cache.clear()
        if resume_state is None:
            start = 1
            self.emit("stage", stage="teacher", iteration=0)
            t = time.time()
            loss, extra_metrics, members = self.train_teachers(train, pool, evaluation)
            metrics, prev_pred = self.evaluate(evaluation)
            self._finish_iteration(0, metrics, {"train_loss": loss, **extra_metrics}, time.time() - t, None,
                                   eval_source, extra_state=_pack_members(members))
        else:
            done, state = resume_state
            model.load_trainable(state)
            members = _unpack_members(state) if done == 0 else []
            if len(members) > 1:
                self._pseudo_cache[1] = (self._member_probs(self._pool_sample(pool, 1), members), None)
            start = done + 1
            _, prev_pred = self.evaluate(evaluation)
            self.emit("log", message=f"resumed after iteration {done}")

        for it in range(start, cfg.iterations + 1):
            if not len(pool):
                self.emit("log", message="no unlabeled examples: self-training skipped")
                break
            t = time.time()
            sample = self._pool_sample(pool, it)
            self.emit("stage", stage="pseudo-label", iteration=it)
            probs, states = self._pseudo_cache.pop(it, (None, None))
            if probs is None:
                probs, states = self._teacher_probs(sample, model.snapshot(), "pseudo-label", cfg.propagation > 0)
            extra_pseudo: dict[str, Any] = {}
            if cfg.propagation > 0:
                teacher_pseudo = probs.argmax(-1)
                probs = self.propagate(sample, probs, states, train)
                extra_pseudo["propagation_changed"] = float((probs.argmax(-1) != teacher_pseudo).float().mean())
            q = F.one_hot(probs.argmax(-1), probs.shape[-1]).float() if cfg.hard_labels else probs
            if cfg.student_init == "fresh":
                model.reset_trainable()
            self.emit("stage", stage="student", iteration=it)
            weights, seen, step_stats = self.train_student(sample, q, meta, it)
            if cfg.student_finetune_epochs:
                self.emit("stage", stage="finetune", iteration=it)
            ft_loss = self.train_labeled(train, cfg.student_finetune_epochs, cfg.student_finetune_max_steps,
                                         cfg.labeled_lr, "finetune", stage_seed(cfg.seed, it, 3))
            self.emit("stage", stage="evaluate", iteration=it)
            metrics, pred = self.evaluate(evaluation)
            if pred is not None and prev_pred is not None:
                metrics["teacher_student_agreement"] = float((pred == prev_pred).mean())
            prev_pred = pred
            pseudo = probs.argmax(-1).numpy()
            conf = probs.max(-1).values.numpy()
            records = {"id": sample.ids, "text": sample.texts,
                       "pseudo_label": [self.verbalizer_.labels[c] for c in pseudo],
                       "confidence": conf.astype(float), "weight": weights.astype(float),
                       "reweighted_steps": seen.astype(int), "iteration": it}
            known = np.asarray(sample.labels) >= 0
            extra = {"train_loss": ft_loss, **step_stats, **self._pseudo_stats(pseudo, conf, weights), **extra_pseudo}
            if known.any():
                extra["pseudo_label_accuracy"] = float((pseudo[known] == np.asarray(sample.labels)[known]).mean())
            self.emit("examples", iteration=it, records=records)
            self._finish_iteration(it, metrics, extra, time.time() - t, records, eval_source)
        self.emit("done", seconds=time.time() - t0)
        return model

    def _pool_sample(self, pool: Prepared, iteration: int) -> Prepared:
        """The iteration's sample of the pool (seeded by (seed, iteration), so a resumed run draws the same)."""
        rng = np.random.default_rng(stage_seed(self.config.seed, iteration, 0))
        n = min(self.config.unlabeled_per_iteration, len(pool))
        return pool.subset(np.sort(rng.choice(len(pool), size=n, replace=False)).tolist())

    def _member_probs(self, data: Prepared, members: Sequence[dict[str, torch.Tensor]]) -> torch.Tensor:
        """Mean of softmax(logits / T) over the given teachers' trainable states (the seed ensemble)."""
        return torch.stack([self._teacher_probs(data, st)[0] for st in members]).mean(0)

    def _teacher_probs(self, data: Prepared, state: dict[str, torch.Tensor], stage: str | None = None,
                       with_states: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One teacher's softmax(logits / T), and the states its head read when asked (for `propagate`)."""
        out = self.predict_logits(data, state, stage=stage, with_states=with_states)
        logits, states = out if with_states else (out, None)
        return F.softmax(logits / self.config.temperature, dim=-1), states

    def propagate(self, sample: Prepared, probs: torch.Tensor, states: torch.Tensor | None, labeled: Prepared
                  ) -> torch.Tensor:
        """The pseudo-labels after label spreading over the teacher's states (`list_core.propagation`); the
        labeled examples are the ones the teacher trained on, never the evaluation rows."""
        cfg = self.config
        if states is None:  # a resumed run: the kept teacher is the model's current state
            _, states = self.predict_logits(sample, with_states=True)
        _, labeled_states = self.predict_logits(labeled, with_states=True)
        return spread_labels(states, probs, labeled_states, torch.tensor(labeled.labels), k=cfg.propagation_k,
                             alpha=cfg.propagation, prior=cfg.propagation_prior)

    def train_teachers(self, train: Prepared, pool: Prepared, evaluation: Prepared | None
                       ) -> tuple[float, dict[str, Any], list[dict[str, torch.Tensor]]]:
        """Prompt-tune `teachers` first teachers from different seeds; leave the chosen one in the model.

        With several, the first iteration's pseudo-labels are their mean probabilities (cached here), and the member
        that agrees most with that mean on the pool sample is kept: the ensemble is a label-free yardstick, so no
        labeled example is spent on choosing. Returns (train loss of the kept one, extra metrics, member states).
        """
        cfg, model = self.config, self.model_
        start_state = model.snapshot()
        members, losses = [], []
        for j in range(cfg.teachers):
            seed = stage_seed(cfg.seed, 0, 1) if j == 0 else stage_seed(cfg.seed, 0, 10 + j)
            if j:
                model.load_trainable(start_state)
                model.reseed_adapters(seed)
                self.emit("log", message=f"teacher {j + 1} of {cfg.teachers}")
            losses.append(self.train_labeled(train, cfg.teacher_epochs, cfg.teacher_max_steps, cfg.labeled_lr,
                                             "teacher", seed, min_steps=cfg.teacher_min_steps))
            members.append(model.snapshot())
        if len(members) == 1:
            return losses[0], {}, members
        extra: dict[str, Any] = {"teachers": len(members)}
        chosen = 0
        sample = self._pool_sample(pool, 1) if len(pool) else None
        if sample is not None and len(sample):  # none with unlabeled_per_iteration = 0 (allowed at iterations = 0)
            passes = [self._teacher_probs(sample, st, "pseudo-label", cfg.propagation > 0) for st in members]
            mean = torch.stack([p for p, _ in passes]).mean(0)
            agreement = [float((p.argmax(-1) == mean.argmax(-1)).float().mean()) for p, _ in passes]
            chosen = int(np.argmax(agreement))
            if cfg.iterations > 0:
                self._pseudo_cache[1] = (mean, passes[chosen][1])
            extra["teacher_agreement"] = agreement
        if evaluation is not None and len(evaluation):
            ens = self._member_probs(evaluation, members).argmax(-1).numpy()
            extra["ensemble_accuracy"] = classification_metrics(evaluation.labels, ens,
                                                                len(self.verbalizer_))["accuracy"]
        extra["chosen_teacher"] = chosen
        model.load_trainable(members[chosen])
        self.emit("log", message=f"kept teacher {chosen + 1} of {len(members)} (most agreement with their mean)")
        return losses[chosen], extra, members

    def _pseudo_stats(self, pseudo: np.ndarray, conf: np.ndarray, weights: np.ndarray) -> dict[str, Any]:
        dist = np.bincount(pseudo, minlength=len(self.verbalizer_)) / max(1, len(pseudo))
        w = weights[~np.isnan(weights)]
        return {"pseudo_label_distribution": {lab: float(d) for lab, d in zip(self.verbalizer_.labels, dist)},
                "mean_confidence": float(conf.mean()) if len(conf) else float("nan"),
                "mean_weight": float(w.mean()) if len(w) else float("nan"),
                # Relative weights average 1 per batch by construction; their spread is what re-weighting did.
                "weight_std": float(w.std()) if len(w) else float("nan"),
                "zero_weight_share": float((w == 0).mean()) if len(w) else float("nan"),
                "reweighted_examples": int(len(w))}

    def _finish_iteration(self, it: int, metrics: dict, extra: dict, seconds: float, records: Any,
                          eval_source: str, extra_state: dict[str, torch.Tensor] | None = None) -> None:
        """Record the iteration; `extra_state` (ensemble members) goes only into the resume checkpoint."""
        row = {"iteration": it, **metrics, **extra, "seconds": round(seconds, 3), "eval_source": eval_source}
        row.setdefault("mean_weight", None)
        self.history_.append(row)
        self.emit("iteration", iteration=it, metrics=row, state=self.model_.snapshot(),
                  resume_state=extra_state or {})

    def _split_holdout(self, lab: Prepared) -> tuple[Prepared, Prepared | None]:
        """Stratified hold-out of `holdout_fraction` per class (classes with one example keep it for training)."""
        frac = self.config.holdout_fraction
        if frac <= 0:
            return lab, None
        rng = np.random.default_rng(stage_seed(self.config.seed, 0, 9))
        held: list[int] = []
        labels = np.asarray(lab.labels)
        for c in range(len(self.verbalizer_)):
            idx = np.flatnonzero(labels == c)
            k = int(math.floor(len(idx) * frac))
            if len(idx) >= 2:
                k = max(1, k)
            held += rng.permutation(idx)[:k].tolist()
        keep = [i for i in range(len(lab)) if i not in set(held)]
        return lab.subset(keep), lab.subset(sorted(held))


MEMBER_PREFIX = "ensemble."


def _pack_members(members: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Ensemble members as flat tensors `ensemble.<j>.<name>` (empty for a single teacher)."""
    if len(members) < 2:
        return {}
    return {f"{MEMBER_PREFIX}{j}.{k}": v for j, st in enumerate(members) for k, v in st.items()}


def _unpack_members(state: Mapping[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    members: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        if key.startswith(MEMBER_PREFIX):
            j, _, name = key[len(MEMBER_PREFIX):].partition(".")
            members.setdefault(int(j), {})[name] = value
    return [members[j] for j in sorted(members)]
