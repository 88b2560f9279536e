from typing import Any

from typing_extensions import Buffer

LIBJPEG_VERSION: int
LIBJPEG_TURBO_VERSION: int

class DecodeError(Exception): ...

class Decoder:
    def __init__(
        self,
        data: Buffer,
        strict: bool = ...,
        max_scans: int = ...,
        max_pixels: int = ...,
        max_passes: int = ...,
        spectral: bool = ...,
        end: int = ...,
    ) -> None: ...
    @property
    def header(self) -> dict[str, Any]: ...
    @property
    def entropy_decoder(self) -> str | None: ...
    def view(self, component: int) -> Buffer | None: ...
    def copy_out(self, component: int, out: Any) -> None: ...
    def decode(
        self,
        outs: list[Any],
        components: list[int],
        freqs: list[bytes],
        rows: tuple[int, int] | None = ...,
        /,
    ) -> tuple[list[str], list[bytes], int, int]: ...
    def gather(
        self,
        component: int,
        out: Any,
        freqs: bytes,
        top: int,
        left: int,
        rows: int,
        cols: int,
        hflip: bool,
        rep_v: int,
        rep_h: int,
        bound_rows: int = ...,
        bound_cols: int = ...,
        /,
    ) -> None: ...

def scan_table(data: Buffer, /) -> dict[str, Any] | None: ...
def complete_after(scans: Any, ncomp: int, masks: Any, /) -> int | None: ...
def prefix_cut(data: Buffer, masks_for: Any, /) -> tuple[int, int] | None: ...
def reorder(
    data: Buffer,
    ends: bytes,
    strip: bool = ...,
    max_pixels: int = ...,
    max_scans: int = ...,
    restart_rows: int = ...,
    /,
) -> bytes: ...
