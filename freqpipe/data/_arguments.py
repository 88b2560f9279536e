"""FreqLoader's arguments: DataLoader's checks with its messages, and freqpipe's own."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import warnings
from collections.abc import Iterable
from typing import Any

import torch
from torch.utils.data import (
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

from freqpipe.errors import DeviceUnavailableError, InvalidArgumentError
from freqpipe.transforms import Selection

__all__ = [
    "accelerator_available",
    "check_choice",
    "check_dataloader_arguments",
    "check_device",
    "check_transfer_frequencies",
    "default_train",
    "store_geometry",
]

_RANDOM_SAMPLERS = (RandomSampler, SubsetRandomSampler, WeightedRandomSampler)


def check_dataloader_arguments(
    *,
    batch_size: int | None,
    shuffle: bool | None,
    sampler: Any,
    batch_sampler: Any,
    num_workers: int,
    drop_last: bool,
    timeout: float,
    multiprocessing_context: Any,
    prefetch_factor: int | None,
    persistent_workers: bool,
) -> tuple[int | None, bool, int | None]:
    """DataLoader's own checks, in its order, with its exception types and messages.

    Returns:
        ``(batch_size, drop_last, prefetch_factor)`` as DataLoader resolves them (None and
        False with a ``batch_sampler``; a prefetch factor of 2 with workers by default).

    Raises:
        ValueError: what DataLoader rejects.
        InvalidArgumentError: ``batch_size=None`` (FreqLoader always batches).
    """
    if num_workers < 0:
        raise ValueError(
            "num_workers option should be non-negative; use num_workers=0 to disable "
            "multiprocessing."
        )
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing."
            "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
            "to None."
        )
    if num_workers > 0 and prefetch_factor is None:
        prefetch_factor = 2
    elif prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if num_workers > 0 and prefetch_factor == 0:
        # DataLoader fails the same way, but only at iter() (an assert in its iterator).
        raise ValueError("prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    _check_multiprocessing_context(multiprocessing_context, num_workers)
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ValueError(
                "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                "sampler, and drop_last"
            )
        batch_size = None
        drop_last = False
    elif batch_size is None:
        raise InvalidArgumentError(
            "batch_size=None (no auto-batching) is not supported: FreqLoader always batches"
        )
    return batch_size, drop_last, prefetch_factor


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    if value not in tuple(choices):
        raise InvalidArgumentError(
            f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}", value=value
        )


#: FreqLoader(transfer_frequencies=...): every frequency of each cover, or the band it needs.
TRANSFER_FREQUENCIES = ("all", "band")


def check_transfer_frequencies(value: Any, transform: Any) -> bool:
    """Whether ``transfer_frequencies`` asks for the band mode (a ``transform=`` is needed).

    Raises:
        InvalidArgumentError: a value other than ``"all"`` or ``"band"``, or ``"band"``
            without ``transform=`` (the fixed-window sources already send only the
            selected channels).
    """
    check_choice("transfer_frequencies", value, TRANSFER_FREQUENCIES)
    if value == "band" and transform is None:
        raise InvalidArgumentError(
            "transfer_frequencies='band' applies to transform= (which reads all 64 "
            "frequencies of each crop's cover); without a transform only the selected "
            "channels are sent already",
            value=value,
        )
    return value == "band"


def store_geometry(
    store: Any, select: Any, size: int | None, output: str, chroma: str, source: str | None
) -> tuple[Selection, int]:
    """The selection and size a store was converted with; explicit arguments must agree."""
    if output != "dct" or source not in (None, "coefficients"):
        raise InvalidArgumentError(
            "a converted store holds DCT coefficients: use output='dct' and the default source"
        )
    if chroma != "upsample":  # "upsample" and "full" chroma both give one (N, C, h, w) tensor
        raise InvalidArgumentError(
            f"this store holds chroma={store.chroma!r} on the luma grid; use chroma='upsample'"
        )
    stored = store.selection
    if select is not None and Selection.from_spec(select) != stored:
        raise InvalidArgumentError(
            f"this store holds the selection {stored.name or stored.names}; pass select=None"
        )
    if size is not None and size != store.size:
        raise InvalidArgumentError(f"this store holds {store.size}-pixel crops, not {size}")
    return stored, int(store.size)


def default_train(shuffle: bool | None, batch_sampler: Any) -> bool:
    """Augment or not when ``train`` is unset: what ``shuffle`` or the sampler says.

    The standard DDP pattern passes ``DistributedSampler(ds)`` and no ``shuffle``: the
    sampler's own ``shuffle`` attribute (or a random sampler's type) is the user's intent.
    """
    if shuffle is not None:
        return bool(shuffle)
    sampler = getattr(batch_sampler, "sampler", None)
    said = getattr(sampler, "shuffle", None)
    if isinstance(said, bool):
        return said
    if isinstance(sampler, _RANDOM_SAMPLERS):
        return True
    if isinstance(sampler, SequentialSampler):
        return False
    given = sampler if sampler is not None else batch_sampler
    warnings.warn(
        f"FreqLoader: neither shuffle nor the sampler ({type(given).__name__}) says whether "
        "this is training; using train=False (centre crops, no flips): pass train=True or "
        "train=False to choose",
        UserWarning,
        stacklevel=3,
    )
    return False


def _check_multiprocessing_context(context: Any, num_workers: int) -> None:
    """DataLoader's checks of ``multiprocessing_context``; then say it changes nothing here."""
    if context is None:
        return
    if num_workers == 0:
        raise ValueError(
            "multiprocessing_context can only be used with multi-process loading (num_workers "
            f"> 0), but got num_workers={num_workers}"
        )
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(
                "multiprocessing_context option should specify a valid start method in "
                f"{methods!r}, but got multiprocessing_context={context!r}"
            )
    elif not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(
            "multiprocessing_context option should be a valid context object or a string "
            f"specifying the start method, but got multiprocessing_context={context!r}"
        )
    warnings.warn(
        f"FreqLoader: multiprocessing_context={context!r} has no effect: its workers are "
        "threads (the decode releases the GIL), nothing is pickled or forked",
        UserWarning,
        stacklevel=4,  # the warn, this check, the argument checks, FreqLoader()
    )


def accelerator_available() -> bool:
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None:
        return bool(accelerator.is_available())
    return bool(torch.cuda.is_available())  # pragma: no cover - torch < 2.6


def check_device(device: Any) -> torch.device:
    """The output device, checked at construction rather than at the first batch."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidArgumentError(f"device: {exc}", value=device) from None
    if dev.type not in ("cpu", "cuda"):
        raise InvalidArgumentError(f"device must be a CPU or CUDA device, got {dev}", value=device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = (
                "this torch has no CUDA support (a CPU build)"
                if torch.version.cuda is None
                else "no CUDA device or driver is visible"
            )
            raise DeviceUnavailableError(
                f"device={str(dev)!r} is not available: {why}; pass device='cpu' (batches "
                "then come from the NumPy reference) or device=None to pick CUDA when present"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise DeviceUnavailableError(
                f"device={str(dev)!r} is not available: {count} CUDA device(s) visible"
            )
    return dev
