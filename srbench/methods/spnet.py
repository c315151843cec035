"""SPNet: structure-preserving SR via contextualized multi-task learning (SPEC §6.2).

Shi et al., "Structure-Preserving Image Super-resolution via Contextualized Multi-task
Learning", IEEE TMM 2017, arXiv:1707.08340; official code ykshi/SPNet (PyTorch 0.3, x4).

Which parts are whose:

- Paper (abstract): convolutional features of the LR image → one deconvolution module that
  interpolates the LR features → two branches: one outputs the image boundaries and the HR
  image, the other the local residual map (HR ground truth minus the generated HR image).
- Official code (`model_spnet.CNN_spnet`), followed layer by layer with its parameter
  names so its released weights load without a key map: conv1 3×3 1→16, conv2 3×3 16→32,
  conv3 3×3 32→128, conv4 1×1 128→16 (ReLU after each), conv9 = ConvTranspose(16→24,
  kernel s+8, stride s, padding 4) + ReLU, conv10 3×3 24→2. The input is the LR Y channel in
  [0, 1] with no pre-upsampling; its eval scripts score channel 1, so channel 0 is taken
  to be the boundary output (the release does not say).
- srbench's choices (options, documented in SPEC §6.2): branch A is conv10, giving boundary
  logits (channel 0) and the HR image (channels 1…); branch B ("residual", conv3×3 24→24,
  ReLU, conv3×3 24→C, last layer zero-initialised so an untrained branch adds nothing)
  predicts the residual; SR = HR_A + residual. `color="rgb"` swaps the Y input for RGB
  (C = 3). The official release is x4 only; other scales use the same kernel rule s + 8.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from srbench.registry import register_model
from srbench.specs import ModelIO
from srbench.weights import Weights, WeightsEnum

__all__ = ["SPNet", "SPNetOfficial", "SPNetOfficialWeights", "SPNetWeights"]

_REPO = "ykshi/SPNet @ 00c4b25"
_RAW = "https://raw.githubusercontent.com/ykshi/SPNet/00c4b25cee2546f37df573c4650d8d47f5aebe22/"
_NOTES = (
    "A whole pickled model_spnet.CNN_spnet (legacy torch format, PyTorch 0.3, Python 2.7); "
    "srbench converts it with its restricted unpickler. Trained on {data} with bilinear-LR "
    "56x56 Y patches. The README's Set14 PSNR ({psnr} dB) is over 819 patches with PIL "
    "bilinear LR and no shave, not the paper protocol: not comparable, so not `published`."
)


class SPNetWeights(WeightsEnum):
    """None released for srbench's two-branch SPNet (the release has no residual branch).

    So `srbench run` skips an untrained `spnet`; the released weights are `spnet-official`'s,
    and checkpoints from `srbench train` are evaluated through `register_trained`.
    """


class SPNetOfficialWeights(WeightsEnum):
    """The SPNet authors' released x4 checkpoints (ykshi/SPNet `checkpoints/`)."""

    GENERAL100_X4 = Weights(
        tag="general100",
        scale=4,
        urls=(_RAW + "checkpoints/main_spnetmodel_epoch_1000.pth",),
        sha256="50a37df2f22ae2fba6cef28d75ed4f5fc86e13f42d75249fd596aea50434234e",
        file_bytes=427_852,
        format="torch_pickle",
        num_params=99_610,
        origin=f"{_REPO} : checkpoints/main_spnetmodel_epoch_1000.pth (epoch 1000)",
        license="no licence file in the repository",
        notes=_NOTES.format(data="General-100 (1000 epochs)", psnr="28.7753"),
    )
    VOC2012_X4 = Weights(
        tag="voc2012",
        scale=4,
        urls=(_RAW + "checkpoints/main_spnetmodel_pre_trained.pth",),
        sha256="e479d596b93512d23571231735526d6cec2290277ad12634b64925e52c001fbe",
        file_bytes=427_852,
        format="torch_pickle",
        num_params=99_610,
        origin=f"{_REPO} : checkpoints/main_spnetmodel_pre_trained.pth",
        license="no licence file in the repository",
        notes=_NOTES.format(data="VOC2012 with BSDS boundary maps", psnr="29.2629"),
    )


@register_model("spnet")
class SPNet(nn.Module):
    """SPNet (Shi et al. 2017): LR trunk → deconvolution → boundary+image and residual branches.

    Y channel in [0, 1] like the official code (`color="rgb"` for RGB). `forward` returns
    SR = HR_A + residual; `train_outputs` also returns `image` (HR_A), `boundary` (logits)
    and `residual` for the multi-task losses. See the module docstring for the split
    between the paper, the official code and srbench's choices.
    """

    scales = (2, 3, 4)
    weights: type[WeightsEnum] = SPNetWeights

    def __init__(
        self, *, scale: int, color: Literal["y", "rgb"] = "y", residual_branch: bool = True
    ) -> None:
        super().__init__()
        if color not in ("y", "rgb"):
            raise ValueError(f"SPNet color must be 'y' or 'rgb', not {color!r}")
        self.io = ModelIO(color=color)
        self.channels = 1 if color == "y" else 3
        self.conv1 = nn.Conv2d(self.channels, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 128, 3, padding=1)
        self.conv4 = nn.Conv2d(128, 16, 1)
        self.conv9 = nn.ConvTranspose2d(16, 24, scale + 8, stride=scale, padding=4)
        self.conv10 = nn.Conv2d(24, 1 + self.channels, 3, padding=1)
        self.relu = nn.ReLU()
        self.residual = None
        if residual_branch:
            self.residual = nn.Sequential(
                nn.Conv2d(24, 24, 3, padding=1), nn.ReLU(), nn.Conv2d(24, self.channels, 3, 1, 1)
            )
            nn.init.zeros_(self.residual[-1].weight)
            nn.init.zeros_(self.residual[-1].bias)

    def _features(self, lr: Tensor) -> Tensor:
        x = lr
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv9):
            x = self.relu(conv(x))
        return x

    def forward(self, lr: Tensor) -> Tensor:
        """LR (N, C, h, w) in [0, 1] → SR (N, C, s·h, s·w) = HR_A + residual."""
        return self.train_outputs(lr)["sr"]

    def train_outputs(self, lr: Tensor) -> dict[str, Tensor | list[Tensor]]:
        """Training view, [0, 1] in and out: `sr`, `image` (HR_A), `boundary` (logits,
        N×1×H×W) and, with the residual branch, `residual`."""
        feats = self._features(lr)
        branch_a = self.conv10(feats)
        image = branch_a[:, 1:]
        out: dict[str, Tensor | list[Tensor]] = {"image": image, "boundary": branch_a[:, :1]}
        if self.residual is None:
            out["sr"] = image
        else:
            out["residual"] = self.residual(feats)
            out["sr"] = image + out["residual"]
        return out


@register_model("spnet-official")
class SPNetOfficial(SPNet):
    """SPNet as released (ykshi/SPNet `CNN_spnet`): x4, Y channel, no residual branch.

    The architecture of the authors' checkpoints (99,610 parameters): its SR output is
    channel 1 of conv10, as their eval scripts score it. They were trained on bilinear-LR
    patches, so under the paper protocol (MATLAB bicubic LR) they trail bicubic-trained
    models; their own PSNRs use another protocol and are not comparable.
    """

    scales = (4,)
    weights = SPNetOfficialWeights

    def __init__(self, *, scale: int) -> None:
        super().__init__(scale=scale, color="y", residual_branch=False)
