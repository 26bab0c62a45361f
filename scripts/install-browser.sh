#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a browser download) and need a CJK font to render the
# demo's names. Installs both from Debian's packages when missing; does nothing when they are there.
set -euo pipefail
packages=(chromium fonts-wqy-microhei)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && { echo "browser test dependencies present: ${packages[*]}"; exit 0; }
as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}" || { "${as_root[@]}" apt-get update && "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; }
