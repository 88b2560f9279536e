"""The output stage: host batch slot -> tensors on the loader's device.

CPU device: the worker that filled the slot also finishes it with the NumPy reference
(dequantise + ``normalize``; ``image_to_dct192`` + ``Selection.select``; ``dwt2`` +
``stack_subbands``), into fresh arrays that become the batch tensors without a copy.

CUDA device (timm's PrefetchLoader pattern): the consumer thread issues one asynchronous
host-to-device copy per field on a side stream (pinned slots), launches the freqpipe.cuda
kernel on that stream, records an event and makes the consumer's stream wait on it: no
device-wide synchronise. A second event, recorded after the copies, guards the slot: the worker
that refills it waits on that event only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from freqpipe.data._batch import HostBatch
from freqpipe.data._stats import Stats, as_channel_stats
from freqpipe.transforms import (
    Selection,
    dwt2,
    image_to_dct192,
    normalize,
    stack_subbands,
)

__all__ = ["OutputStage"]


def _tensors(obj: Any) -> Iterator[Any]:
    """The torch tensors inside a batch structure (tuples, lists, dicts)."""
    import torch

    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, Mapping):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            yield from _tensors(v)


def _to_device(obj: Any, device: Any) -> Any:
    """Collated targets on ``device``, structure kept (as DataLoader's pin_memory walks it)."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return type(obj)({k: _to_device(v, device) for k, v in obj.items()})  # type: ignore[call-arg]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(_to_device(v, device) for v in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


class OutputStage:
    """Turns filled slots into ``(x, y)`` (or ``((y_dct, cbcr), y)``, or raw) batches.

    Args:
        source: ``"coefficients"`` or ``"pixels"``.
        output: ``"dct"``, ``"dwt"`` or ``"rgb"``.
        selection: DCT selection (dct output).
        chroma: ``"upsample"`` or ``"separate"``.
        stats: per-output-channel ``(mean, std)`` or None.
        dtype: torch floating dtype of the output.
        device: torch device.
        raw: return quantised coefficients and quant values (coefficient source only).
        wavelet: wavelet of the dwt output.
    """

    def __init__(
        self,
        *,
        source: str,
        output: str,
        selection: Selection | None,
        chroma: str,
        stats: Stats | None,
        dtype: Any,
        device: Any,
        raw: bool,
        wavelet: str,
    ):
        self.source, self.output, self.selection = source, output, selection
        self.chroma, self.stats, self.dtype, self.device = chroma, stats, dtype, device
        self.raw, self.wavelet = raw, wavelet
        self.on_host = device.type == "cpu"
        self._stream: Any = None
        n_y = int(selection.per_plane[0].size) if selection is not None else 0
        self._split = n_y if chroma == "separate" else None

    # ---- CPU: the NumPy reference, run in the worker thread ----------------------------------
    def _norm(self, x: np.ndarray, part: slice = slice(None)) -> np.ndarray:
        if self.stats is None:
            return x.astype(np.float32, copy=False)
        mean, std = self.stats[0][part], self.stats[1][part]
        return normalize(x, as_channel_stats(mean, std))

    def host_finish(self, batch: HostBatch) -> None:
        """Compute the batch's output arrays into ``batch.result`` (CPU device only)."""
        n, a = batch.count, batch.arrays
        labels = batch.labels[:n].copy() if batch.targets is None else batch.targets
        if "dct" in a or "coefficients" in a:  # a store's slot (freqpipe.store.kinds)
            batch.result = self._host_store(a, n, labels)
            return
        if self.source == "coefficients":
            if self.raw:
                names = ["q", "quant"] + (["cq", "cquant"] if self._split is not None else [])
                q = tuple(a[k][:n].copy() for k in names)
                batch.result = (q, labels)
                return
            x = a["q"][:n].astype(np.float32) * a["quant"][:n, :, None, None].astype(np.float32)
            if self._split is None:
                batch.result = (self._norm(x), labels)
                return
            c = a["cq"][:n].astype(np.float32) * a["cquant"][:n, :, None, None].astype(np.float32)
            k = self._split
            batch.result = ((self._norm(x, slice(0, k)), self._norm(c, slice(k, None))), labels)
            return
        pixels = a["pixels"][:n]
        if self.output == "dct":
            sel = self.selection
            if sel is None:  # pragma: no cover - the loader always sets it for dct
                raise RuntimeError("dct output without a selection")
            x = np.empty((n, len(sel), pixels.shape[1] // 8, pixels.shape[2] // 8), np.float32)
            for i in range(n):
                x[i] = sel.select(image_to_dct192(pixels[i]))
        else:
            x = pixels.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
            if self.output == "dwt":
                coeffs = dwt2(x, self.wavelet, "periodization")
                bands = stack_subbands(coeffs)  # type: ignore[arg-type]
                x = bands.reshape(n, 12, *bands.shape[-2:])
        batch.result = (self._norm(x), labels)

    def _host_store(self, a: dict[str, np.ndarray], n: int, labels: Any) -> tuple[Any, Any]:
        """A store's slot: float16 DCT values (normalise), or coefficients with quant values."""
        if "dct" in a:
            if self.raw:
                return (a["dct"][:n].copy(),), labels
            return self._norm(a["dct"][:n].astype(np.float32)), labels
        q, quant = a["coefficients"][:n], a["quant"][:n]
        if self.raw:
            return (q.copy(), quant.copy()), labels
        x = q.astype(np.float32) * quant[:, :, None, None].astype(np.float32)
        return self._norm(x), labels

    def _tensor(self, x: Any) -> Any:
        import torch

        if isinstance(x, tuple):
            return tuple(self._tensor(v) for v in x)
        t = torch.from_numpy(x)
        return t.to(self.dtype) if t.is_floating_point() else t

    # ---- the consumer side -------------------------------------------------------------------
    def issue(self, batch: HostBatch) -> tuple[tuple[Any, ...], Any]:
        """Start moving a filled slot to the device; returns ``(batch tuple, event)``.

        The slot may be released right after: on CUDA its ``reuse_event`` guards the copy.
        Call :meth:`deliver` before handing the batch to the consumer.
        """
        if self.on_host:
            x, labels = batch.result
            batch.result = batch.targets = None
            xs = self._tensor(x) if self.raw else (self._tensor(x),)
            if isinstance(labels, np.ndarray):
                labels = self._tensor(labels)
            return (*xs, labels), None
        return self._cuda(batch)

    def deliver(self, issued: tuple[tuple[Any, ...], Any]) -> tuple[Any, ...]:
        """Make the consumer's stream wait for an issued batch (an event, no device sync)."""
        out, done = issued
        if done is None:
            return out
        import torch

        consumer = torch.cuda.current_stream(self.device)
        consumer.wait_event(done)
        for u in _tensors(out):
            if u.is_cuda:
                u.record_stream(consumer)
        return out

    def _host(self, batch: HostBatch, name: str) -> Any:
        import torch

        n = batch.count
        t = batch.tensors.get(name)
        if t is None:
            src = batch.labels if name == "labels" else batch.arrays[name]
            return torch.from_numpy(src[:n])
        return t[:n]

    def _cuda(self, batch: HostBatch) -> tuple[tuple[Any, ...], Any]:
        import torch

        if self._stream is None:
            self._stream = torch.cuda.Stream(self.device)
        side = self._stream
        dev = self.device
        with torch.cuda.stream(side):
            names = self._fields(batch)
            moved = {k: self._host(batch, k).to(dev, non_blocking=True) for k in names}
            if batch.targets is None:
                labels = self._host(batch, "labels").to(dev, non_blocking=True)
            else:
                labels, batch.targets = _to_device(batch.targets, dev), None
            reuse = torch.cuda.Event()
            reuse.record(side)
            batch.reuse_event = reuse
            outs = self._compute_cuda(moved)
            done = torch.cuda.Event()
            done.record(side)
        if self.raw:
            return (*outs, labels), done
        if self._split is not None:
            return ((outs[0], outs[1]), labels), done
        return (outs[0], labels), done

    def _fields(self, batch: HostBatch) -> list[str]:
        if self.source == "pixels":
            return ["pixels"]
        if "dct" in batch.arrays:  # a store's slot (freqpipe.store.kinds)
            return ["dct"]
        if "coefficients" in batch.arrays:
            return ["coefficients", "quant"]
        int8 = batch.meta.get("transfer") == "int8"
        names = ["q8" if int8 else "q", "quant"]
        if self._split is not None:
            names += ["cq8" if int8 else "cq", "cquant"]
        return names

    def _mean_std(self, part: slice) -> dict[str, Any]:
        if self.stats is None:
            return {"mean": None, "std": None}
        return {"mean": self.stats[0][part], "std": self.stats[1][part]}

    def _compute_cuda(self, moved: dict[str, Any]) -> tuple[Any, ...]:
        """Kernels on the current (side) stream; returns the output tensors."""
        import torch

        import freqpipe.cuda as fpc

        dt = str(self.dtype).replace("torch.", "")
        if self.source == "coefficients":
            keys = list(moved)
            if moved[keys[0]].is_floating_point():  # float16 store records: already DCT values
                return (self._normalize_torch(moved[keys[0]].float()),)
            if self.raw:
                return tuple(
                    moved[k].to(torch.int16) if k.endswith("8") else moved[k] for k in keys
                )
            k = self._split
            y = fpc.dequantize(
                moved[keys[0]], moved[keys[1]], dtype=dt, **self._mean_std(slice(0, k))
            )
            if k is None:
                return (y,)
            c = fpc.dequantize(
                moved[keys[2]], moved[keys[3]], dtype=dt, **self._mean_std(slice(k, None))
            )
            return (y, c)
        img = moved["pixels"]
        if self.output == "dct":
            return (
                fpc.fused_dct(
                    img, self.selection, layout="nhwc", dtype=dt, **self._mean_std(slice(None))
                ),
            )
        x = img.permute(0, 3, 1, 2).float().div_(255.0)
        if self.output == "dwt":
            ca, (ch, cv, cd) = fpc.dwt2(x, self.wavelet, "periodization")
            x = torch.stack([ca, ch, cv, cd], dim=2).reshape(x.shape[0], 12, *ca.shape[-2:])
        return (self._normalize_torch(x),)

    def _normalize_torch(self, x: Any) -> Any:
        import torch

        if self.stats is not None:
            mean = torch.as_tensor(self.stats[0], dtype=torch.float32, device=x.device)
            std = torch.as_tensor(self.stats[1], dtype=torch.float32, device=x.device)
            x = (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
        return x.to(self.dtype)
