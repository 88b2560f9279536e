"""Consumer models of the papers freqpipe comes from, torch only, with a timm-style registry.

Registry
    :func:`list_models`, :func:`create`, :func:`register_model`
Backbones (torchvision-compatible state-dict keys)
    :func:`resnet50`, :func:`vgg16`, :func:`mobilenet_v2`; :class:`ResNet`, :class:`VGG`,
    :class:`MobileNetV2`
DCT input (DCTNet, conventions §3)
    :func:`dct_resnet50`, :func:`load_rgb_resnet50`, :func:`mobilenet_v2_dct`,
    :func:`dct_resnet50_late_concat` (Gueguen-style separate Y / CbCr), :class:`ChannelGate`,
    :class:`GatedModel`, :func:`fit_gate`
Wavelet-like Auto-Encoder (conventions §4)
    :class:`WAE`, :func:`wae_autoencoder`, :class:`WAEClassifier`, :func:`wae_vgg16`,
    :func:`wae_resnet50`, :func:`train_wae`, :func:`train_wae_classifier`, :class:`WaveletCNN`,
    :func:`wavelet_cnn_vgg16`, :func:`wavelet_cnn_resnet50`
Octave convolution (conventions §5)
    :class:`OctConv2d`, :func:`oct_resnet50`
Measuring
    :func:`count_macs` (multiply-adds; torch's flop counter counts 2 per MAC)

Example:
    >>> import freqpipe.models as fm
    >>> m = fm.create("dct_resnet50", in_channels=24, num_classes=10).eval()
    >>> m(torch.zeros(1, 24, 56, 56)).shape
    torch.Size([1, 10])
"""

from __future__ import annotations

import torch  # noqa: F401  (the module docstring's example uses it)

from freqpipe.models._registry import create, list_models, register_model
from freqpipe.models.dct_resnet import (
    LateConcatResNet,
    dct_resnet50,
    dct_resnet50_late_concat,
    load_rgb_resnet50,
)
from freqpipe.models.flops import MacCount, count_macs
from freqpipe.models.gate import ChannelGate, GatedModel, fit_gate
from freqpipe.models.mobilenet import InvertedResidual, MobileNetV2, mobilenet_v2
from freqpipe.models.mobilenet_dct import mobilenet_v2_dct
from freqpipe.models.octconv import OctBatchNorm2d, OctConv2d, OctReLU, OctResNet, oct_resnet50
from freqpipe.models.resnet import Bottleneck, ResNet, resnet50
from freqpipe.models.vgg import VGG, vgg16
from freqpipe.models.wae import (
    WAE,
    DualBranchClassifier,
    WAEClassifier,
    WAEOutput,
    wae_autoencoder,
    wae_resnet50,
    wae_vgg16,
)
from freqpipe.models.wae_train import StageLog, psnr, train_wae, train_wae_classifier
from freqpipe.models.wavelet_cnn import (
    WaveletCNN,
    split_subbands,
    wavelet_cnn_resnet50,
    wavelet_cnn_vgg16,
)

__all__ = [
    "VGG",
    "WAE",
    "Bottleneck",
    "ChannelGate",
    "DualBranchClassifier",
    "GatedModel",
    "InvertedResidual",
    "LateConcatResNet",
    "MacCount",
    "MobileNetV2",
    "OctBatchNorm2d",
    "OctConv2d",
    "OctReLU",
    "OctResNet",
    "ResNet",
    "StageLog",
    "WAEClassifier",
    "WAEOutput",
    "WaveletCNN",
    "count_macs",
    "create",
    "dct_resnet50",
    "dct_resnet50_late_concat",
    "fit_gate",
    "list_models",
    "load_rgb_resnet50",
    "mobilenet_v2",
    "mobilenet_v2_dct",
    "oct_resnet50",
    "psnr",
    "register_model",
    "resnet50",
    "split_subbands",
    "train_wae",
    "train_wae_classifier",
    "vgg16",
    "wae_autoencoder",
    "wae_resnet50",
    "wae_vgg16",
    "wavelet_cnn_resnet50",
    "wavelet_cnn_vgg16",
]
