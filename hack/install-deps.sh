#!/usr/bin/env bash
# Installs what cairn's tests and demo need from Debian, idempotently: a package already installed
# costs nothing, and apt-get update runs only when something is missing. Needs root (apt-get).
set -euo pipefail

packages=(
  containerd runc containernetworking-plugins busybox-static # the local cluster's real node
  iproute2 iptables                                          # node networking (bridge, kubelet rules)
  git make ca-certificates
  postgresql # the vault store's tests start throwaway servers (internal/pgtest)
  prometheus # the vault's metrics are scraped by a real Prometheus in its tests (internal/promtest)
  python3-aiosmtpd # notifications by e-mail are sent to a real SMTP server in tests (internal/smtptest)
  chromium chromium-driver # the Backup center's browser tests (test/browser, driven by playwright-core)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing Debian packages (${missing[*]}); run as root or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo ">> apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
