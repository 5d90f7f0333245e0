#!/usr/bin/env bash
# Swap cluster-dns in for CoreDNS in a kind cluster, and back. Needs kind, kubectl and docker (or another engine
# kind can load images from). The steps are the README's "Deploying to kind", in order.
#
#   scripts/kind-swap.sh in [--create] [--no-build]   build the image, load it, apply manifests/dns, wait until
#                                                     ready, scale CoreDNS to 0, check with nslookup from a pod
#   scripts/kind-swap.sh out                          CoreDNS back to its replicas, cluster-dns removed, check
#   scripts/kind-swap.sh check                        nslookup from a pod, and which pods serve kube-dns
#
# KIND_CLUSTER_NAME names the cluster (default: kind, kind's own default). --create makes it first if missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cluster="${KIND_CLUSTER_NAME:-kind}"
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/package.json")"
image="cluster-dns:${version}"
# The e2e image the Kubernetes DNS debugging guide uses; it has nslookup and dig.
dnsutils_image="registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3"
annotation="cluster-dns.io/coredns-replicas"

say() { echo "kind-swap: $*" >&2; }
die() { say "$*"; exit 1; }
k() { kubectl --context "kind-${cluster}" "$@"; }

need() {
  local cmd
  for cmd in "$@"; do command -v "$cmd" >/dev/null || die "$cmd not found on PATH"; done
}

check() {
  say "pods behind the kube-dns Service:"
  k -n kube-system get pods -l k8s-app=kube-dns -o wide
  local name="dnsutils-$RANDOM"
  say "nslookup from a pod ($name)"
  k run "$name" --image="$dnsutils_image" --restart=Never --rm -i --quiet --command -- sh -c \
    'set -e; nslookup kubernetes.default; nslookup kube-dns.kube-system; nslookup kubernetes.io'
}

swap_in() {
  local create=false build=true arg
  for arg in "$@"; do
    case "$arg" in
      --create) create=true ;;
      --no-build) build=false ;;
      *) die "unknown argument $arg" ;;
    esac
  done
  need kind kubectl
  if ! kind get clusters | grep -qx "$cluster"; then
    $create || die "no kind cluster named $cluster (create one with kind create cluster, or pass --create)"
    kind create cluster --name "$cluster" --wait 120s
  fi
  if $build; then
    need docker
    say "building $image"
    docker build -t "$image" "$root"
  fi
  say "loading $image into $cluster"
  kind load docker-image "$image" --name "$cluster"
  k apply -k "$root/manifests/dns"
  k -n kube-system rollout status deployment/cluster-dns --timeout=180s
  # Remember CoreDNS's replicas for the way back, then take it out of the Service.
  local replicas
  replicas="$(k -n kube-system get deployment coredns -o jsonpath='{.spec.replicas}')"
  if [[ "$replicas" != 0 ]]; then
    k -n kube-system annotate deployment coredns "${annotation}=${replicas}" --overwrite
    k -n kube-system scale deployment coredns --replicas=0
  fi
  k -n kube-system wait --for=delete pod -l 'k8s-app=kube-dns,!app.kubernetes.io/name' --timeout=120s
  check
}

swap_out() {
  need kubectl
  local replicas
  replicas="$(k -n kube-system get deployment coredns -o jsonpath="{.metadata.annotations['cluster-dns\.io/coredns-replicas']}")"
  k -n kube-system scale deployment coredns --replicas="${replicas:-2}"
  k -n kube-system rollout status deployment/coredns --timeout=180s
  k -n kube-system annotate deployment coredns "${annotation}-"
  k delete -k "$root/manifests/dns" --ignore-not-found
  k -n kube-system wait --for=delete pod -l app.kubernetes.io/name=cluster-dns --timeout=120s
  check
}

case "${1:-}" in
  in) shift; swap_in "$@" ;;
  out) shift; swap_out ;;
  check) need kubectl; check ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
