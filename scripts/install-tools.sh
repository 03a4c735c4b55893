#!/usr/bin/env bash
# Installs the real checkers the tests run: promtool (Debian package `prometheus`) and
# amtool (`prometheus-alertmanager`). Does nothing when both are already on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

# Grafana's LogQL grammar for the LogQL checks, pinned by tools/logql/package-lock.json.
if [ ! -d tools/logql/node_modules/@grafana/lezer-logql ]; then
  if ! command -v npm >/dev/null; then
    echo "obsgen checks LogQL with node and npm; install Node.js 20 or later and retry." >&2
    exit 1
  fi
  npm ci --prefix tools/logql --no-audit --no-fund --loglevel=error >/dev/null
fi

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "obsgen needs promtool and amtool on PATH; this machine has no apt-get." >&2
  echo "Install Prometheus and Alertmanager (2.42+ / 0.25+) from https://prometheus.io/download/ and retry." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "obsgen needs the Debian packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
echo "Installing ${missing[*]} (for promtool and amtool)..."
$sudo apt-get update -qq
# The packages' services are not needed: only their command-line tools.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v promtool >/dev/null && command -v amtool >/dev/null || {
  echo "apt-get finished but promtool or amtool is still missing from PATH" >&2; exit 1; }
