"""``pipeline``: DALI reads, decodes, crops and resizes; freqpipe adds the frequency domain."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from freqpipe.dali._common import (
    AUTO,
    PipelineSpec,
    require_dali,
    resolve_device_id,
    resolve_files,
    shard_range,
)
from freqpipe.dali._source import coefficient_source
from freqpipe.dali._stage import InPipelineTransform
from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import Selection, resize_shape

__all__ = ["pipeline"]

_OUTPUTS = ("dct", "dwt", "rgb")
_KERNELS = ("iterator", "pipeline")
_SOURCES = ("pixels", "coefficients")


def _choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidArgumentError(
            f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}", value=value
        )


def _eval_geometry(fn: Any, types: Any, jpegs: Any, size: int) -> tuple[Any, Any, Any]:
    """Resize target and crop anchor of FreqLoader's evaluation transform, as DALI nodes.

    Per sample from the JPEG header (:func:`_eval_window` on its height and width), so DALI's
    crop window is FreqLoader's to the pixel.
    """
    shape = fn.peek_image_shape(jpegs, dtype=types.INT32)  # (H, W, C)
    return _eval_window(fn, types, shape[0], shape[1], size)


def _eval_window(fn: Any, types: Any, h: Any, w: Any, size: int) -> tuple[Any, Any, Any]:
    """The DALI-node form of ``resize_shape`` followed by ``center_start`` on each axis.

    A pipeline cannot call Python per sample, so the two rules are restated in DALI's integer
    arithmetic: the short side becomes ``resize_shape``'s (taken from it), the long side
    ``short * long // short_side`` (torchvision's truncation; the integer quotient equals
    ``int(short * long / short_side)`` at these magnitudes), and the anchor is
    ``round((extent - size) / 2)`` with ties to even, torchvision's ``CenterCrop`` rule
    (conventions §7). The resized extent is never below ``size`` (the short side is
    ``round(size * 512 / 448)``), so ``center_start``'s padding branch does not arise.
    ``tests/dali/test_dali.py::test_eval_window_is_resize_shape_and_center_start`` runs these
    nodes over odd and even surpluses, both sizes and images smaller than the crop, against
    the Python helpers.

    Args:
        fn: ``nvidia.dali.fn``.
        types: ``nvidia.dali.types``.
        h: per-sample image height, an INT32 DALI node.
        w: per-sample image width, an INT32 DALI node.
        size: the crop side.

    Returns:
        ``(resize_y, resize_x, anchor)``: FLOAT nodes for ``fn.resize`` and the INT32
        ``(top, left)`` node for ``fn.slice``.
    """
    short, _ = resize_shape(1, 1, size)
    portrait = fn.cast(h > w, dtype=types.INT32)
    rh = (1 - portrait) * short + portrait * ((short * h) // w)
    rw = (1 - portrait) * ((short * w) // h) + portrait * short

    def centre(extent: Any) -> Any:
        d = extent - size
        q = d // 2
        return q + (d & 1) * (q & 1)  # round(d / 2), ties to even: center_start for d >= 0

    anchor = fn.stack(centre(rh), centre(rw))
    return fn.cast(rh, dtype=types.FLOAT), fn.cast(rw, dtype=types.FLOAT), anchor


def pipeline(
    root_or_files: Any,
    *,
    batch_size: int,
    output: str = "dct",
    select: str | Selection = "dct24",
    size: int = 448,
    train: bool = True,
    device_id: int | str | None = AUTO,
    shard_id: int = 0,
    num_shards: int = 1,
    seed: int | None = None,
    shuffle: bool | None = None,
    num_threads: int | None = None,
    labels: Sequence[int] | None = None,
    source: str = "pixels",
    kernel: str = "iterator",
    normalize: Any = "default",
    dtype: Any = None,
    wavelet: str = "bior4.4",
    reader_name: str = "Reader",
    prefetch_queue_depth: int = 2,
    py_num_workers: int = 2,
    **reader_kwargs: Any,
) -> Any:
    """A DALI pipeline whose batches :class:`Iterator` turns into FreqLoader's ``(x, y)``.

    Pixel source (``source="pixels"``): ``fn.readers.file`` (JpegFolder's files and labels;
    sharding and shuffling passed through) -> ``fn.decoders.image`` (``"mixed"`` on a GPU,
    ``"cpu"`` with ``device_id=None``) -> training: ``decoders.image_random_crop`` (area
    0.08-1, aspect 3/4-4/3, 10 attempts, as torchvision) + resize to ``size`` + random
    horizontal flip; evaluation: resize to FreqLoader's ``resize_shape`` and its exact centre
    crop -> freqpipe's transform: the fused DCT / DWT kernel on a GPU, the NumPy reference on
    the CPU, then the selected channels, normalised. Resizing is DALI's (linear, antialiased).

    Coefficient source (``source="coefficients"``): :func:`coefficient_source` through a
    parallel batch-mode ``fn.external_source``: no decoding at all (train/eval windows as
    FreqLoader's coefficient source).

    Where freqpipe's kernel runs (``kernel``): ``"iterator"`` (default): DALI outputs the uint8
    crops and :class:`Iterator` runs the kernel on the torch tensors it receives through DLPack,
    on torch's current stream. ``"pipeline"``: a batch-mode ``python_function`` runs it inside
    the pipeline (CuPy on DALI's stream; the NumPy reference on the CPU). The default is
    ``"iterator"`` because DALI runs python_function operators serially in one thread and
    synchronises around them (conventions §7); not yet measured on a GPU.

    Args:
        root_or_files: a folder (``JpegFolder``), a dataset of ``(path, label)`` or paths.
        batch_size: samples per batch.
        output: ``"dct"``, ``"dwt"`` or ``"rgb"`` (FreqLoader's layouts).
        select: DCT channels: a preset name or a :class:`Selection`.
        size: output side in pixels, a multiple of 8.
        train: random-resized crop and flip; otherwise resize and centre crop.
        device_id: GPU index, None for DALI's CPU-only mode, or ``"auto"`` (GPU 0 when torch
            sees CUDA, else None).
        shard_id: this shard (``fn.readers.file``).
        num_shards: number of shards; shards are disjoint and complete.
        seed: reader shuffling seed (the same on every shard; default 0) and, plus
            ``shard_id``, the augmentation seed (default: drawn from torch's RNG).
        shuffle: reshuffle the whole dataset every epoch (``shuffle_after_epoch``; default
            ``train``).
        num_threads: DALI CPU threads (default ``min(4, os.cpu_count())``).
        labels: labels for a sequence of paths.
        source: ``"pixels"`` or ``"coefficients"`` (dct output only).
        kernel: ``"iterator"`` or ``"pipeline"`` (see above; pixel source only).
        normalize: as FreqLoader's (``"default"``, None, a statistics name, JSON path,
            ``ChannelStats`` or ``(mean, std)``).
        dtype: ``torch.float32`` (default) or ``torch.float16`` output.
        wavelet: ``"haar"``, ``"bior2.2"`` or ``"bior4.4"`` (dwt output).
        reader_name: name of the file reader (for the iterator's ``len``).
        prefetch_queue_depth: DALI's prefetch depth.
        py_num_workers: Python worker processes of the coefficient source.
        **reader_kwargs: passed to ``fn.readers.file`` (e.g. ``random_shuffle``,
            ``initial_fill``, ``stick_to_shard``, ``dont_use_mmap``).

    Returns:
        A DALI ``Pipeline`` (not built), with its :class:`PipelineSpec` as ``freqpipe_spec``.
        Its outputs: ``("pixels", "y")`` (kernel="iterator"), ``("x", "y")``
        (kernel="pipeline") or ``("q", "quant", "y")`` (coefficients).

    Raises:
        MissingExtraError: DALI is not installed.
        InvalidArgumentError: invalid arguments.

    Example:
        >>> import torch, freqpipe as fp
        >>> pipe = fp.dali.pipeline(fp.samples_path(), batch_size=4, size=64,
        ...                         device_id=None, train=False)  # doctest: +SKIP
        >>> x, y = next(iter(fp.dali.Iterator(pipe)))  # doctest: +SKIP
        >>> tuple(x.shape), y.tolist()  # doctest: +SKIP
        ((4, 24, 8, 8), [0, 1, 2, 3])
    """
    import torch

    from freqpipe.data import resolve_stats

    _choice("output", output, _OUTPUTS)
    _choice("source", source, _SOURCES)
    _choice("kernel", kernel, _KERNELS)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgumentError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if not isinstance(size, int) or size < 8 or size % 8:
        raise InvalidArgumentError(f"size must be a positive multiple of 8, got {size!r}")
    if source == "coefficients" and (output != "dct" or kernel != "iterator"):
        raise InvalidArgumentError("source='coefficients' needs output='dct', kernel='iterator'")
    dtype = torch.float32 if dtype is None else dtype
    if dtype not in (torch.float32, torch.float16):
        raise InvalidArgumentError(f"dtype must be torch.float32 or float16, got {dtype!r}")
    dev = resolve_device_id(device_id)
    dali = require_dali()
    fn, types = dali.fn, dali.types
    selection = Selection.from_spec(select) if output == "dct" else None
    channels = {"dct": len(selection or ()), "dwt": 12, "rgb": 3}[output]
    stats = resolve_stats(normalize, output=output, selection=selection, channels=channels)
    files, labs = resolve_files(root_or_files, labels)
    start, end = shard_range(len(files), shard_id, num_shards)
    shuffle = bool(train if shuffle is None else shuffle)
    reader_seed = 0 if seed is None else int(seed)
    if seed is None:
        aug_seed = int(torch.empty((), dtype=torch.int64).random_().item()) % (2**31)
    else:
        aug_seed = (int(seed) + shard_id) % (2**31)
    threads = num_threads or min(4, os.cpu_count() or 1)
    spec = PipelineSpec(
        source=source,
        output=output,
        selection=selection,
        size=size,
        stats=stats,
        dtype=dtype,
        wavelet=wavelet,
        kernel=kernel,
        device_id=dev,
        batch_size=batch_size,
        shard_size=end - start,
        reader_name=reader_name if source == "pixels" else None,
        output_map=(
            ("q", "quant", "y")
            if source == "coefficients"
            else ("x", "y")
            if kernel == "pipeline"
            else ("pixels", "y")
        ),
    )
    opts: dict[str, Any] = {}
    if source == "coefficients":
        opts = {"py_num_workers": py_num_workers}
        opts["py_start_method"] = "fork" if dev is None else "spawn"
    pipe = dali.pipeline.Pipeline(
        batch_size=batch_size,
        num_threads=threads,
        device_id=dev,
        seed=aug_seed,
        prefetch_queue_depth=prefetch_queue_depth,
        **opts,
    )
    with pipe:
        if source == "coefficients":
            src = coefficient_source(
                files,
                labels=labs,
                batch_size=batch_size,
                select=selection or "dct24",
                size=size,
                train=train,
                shuffle=shuffle,
                shard_id=shard_id,
                num_shards=num_shards,
                seed=reader_seed,
            )
            q, quant, y = fn.external_source(
                source=src,
                num_outputs=3,
                batch=True,
                parallel=True,
                batch_info=True,
                dtype=[types.INT16, types.INT32, types.INT64],
            )
            pipe.set_outputs(q, quant, y)
        else:
            pipe.set_outputs(
                *_pixel_graph(
                    fn,
                    types,
                    files,
                    labs,
                    spec,
                    shard_id,
                    num_shards,
                    shuffle,
                    reader_seed,
                    train,
                    reader_kwargs,
                )
            )
    pipe.freqpipe_spec = spec
    return pipe


def _pixel_graph(
    fn: Any,
    types: Any,
    files: list[str],
    labels: list[int],
    spec: PipelineSpec,
    shard_id: int,
    num_shards: int,
    shuffle: bool,
    seed: int,
    train: bool,
    reader_kwargs: dict[str, Any],
) -> tuple[Any, Any]:
    """Reader -> decoder -> crop/resize/flip (-> python_function): the pipeline's outputs."""
    # pad_last_batch + the iterator's PARTIAL policy: every epoch starts at the shard's head and
    # the padding is trimmed. Without shuffling, stick_to_shard keeps a shard's size (hence
    # len) fixed; DALI forbids it with shuffle_after_epoch, which permutes the whole dataset
    # and rotates the shards every epoch.
    kwargs: dict[str, Any] = {"pad_last_batch": True, "stick_to_shard": not shuffle}
    kwargs["shuffle_after_epoch"] = shuffle
    kwargs["seed"] = seed
    kwargs.update(reader_kwargs)
    if kwargs.get("random_shuffle"):
        kwargs["shuffle_after_epoch"] = False
    jpegs, y = fn.readers.file(
        files=files,
        labels=labels,
        shard_id=shard_id,
        num_shards=num_shards,
        name=spec.reader_name,
        **kwargs,
    )
    decoder = "cpu" if spec.device_id is None else "mixed"
    s = spec.size
    if train:
        img = fn.decoders.image_random_crop(
            jpegs,
            device=decoder,
            output_type=types.RGB,
            random_area=[0.08, 1.0],
            random_aspect_ratio=[3 / 4, 4 / 3],
            num_attempts=10,
        )
        img = fn.resize(img, size=[s, s], interp_type=types.INTERP_LINEAR, antialias=True)
        img = fn.flip(img, horizontal=fn.random.coin_flip(probability=0.5))
    else:
        rh, rw, anchor = _eval_geometry(fn, types, jpegs, s)
        img = fn.decoders.image(jpegs, device=decoder, output_type=types.RGB)
        img = fn.resize(
            img, resize_x=rw, resize_y=rh, interp_type=types.INTERP_LINEAR, antialias=True
        )
        img = fn.slice(img, anchor, np.array([s, s], np.int32), axes=[0, 1])
    if spec.kernel == "pipeline":
        img = fn.python_function(
            img,
            function=InPipelineTransform(spec),
            batch_processing=True,
            device="cpu" if spec.device_id is None else "gpu",
        )
    return img, y
