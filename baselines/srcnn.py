"""SRCNN (Dong et al., ECCV 2014 / TPAMI 2016) and the checkpoints of its MATLAB release.

The release's `.mat` files are copied in public repositories; the URLs below pin one
(RakeshRaj97/Super-Resolution @ d605f1a, the same git blobs as Jayis/OpenCV_test, 2015).
The original archive is SRCNN_v1.zip from mmlab.ie.cuhk.edu.hk/projects/SRCNN.html.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from srbench import ModelIO, register_model
from srbench.weights import Published, Weights, WeightsEnum

_REPO = (
    "https://raw.githubusercontent.com/RakeshRaj97/Super-Resolution/"
    "d605f1ab64bb3d62b6da6af5364e5367419acff1/SRCNN/model"
)
_ORIGIN = (
    "SRCNN_v1 MATLAB release (Dong et al.), as committed in RakeshRaj97/Super-Resolution "
    "@ d605f1a and Jayis/OpenCV_test @ 1345692"
)
_LICENSE = "research code released by the authors with no licence file; weights theirs"
# TPAMI 2016 numbers of 9-5-5 ImageNet as quoted by yjn870/SRCNN-pytorch and
# InsightDev/SRCNN-keras (shared/weights/README.md); the paper itself was not checked.
_TPAMI = "Dong et al. 2016, SRCNN (TPAMI), 9-5-5 ImageNet, as quoted in yjn870/SRCNN-pytorch"
# The release's test script pads with imfilter(..., 'replicate'); with zeros Set5 x3 drops
# from 32.75 to 29.97 dB.
_MATLAB = {"padding": "replicate"}


def _mat(
    tag: str,
    folder: str,
    scale: int,
    sha256: str,
    size: int,
    kernels: tuple[int, int, int],
    psnr: tuple[float, float] | None = None,
) -> Weights:
    published = None
    if psnr is not None:
        values = {("Set5", "psnr"): psnr[0], ("Set14", "psnr"): psnr[1]}
        published = Published(source=_TPAMI, protocol="srcnn-matlab@1", values=values)
    k1, k2, k3 = kernels
    return Weights(
        tag=tag,
        scale=scale,
        urls=(f"{_REPO}/{folder}/x{scale}.mat",),
        sha256=sha256,
        file_bytes=size,
        format="srcnn_mat",
        num_params=k1 * k1 * 64 + 64 + k2 * k2 * 64 * 32 + 32 + k3 * k3 * 32 + 1,
        origin=_ORIGIN,
        license=_LICENSE,
        published=published,
        options={**_MATLAB, "kernel_sizes": kernels},
    )


class SRCNNWeights(WeightsEnum):
    """The SRCNN release's models: 9-5-5 ImageNet (TPAMI, default), 9-3-5 / 9-1-5 variants."""

    IMAGENET_955_X2 = _mat(
        "imagenet-955",
        "9-5-5%28ImageNet%29",
        2,
        "dc06d52ab0ecfb75a4222a33c06c2c23287cf67abbd75b869a178f6305f8cdc1",
        268_933,
        (9, 5, 5),
        (36.66, 32.45),
    )
    IMAGENET_955_X3 = _mat(
        "imagenet-955",
        "9-5-5%28ImageNet%29",
        3,
        "fa2ee366d328b942b971c80c24f48dc2b015d5ed4b5790070f720ccfb6ab1578",
        267_591,
        (9, 5, 5),
        (32.75, 29.30),
    )
    IMAGENET_955_X4 = _mat(
        "imagenet-955",
        "9-5-5%28ImageNet%29",
        4,
        "3f94150d24e5b60dab2b74f4eaf358aefdc72cbe724d86990435bf877ed452ed",
        269_001,
        (9, 5, 5),
        (30.49, 27.50),
    )
    IMAGENET_935_X3 = _mat(
        "imagenet-935",
        "9-3-5%28ImageNet%29",
        3,
        "d798df50cf1e1b265ae63204da726fd6bf8b0e42c6dd2f18d5fe618576eec553",
        115_087,
        (9, 3, 5),
    )
    IMAGENET_915_X3 = _mat(
        "imagenet-915",
        "9-1-5%28ImageNet%29",
        3,
        "63906335110253189230f1190a577b431aaab6c3b677c97f2720da4eab7e6efe",
        38_350,
        (9, 1, 5),
    )
    # The ECCV 2014 model, trained on 91 images.
    IMAGES91_915_X2 = _mat(
        "images91-915",
        "9-1-5%2891%20images%29",
        2,
        "51b748297e8669832a4ad27cc4b7eebc6d65d37a77bcb19bef23c1b5f972ea12",
        38_625,
        (9, 1, 5),
    )
    IMAGES91_915_X3 = _mat(
        "images91-915",
        "9-1-5%2891%20images%29",
        3,
        "ef05325a96221ab9399db844bc833f687796a1078bfa6aacc6930bde60ca5b10",
        38_483,
        (9, 1, 5),
    )
    IMAGES91_915_X4 = _mat(
        "images91-915",
        "9-1-5%2891%20images%29",
        4,
        "717c2c6f5196a95959f98953f84a359e56fc415eba190b5db016b25896e74862",
        38_489,
        (9, 1, 5),
    )


@register_model("srcnn")
class SRCNN(nn.Module):
    """SRCNN 9-5-5 (Dong et al. 2016): three convolutions on the bicubic-upscaled Y channel.

    conv k1×k1 1→64, ReLU, conv k2×k2 64→32, ReLU, conv k3×k3 32→1, 'same' padding
    (`padding="replicate"` as the MATLAB release; the checkpoints set it). The input is the
    bicubic-upscaled Y in [0, 1]; Cb/Cr come from bicubic upscaling (see `ModelIO`).
    """

    io = ModelIO(color="y", value_range=1.0, upsampled_input=True)
    scales = (2, 3, 4)
    weights = SRCNNWeights

    def __init__(
        self,
        *,
        scale: int,
        kernel_sizes: tuple[int, int, int] = (9, 5, 5),
        padding: Literal["zeros", "replicate"] = "zeros",
    ) -> None:
        super().__init__()
        self.scale = scale
        k1, k2, k3 = kernel_sizes
        self.conv1 = nn.Conv2d(1, 64, k1, padding=k1 // 2, padding_mode=padding)
        self.conv2 = nn.Conv2d(64, 32, k2, padding=k2 // 2, padding_mode=padding)
        self.conv3 = nn.Conv2d(32, 1, k3, padding=k3 // 2, padding_mode=padding)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Map the bicubic-upscaled Y (N, 1, H, W) to the restored Y of the same size."""
        return self.conv3(self.relu(self.conv2(self.relu(self.conv1(x)))))
