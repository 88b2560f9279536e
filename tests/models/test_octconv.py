from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

import freqpipe.models as fm
from freqpipe.errors import InvalidArgumentError


def test_alpha_zero_is_a_plain_conv():
    oct_ = fm.OctConv2d(8, 12, 3, 0.0, 0.0, bias=True)
    x = torch.randn(2, 8, 10, 10)
    ref = F.conv2d(x, oct_.h2h.weight, oct_.h2h.bias, padding=1)
    torch.testing.assert_close(oct_(x), ref)


def test_equations_of_the_paper():
    conv = fm.OctConv2d(8, 8, 3, 0.5, 0.5)
    xh, xl = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 4, 4)
    yh, yl = conv((xh, xl))
    up = F.interpolate(F.conv2d(xl, conv.l2h.weight, padding=1), scale_factor=2, mode="nearest")
    torch.testing.assert_close(yh, F.conv2d(xh, conv.h2h.weight, padding=1) + up)
    ref_l = F.conv2d(xl, conv.l2l.weight, padding=1) + F.conv2d(
        F.avg_pool2d(xh, 2), conv.h2l.weight, padding=1
    )
    torch.testing.assert_close(yl, ref_l)


@pytest.mark.parametrize(("a_in", "a_out"), [(0.0, 0.25), (0.25, 0.25), (0.5, 0.0)])
def test_shapes_and_stride(a_in, a_out):
    conv = fm.OctConv2d(16, 32, 3, a_in, a_out, stride=2)
    h_in = 16 - round(16 * a_in)
    x = (
        (torch.randn(1, h_in, 16, 16), torch.randn(1, 16 - h_in, 8, 8))
        if a_in
        else torch.randn(1, 16, 16, 16)
    )
    y = conv(x)
    if a_out:
        assert isinstance(y, tuple)
        assert y[0].shape == (1, 24, 8, 8) and y[1].shape == (1, 8, 4, 4)
    else:
        assert isinstance(y, torch.Tensor) and y.shape == (1, 32, 8, 8)


def test_typed_errors():
    with pytest.raises(InvalidArgumentError):
        fm.OctConv2d(8, 8, 3, 1.0, 0.5)
    with pytest.raises(InvalidArgumentError):
        fm.OctConv2d(8, 8, 3, 0.5, 0.5, stride=3)
    with pytest.raises(InvalidArgumentError, match="tuple"):
        fm.OctConv2d(8, 8, 3, 0.5, 0.5)(torch.zeros(1, 8, 4, 4))
    with pytest.raises(InvalidArgumentError, match="alpha_in is 0"):
        fm.OctConv2d(8, 8, 3, 0.0, 0.5)((torch.zeros(1, 8, 4, 4), torch.zeros(1, 0, 2, 2)))


def test_oct_resnet50_structure():
    m = fm.oct_resnet50(alpha=0.25)
    assert m.layer1[0].conv1.l_in == 0 and m.layer1[0].conv1.l_out == 16
    assert all(b.conv2.l_out == 0 for b in m.layer4)
    assert m.layer4[0].conv1.l_in > 0  # the last stage's first block converts back
    plain = sum(p.numel() for p in fm.resnet50().parameters())
    assert sum(p.numel() for p in m.parameters()) == plain  # octave convs keep the count
