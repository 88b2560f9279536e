"""FreqLoader: torch DataLoader's interface, frequency-domain batches on the device."""

from __future__ import annotations

import contextlib
import os
import warnings
import weakref
from collections.abc import Callable, Generator, Iterator
from typing import Any

import torch
from torch.utils.data import (
    BatchSampler,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

from freqpipe.data._arguments import (
    accelerator_available,
    check_choice,
    check_dataloader_arguments,
    check_device,
    check_transfer_frequencies,
    default_train,
    store_geometry,
)
from freqpipe.data._batch import BatchSpec, HostBatch, SampleRng
from freqpipe.data._coefficients import CoefficientSource
from freqpipe.data._device import HostResult, OutputStage
from freqpipe.data._elastic import ElasticSampler
from freqpipe.data._outputs import OutputPlan
from freqpipe.data._pixels import PixelSource
from freqpipe.data._source import ErrorPolicy, Source
from freqpipe.data._state import (
    FORMAT_VERSION,
    EpochPosition,
    EpochStart,
    check_header,
    index_sampler,
    restore_samplers,
)
from freqpipe.data._stats import resolve_stats
from freqpipe.data._store import StoreItems, StoreSource, is_store, store_train
from freqpipe.data._transformed import TransformSource, output_size
from freqpipe.data._workers import WorkerPool
from freqpipe.errors import InvalidArgumentError, LoaderStateError
from freqpipe.jpeg.datasets import JpegFolder
from freqpipe.transforms import Selection
from freqpipe.transforms.wavelets import WAVELETS

__all__ = ["FreqLoader"]

_OUTPUTS = ("dct", "dwt", "rgb")
_SOURCES = ("coefficients", "pixels")
_DTYPES = {"float32": torch.float32, "float16": torch.float16}
_RANDOM_SAMPLERS = (RandomSampler, SubsetRandomSampler, WeightedRandomSampler)


class FreqLoader:
    """A drop-in replacement for ``torch.utils.data.DataLoader`` that yields DCT/DWT/RGB batches.

    ``FreqLoader(root, batch_size=64, shuffle=True, num_workers=8)`` replaces
    ``DataLoader(ImageFolder(root, transform), ...)``: same labels and order, same sampler
    semantics (``RandomSampler``/``SequentialSampler``/``BatchSampler`` of torch itself, so a
    ``DistributedSampler`` and its ``set_epoch`` work unchanged), ``len()`` = number of batches,
    and the same exception types for invalid argument combinations. Each batch is ``(x, y)``:
    ``x`` on ``device``, ``y`` int64 labels on ``device``.

    Outputs (DESIGN contract):
        - ``"dct"``: (N, C, size/8, size/8), C = ``len(select)``, Y channels then Cb, Cr.
          With ``chroma="separate"``: ``((y, cbcr), labels)``, y (N, C_y, size/8, size/8),
          cbcr (N, C_cb + C_cr, size/16, size/16).
        - ``"dwt"``: (N, 12, size/2, size/2), colour-major: R's (A, H, V, D) subbands, then
          G's, then B's (``stack_subbands`` of ``dwt2(rgb / 255, wavelet, "periodization")``).
        - ``"rgb"``: (N, 3, size, size), RGB / 255, then normalised.
        - ``raw=True`` (coefficient source): ``(q, quant, labels)``, q int16 quantised
          (N, C, size/8, size/8), quant uint16 (N, C) each channel's quantisation value (with
          ``separate``: ``(q, quant, cq, cquant, labels)``).

    Sources:
        - ``"coefficients"`` (default for dct; the Gueguen et al. setting): no pixel decoding.
          Each image is entropy-decoded natively and only the selected channels of a
          ``size / 8``-block window at native resolution are gathered, already flipped, into
          reusable batch buffers: training takes a uniformly random block-aligned window and
          flips half the images (exact DCT-domain flip); evaluation takes the centred window.
          Images smaller than the window are zero-padded (centred for evaluation, at a random
          offset for training); zero is exactly the DCT of mid-grey (128) pixels. Chroma is
          repeated onto the luma grid (``chroma="upsample"``) or kept on the 4:2:0 grid
          (``"separate"``: ``size`` must be a multiple of 16, offsets are even; 4:4:4, 4:2:2
          and 4:4:0 chroma is subsampled there in the DCT domain, rounded, with quant values 1:
          conventions §9). Grayscale files
          get zero chroma. EXIF orientation is ignored, as torchvision's default loader does.

    Per-file fallback: whatever torchvision's ``ImageFolder`` reads with its Pillow loader,
    FreqLoader reads. Files without YCbCr coefficients in the layout asked for (CMYK/YCCK/
    RGB-stored JPEGs, PNGs named ``.jpg``, 4:1:1 or 4:1:0 chroma with ``chroma="separate"``; for the
    pixel source, whatever libjpeg-turbo cannot decode to RGB) are decoded with
    ``Image.open(f).convert("RGB")`` and go through the pixel source's YCbCr + block DCT (unit
    quant values with ``raw=True``) into the same batch slot, counted in :attr:`fallbacks`
    and logged at ``logging.INFO``. Only files Pillow cannot read either are bad files.
        - ``"pixels"`` (default for dwt, rgb; the DCTNet setting): PyTurboJPEG decode (scaled
          decode when the region is at least twice the target), torchvision-default
          ``RandomResizedCrop(size)`` + flip when training, resize to ``round(size * 8 / 7)``
          + centre crop for evaluation, then the transform (``image_to_dct192`` with
          full-resolution chroma on the CPU; the fused CUDA kernel on a GPU).

    Threads, not processes: ``num_workers`` is the number of worker *threads* (the native
    decode and Pillow's resize release the GIL), each filling whole batches; 0 reads in the
    calling thread. ``prefetch_factor`` (default 2 with workers) batches per worker are in
    flight, so a slow consumer finds the next batches ready. ``persistent_workers`` keeps the
    threads between epochs; ``worker_init_fn(worker_id)`` runs in each thread; ``timeout``
    bounds the wait for one batch (:class:`~freqpipe.data._workers.BatchTimeoutError`, a
    ``RuntimeError``). Nothing is pickled and ``multiprocessing_context`` does not apply.

    Randomness: every epoch draws a base seed from ``generator`` (or torch's global RNG)
    exactly as DataLoader does, and each sample's crop and flip come from its own stream
    seeded with (base seed, epoch, index): results do not depend on thread timing.

    Args:
        dataset: a folder (read as :class:`JpegFolder`) or a map-style dataset of
            ``(path or JPEG bytes, label)``.
        batch_size: samples per batch (DataLoader's default 1).
        shuffle: reshuffle every epoch (``RandomSampler(generator=generator)``).
        sampler: a sampler of indices (mutually exclusive with ``shuffle``).
        batch_sampler: yields lists of indices (exclusive with the four above).
        num_workers: worker threads (0: load in the calling thread).
        collate_fn: collates the *targets* of a batch: it receives the list of the batch's
            targets (after ``target_transform``) and returns what the loader yields as ``y``
            (tensors in it are moved to ``device``). The images are batched natively and never
            pass through it. Default: ``torch.utils.data.default_collate``, so int labels give
            int64, float labels float64, soft/multi-hot tensors a stacked tensor, tuples and
            dicts of targets the same structure, exactly as DataLoader.
        pin_memory: page-locked slots for asynchronous copies (CUDA devices; ignored on CPU;
            warns as DataLoader does when no accelerator is present).
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a batch (0: forever).
        worker_init_fn: called with the worker id in each worker thread.
        multiprocessing_context: validated as DataLoader does, then ignored with a warning:
            the workers are threads.
        generator: ``torch.Generator`` for shuffling and augmentation.
        prefetch_factor: batches in flight per worker (only with workers; 0 raises, as
            DataLoader does, but at construction).
        persistent_workers: keep the threads between epochs (only with workers). As
            DataLoader's, ``iter(loader)`` then resets the loader's one iterator; without it
            every ``iter()`` is an independent pass with its own threads.
        pin_memory_device: accepted for DataLoader compatibility; pinning follows ``device``.
        in_order: True (default): batches in sampler order. False: a batch is delivered as
            soon as a worker has filled it, so one slow file does not stall the others.
        transform: coefficient source only: torchvision-style transforms of the DCT batch
            (``freqpipe.transforms.dct``: ``RandomResizedCrop``, ``RandomHorizontalFlip``,
            ``ColorJitter``, ``RandomGrayscale``, ``RandomErasing``; ``Resize`` +
            ``CenterCrop`` for evaluation), composed with their ``Compose``. The workers read
            only the coefficients each image's crop needs (no pixel decode); the device stage
            resizes, flips and recolours them in the DCT domain (conventions §9), then selects
            and normalises. The output size is the transform's (``size`` may be left out);
            images smaller than the crop are resized, as torchvision does, not padded.
        target_transform: applied to each target before collation (as torchvision datasets'
            ``target_transform``).
        strict: True (default): a damaged JPEG is a bad file (``on_error`` decides).
            False: accept what libjpeg recovers from it (missing blocks are zero).
        output: ``"dct"``, ``"dwt"`` or ``"rgb"``.
        select: DCT channels: a preset name (``dct6``/``24``/``32``/``48``/``64``/``all``), a
            :class:`~freqpipe.transforms.Selection`, or the path of a Selection JSON file (what
            ``freqpipe select --out`` writes; ``str`` ending in ``.json`` or a ``Path``);
            default ``"dct24"``, or the store's own for a :class:`~freqpipe.store.FreqStore`.
        size: crop side in pixels, a multiple of 8; default 448, or the store's own.
        chroma: ``"upsample"`` or ``"separate"`` (dct output, coefficient source).
        normalize: None (dequantised but not normalised), ``"default"`` (dct: the shipped
            per-coefficient statistics; rgb: ImageNet mean/std; dwt: none), a shipped
            statistics name, a statistics JSON path, a ``ChannelStats`` or ``(mean, std)``.
        dtype: ``torch.float32`` or ``torch.float16`` output.
        device: output device (default CUDA when available, else CPU).
        train: random crops and flips. Default: ``shuffle`` when given, else what the sampler
            says (``DistributedSampler.shuffle``; True for torch's random samplers, False for
            ``SequentialSampler``); for any other sampler False, with a warning. A store of
            fixed centre crops (``freqpipe convert``'s default ``--layout crop``) cannot
            augment: ``train=True`` raises :class:`~freqpipe.errors.FixedCropStoreError`, an
            implied one warns (:class:`~freqpipe.errors.FixedCropWarning`) and loads its crops;
            a ``--layout whole`` store crops and flips as the coefficient source does.
        source: ``"coefficients"`` or ``"pixels"``; default by ``output``.
        on_error: bad files: ``"raise"`` (default; names the file and the reason), ``"skip"``
            (replace deterministically, keep the batch size, count in :attr:`skipped`) or
            ``"warn"`` (as skip, plus a ``BadFileWarning``).
        transfer_dtype: ``"int16"`` or ``"int8"``: with ``"int8"`` quantised coefficients
            cross to the device packed plane by plane (each sample's channel): chroma
            repeated onto the luma grid sent once per repeated pair, DC as differences from
            the neighbouring block, the values bit-packed at the plane's own width (8 bits or
            fewer for nearly every plane of photos) and the few that do not fit escaped at the
            plane's widest width; the device puts them back together, so the batches are the
            int16 transfer's bit for bit (about 0.35x its bytes for dct24 photos;
            :meth:`h2d_bytes_sent` counts them). Also for an int16 store; an int8 store's
            records cross as they are. With ``transform=``, the covers cross as int8, each
            value outside -127..127 as an int16 escape, widened back on the device (the same
            batches, about 0.5x the int16 covers' bytes).
        transfer_frequencies: with ``transform=``, which input frequencies of each crop's
            coefficient cover cross to the device: ``"all"`` (default: all 64; the output is
            exactly the whole image's) or ``"band"`` (only those the kept channels need at the
            crop's scale, chosen per image from the scale and the cover's energy by
            :func:`freqpipe.transforms.band.select_band`; the rest count as zero). Band mode
            sends fewer bytes but is an approximation: measured on 400 ImageNet photos it is
            not within 1 % of the kept channels' RMS in the worst case, so it is not the
            default (``benchmarks/results/bench_band.json``; README, "Bytes over PCIe").
        raw: yield quantised coefficients and quant values (coefficient source).
        wavelet: ``"haar"``, ``"bior2.2"`` or ``"bior4.4"`` for the dwt output.
        decoder: the pixel source's JPEG decoder: ``"turbojpeg"`` (PyTurboJPEG, with its
            scaled decode) or ``"nvimgcodec"`` (nvImageCodec: nvJPEG when ``device`` is CUDA,
            its CPU backend otherwise; ``pip install nvidia-nvimgcodec-cu12``). The decoded
            image comes back to host memory for the crop.

    Raises:
        ValueError: the argument combinations DataLoader rejects, with its messages.
        InvalidArgumentError: (a ValueError) freqpipe's own arguments.

    Example:
        >>> from freqpipe._samples import samples_path
        >>> loader = FreqLoader(samples_path(), batch_size=4, size=64, device="cpu")
        >>> x, y = next(iter(loader))
        >>> tuple(x.shape), x.dtype, y.tolist(), len(loader)
        ((4, 24, 8, 8), torch.float32, [0, 1, 2, 3], 2)
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], Any] | None = None,
        multiprocessing_context: Any = None,
        generator: torch.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        strict: bool = True,
        output: str = "dct",
        select: str | os.PathLike[str] | Selection | None = None,
        size: int | None = None,
        chroma: str = "upsample",
        normalize: Any = "default",
        dtype: Any = torch.float32,
        device: Any = None,
        train: bool | None = None,
        source: str | None = None,
        on_error: str = "raise",
        transfer_dtype: str = "int16",
        transfer_frequencies: str = "all",
        raw: bool = False,
        wavelet: str = "bior4.4",
        decoder: str = "turbojpeg",
    ):
        if isinstance(dataset, (str, os.PathLike)):
            dataset = JpegFolder(dataset)
        store = None
        if is_store(dataset):
            # A converted store fixes the geometry; JPEG-byte stores decode like a folder.
            if dataset.produces == "jpeg":
                dataset = StoreItems(dataset)
            else:
                store = dataset
                select, size = store_geometry(store, select, size, output, chroma, source)
        select = "dct24" if select is None else select
        given_size = size
        size = 448 if size is None else size
        if isinstance(dataset, IterableDataset) or not hasattr(dataset, "__getitem__"):
            raise InvalidArgumentError(
                "FreqLoader needs a map-style dataset of (path or bytes, label) or a folder"
            )
        batch_size, drop_last, prefetch_factor = check_dataloader_arguments(
            batch_size=batch_size,
            shuffle=shuffle,
            sampler=sampler,
            batch_sampler=batch_sampler,
            num_workers=num_workers,
            drop_last=drop_last,
            timeout=timeout,
            multiprocessing_context=multiprocessing_context,
            prefetch_factor=prefetch_factor,
            persistent_workers=persistent_workers,
        )
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # type: ignore[arg-type]
        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.drop_last = drop_last
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.collate_fn = collate_fn
        self.multiprocessing_context = multiprocessing_context
        self.pin_memory_device = pin_memory_device
        self.in_order = bool(in_order)
        self.target_transform = target_transform
        self.strict = bool(strict)
        # -- freqpipe's arguments ------------------------------------------------------------
        check_choice("output", output, _OUTPUTS)
        source = source if source is not None else ("coefficients" if output == "dct" else "pixels")
        check_choice("source", source, _SOURCES)
        check_choice("chroma", chroma, ("upsample", "separate"))
        check_choice("transfer_dtype", transfer_dtype, ("int16", "int8"))
        self._band = check_transfer_frequencies(transfer_frequencies, transform)
        self.transfer_frequencies = transfer_frequencies
        check_choice("wavelet", wavelet, WAVELETS)
        check_choice("decoder", decoder, ("turbojpeg", "nvimgcodec"))
        self.decoder = decoder
        if source == "coefficients" and output != "dct":
            raise InvalidArgumentError(
                f"output={output!r} needs source='pixels' (the coefficient source yields DCT)"
            )
        if chroma == "separate" and (source != "coefficients"):
            raise InvalidArgumentError("chroma='separate' needs the coefficient source")
        if raw and source != "coefficients":
            raise InvalidArgumentError("raw=True needs the coefficient source")
        out_size = None
        if transform is not None:
            if source != "coefficients" or raw or chroma != "upsample" or store is not None:
                raise InvalidArgumentError(
                    "transform= needs the coefficient source of JPEG files, with "
                    "chroma='upsample' and raw=False"
                )
            out_size = output_size(transform)
            if out_size[0] != out_size[1]:
                raise InvalidArgumentError(f"transform= must give square crops, got {out_size}")
            if given_size is not None and given_size != out_size[0]:
                raise InvalidArgumentError(
                    f"size={given_size} but the transform gives {out_size[0]}: leave size out",
                    value=given_size,
                )
            size = out_size[0]
        step = 16 if chroma == "separate" else 8
        if not isinstance(size, int) or size < step or size % step:
            raise InvalidArgumentError(
                f"size must be a positive multiple of {step} pixels"
                f"{' with chroma=separate' if step == 16 else ''}, got {size!r}",
                value=size,
            )
        key = str(dtype).replace("torch.", "")
        if key not in _DTYPES:
            raise InvalidArgumentError(f"dtype must be float32 or float16, got {dtype!r}")
        self.output, self.size, self.chroma, self.source = output, size, chroma, source
        self.dtype = _DTYPES[key]
        self.device = check_device(device)
        if pin_memory and not accelerator_available():
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then device "
                "pinned memory won't be used.",
                UserWarning,
                stacklevel=2,
            )
        self.train = default_train(shuffle, self.batch_sampler) if train is None else bool(train)
        if store is not None:
            self.train = store_train(store, self.train, explicit=train is not None)
        self.selection = Selection.from_spec(select) if output == "dct" else None
        channels = {"dct": len(self.selection or ()), "dwt": 12, "rgb": 3}[output]
        stats = (
            None
            if raw
            else resolve_stats(
                normalize, output=output, selection=self.selection, channels=channels
            )
        )
        self.raw = raw
        self._policy = ErrorPolicy(on_error)
        self.transform = transform
        self._source = self._make_source(transfer_dtype, store)
        self._source.target_transform = target_transform
        self._source.collate_fn = collate_fn
        packing = getattr(self._source, "packing", None)
        plan = OutputPlan(
            self._source.produces,
            output,
            selection=self.selection,
            chroma=chroma,
            stats=stats,
            dtype=str(self.dtype).removeprefix("torch."),
            raw=raw,
            wavelet=wavelet,
            transform=transform,
            size=out_size,
            packed=() if packing is None else packing.planes,
            narrow=getattr(self._source, "narrow", ()),
        )
        self._pinned = bool(pin_memory) and self.device.type == "cuda"
        self._stage = OutputStage(plan, self.device, pinned=self._pinned)
        self._slots: list[HostBatch] = []
        self._pool: WorkerPool | None = None
        self._idle_slots: list[list[HostBatch]] = []
        self._iterator: _LoaderIter | None = None
        self._current: weakref.ref[_LoaderIter] | None = None  # what state_dict() describes
        self._resume: EpochPosition | None = None  # an epoch load_state_dict left to finish
        self._epoch = 0
        self._base_seed: int | None = None

    # -- construction helpers ------------------------------------------------------------------
    def _make_source(self, transfer: str, store: Any = None) -> Source:
        capacity = self.batch_size or getattr(self.batch_sampler, "batch_size", None) or 1
        if store is not None:
            return StoreSource(
                store, self._policy, batch_size=capacity, train=self.train, transfer=transfer
            )
        if self.source == "pixels":
            return PixelSource(
                self.dataset,
                self._policy,
                size=self.size,
                batch_size=capacity,
                train=self.train,
                decoder=self.decoder,
                decode_device=self.device.type,
            )
        if self.selection is None:  # pragma: no cover - output is dct here
            raise InvalidArgumentError("the coefficient source needs a selection")
        if self.transform is not None:
            return TransformSource(
                self.dataset,
                self._policy,
                transform=self.transform,
                batch_size=capacity,
                cover_blocks=self.size // 8 + 4,  # grows when a batch's covers need more
                selection=self.selection,
                band=self._band,
                strict=self.strict,
                transfer=transfer,
            )
        if self.selection is None:  # pragma: no cover - output is dct here
            raise InvalidArgumentError("the coefficient source needs a selection")
        # A frequency-ordered store hands the reader only the stored prefix of the selection.
        items = self.dataset
        if isinstance(items, StoreItems):
            items = items.for_selection(self.selection)
        return CoefficientSource(
            items,
            self._policy,
            selection=self.selection,
            size=self.size,
            batch_size=capacity,
            chroma=self.chroma,
            train=self.train,
            transfer=transfer,
            strict=self.strict,
        )

    @property
    def spec(self) -> BatchSpec:
        """The host batch layout the source declares (shapes and dtypes per sample)."""
        return self._source.spec

    @property
    def skipped(self) -> int:
        """Distinct samples of the current epoch that were bad files (``skip`` / ``warn``).

        A replacement that is bad too does not count again, so a full pass over a dataset
        with 5 bad files gives 5 whatever the seed.
        """
        return self._policy.skipped

    @property
    def fallbacks(self) -> dict[str, int]:
        """Files read through the Pillow fallback so far, counted per reason (distinct files).

        CMYK/YCCK JPEGs, PNGs named ``.jpg`` and, with ``chroma="separate"``, JPEGs whose
        chroma halving cannot bring to the 4:2:0 grid (4:1:1, 4:1:0): each is logged once at
        ``logging.INFO`` (logger
        ``freqpipe.data``).
        """
        return self._policy.fallbacks

    @property
    def bad_files(self) -> list[tuple[str, str]]:
        """``(file, reason)`` of every distinct bad file met so far, sorted by file."""
        return self._policy.bad_files

    def h2d_bytes_per_sample(self) -> int:
        """Bytes per sample that cross to the device (input fields, int16 transfer, labels)."""
        return self.spec.nbytes_per_sample(self._stage.plan.fields) + 8

    def h2d_bytes_sent(self) -> tuple[int, int]:
        """``(bytes, samples)`` the batches delivered so far sent to the device.

        The input fields as they crossed (with ``transfer_dtype="int8"``, each batch's
        per-plane meta, packed stream and escapes: it varies per batch) plus 8 bytes of label
        per sample; on a CPU device what they would send. Counted over this loader's life,
        every iterator included.
        """
        return self._stage.sent_bytes, self._stage.sent_samples

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def set_epoch(self, epoch: int) -> None:
        """Forward ``set_epoch`` to the sampler and seed this epoch's augmentation with it.

        Args:
            epoch: the epoch number (as ``DistributedSampler.set_epoch``).
        """
        for s in (self.sampler, getattr(self.batch_sampler, "sampler", None)):
            if s is not None and hasattr(s, "set_epoch"):
                s.set_epoch(epoch)
                break
        self._epoch = int(epoch)
        if self._resume is not None and self._resume.start.epoch != self._epoch:
            warnings.warn(
                f"FreqLoader: set_epoch({epoch}) after load_state_dict of a state in epoch "
                f"{self._resume.start.epoch}: the rest of that epoch is dropped",
                UserWarning,
                stacklevel=2,
            )
            self._resume = None

    # -- checkpoints ---------------------------------------------------------------------------
    def _state_header(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "dataset_length": len(self.dataset),
            "batch_size": self.batch_size or getattr(self.batch_sampler, "batch_size", None),
            "drop_last": bool(getattr(self.batch_sampler, "drop_last", self.drop_last)),
        }

    def _position(self) -> EpochPosition | None:
        """The epoch in progress: a loaded one not yet resumed, or the current iterator's."""
        if self._resume is not None:
            return self._resume
        it = self._current() if self._current is not None else None
        return it.position if it is not None and it.in_progress else None

    def state_dict(self) -> dict[str, Any]:
        """Where this loader is, for :meth:`load_state_dict` (torchdata's ``StatefulDataLoader``).

        Call it at any batch boundary. It describes the loader's current iterator (the one
        the last ``iter()`` made): its epoch, the batches it delivered, the epoch's base seed,
        the generator and sampler states the epoch started from and the bad-file and
        fallback counts; after the epoch's last batch, the start of the next epoch. Batches
        prefetched but not delivered are not counted: a resume delivers them.

        Returns:
            A dict of Python builtins and tensors (``torch.save`` stores it).

        Raises:
            InvalidArgumentError: mid-epoch with ``in_order=False`` (which batches were
                delivered is not a count then).

        Example:
            >>> from freqpipe._samples import samples_path
            >>> loader = FreqLoader(samples_path(), batch_size=2, size=32, device="cpu")
            >>> it = iter(loader); _ = next(it)
            >>> state = loader.state_dict()
            >>> state["epoch"], state["batches_yielded"], state["samples_yielded"]
            (0, 1, 2)
        """
        position = self._position()
        if position is not None and not self.in_order and position.batches:
            raise InvalidArgumentError(
                "state_dict() mid-epoch needs in_order=True: with in_order=False the batches "
                "delivered so far are not the first ones of the epoch"
            )
        start = position.start if position is not None else self._capture()
        return {
            **self._state_header(),
            "in_progress": position is not None,
            "epoch": start.epoch,
            "batches_yielded": position.batches if position is not None else 0,
            "samples_yielded": position.samples if position is not None else 0,
            "start": start.to_state(),
            "base_seed": self._base_seed,
            "errors": self._policy.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state``: the next ``iter()`` yields what the saved run yielded next.

        Mid-epoch, the batch sampler is fast-forwarded past the batches already delivered
        (their index lists only: no file is read) and the epoch's base seed and generator
        states are the saved ones, so the rest of the epoch is the same bit for bit,
        augmentation included. An :class:`~freqpipe.data.ElasticSampler` shares out the
        rest of the epoch to the current world size instead (conventions §10).

        Args:
            state: what :meth:`state_dict` returned (possibly through ``torch.save`` /
                ``torch.load``), from a loader built with the same dataset and arguments.

        Raises:
            LoaderStateError: the state's format version, dataset length, batch size,
                drop_last, generator or sampler settings differ from this loader's (the
                error's ``key`` says which, with ``saved`` and ``current``).

        Example:
            >>> from freqpipe._samples import samples_path
            >>> def loader():
            ...     return FreqLoader(samples_path(), batch_size=2, size=32, device="cpu")
            >>> a = loader(); it = iter(a); _ = next(it)
            >>> b = loader(); b.load_state_dict(a.state_dict())
            >>> [y.tolist() for _, y in b] == [y.tolist() for _, y in it]
            True
        """
        check_header(state, self._state_header())
        start = EpochStart.from_state(state["start"])
        samples = int(state["samples_yielded"])
        restore_samplers(start, self.generator, self.batch_sampler, samples)
        self._policy.load_state_dict(state["errors"])
        self._base_seed = state["base_seed"]
        self._epoch = start.epoch
        self._resume = None
        if not state["in_progress"]:
            return
        if isinstance(index_sampler(self.batch_sampler), ElasticSampler):
            # The sampler now starts where the saved ranks stopped: a fresh count from there.
            start.sampler = self._capture().sampler
            self._resume = EpochPosition(start)
        else:
            self._resume = EpochPosition(start, batches=int(state["batches_yielded"]))

    # -- iteration -----------------------------------------------------------------------------
    def _slot_pool(self, count: int) -> list[HostBatch]:
        while len(self._slots) < count:
            self._slots.append(self._stage.transfer.allocate(self.spec))
        return self._slots[:count]

    def _fill(self, slot: HostBatch, indices: list[int], rng: SampleRng) -> HostResult | None:
        """Fill ``slot``; on a CPU device also compute its batch here, in the worker thread."""
        if len(indices) > slot.labels.shape[0]:  # a custom batch_sampler with bigger batches
            spec = BatchSpec(len(indices), self.spec.fields)
            bigger = self._stage.transfer.allocate(spec)
            slot.arrays, slot.tensors, slot.labels = bigger.arrays, bigger.tensors, bigger.labels
        self._source.fill(slot, indices, rng)
        return self._stage.host_finish(slot) if self._stage.on_host else None

    def _seed(self) -> int:
        if self._base_seed is None or not self.persistent_workers:
            self._base_seed = int(
                torch.empty((), dtype=torch.int64).random_(generator=self.generator).item()
            )
        return self._base_seed

    def __iter__(self) -> _LoaderIter:
        # DataLoader: every iter() is an independent iterator, except with persistent workers,
        # where the loader's one iterator is reset (a loop holding it continues in the new
        # epoch). Either way an iterator only ends when it is exhausted or dropped.
        if self.persistent_workers and self._iterator is not None:
            self._iterator.reset()
            return self._iterator
        it = _LoaderIter(self)
        self._current = weakref.ref(it)
        if self.persistent_workers:
            self._iterator = it
        return it

    def _capture(self) -> EpochStart:
        return EpochStart.capture(self._epoch, self.generator, self.batch_sampler)

    def _start_epoch(self) -> tuple[SampleRng, Iterator[list[int]], EpochPosition]:
        """A new iterator's epoch: its seed, its index lists and where it is in them.

        DataLoader draws a base seed per iter(); the start is taken before that draw, so a
        checkpoint can replay it. A loaded state's epoch replays its start here and skips the
        index lists of the batches already delivered.
        """
        position, self._resume = self._resume, None
        resumed = position is not None
        if position is None:
            position = EpochPosition(self._capture())
        start = position.start
        self._epoch = start.epoch + 1 if self.persistent_workers else start.epoch
        self._policy.begin_epoch(start.epoch)
        # A loaded epoch draws again from the generators as saved; torch's global one only
        # for these draws, so the caller's global random state is left as it was.
        with start.global_rng() if resumed else contextlib.nullcontext():
            if not resumed:
                start.drew_seed = self._base_seed is None or not self.persistent_workers
            elif start.drew_seed:
                self._base_seed = None
            else:
                self._base_seed = start.base_seed
            seed = self._seed()
            batches = position.track(iter(self.batch_sampler), skip=position.batches)
        if resumed and seed != start.base_seed:
            raise LoaderStateError(
                f"base_seed: the restored generator drew {seed}, the state has "
                f"{start.base_seed}; something drew from it between load_state_dict and iter()",
                key="base_seed",
                saved=start.base_seed,
                current=seed,
            )
        start.base_seed = seed
        return SampleRng(seed, start.epoch), batches, position

    def _end_epoch(self, epoch: int) -> None:
        """An iterator ran to its end: without persistent workers, that completes an epoch."""
        if not self.persistent_workers and self._epoch == epoch:
            self._epoch += 1

    def _take_slots(self) -> list[HostBatch]:
        if self._idle_slots:
            return self._idle_slots.pop()
        return [self._stage.transfer.allocate(self.spec) for _ in range(self._slot_count())]

    def _iterate(
        self,
        batches: Iterator[list[int]],
        rng: SampleRng,
        pool: WorkerPool | None,
        own: list[HostBatch] | None,
    ) -> Generator[tuple[Any, ...], None, None]:
        def fill(slot: HostBatch, indices: list[int]) -> HostResult | None:
            return self._fill(slot, indices, rng)

        if pool is None:
            # One shared slot is safe: a delivered batch never aliases it (host results are
            # fresh arrays; a device copy is guarded by the slot's reuse event).
            slot = self._slot_pool(1)[0]
            for indices in batches:
                slot.wait_reusable()
                finished = fill(slot, list(indices))
                yield self._stage.deliver(self._stage.issue(slot, finished))
            return
        pending = None
        try:
            for slot, finished in pool.run(batches, fill, self.timeout, in_order=self.in_order):
                issued = self._stage.issue(slot, finished)  # H2D overlaps the consumer
                pool.release(slot)
                if self._stage.on_host:
                    yield self._stage.deliver(issued)
                    continue
                if pending is not None:
                    yield self._stage.deliver(pending)
                pending = issued
            if pending is not None:
                yield self._stage.deliver(pending)
        finally:
            if own is not None:  # this pass's own threads: stop them, keep the slots
                pool.close()
                self._idle_slots.append(own)

    def _worker_pool(self) -> tuple[WorkerPool, list[HostBatch] | None]:
        """The threads of one pass: the loader's persistent pool, or a new one with own slots."""
        if self.persistent_workers:
            if self._pool is None or not self._pool.alive:
                slots = self._slot_pool(self._slot_count())
                self._pool = WorkerPool(slots, self.num_workers, self.worker_init_fn)
            return self._pool, None
        # Each iterator has its own threads and slots, as DataLoader's iterators have their
        # own worker processes: a second iter() cannot end or disturb the first.
        own = self._take_slots()
        return WorkerPool(own, self.num_workers, self.worker_init_fn), own

    def _slot_count(self) -> int:
        return max(1, self.num_workers * (self.prefetch_factor or 1))

    def close(self) -> None:
        """Stop the persistent worker threads (they restart on the next iteration)."""
        self._iterator = None
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close(join=False)

    def __repr__(self) -> str:
        return (
            f"FreqLoader({self.dataset!r}, batch_size={self.batch_size}, output={self.output!r}, "
            f"source={self.source!r}, size={self.size}, device={str(self.device)!r}, "
            f"num_workers={self.num_workers})"
        )


class _LoaderIter:
    """One pass over a :class:`FreqLoader` (DataLoader's ``_BaseDataLoaderIter``).

    Holds its epoch's random streams, so another ``iter(loader)`` never changes the batches of
    an epoch in progress; :meth:`reset` (persistent workers) starts the loader's next epoch.
    """

    def __init__(self, loader: FreqLoader):
        self._loader = loader
        self._gen: Generator[tuple[Any, ...], None, None] | None = None
        self._started = False
        self.pool: WorkerPool | None = None
        self._own: list[HostBatch] | None = None
        self.reset()

    def _stop(self, join: bool = True) -> None:
        """End this pass: a started pass cleans up in its generator; an unstarted one here."""
        gen, self._gen = self._gen, None
        if gen is None:
            return
        gen.close()
        pool = self.pool
        if not self._started and pool is not None and pool is not self._loader._pool:
            # The generator never ran, so its cleanup never will: stop the threads it had.
            pool.close(join=join)
            if join:  # joined: no thread can still write into these slots
                self._loader._idle_slots.append(self._own or [])

    def reset(self) -> None:
        """Abandon what is left of this pass and start a new epoch."""
        self._stop()
        loader = self._loader
        rng, batches, self.position = loader._start_epoch()
        self._epoch = self.position.start.epoch
        # Workers start at iter(), as DataLoader's do: they prefetch before the first next().
        self.pool, self._own = loader._worker_pool() if loader.num_workers else (None, None)
        self._started = False
        self._gen = loader._iterate(batches, rng, self.pool, self._own)

    @property
    def in_progress(self) -> bool:
        """Whether this pass has an epoch left to deliver (False once exhausted)."""
        return self._gen is not None

    def __iter__(self) -> _LoaderIter:
        return self

    def __next__(self) -> tuple[Any, ...]:
        if self._gen is None:
            raise StopIteration
        self._started = True
        try:
            batch = next(self._gen)
            self.position.batches += 1
            return batch
        except StopIteration:
            self._gen = None
            self._loader._end_epoch(self._epoch)
            raise

    def __del__(self) -> None:
        if getattr(self, "_gen", None) is not None:
            self._stop(join=False)

    def __len__(self) -> int:
        return len(self._loader)
