#!/usr/bin/env bash
# install-deps.sh - installs the Debian 12 packages ftsb needs, if missing.
# Run as root (or with sudo).  Does nothing when everything is present.
set -euo pipefail

pkgs=(build-essential cmake pkg-config liblua5.4-dev lua5.4 libcjson-dev
      libcurl4-openssl-dev libopenblas-dev libsqlite3-dev sqlite3)
# clang's sanitizer and fuzzer runtimes, for the ASan build and fuzzing.
extra=(clang libclang-rt-14-dev)

missing=()
for p in "${pkgs[@]}" "${extra[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "ftsb: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
