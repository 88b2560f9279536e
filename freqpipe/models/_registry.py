"""The model registry behind :func:`freqpipe.models.create` (timm style).

Entry points register themselves with :func:`register_model` when their module is imported;
``freqpipe/models/__init__.py`` imports every model module, so the registry is complete as soon
as ``freqpipe.models`` is.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from torch import nn

from freqpipe.errors import InvalidArgumentError

__all__ = ["create", "list_models", "register_model"]

_ModelFn = TypeVar("_ModelFn", bound=Callable[..., nn.Module])

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: _ModelFn) -> _ModelFn:
    """Register a model entry point under its function name (use as a decorator).

    Args:
        fn: a function returning an ``nn.Module``; its ``__name__`` becomes the model name.

    Returns:
        ``fn`` unchanged.

    Raises:
        InvalidArgumentError: another entry point already has that name.

    Example:
        >>> @register_model
        ... def _doctest_tiny(**kw):
        ...     return nn.Identity()
        >>> "_doctest_tiny" in list_models("_doctest*")
        True
        >>> _ = _REGISTRY.pop("_doctest_tiny")
    """
    name = fn.__name__
    if name in _REGISTRY and _REGISTRY[name] is not fn:
        raise InvalidArgumentError(f"model {name!r} is already registered")
    _REGISTRY[name] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    """Return the registered model names matching a shell-style pattern, sorted.

    Args:
        pattern: ``fnmatch`` pattern, e.g. ``"*resnet*"``.

    Returns:
        Sorted names.

    Example:
        >>> "dct_resnet50" in list_models()
        True
    """
    return sorted(n for n in _REGISTRY if fnmatchcase(n, pattern))


def create(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model by name.

    Args:
        name: a name from :func:`list_models`.
        **kwargs: passed to the entry point (``num_classes``, ``in_channels``, ``alpha``...).

    Returns:
        The model, freshly initialised.

    Raises:
        InvalidArgumentError: unknown name (the message lists the registered ones).

    Example:
        >>> type(create("oct_resnet50", alpha=0.25, num_classes=10)).__name__
        'OctResNet'
    """
    try:
        fn = _REGISTRY[name]
    except KeyError:
        raise InvalidArgumentError(
            f"unknown model {name!r}; registered models: {', '.join(list_models())}"
        ) from None
    return fn(**kwargs)
