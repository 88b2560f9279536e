"""The packed frequency store: convert a JPEG dataset once, then load it with no decoding.

A store is a directory of shard files plus a JSON manifest (written last). Each shard holds
fixed-size records — the selected quantised coefficients (int8 / int16) with one quant value
per channel, or float16 DCT values — or the original JPEG bytes with an offset table, and the
labels, in page-aligned sections that ``np.memmap`` reads with no copy beyond the gather into
the batch. See :mod:`freqpipe.store.format` for the byte layout, :mod:`freqpipe.store.kinds`
for the record kinds (one class each: encoding, sections, manifest entry, batch fields).

Converting
    :func:`convert` (``freqpipe convert``), :func:`merge` (``freqpipe convert --merge``),
    :func:`scan_inputs`, :class:`ConvertSummary`, :class:`RecordSpec`, :class:`RecordKind`,
    :func:`coefficient_record`, :func:`pixel_record`;
    :func:`reorder_folder` (``freqpipe reorder``): a JPEG tree, frequency-ordered, no store
Reading
    :class:`FreqStore`, :class:`StoreBatch`, :func:`shards_for_rank`
Checking
    :func:`verify` (``freqpipe verify``), :class:`VerifyReport`
Errors
    :class:`StoreError`, :class:`IncompleteStoreError`, :class:`StoreCorruptError`,
    :class:`StoreSchemaError`, :class:`StoreBusyError`, :class:`DiskFullError` (all
    :class:`~freqpipe.errors.FreqpipeError`)
"""

from __future__ import annotations

from freqpipe.errors import StoreBusyError, StoreSchemaError
from freqpipe.store.convert import ConvertSummary, convert
from freqpipe.store.format import (
    FORMAT_VERSION,
    DiskFullError,
    IncompleteStoreError,
    StoreCorruptError,
    StoreError,
)
from freqpipe.store.inputs import scan_inputs
from freqpipe.store.kinds import RecordKind, coefficient_record, pixel_record
from freqpipe.store.merge import merge
from freqpipe.store.reader import FreqStore, StoreBatch, shards_for_rank
from freqpipe.store.records import RecordSpec
from freqpipe.store.reorder_tree import ReorderSummary, reorder_folder
from freqpipe.store.verify import VerifyReport, verify

__all__ = [
    "FORMAT_VERSION",
    "ConvertSummary",
    "DiskFullError",
    "FreqStore",
    "IncompleteStoreError",
    "RecordKind",
    "RecordSpec",
    "ReorderSummary",
    "StoreBatch",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreSchemaError",
    "VerifyReport",
    "coefficient_record",
    "convert",
    "merge",
    "pixel_record",
    "reorder_folder",
    "scan_inputs",
    "shards_for_rank",
    "verify",
]
