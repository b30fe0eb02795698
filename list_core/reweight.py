"""Meta re-weighting of pseudo-labeled examples (Learning to Reweight, Ren et al. 2018, as used by LiST).

For an unlabeled batch with per-example losses l_i(theta), L2RW takes a virtual SGD step
theta'(eps) = theta - alpha * grad sum_i eps_i l_i at eps = 0, and sets w~_i = max(-dL_meta(theta')/d eps_i, 0),
w_i = w~_i / sum_j w~_j. At eps = 0 the virtual step is the identity (theta' = theta), so the chain rule gives
exactly dL_meta/d eps_i = -alpha * grad L_meta(theta) . grad l_i(theta): the weight is the alignment of each
example's gradient with the labeled (meta) gradient, and alpha cancels in the normalisation.

`l2rw_weights` computes that with one reverse pass (grad L_meta) and the directional derivative of every l_i along
grad L_meta, all examples at once, instead of the reference's differentiable optimizer step and second-order
backward: generically by forward-mode AD (`torch.func.jvp`), or, for adapters and heads, by the cheaper exact
per-example probe of `ListModel.directional_derivatives` (one forward and one activation backward).
A finite difference was tried and rejected: near the teacher the loss is so curved that float32 differences
got even the sign wrong. `l2rw_weights_virtual_step` is the literal algorithm (eps,
virtual step, backward to eps), kept for tests that check both agree.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

Params = dict[str, torch.Tensor]


def kl_per_example(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """KL(q_i || p_i) for each row, with p = softmax(logits); 0 * log 0 = 0."""
    log_p = F.log_softmax(logits.float(), dim=-1)
    return (torch.special.xlogy(target, target) - target * log_p).sum(-1)


def normalise(raw: torch.Tensor) -> torch.Tensor:
    """w~ -> w: clip negatives to 0 and divide by the sum (all-zero stays all-zero: the step is skipped)."""
    w = raw.clamp(min=0)
    total = w.sum()
    return w / total if total > 0 else torch.zeros_like(w)


def meta_gradient(meta_loss: Callable[[Params], torch.Tensor], params: Params) -> Params:
    """grad_theta L_meta(theta), as a detached dict (zeros for parameters the meta loss does not reach)."""
    primal = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    with torch.enable_grad():
        grads = torch.autograd.grad(meta_loss(primal), list(primal.values()), allow_unused=True)
    return {k: (g if g is not None else torch.zeros_like(v)).detach() for (k, v), g in zip(primal.items(), grads)}


def jvp_directional(losses: Callable[[Params], torch.Tensor], params: Params, direction: Params) -> torch.Tensor:
    """grad l_i . v for every example at once by forward-mode AD (generic, exact; about ten forwards on a CPU
    transformer, and it needs attention without fused kernels)."""
    fixed = {k: v.detach() for k, v in params.items()}
    _, out = torch.func.jvp(losses, (fixed,), (direction,))
    return out.detach()


def l2rw_weights(unlabeled_losses: Callable[[Params], torch.Tensor], meta_loss: Callable[[Params], torch.Tensor],
                 params: Params, directional: Callable[[Params], torch.Tensor] | None = None) -> torch.Tensor:
    """Normalised L2RW weights for one batch.

    unlabeled_losses(params) -> per-example losses l_i, shape [B]; meta_loss(params) -> scalar loss on labeled data.
    `params` are the trainable tensors (they are detached here; nothing is accumulated into their .grad).
    w~_i is proportional to grad l_i . grad L_meta (module docstring). `directional(v)` may supply grad l_i . v
    for all i by a cheaper exact route (`ListModel.directional_derivatives`); the default is forward-mode AD.
    """
    direction = meta_gradient(meta_loss, params)
    if directional is None:
        d = jvp_directional(unlabeled_losses, params, direction)
    else:
        d = directional(direction).detach()
    return normalise(d)


def l2rw_weights_virtual_step(unlabeled_losses: Callable[[Params], torch.Tensor],
                              meta_loss: Callable[[Params], torch.Tensor], params: Params,
                              alpha: float = 1e-3) -> torch.Tensor:
    """The literal algorithm: eps = 0, virtual step theta' = theta - alpha grad sum eps_i l_i, w~ = -dL_meta/d eps."""
    theta = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    with torch.enable_grad():
        losses = unlabeled_losses(theta)
        eps = torch.zeros_like(losses, requires_grad=True)
        grads = torch.autograd.grad((eps * losses).sum(), list(theta.values()), create_graph=True, allow_unused=True)
        stepped = {k: v - alpha * g if g is not None else v for (k, v), g in zip(theta.items(), grads)}
        grad_eps = torch.autograd.grad(meta_loss(stepped), eps)[0]
    return normalise(-grad_eps.detach())
