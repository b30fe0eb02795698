"""Label spreading of pseudo-labels over a nearest-neighbour graph of the teacher's states (Zhou et al. 2004).

An option of the pseudo-labeling step (`ListConfig.propagation`), not part of the LiST paper. The teacher reads
each text alone; texts that its encoder places close together usually share a class, so spreading the labeled
examples' classes (and optionally the teacher's own probabilities) along a k-nearest-neighbour graph corrects some
of the teacher's mistakes before the student learns from them. With a frozen body the teacher's states are
computed anyway, so the cost is one pass over the labeled examples plus a sparse graph of k * n edges.

    W = symmetrised kNN graph (cosine similarity, negatives clipped), S = D^-1/2 W D^-1/2,
    F <- alpha * S F + (1 - alpha) * Y, repeated `iterations` times from F = Y,
where Y holds one-hot rows for the labeled examples and, for the pool, the teacher's probabilities
(prior 'teacher') or nothing (prior 'uniform': only the labeled examples carry labels). Each pool row of F is
normalised to a distribution; a row the graph does not reach keeps the teacher's probabilities.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import PROPAGATION_PRIORS


def knn_graph(states: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Sparse symmetric n x n matrix of cosine similarities to each row's k nearest other rows (negatives -> 0).
    Rows are compared in chunks, so memory is chunk x n, not n x n."""
    z = F.normalize(states.float(), dim=-1)
    n = len(z)
    k = min(k, n - 1)
    if k <= 0:
        return torch.sparse_coo_tensor(torch.zeros((2, 0), dtype=torch.long), torch.zeros(0), (n, n),
                                       check_invariants=False).coalesce()
    rows, cols, vals = [], [], []
    for start in range(0, n, chunk):
        sim = z[start:start + chunk] @ z.t()
        idx = torch.arange(start, min(start + chunk, n))
        sim[torch.arange(len(idx)), idx] = -float("inf")  # no self loops
        val, nb = sim.topk(k, dim=1)
        rows.append(idx[:, None].expand_as(nb).reshape(-1))
        cols.append(nb.reshape(-1))
        vals.append(val.clamp(min=0).reshape(-1))
    r, c, v = torch.cat(rows), torch.cat(cols), torch.cat(vals)
    w = torch.sparse_coo_tensor(torch.stack([torch.cat([r, c]), torch.cat([c, r])]), torch.cat([v, v]) / 2, (n, n),
                                check_invariants=False)
    return w.coalesce()  # duplicate (i, j) entries (mutual neighbours) are summed: w_ij = (a_ij + a_ji) / 2


def spread_labels(pool_states: torch.Tensor, teacher_probs: torch.Tensor, labeled_states: torch.Tensor,
                  labeled_y: torch.Tensor, k: int = 10, alpha: float = 0.9, prior: str = "teacher",
                  iterations: int = 20) -> torch.Tensor:
    """Pseudo-label distributions for the pool (n_pool x n_classes) after label spreading; see the module doc."""
    if prior not in PROPAGATION_PRIORS:
        raise ValueError(f"prior must be one of {PROPAGATION_PRIORS}, got {prior!r}")
    n_lab, n_classes = len(labeled_states), teacher_probs.shape[1]
    teacher_probs = teacher_probs.float()
    pool_prior = teacher_probs if prior == "teacher" else torch.zeros_like(teacher_probs)
    y = torch.cat([F.one_hot(labeled_y.long(), n_classes).float(), pool_prior])
    w = knn_graph(torch.cat([labeled_states.float(), pool_states.float()]), k)
    degree = torch.sparse.sum(w, dim=1).to_dense()
    scale = torch.where(degree > 0, degree.clamp(min=1e-12).rsqrt(), torch.zeros_like(degree))
    i, j = w.indices()
    s = torch.sparse_coo_tensor(w.indices(), w.values() * scale[i] * scale[j], w.shape, check_invariants=False)
    f = y.clone()
    for _ in range(iterations):
        f = alpha * torch.sparse.mm(s, f) + (1 - alpha) * y
    out = f[n_lab:]
    total = out.sum(1, keepdim=True)
    reached = total.squeeze(1) > 1e-12
    out = torch.where(reached[:, None], out / total.clamp(min=1e-12), teacher_probs)
    return out
