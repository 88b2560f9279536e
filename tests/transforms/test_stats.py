from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from freqpipe.transforms import (
    ChannelStats,
    InvalidArgumentError,
    Selection,
    ShapeError,
    image_to_dct192,
    load_default_stats,
    normalize,
)
from freqpipe.transforms.stats import _DATA
from tests.tolerances import assert_close


def data(seed=0, n=10, c=6):
    rng = np.random.default_rng(seed)
    return rng.normal(loc=np.arange(c)[None, :, None, None] * 10, scale=3, size=(n, c, 5, 4))


def test_per_coefficient_equals_numpy_whatever_the_batching():
    x = data()
    ref_mean = x.transpose(1, 0, 2, 3).reshape(6, -1).mean(axis=1)
    ref_std = x.transpose(1, 0, 2, 3).reshape(6, -1).std(axis=1)
    for splits in ([10], [1] * 10, [3, 7], [4, 1, 5]):
        s = ChannelStats("dct6")
        start = 0
        for k in splits:
            s.update(x[start : start + k])
            start += k
        assert s.count == x.size // 6
        assert_close(s.mean, ref_mean)
        assert_close(s.std, ref_std)


def test_per_image_is_dctnet_convention():
    x = data(1)
    s = ChannelStats(channels=6, convention="per_image")
    s.update(x[:4])
    s.update(x[4:])
    per_image = x.mean(axis=(2, 3))
    assert s.count == 10
    assert_close(s.mean, per_image.mean(axis=0))
    assert_close(s.std, per_image.std(axis=0))


def test_float64_accumulation_is_stable_with_large_offset():
    x = data(2, c=1) + 1e6
    s = ChannelStats(channels=1)
    for i in range(10):
        s.update(x[i : i + 1].astype(np.float32))
    ref = x.astype(np.float32).astype(np.float64)
    assert_close(s.std, [ref.std()], np.float32)


def test_merge_equals_single_pass():
    x = data(3)
    a, b, whole = (ChannelStats(channels=6) for _ in range(3))
    a.update(x[:3])
    b.update(x[3:])
    whole.update(x)
    a.merge(b)
    assert a.count == whole.count
    assert_close(a.mean, whole.mean)
    assert_close(a.std, whole.std)
    with pytest.raises(InvalidArgumentError):
        a.merge(ChannelStats(channels=6, convention="per_image"))


def test_save_load_round_trip_and_continue(tmp_path):
    x = data(4)
    s = ChannelStats(Selection.preset("dct6"), convention="per_image")
    s.update(x[:5])
    path = tmp_path / "s.json"
    s.save(path)
    obj = json.loads(path.read_text())
    assert obj["convention"] == "per_image" and obj["names"][0] == "Y0"
    back = ChannelStats.load(path)
    assert back.selection == s.selection and back.convention == "per_image"
    assert_close(back.mean, s.mean)
    back.update(x[5:])
    s.update(x[5:])
    assert_close(back.std, s.std)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "other"}')
    with pytest.raises(InvalidArgumentError):
        ChannelStats.load(bad)


def test_normalize():
    x = data(5)
    s = ChannelStats(channels=6)
    s.update(x)
    z = normalize(x.astype(np.float32), s)
    assert z.dtype == np.float32
    assert_close(z.transpose(1, 0, 2, 3).reshape(6, -1).mean(axis=1), np.zeros(6), np.float32)
    assert_close(z.transpose(1, 0, 2, 3).reshape(6, -1).std(axis=1), np.ones(6), np.float32)
    const = ChannelStats(channels=1)
    const.update(np.full((2, 1, 2, 2), 7.0))
    assert normalize(np.full((1, 1, 2, 2), 8.0), const).max() == 1.0  # std 0: only centred
    with pytest.raises(ShapeError):
        normalize(np.zeros((1, 5, 2, 2)), s)


def test_errors():
    with pytest.raises(InvalidArgumentError, match="per_coefficient, per_image"):
        ChannelStats(channels=3, convention="global")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        ChannelStats()
    with pytest.raises(InvalidArgumentError):
        ChannelStats("dct6", channels=5)
    with pytest.raises(ShapeError):
        ChannelStats(channels=3).update(np.zeros((2, 4, 2, 2)))
    assert np.isnan(ChannelStats(channels=2).std).all()


@pytest.mark.parametrize("name", ["dct24", "dct64", "all"])
def test_default_stats_ship_and_match_their_selection(name):
    s = load_default_stats(name)
    assert s.selection == Selection.preset(name)
    assert s.convention == "per_coefficient"
    assert s.mean.shape == s.std.shape == (len(s.selection),)
    assert (s.std > 0).all()
    assert s.count == 8 * 56 * 56  # eight bundled photos, 448 crop
    y_dc = s.mean[0]
    assert -1024 < y_dc < 1016  # conventions §1 range


@pytest.mark.parametrize("name", ["dct24", "dct64", "all"])
def test_default_stats_record_how_they_were_made(name):
    from freqpipe._cli.stats import REGENERATE_COMMAND
    from freqpipe._samples import sample_files

    obj = json.loads((_DATA / f"stats_{name}.json").read_text())
    prov = obj["provenance"]
    assert prov["command"] == REGENERATE_COMMAND
    assert {"freqpipe", "numpy", "pillow", "libjpeg-turbo (Pillow)"} <= set(prov["packages"])
    assert prov["images"] == [p.name for p in sample_files()]


def test_default_stats_are_reproducible(tmp_path):
    """``freqpipe stats --regenerate-defaults`` remakes the shipped files.

    The statistics are float64 sums of float32 block DCTs, so they agree to float32 precision:
    another NumPy, Pillow or CPU rounds the float32 DCT differently in the last bit (a fresh
    machine once gave -47.6435164 for -47.6435167, 7.8e-9 relative, on a mean whose inputs are
    rounded at 6e-8 relative).
    """
    from freqpipe import cli

    argv = ["stats", "--regenerate-defaults", "--out-dir", str(tmp_path), "--no-progress"]
    assert cli.main(argv) == 0
    for name in ("dct24", "dct64", "all"):
        made, shipped = ChannelStats.load(tmp_path / f"stats_{name}.json"), load_default_stats(name)
        assert made.count == shipped.count and made.selection == shipped.selection
        assert_close(made.mean, shipped.mean, precision=np.float32)
        assert_close(made.std, shipped.std, precision=np.float32)


def test_regenerate_defaults_refuses_a_folder(tmp_path, capsys):
    from freqpipe import cli

    assert cli.main(["stats", str(tmp_path), "--regenerate-defaults"]) == 2
    assert "--out-dir" in capsys.readouterr().err
    assert cli.main(["stats", "--out", str(tmp_path / "s.json")]) == 2
    assert "DIR and --out are required" in capsys.readouterr().err


def test_unknown_default():
    with pytest.raises(InvalidArgumentError, match="dct24, dct64, all"):
        load_default_stats("dct6")


def test_dctnet_route_statistics_are_plausible(sample_photos):
    # per-image vs per-coefficient: AC std is much smaller per image (conventions §3)
    pc = ChannelStats("all")
    pi = ChannelStats("all", convention="per_image")
    for rgb in sample_photos[:4]:
        c = image_to_dct192(rgb[:256, :256])[None]
        pc.update(c)
        pi.update(c)
    assert pi.std[1] < pc.std[1] / 5


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=5),
    st.sampled_from(["per_coefficient", "per_image"]),
)
def test_property_batching_invariance(splits, convention):
    x = data(6, n=sum(splits), c=2)
    s, whole = (
        ChannelStats(channels=2, convention=convention),
        ChannelStats(channels=2, convention=convention),
    )
    start = 0
    for k in splits:
        s.update(x[start : start + k])
        start += k
    whole.update(x)
    assert s.count == whole.count
    assert_close(s.mean, whole.mean)
    assert_close(s.std, whole.std)
