"""freqpipe's transform of DALI outputs: the same stage as FreqLoader's, reused as is.

FreqLoader's :class:`~freqpipe.data._device.OutputStage` turns host slots of uint8 crops (pixel
source) or quantised channels (coefficient source) into ``(x, y)``: the NumPy reference on the
CPU, ``freqpipe.cuda`` kernels on a GPU. DALI's outputs are fed to that very stage, so a DALI
batch and a FreqLoader batch of the same crops are the same tensors. Two placements:

- after the iterator (``kernel="iterator"``): DALI hands torch tensors over DLPack, the kernel
  runs on torch's current stream in the consumer thread (the default);
- inside the pipeline (``kernel="pipeline"``): a batch-mode ``python_function`` calls the
  kernel on DALI's stream (GPU, CuPy arrays) or the NumPy reference (CPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqpipe.dali._common import PipelineSpec

__all__ = ["InPipelineTransform", "finish_batch", "make_stage"]


def make_stage(spec: PipelineSpec) -> Any:
    """FreqLoader's output stage configured for ``spec`` (device from ``spec.device_id``).

    Args:
        spec: the pipeline's spec.

    Returns:
        A ``freqpipe.data._device.OutputStage``.
    """
    import torch

    from freqpipe.data._device import OutputStage

    device = torch.device("cpu" if spec.device_id is None else f"cuda:{spec.device_id}")
    return OutputStage(
        source=spec.source, output=spec.output, selection=spec.selection, chroma="upsample",
        stats=spec.stats, dtype=spec.dtype, device=device, raw=False, wavelet=spec.wavelet,
    )  # fmt: skip


def _host_batch(arrays: dict[str, np.ndarray], labels: np.ndarray) -> Any:
    from freqpipe.data._batch import HostBatch

    return HostBatch(arrays=arrays, tensors={}, labels=labels, count=len(labels))


def finish_batch(stage: Any, spec: PipelineSpec, fields: dict[str, Any], labels: Any) -> Any:
    """Turn one batch of DALI outputs (torch tensors) into ``(x, y)``.

    Args:
        stage: from :func:`make_stage`.
        spec: the pipeline's spec.
        fields: ``{"pixels": (N, S, S, 3) uint8}`` or ``{"q": int16 (N, C, S/8, S/8),
            "quant": uint16 (N, C)}``, torch tensors on the CPU or the pipeline's GPU.
        labels: (N,) or (N, 1) integer tensor.

    Returns:
        ``(x, y)``: ``x`` (N, C, S/8, S/8) / (N, 12, S/2, S/2) / (N, 3, S, S) in
        ``spec.dtype`` on the stage's device, ``y`` int64 (N,) on the same device.
    """
    import torch

    y = labels.reshape(-1).to(torch.int64)
    if stage.on_host:
        arrays = {k: v.cpu().numpy() for k, v in fields.items()}
        batch = _host_batch(arrays, y.cpu().numpy())
        stage.host_finish(batch)
        x, y_np = batch.result
        return stage._tensor(x), torch.from_numpy(y_np)
    dev = stage.device
    moved = {k: v.to(dev, non_blocking=True) for k, v in fields.items()}
    (x,) = stage._compute_cuda(moved)
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
        self._stage: Any = None

    def __call__(self, images: list[Any]) -> list[Any]:
        """Transform one batch; returns N arrays (C, h, w) in ``spec.dtype`` (DALI's batch)."""
        if self._stage is None:
            self._stage = make_stage(self.spec)
        stage = self._stage
        if stage.on_host:
            batch = _host_batch({"pixels": np.stack(images)}, np.zeros(len(images), np.int64))
            stage.host_finish(batch)
            x = batch.result[0]
            x = x.astype(str(self.spec.dtype).replace("torch.", ""), copy=False)
            return [np.ascontiguousarray(v) for v in x]
        import cupy
        import torch

        pixels = cupy.stack(images)  # on DALI's stream (CuPy's current stream here)
        raw = cupy.cuda.get_current_stream().ptr
        with torch.cuda.stream(torch.cuda.ExternalStream(raw, device=stage.device)):
            (x,) = stage._compute_cuda({"pixels": torch.from_dlpack(pixels)})
        out = cupy.from_dlpack(x.contiguous())
        return [out[i] for i in range(out.shape[0])]
