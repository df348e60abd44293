#!/usr/bin/env bash
# Set up a software Vulkan device (Mesa's lavapipe, shown as "llvmpipe") so that the
# `wgpu` backend of the `empirical` crate can run on a machine without a GPU.
#
# Idempotent: installs nothing when a lavapipe ICD is already present. Needs root (apt-get).
# Packages: mesa-vulkan-drivers (the lavapipe ICD), libvulkan1 (the Vulkan loader that wgpu
# opens at run time; also a dependency of mesa-vulkan-drivers) and vulkan-tools (vulkaninfo,
# used only for the check below).
#
# Usage: bash scripts/vulkan/up.sh
set -euo pipefail

icd_dirs=(/usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d)

find_lvp_icd() {
    local d
    for d in "${icd_dirs[@]}"; do
        if [ -d "$d" ]; then
            find "$d" -maxdepth 1 -name 'lvp_icd*.json' -print -quit
        fi
    done | head -n 1
}

if [ -z "$(find_lvp_icd)" ] || ! command -v vulkaninfo >/dev/null 2>&1 \
    || ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
    echo "vulkan/up: installing Mesa's lavapipe (mesa-vulkan-drivers, libvulkan1, vulkan-tools)"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        mesa-vulkan-drivers libvulkan1 vulkan-tools
else
    echo "vulkan/up: lavapipe already installed"
fi

icd="$(find_lvp_icd)"
if [ -z "$icd" ]; then
    echo "vulkan/up: no lavapipe ICD (lvp_icd*.json) found in ${icd_dirs[*]}" >&2
    exit 1
fi
echo "vulkan/up: lavapipe ICD: $icd"

# The loader finds ICDs in the standard directories by itself. Pinning the ICD is only needed
# when other (hardware) ICDs are installed and the software device must be the one picked.
summary="$(VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd" vulkaninfo --summary 2>&1)" || {
    echo "$summary" >&2
    echo "vulkan/up: vulkaninfo --summary failed" >&2
    exit 1
}
if ! grep -qi 'llvmpipe' <<<"$summary"; then
    echo "$summary" >&2
    echo "vulkan/up: vulkaninfo lists no llvmpipe (lavapipe) device" >&2
    exit 1
fi
grep -iE 'deviceName|driverName|driverInfo|apiVersion|deviceType' <<<"$summary" | sed 's/^/vulkan\/up:   /'

if [ -z "$(env -u VK_DRIVER_FILES -u VK_ICD_FILENAMES vulkaninfo --summary 2>/dev/null | grep -i llvmpipe || true)" ]; then
    echo "vulkan/up: lavapipe is found only when pinned; export:"
    echo "  export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd"
else
    echo "vulkan/up: ok - lavapipe is found without any environment variable"
    echo "vulkan/up: (to force it when other Vulkan drivers are installed:" \
        "export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd)"
fi
