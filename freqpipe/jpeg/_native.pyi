from typing import Any

from typing_extensions import Buffer

LIBJPEG_VERSION: int
LIBJPEG_TURBO_VERSION: int

class DecodeError(Exception): ...

class Decoder:
    def __init__(
        self, data: Buffer, strict: bool = ..., max_scans: int = ..., max_pixels: int = ...
    ) -> None: ...
    @property
    def header(self) -> dict[str, Any]: ...
    def decode(
        self, outs: list[Any], components: list[int], freqs: list[bytes]
    ) -> tuple[list[str], list[bytes], int, int]: ...
