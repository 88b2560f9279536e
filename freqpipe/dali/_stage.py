"""freqpipe's transform of DALI outputs: FreqLoader's computation, called as it is.

FreqLoader's output stage computes a batch with
:func:`freqpipe.data.compute_outputs` (the NumPy reference on the CPU, ``freqpipe.cuda`` kernels
on a GPU) from named fields: uint8 crops (``pixels``) or quantised channels (``coefficients``,
``quant``). DALI's outputs are handed to that very function, so a DALI batch and a FreqLoader
batch of the same crops are the same tensors. Two placements:

- after the iterator (``kernel="iterator"``): DALI hands torch tensors over DLPack, the kernel
  runs on torch's current stream in the consumer thread (the default);
- inside the pipeline (``kernel="pipeline"``): a batch-mode ``python_function`` calls the
  kernel on DALI's stream (GPU, CuPy arrays) or the NumPy reference (CPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqpipe.dali._common import PipelineSpec
from freqpipe.data import OutputPlan, compute_outputs

__all__ = ["InPipelineTransform", "finish_batch", "output_plan"]


def output_plan(spec: PipelineSpec) -> OutputPlan:
    """What FreqLoader would compute from this pipeline's outputs.

    Args:
        spec: the pipeline's spec.

    Returns:
        The plan (upsampled chroma: DALI's coefficient source fills one grid).
    """
    return OutputPlan(
        spec.source,
        spec.output,
        selection=spec.selection,
        stats=spec.stats,
        dtype=str(spec.dtype).removeprefix("torch."),
        wavelet=spec.wavelet,
    )


def finish_batch(plan: OutputPlan, spec: PipelineSpec, fields: dict[str, Any], labels: Any) -> Any:
    """Turn one batch of DALI outputs (torch tensors) into ``(x, y)``.

    Args:
        plan: from :func:`output_plan`.
        spec: the pipeline's spec.
        fields: ``{"pixels": (N, S, S, 3) uint8}`` or ``{"coefficients": int16
            (N, C, S/8, S/8), "quant": (N, C)}``, torch tensors on the CPU or the pipeline's GPU.
        labels: (N,) or (N, 1) integer tensor.

    Returns:
        ``(x, y)``: ``x`` (N, C, S/8, S/8) / (N, 12, S/2, S/2) / (N, 3, S, S) in
        ``spec.dtype`` on the pipeline's device, ``y`` int64 (N,) on the same device.
    """
    import torch

    y = labels.reshape(-1).to(torch.int64)
    if spec.device_id is None:
        (x,) = compute_outputs({k: v.cpu().numpy() for k, v in fields.items()}, plan)
        return torch.from_numpy(x), y.cpu()
    dev = torch.device(f"cuda:{spec.device_id}")
    moved = {k: v.to(dev, non_blocking=True) for k, v in fields.items()}
    (x,) = compute_outputs(moved, plan)
    return x, y.to(dev, non_blocking=True)


class InPipelineTransform:
    """Batch-mode ``python_function`` body: crops -> freqpipe output, inside the pipeline.

    On the CPU it receives a list of NumPy (S, S, 3) uint8 crops and runs the NumPy
    reference. On a GPU it receives CuPy arrays; DALI has made its stream CuPy's current
    stream, and the kernel runs on that stream through a torch view of it.

    Args:
        spec: the pipeline's spec (``kernel="pipeline"``).
    """

    def __init__(self, spec: PipelineSpec):
        self.spec = spec
        self._plan: OutputPlan | None = None

    def __call__(self, images: list[Any]) -> list[Any]:
        """Transform one batch; returns N arrays (C, h, w) in ``spec.dtype`` (DALI's batch)."""
        if self._plan is None:
            self._plan = output_plan(self.spec)
        plan = self._plan
        if self.spec.device_id is None:
            (x,) = compute_outputs({"pixels": np.stack(images)}, plan)
            return [np.ascontiguousarray(v) for v in x]
        import cupy
        import torch

        pixels = cupy.stack(images)  # on DALI's stream (CuPy's current stream here)
        raw = cupy.cuda.get_current_stream().ptr
        device = torch.device(f"cuda:{self.spec.device_id}")
        with torch.cuda.stream(torch.cuda.ExternalStream(raw, device=device)):
            (x,) = compute_outputs({"pixels": torch.from_dlpack(pixels)}, plan)
        out = cupy.from_dlpack(x.contiguous())
        return [out[i] for i in range(out.shape[0])]
