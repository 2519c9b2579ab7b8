#!/usr/bin/env bash
# Installs the Debian packages that the tests and the local stack use. Idempotent: packages
# already present are not touched. Says what it skipped and why when it cannot install.
set -euo pipefail

PACKAGES=(
  chromium               # browser end-to-end tests (Playwright drives /usr/bin/chromium)
  prometheus             # `promtool test rules`, end-to-end alert test, local stack
  prometheus-alertmanager  # `amtool check-config`, end-to-end alert test, local stack
  postgresql             # feedback store tests against a real PostgreSQL
  shellcheck             # lint of the deploy and rollback scripts
  git
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done 2>/dev/null || true

if [ "${#missing[@]}" -eq 0 ]; then
  echo "bootstrap-system: all system packages present (${PACKAGES[*]})"
  exit 0
fi

skip() {
  echo "bootstrap-system: SKIPPED installing ${missing[*]}: $1" >&2
  echo "bootstrap-system: tests that need them will be skipped with a reason." >&2
  exit 0
}

command -v apt-get >/dev/null 2>&1 || skip "no apt-get (not a Debian/Ubuntu system)"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    skip "not root and no password-less sudo; run 'sudo make system' once"
  fi
else
  SUDO=()
fi

echo "bootstrap-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq || skip "apt-get update failed (no network to the Debian mirror?)"
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || skip "apt-get install failed"
# The Debian packages start their daemons; the project starts its own on 127.0.0.1.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter postgresql; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    "${SUDO[@]}" systemctl stop "$svc" || true
  fi
done
echo "bootstrap-system: done"
