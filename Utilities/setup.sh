#!/usr/bin/env bash
# Installs, with apt, whatever MedSeg needs to build, test and run its demo that is not
# already on this Debian 12 machine. Safe to run again: it does nothing when all is there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libinsighttoolkit5-dev libfftw3-dev libgdcm-dev zlib1g-dev tar
  libssl-dev libarchive-dev
  libvtk9-dev
  libtorch-dev libopenblas0-pthread
  # tcmalloc, the executables' allocator (MEDSEG_USE_TCMALLOC)
  libgoogle-perftools-dev
  libboost-dev libboost-filesystem-dev libboost-program-options-dev
  libboost-mpi-dev openmpi-bin libopenmpi-dev
  libgtest-dev libgmock-dev
  nlohmann-json3-dev
  # MONAI bundles' YAML configs (Modules/Frameworks)
  libyaml-cpp-dev
  xvfb xauth
  mricron-data
  libxml2-utils
  python3-torch
  # The real-world corpus test (Testing/RealWorld): other libraries' test images, independent
  # readers (nibabel, pydicom, PIL) and an independent DICOM converter (dcm2niix).
  insighttoolkit5-examples python3-nibabel python3-pydicom python3-pil dcm2niix
  # nnU-Net support (Testing/NNUNet): scipy/skimage as the resampling reference; the rest is what
  # nnU-Net's own code imports when the acceptance check runs it (../shared/reference).
  python3-scipy python3-skimage python3-pandas python3-sklearn python3-tqdm python3-threadpoolctl
  python3-matplotlib python3-requests
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
