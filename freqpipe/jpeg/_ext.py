"""The native extension's loader: one home, below every module that calls into C."""

from __future__ import annotations

from typing import Any

from freqpipe.errors import MissingExtraError

_module: Any = None


def native() -> Any:
    """Return ``freqpipe.jpeg._native``, or raise :class:`MissingExtraError` when not built."""
    global _module
    if _module is not None:  # every read comes here: an import statement costs microseconds
        return _module
    try:
        import freqpipe.jpeg._native as module
    except ImportError as exc:  # pragma: no cover - only without a built extension
        raise MissingExtraError(
            "freqpipe's native JPEG reader is not built; reinstall freqpipe from source with "
            "the libjpeg-turbo headers present (Debian: apt-get install libjpeg62-turbo-dev) "
            f"({exc})"
        ) from exc
    _module = module
    return module


def blocks() -> Any:
    """Return ``freqpipe.jpeg._blocks``, or raise :class:`MissingExtraError` when not built."""
    try:
        import freqpipe.jpeg._blocks as module
    except ImportError as exc:  # pragma: no cover - only without a built extension
        raise MissingExtraError(
            "freqpipe's native block gather is not built; reinstall freqpipe from source "
            f"(pip install .) or run `python setup.py build_ext --inplace` ({exc})"
        ) from exc
    return module
