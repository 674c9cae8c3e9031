#!/usr/bin/env bash
# Make sure headless Chromium and its WebDriver are installed for the browser tests (tests/browser/).
#
# Debian's `chromium` and `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver): installed with apt-get when
# missing and this is root on an apt system; otherwise it stops and says what to install. The tests never download a
# browser of their own (Selenium is given /usr/bin/chromedriver explicitly, so Selenium Manager stays idle).
set -euo pipefail

PACKAGES=(chromium chromium-driver)
say() { printf 'ensure-chromium: %s\n' "$*" >&2; }

have() { [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; }

if have; then
    say "chromium and chromedriver are installed"
    exit 0
fi
help="install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver), then re-run"
[[ $(id -u) -eq 0 ]] || { say "ERROR: chromium is missing and this is not root: $help"; exit 1; }
command -v apt-get >/dev/null 2>&1 || { say "ERROR: chromium is missing and this is not an apt system: $help"; exit 1; }

# shellcheck source=scripts/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
apt_update_if_needed "${PACKAGES[@]}" || { say "ERROR: apt-get update failed: $help"; exit 1; }
say "installing ${PACKAGES[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null ||
    { say "ERROR: apt-get install ${PACKAGES[*]} failed: $help"; exit 1; }
have || { say "ERROR: /usr/bin/chromium or /usr/bin/chromedriver still missing after the install"; exit 1; }
say "installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
