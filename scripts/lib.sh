# Shared helpers for scripts/run and scripts/test (sourced, not executed).

log() { printf '\033[1m[signgate]\033[0m %s\n' "$*" >&2; }

apt_updated=0
# Installs Debian packages that are not installed yet (needs root on a fresh machine).
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ $apt_updated -eq 0 ]; then $sudo apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# What the build needs: a C toolchain for aws-lc, pkg-config, and (for later SAML work) libxmlsec1.
ensure_build_tools() {
  ensure_apt ca-certificates curl gcc g++ make pkg-config libssl-dev libxml2-dev libxmlsec1-dev libclang-dev python3
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      log "installing the Rust toolchain with rustup"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
      export PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
}

ensure_rust_components() {
  command -v rustfmt >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1 && return 0
  rustup component add rustfmt clippy
}
