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
def pack_dc_ac(
    coefficients: Any,
    dc: Any,
    dc_out: Any,
    ac_out: Any,
    escapes: Any,
    count: int,
    channels: int,
    plane: int,
) -> int: ...
