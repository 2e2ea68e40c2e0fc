# shellcheck shell=bash
# Headless Chromium for the HTML view tests (AttentionVizTests, AttendCLITests).
# Sourced by .ci/run (bash, set -euo pipefail): finds Chromium, installs it from the system
# packages when missing (Debian/Ubuntu: apt-get install chromium), and exports
#   ATTEND_CHROMIUM=<path>        the browser the tests run
#   ATTEND_REQUIRE_BROWSER=1      on Linux with apt-get, so a missing browser fails the test
#                                 instead of skipping it.
# Idempotent and fast when Chromium is already installed (no apt-get call at all).

_attend_find_chromium() {
  local candidate
  for candidate in "${ATTEND_CHROMIUM:-}" chromium chromium-browser google-chrome-stable google-chrome \
      "/Applications/Chromium.app/Contents/MacOS/Chromium" \
      "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"; do
    [ -n "$candidate" ] || continue
    if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
    if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
  done
  return 1
}

_attend_chromium="$(_attend_find_chromium || true)"
if [ -z "$_attend_chromium" ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser: Chromium missing; installing it with apt-get"
  _attend_sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then _attend_sudo="sudo"; fi
  $_attend_sudo apt-get update -qq || echo "browser: apt-get update failed"
  if ! DEBIAN_FRONTEND=noninteractive $_attend_sudo apt-get install -y -qq --no-install-recommends chromium; then
    # An interrupted earlier install leaves dpkg half-configured; finish it and retry once.
    echo "browser: apt-get install failed; running dpkg --configure -a and retrying"
    DEBIAN_FRONTEND=noninteractive $_attend_sudo dpkg --configure -a || true
    DEBIAN_FRONTEND=noninteractive $_attend_sudo apt-get install -y -qq --no-install-recommends chromium \
      || echo "browser: apt-get install chromium failed"
  fi
  _attend_chromium="$(_attend_find_chromium || true)"
fi

if command -v apt-get >/dev/null 2>&1; then export ATTEND_REQUIRE_BROWSER=1; fi
if [ -n "$_attend_chromium" ]; then
  export ATTEND_CHROMIUM="$_attend_chromium"
  echo "browser: ATTEND_CHROMIUM=$ATTEND_CHROMIUM ($("$ATTEND_CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
else
  echo "browser: no Chromium found; the headless-browser tests will $([ -n "${ATTEND_REQUIRE_BROWSER:-}" ] && echo fail || echo skip)"
fi
unset _attend_chromium _attend_sudo
