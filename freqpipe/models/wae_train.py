"""Three-stage training of a :class:`~freqpipe.models.WAEClassifier` (conventions §4).

1. the WAE alone on the transform loss ``L_t``;
2. the classifier on a frozen WAE, loss ``L_c`` (sum of the two heads' cross-entropies);
3. everything jointly, ``L = L_c + 0.001 L_t``.

Batches come from any iterable of ``(images, labels)`` (a DataLoader, a FreqLoader with RGB
output, a generator); it is re-iterated when exhausted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import torch

from freqpipe.errors import InvalidArgumentError
from freqpipe.models.wae import WAE, WAEClassifier

__all__ = ["StageLog", "psnr", "train_wae", "train_wae_classifier"]

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class StageLog:
    """Losses recorded by the training helpers, one entry per step.

    Attributes:
        stage: stage number per step (1, 2 or 3).
        loss: total loss per step.
    """

    stage: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)


def _forever(batches: Iterable[Batch]) -> Iterator[Batch]:
    while True:
        empty = True
        for b in batches:
            empty = False
            yield b
        if empty:
            raise InvalidArgumentError("the batch iterable yielded nothing")


def psnr(x: torch.Tensor, y: torch.Tensor, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB between two tensors of one shape.

    Args:
        x: reference.
        y: estimate.
        peak: the signal's peak value (1 for images in [0, 1]).

    Returns:
        ``10 log10(peak^2 / mse)``; ``inf`` for identical inputs.

    Example:
        >>> round(psnr(torch.zeros(4), torch.full((4,), 0.1)), 3)
        20.0
    """
    mse = float(torch.mean((x.detach().float() - y.detach().float()) ** 2))
    return float("inf") if mse == 0 else 10.0 * torch.log10(torch.tensor(peak**2 / mse)).item()


def train_wae(
    wae: WAE,
    batches: Iterable[Batch] | Iterator[Batch],
    steps: int,
    lr: float = 1e-3,
    log: StageLog | None = None,
    stage: int = 1,
) -> StageLog:
    """Stage 1: train the WAE alone on its transform loss (labels are ignored).

    Args:
        wae: the auto-encoder (trained in place).
        batches: ``(images (N, 3, H, W), labels)`` pairs, re-iterated as needed.
        steps: optimisation steps.
        lr: Adam learning rate.
        log: a log to append to; a new one by default.
        stage: the stage number recorded in the log.

    Returns:
        The log.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> data = [(torch.rand(2, 3, 8, 8), torch.zeros(2, dtype=torch.long))]
        >>> len(train_wae(WAE(), data, steps=3).loss)
        3
    """
    log = log if log is not None else StageLog()
    it = batches if isinstance(batches, Iterator) else _forever(batches)
    opt = torch.optim.Adam(wae.parameters(), lr=lr)
    wae.train()
    for _ in range(steps):
        x, _y = next(it)
        _low, high, recon = wae(x)
        loss = wae.transform_loss(x, high, recon)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        log.stage.append(stage)
        log.loss.append(float(loss.detach()))
    return log


def train_wae_classifier(
    model: WAEClassifier,
    batches: Iterable[Batch],
    steps: tuple[int, int, int],
    lr: tuple[float, float, float] = (1e-3, 1e-3, 1e-4),
    transform_weight: float = 1e-3,
    callback: Callable[[int, int, float], None] | None = None,
) -> StageLog:
    """Run the paper's three stages on a WAE classifier.

    Args:
        model: the classifier (trained in place, left in train mode).
        batches: ``(images (N, 3, H, W), int64 labels (N,))``, re-iterated as needed.
        steps: steps of stages 1, 2 and 3 (0 skips a stage).
        lr: Adam learning rates of the three stages.
        transform_weight: weight of ``L_t`` in stage 3 (0.001 in the paper).
        callback: called as ``callback(stage, step, loss)`` after every step.

    Returns:
        The per-step log.

    Raises:
        InvalidArgumentError: ``steps`` is not three non-negative ints.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> data = [(torch.rand(2, 3, 64, 64), torch.tensor([0, 1]))]
        >>> m = WAEClassifier("resnet50", num_classes=2)
        >>> train_wae_classifier(m, data, steps=(1, 1, 1)).stage
        [1, 2, 3]
    """
    if len(steps) != 3 or any(not isinstance(s, int) or s < 0 for s in steps):
        raise InvalidArgumentError(f"steps must be three ints >= 0, got {steps!r}")
    log = StageLog()
    it = _forever(batches)
    train_wae(model.wae, it, steps[0], lr[0], log, stage=1)
    if callback is not None:
        for i, loss in enumerate(log.loss):
            callback(1, i, loss)

    def run(stage: int, n: int, params: list[torch.nn.Parameter], rate: float) -> None:
        opt = torch.optim.Adam(params, lr=rate)
        for i in range(n):
            x, y = next(it)
            out = model.forward_all(x, reconstruct=stage == 3)
            loss = model.classification_loss(out, y)
            if stage == 3 and out.recon is not None:
                loss = loss + transform_weight * model.wae.transform_loss(x, out.high, out.recon)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            log.stage.append(stage)
            log.loss.append(float(loss.detach()))
            if callback is not None:
                callback(stage, i, log.loss[-1])

    # Stage 2: the WAE is frozen, in eval mode, and receives no gradient.
    model.train()
    model.wae.eval().requires_grad_(False)
    run(2, steps[1], list(model.classifier.parameters()), lr[1])
    model.wae.train().requires_grad_(True)
    run(3, steps[2], list(model.parameters()), lr[2])
    return log
