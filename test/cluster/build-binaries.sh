#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, kubectl, etcd) and the reference
# CoreDNS from Go modules into a cache outside the clone, once per version.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the staging modules (k8s.io/api, ...) with
# ./staging paths, and Go refuses replace directives in a dependency. So we write a scratch module that requires
# k8s.io/kubernetes and pins every staging module to its published v0.X.Y tag, which is the same code.
# etcd's server is built in the same module, at the version Kubernetes itself pins (3.6.x; Debian's 3.4 is too old).
#
# It also builds kubelet-envvars (test/kubelet-envvars/main.go): the kubelet's own service-variable code, which the
# env-var injector's tests compare with ours, from the same k8s.io/kubernetes version.
#
# The `node` target builds the test node's own parts: kubelet, kube-proxy and kube-scheduler from the same
# k8s.io/kubernetes version (same pins, same version stamp) into the same bin/, and runc-clamp
# (test/cluster/runc-clamp, a harness-only runc wrapper for these machines) into $CACHE/node/bin.
#
# The `e2e` target builds what test/e2e/run.ts (`npm run e2e`) needs: e2e.test, a small Ginkgo suite
# (test/e2e/suite/e2e_test.go: the upstream e2e entry point with only the sig-network specs) compiled with `go test -c`,
# and agnhost (k8s.io/kubernetes/test/images/agnhost, static, stamped with the version the e2e image list names), both
# from the same k8s.io/kubernetes version in a sibling scratch module, into $CACHE/kube-$KUBE_VERSION/bin. Not part of
# `all`: only the e2e run needs it.
#
# Usage: build-binaries.sh [kube|coredns|envvars|node|e2e|all]   (default: all). Prints nothing but progress on stderr.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.35.4}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"
CACHE="${CLUSTER_DNS_CACHE:-$HOME/.cache/cluster-dns}"
what="${1:-all}"

log() { echo "build-binaries: $*" >&2; }
command -v go >/dev/null || { log "Go is not installed: install Go >= 1.25 or set KUBE_APISERVER, KUBE_CONTROLLER_MANAGER, ETCD, COREDNS"; exit 2; }

# Writes DIR/go.mod for a scratch module named NAME that requires k8s.io/kubernetes $KUBE_VERSION with its staging
# modules pinned to their published tags.
write_go_mod() {
  local dir="$1" name="$2" kmod staging_version="v0.${KUBE_VERSION#v1.}"
  kmod="$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  {
    printf 'module %s\n\ngo 1.25.0\n\nrequire k8s.io/kubernetes %s\n\n' "$name" "$KUBE_VERSION"
    # every `k8s.io/x => ./staging/src/k8s.io/x` becomes `k8s.io/x => k8s.io/x v0.MINOR.PATCH`
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9./-]*\) => ./staging/src/.*#replace \1 => \1 '"$staging_version"'#p' "$kmod"
  } >"$dir/go.mod"
}

# Writes DIR/tools.go: a `tools`-tagged file that imports each PACKAGE, so `go mod tidy` keeps what they need.
write_tools_go() {
  local dir="$1" pkg; shift
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for pkg in "$@"; do printf '\t_ "%s"\n' "$pkg"; done
    printf ')\n'
  } >"$dir/tools.go"
}

# The -ldflags that make `--version` print $KUBE_VERSION, as a release build does.
version_ldflags() {
  local minor="${KUBE_VERSION#v1.}" ldflags="-s -w"; minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$ldflags"
}

build_kube() {
  local out="$CACHE/kube-$KUBE_VERSION"
  if [[ -x "$out/bin/kube-apiserver" && -x "$out/bin/kube-controller-manager" && -x "$out/bin/etcd" && -x "$out/bin/kubectl" ]]; then
    return 0
  fi
  local src="$out/src"
  mkdir -p "$src" "$out/bin"
  log "building Kubernetes $KUBE_VERSION into $out (first time only; several minutes)"
  write_go_mod "$src" cluster-dns-test-binaries
  write_tools_go "$src" go.etcd.io/etcd/server/v3 k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
  (cd "$src" && go mod tidy)
  local etcd_version
  etcd_version="$(cd "$src" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
  local ldflags; ldflags="$(version_ldflags)"
  (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$out/bin/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3)
  log "built kube-apiserver, kube-controller-manager, kubectl ($KUBE_VERSION) and etcd ($etcd_version)"
}

# pkg/kubelet needs modules the control plane does not, so kubelet-envvars gets a sibling scratch module with the
# same pins instead of growing the one above. Rebuilt whenever main.go changes (the copy next to go.mod is the stamp).
build_envvars() {
  local out="$CACHE/kube-$KUBE_VERSION" src="$CACHE/kube-$KUBE_VERSION/envvars-src"
  local main; main="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/kubelet-envvars/main.go"
  if [[ -x "$out/bin/kubelet-envvars" ]] && cmp -s "$main" "$src/main.go"; then
    return 0
  fi
  rm -f "$out/bin/kubelet-envvars"
  mkdir -p "$src" "$out/bin"
  log "building kubelet-envvars from k8s.io/kubernetes $KUBE_VERSION into $out/bin (first time: several minutes)"
  write_go_mod "$src" cluster-dns-kubelet-envvars
  cp "$main" "$src/main.go"
  (cd "$src" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$out/bin/kubelet-envvars" .)
  log "built kubelet-envvars"
}

# The node's Kubernetes parts. They import much the control plane does not (the kubelet's runtime and volume code,
# kube-proxy's iptables/nftables/ipvs code), so like kubelet-envvars they get a sibling scratch module with the same
# pins rather than growing (and re-tidying) the control plane's one; module and build caches are shared, so after the
# control plane this takes about a minute.
build_node() {
  local out="$CACHE/kube-$KUBE_VERSION" src="$CACHE/kube-$KUBE_VERSION/node-src"
  if ! [[ -x "$out/bin/kubelet" && -x "$out/bin/kube-proxy" && -x "$out/bin/kube-scheduler" ]]; then
    mkdir -p "$src" "$out/bin"
    log "building kubelet, kube-proxy, kube-scheduler ($KUBE_VERSION) into $out/bin (first time only)"
    write_go_mod "$src" cluster-dns-test-node
    write_tools_go "$src" k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet
    local ldflags; ldflags="$(version_ldflags)"
    (cd "$src" && go mod tidy && go build -trimpath -ldflags "$ldflags" -o "$out/bin/" \
        k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kube-scheduler)
    log "built kubelet, kube-proxy, kube-scheduler"
  fi
  build_runc_clamp
}

# runc-clamp: built from a copy of test/cluster/runc-clamp (no dependencies) in the cache, static, without cgo.
# Rebuilt whenever its main.go or go.mod changes (the copies are the stamp).
build_runc_clamp() {
  local dir; dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/runc-clamp"
  local src="$CACHE/node/runc-clamp-src" bin="$CACHE/node/bin/runc-clamp"
  if [[ -x "$bin" ]] && cmp -s "$dir/main.go" "$src/main.go" && cmp -s "$dir/go.mod" "$src/go.mod"; then
    return 0
  fi
  rm -f "$bin"
  mkdir -p "$src" "$CACHE/node/bin"
  cp "$dir/main.go" "$dir/go.mod" "$src/"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin" .)
  log "built runc-clamp into $CACHE/node/bin"
}

# e2e.test and agnhost. Rebuilt whenever test/e2e/suite/e2e_test.go changes (the copy in the scratch module is the
# stamp); agnhost's version is the one test/utils/image/manifest.go of this Kubernetes version gives it.
build_e2e() {
  local out="$CACHE/kube-$KUBE_VERSION" src="$CACHE/kube-$KUBE_VERSION/e2e-src"
  local suite; suite="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/e2e/suite/e2e_test.go"
  local kdir manifest agnhost_version
  kdir="$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  manifest="$kdir/test/utils/image/manifest.go"
  agnhost_version="$(sed -n 's/.*configs\[Agnhost\] = Config{[^,]*, "agnhost", "\([0-9.]*\)"}.*/\1/p' "$manifest")"
  [[ -n "$agnhost_version" ]] || { log "no agnhost version in $manifest"; exit 1; }
  if [[ -x "$out/bin/e2e.test" && -x "$out/bin/agnhost-$agnhost_version" ]] && cmp -s "$suite" "$src/suite/e2e_test.go"; then
    return 0
  fi
  rm -f "$out/bin/e2e.test"
  mkdir -p "$src/suite" "$out/bin"
  log "building e2e.test (sig-network) and agnhost $agnhost_version from k8s.io/kubernetes $KUBE_VERSION into $out/bin"
  write_go_mod "$src" cluster-dns-e2e
  write_tools_go "$src" k8s.io/kubernetes/test/images/agnhost
  cp "$suite" "$src/suite/e2e_test.go"
  local ldflags; ldflags="$(version_ldflags)"
  (cd "$src" && go mod tidy)
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.Version=$agnhost_version" \
      -o "$out/bin/agnhost-$agnhost_version" k8s.io/kubernetes/test/images/agnhost)
  (cd "$src" && go test -c -trimpath -ldflags "$ldflags" -o "$out/bin/e2e.test" ./suite)
  log "built e2e.test and agnhost-$agnhost_version"
}

build_coredns() {
  local out="$CACHE/coredns-$COREDNS_VERSION"
  [[ -x "$out/bin/coredns" ]] && return 0
  mkdir -p "$out/bin"
  log "building CoreDNS $COREDNS_VERSION into $out (first time only)"
  GOBIN="$out/bin" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
}

case "$what" in
  kube) build_kube ;;
  coredns) build_coredns ;;
  envvars) build_envvars ;;
  node) build_node ;;
  e2e) build_e2e ;;
  all) build_kube; build_coredns; build_envvars; build_node ;;
  *) log "unknown target '$what' (kube|coredns|envvars|node|e2e|all)"; exit 2 ;;
esac
