"""What every fuzz target shares: the seed corpus and the libFuzzer entry point.

A target module defines ``test_one_input(data: bytes)``, which must either return or raise a
:class:`~freqpipe.errors.FreqpipeError`; anything else (an untyped exception, a crash, a
sanitizer report, a hang past ``-timeout``) is a finding. ``python -m tests.fuzz.fuzz_reader
[libFuzzer flags] [CORPUS_DIR ...]`` runs one; ``scripts/fuzz.sh`` wraps that.
"""

from __future__ import annotations

import hashlib
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFORMANCE = REPO.parent / "shared" / "data" / "jpeg-conformance"

#: Seed files larger than this are left out: libFuzzer mutates small inputs far faster.
MAX_SEED_BYTES = 64 * 1024


def seed_jpegs() -> Iterator[bytes]:
    """The project's own JPEG fixtures, then ../shared/data/jpeg-conformance when present."""
    from freqpipe._samples import sample_files
    from freqpipe.jpeg import reorder_jpeg
    from tests.jpeg.fixtures import encoded_fixtures

    for _, data in encoded_fixtures():
        yield data
        yield reorder_jpeg(data)  # spectral selection only: freqpipe's own decoder reads it
    for path in sample_files():
        data = path.read_bytes()
        if len(data) <= MAX_SEED_BYTES:
            yield data
    if CONFORMANCE.is_dir():
        for path in sorted(CONFORMANCE.rglob("*")):
            if path.suffix.lower() in (".jpg", ".jpeg", ".jfif") and path.is_file():
                if path.stat().st_size <= MAX_SEED_BYTES:
                    yield path.read_bytes()


def write_corpus(directory: Path, seeds: Iterator[bytes]) -> int:
    """Write each seed as a file named by its hash (libFuzzer's convention); return the count."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for data in seeds:
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)
        count += 1
    return count


def main(test_one_input: Callable[[bytes], None], seeds: Callable[[], Iterator[bytes]]) -> None:
    """Run ``test_one_input`` under atheris with libFuzzer's command line.

    ``--seeds=DIR`` first writes the seed corpus to DIR and adds DIR to the corpus directories;
    ``--write-seeds DIR`` only writes it.
    """
    if len(sys.argv) == 3 and sys.argv[1] == "--write-seeds":
        print(write_corpus(Path(sys.argv[2]), seeds()))
        return
    for arg in sys.argv:
        if arg.startswith("--seeds="):
            write_corpus(Path(arg.split("=", 1)[1]), seeds())
    argv = [a for a in sys.argv if not a.startswith("--seeds=")]
    argv += [a.split("=", 1)[1] for a in sys.argv if a.startswith("--seeds=")]
    import atheris

    # A damaged file is expected to warn; warnings are not findings.
    warnings.simplefilter("ignore")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
