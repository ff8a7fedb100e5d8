#!/usr/bin/env bash
# install-deps.sh - installs the Debian 12 packages ftsb needs, if missing.
# Run as root (or with sudo).  Does nothing when everything is present.
# With --test it also installs what only the test suite uses: chromium,
# which opens the HTML report headless (its test skips without it).
set -euo pipefail

with_test=0
for arg in "$@"; do
  case "$arg" in
    --test) with_test=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential cmake pkg-config liblua5.4-dev lua5.4 libcjson-dev
      libcurl4-openssl-dev libopenblas-dev libsqlite3-dev sqlite3)
# clang's sanitizer and fuzzer runtimes, for the ASan build and fuzzing.
extra=(clang libclang-rt-14-dev)
if [ "$with_test" -eq 1 ]; then
  extra+=(chromium)
fi

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
