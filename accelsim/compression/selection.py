"""Which weights a pass picks: the ``count`` smallest keys of a layer, ties to the lower flat index.

Magnitude pruning picks the smallest magnitudes, incremental quantization the largest ones (the
smallest negated magnitudes). Both used to sort the whole layer (a stable sort: 8 bytes of index
and a copy of the keys per weight); the selection here finds the ``count``-th smallest key with a
partial sort (:func:`numpy.partition`, linear time) and breaks the ties at it by flat index, one
block at a time, so it needs one copy of the keys and no index array of the layer's size.
"""

from __future__ import annotations

import numpy as np
import torch

#: Elements per block when the ties at the threshold are resolved (bounds the index memory).
TIE_BLOCK = 1 << 22


def smallest(keys: torch.Tensor, count: int) -> torch.Tensor:
    """bool mask of ``keys``'s shape, True at its ``count`` smallest entries.

    Among equal keys the ones of lower flat (C-order) index are taken first, as a stable sort
    would. ``count`` is clamped to ``0 .. keys.numel()``. ``keys`` must be real and not NaN.
    """
    flat = keys.detach().reshape(-1).numpy()
    chosen = np.zeros(flat.size, dtype=bool)
    count = max(0, min(int(count), flat.size))
    if count == flat.size:
        chosen[:] = True
    elif count > 0:
        threshold = np.partition(flat, count - 1)[count - 1]
        np.less(flat, threshold, out=chosen)
        needed = count - int(np.count_nonzero(chosen))
        for start in range(0, flat.size, TIE_BLOCK):
            if needed == 0:
                break
            ties = np.flatnonzero(flat[start : start + TIE_BLOCK] == threshold)[:needed]
            chosen[start + ties] = True
            needed -= ties.size
    return torch.from_numpy(chosen).reshape(keys.shape)
