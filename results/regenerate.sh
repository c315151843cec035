#!/usr/bin/env bash
# Regenerates the committed reference outputs under results/ (the keel's and issue 7's):
#   results/samples/   `srbench run --models all` on the embedded sample photos
#   results/paper/     `srbench run --models all` on Set5/Set14 (paper protocol)
# Needs SRBENCH_DATA_ROOT (e.g. ../shared/datasets) and, for the pretrained baselines,
# SRBENCH_WEIGHTS_ROOT (e.g. ../shared/weights): their files are imported into a throwaway
# SRBENCH_HOME first, exactly as a user would with `srbench weights import FILE`.
# Models whose weights are not available are listed as skipped, with the reason.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${SRBENCH_DATA_ROOT:?set SRBENCH_DATA_ROOT to the folder holding Set5/ and Set14/}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export SRBENCH_HOME="$work/home"

if [ -n "${SRBENCH_WEIGHTS_ROOT:-}" ]; then
    for file in "$SRBENCH_WEIGHTS_ROOT"/srcnn/*/x*.mat "$SRBENCH_WEIGHTS_ROOT"/vdsr/model_epoch_50.pth \
                "$SRBENCH_WEIGHTS_ROOT"/spnet/main_spnetmodel_*.pth \
                "$SRBENCH_WEIGHTS_ROOT"/lpips/alexnet_features.pt; do
        srbench -q weights import "$file" >/dev/null
    done
fi

render() {  # render OUT DIR: the three formats of one store, plus the exact command
    local out="$1" dir="$2" command="$3"
    mkdir -p "$dir"
    srbench report --out "$out" --format csv > "$dir/table.csv"
    srbench report --out "$out" --format markdown > "$dir/table.md"
    srbench report --out "$out" --format latex > "$dir/table.tex"
    srbench report --out "$out" --format csv --per-image > "$dir/per_image.csv"
    {
        echo "# How these files were made"
        echo
        echo "Command: \`$command\`"
        echo
        echo "Date (UTC): $(date -u +%Y-%m-%dT%H:%MZ); srbench $(srbench --version | awk '{print $NF}')," \
             "git $(git -C "$here" rev-parse --short HEAD); torch $(python3 -c 'import torch; print(torch.__version__)');" \
             "$(nproc) CPU cores, $(python3 -c 'import torch; print(torch.get_num_threads())') torch threads;" \
             "CPU: $(python3 -c 'from srbench.store.sqlite import cpu_name; print(cpu_name())')."
        echo
        echo "Checkpoints: imported from SRBENCH_WEIGHTS_ROOT (see each row's weights SHA-256 in table.csv)."
        echo "Regenerate everything under results/ with \`results/regenerate.sh\`."
    } > "$dir/README.md"
}

args="run --models all --datasets samples --scales 2,3,4 --metrics psnr,ssim,lpips"
# shellcheck disable=SC2086
srbench -q $args --out "$work/samples"
render "$work/samples" "$here/samples" "srbench $args"

args="run --models all --datasets Set5,Set14 --scales 2,3,4 --metrics psnr,ssim,lpips"
# shellcheck disable=SC2086
srbench -q $args --out "$work/paper"
render "$work/paper" "$here/paper" "srbench $args"
