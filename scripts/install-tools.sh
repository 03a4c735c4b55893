#!/usr/bin/env bash
# Installs the real checkers the tests run, in two generations:
#  - Debian's Prometheus 2.42 and Alertmanager 0.25 (packages `prometheus`, `prometheus-alertmanager`);
#  - current Prometheus 3 and Alertmanager, and Sloth for the benchmarks, built from the Go modules
#    pinned in tools/go/*/go.mod into ~/.cache/obsgen/tools/<folder>-<hash of go.mod and go.sum>
#    (built once per machine, reused by every clone) and linked into .tools/bin (git-ignored);
# and Grafana's LogQL grammar from npm. Does nothing for what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

# Grafana's LogQL grammar for the LogQL checks, pinned by obsgen/loki/logql/package-lock.json and
# installed into ~/.cache/obsgen/logql/<hash> (obsgen would do it on first use; here, ahead of it).
if ! command -v npm >/dev/null; then
  echo "obsgen checks LogQL with node and npm; install Node.js 20 or later and retry." >&2
  exit 1
fi
PYTHONPATH=. python3 -m obsgen.pipeline.logql >/dev/null  # stdlib only: runs before the venv exists

# --- Debian's generation -------------------------------------------------------------------------
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
command -v chromium >/dev/null || missing+=(chromium)  # opens the `obsgen report` site in a browser test
if [ ${#missing[@]} -gt 0 ]; then
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
  echo "Installing ${missing[*]} (promtool, amtool, and a headless browser for the report test)..."
  $sudo apt-get update -qq
  # The packages' services are not needed: only their command-line tools.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  command -v promtool >/dev/null && command -v amtool >/dev/null && command -v chromium >/dev/null || {
    echo "apt-get finished but promtool, amtool or chromium is still missing from PATH" >&2; exit 1; }
fi

# --- The current generation, from the Go module proxy --------------------------------------------
# Built once per machine into a cache keyed by the pinned go.sum (a second clone, and CI, reuse it),
# then linked into .tools/bin, where the tests and `make validate` look.
GO=$(command -v go || echo /usr/local/go/bin/go)
BIN=.tools/bin
CACHE=${OBSGEN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obsgen/tools}
mkdir -p "$BIN"

# The version a module's binaries report: prometheus module v0.316.0 is Prometheus 3.16.0.
module_version() {  # go.mod, module path
  awk -v m="$2" '$1 == m {print $2}' "$1" | head -n1
}

build() {  # folder under tools/go, ldflags, binaries...
  local folder=$1 ldflags=$2; shift 2
  local key out
  key=$({ cat "tools/go/$folder/go.mod" "tools/go/$folder/go.sum"; [ -z "${BUILD_TAGS:-}" ] || echo "tags=$BUILD_TAGS"; } | sha256sum | cut -c1-16)
  out="$CACHE/$folder-$key"
  local have=1
  for tool in "$@"; do [ -x "$out/bin/$(basename "$tool")" ] || have=0; done
  if [ $have -eq 1 ] && [ -e "$out/.complete" ]; then
    echo "Reusing $folder tools built for this go.sum ($out)."
  else
    if [ ! -x "$GO" ]; then
      echo "obsgen builds the current Prometheus tools with Go 1.26 or later; install Go and retry." >&2
      exit 1
    fi
    echo "Building $(for t in "$@"; do printf '%s ' "$(basename "$t")"; done)from tools/go/$folder into $out (a few minutes, once per machine)..."
    local start=$SECONDS
    rm -rf "$out" && mkdir -p "$out/bin"
    if [ "$folder" = alertmanager ]; then
      # Alertmanager embeds its web UI from ui/app/dist, which its module does not ship (a release
      # builds it with npm). The tests use its API only: build from a copy of the pinned module's
      # source, with its own go.mod and go.sum, and a placeholder page where the UI would be.
      local version dir src="$out/src"
      version=$(module_version "tools/go/$folder/go.mod" github.com/prometheus/alertmanager)
      dir=$(cd "tools/go/$folder" && "$GO" mod download -json "github.com/prometheus/alertmanager@$version" \
            | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      cp -r "$dir" "$src" && chmod -R u+w "$src"
      for ui in elm mantine; do
        mkdir -p "$src/ui/app/dist/$ui"
        echo '<!doctype html><title>Alertmanager (built by obsgen without its web UI)</title>' > "$src/ui/app/dist/$ui/index.html"
      done
      local packages=()
      for tool in "$@"; do packages+=("./${tool#github.com/prometheus/alertmanager/}"); done
      (cd "$src" && "$GO" build -trimpath -ldflags "$ldflags" -o "$out/bin/" "${packages[@]}")
      rm -rf "$src"
    else
      (cd "tools/go/$folder" && "$GO" build -trimpath -tags "${BUILD_TAGS:-}" -ldflags "$ldflags" -o "$out/bin/" "$@")
    fi
    touch "$out/.complete"
    echo "  built in $((SECONDS - start)) s"
  fi
  for tool in "$@"; do ln -sfn "$out/bin/$(basename "$tool")" "$BIN/$(basename "$tool")"; done
}

prom=$(module_version tools/go/prometheus/go.mod github.com/prometheus/prometheus)  # v0.316.0
prom_minor=$(( 10#$(echo "$prom" | cut -d. -f2) - 300 ))
prom_version="3.$prom_minor.$(echo "$prom" | cut -d. -f3)"
am_version=$(module_version tools/go/alertmanager/go.mod github.com/prometheus/alertmanager | sed 's/^v//')

build prometheus "-X github.com/prometheus/common/version.Version=$prom_version" \
  github.com/prometheus/prometheus/cmd/promtool github.com/prometheus/prometheus/cmd/prometheus
build alertmanager "-X github.com/prometheus/common/version.Version=$am_version" \
  github.com/prometheus/alertmanager/cmd/amtool github.com/prometheus/alertmanager/cmd/alertmanager
sloth_version=$(module_version tools/go/sloth/go.mod github.com/slok/sloth)
build sloth "-X github.com/slok/sloth/internal/info.Version=$sloth_version" github.com/slok/sloth/cmd/sloth
# The distributed rulers the rules are proven on (Apache-2; their modules carry replace directives,
# copied into these go.mod files, without which they do not build). First build: Thanos about 3.5
# minutes, Cortex about 4; with the module and build caches about 2.7 GB of disk.
thanos_version=$(module_version tools/go/thanos/go.mod github.com/thanos-io/thanos | sed 's/^v//')
cortex_version=$(module_version tools/go/cortex/go.mod github.com/cortexproject/cortex | sed 's/^v//')
BUILD_TAGS="netgo slicelabels" build cortex "-X main.Version=$cortex_version" github.com/cortexproject/cortex/cmd/cortex
# Both are built with their releases' build tags (slicelabels): with Prometheus's default label
# encoding, Thanos's querier panics decoding a store's label sets and Cortex's ruler API its groups.
BUILD_TAGS=slicelabels build thanos "-X github.com/prometheus/common/version.Version=$thanos_version" github.com/thanos-io/thanos/cmd/thanos
