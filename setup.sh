#!/usr/bin/env bash
# One-command setup: a virtual environment in .venv with the app, its tests' tools, the cluster extra (Ray)
# and a pinned PyTorch.
set -euo pipefail
cd "$(dirname "$0")"
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    "torch==${TORCH_VERSION:-2.14.1}" "torchvision==${TORCHVISION_VERSION:-0.29.1}"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev,cluster]'
echo "Set up. Start the app with: .venv/bin/dinolizer-gui"
