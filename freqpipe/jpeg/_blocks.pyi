from typing import Any

def gather_windows(
    coeffs: Any,
    src_itemsize: int,
    offsets: Any,
    grids: Any,
    local: Any,
    windows: Any,
    negate: Any,
    out: Any,
    rows: Any,
    dst_itemsize: int,
    channels: int,
    n: int,
) -> None: ...
def pack_planes(
    coefficients: Any,
    dc: Any,
    meta: Any,
    stream: Any,
    escapes: Any,
    count: int,
    channels: int,
    h: int,
    w: int,
) -> tuple[int, int]: ...
def unpack_planes(
    meta: Any,
    stream: Any,
    escapes: Any,
    dc: Any,
    out: Any,
    count: int,
    channels: int,
    h: int,
    w: int,
) -> None: ...
def narrow_int16(values: Any, narrow: Any, escapes: Any, /) -> int: ...
