#!/usr/bin/env bash
# Install the Debian packages given as arguments when any is missing (apt-get update once first).
# Runs as root (CI, fresh machines) or through sudo; never asks questions.
set -euo pipefail
missing=()
for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing system packages: ${missing[*]}"
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run apt-get update -q >/dev/null
run apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
