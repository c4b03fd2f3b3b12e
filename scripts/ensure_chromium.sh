#!/usr/bin/env bash
# The hub's browser test drives Debian's chromium headless. Install it when it is missing and this shell may
# (root, apt-get); otherwise say so and carry on: the browser test then fails with the same advice.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
else
    echo "warning: chromium is not installed and cannot be installed here (needs root and apt-get);" \
         "install Debian's chromium package or the browser test fails" >&2
fi
