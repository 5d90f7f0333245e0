#!/usr/bin/env bash
# Swap cluster-dns in for CoreDNS behind the kube-dns Service, and back, in any cluster kubectl reaches; kind is the
# common case (the image is loaded with `kind load`). The steps are the README's "Deploying", in order.
#
#   scripts/kind-swap.sh in [--create] [--no-build] [--context NAME]
#                                   build the image (docker build), load it onto the nodes that lack it, apply
#                                   manifests/dns, wait until ready, scale CoreDNS to 0, check from a pod
#   scripts/kind-swap.sh out [--context NAME]    CoreDNS back to its replicas, cluster-dns removed, check
#   scripts/kind-swap.sh check [--context NAME]  nslookup from a pod, and which pods serve kube-dns
#
# The cluster: --context NAME, else kind's context for KIND_CLUSTER_NAME when that is set, else the current context
# of KUBECONFIG (or ~/.kube/config). --create makes a kind cluster first if it is missing (KIND_CLUSTER_NAME, default
# kind). The image is loaded only onto nodes whose status does not already list it: with `kind load` on a kind
# cluster; elsewhere the script stops and says which nodes lack it (push it to a registry your nodes pull from and
# set the image in an overlay). CHECK_OUTSIDE_NAME is the outside name `check` resolves (default kubernetes.io).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/package.json")"
image="cluster-dns:${version}"
# The e2e image the Kubernetes DNS debugging guide uses; it has nslookup and dig.
dnsutils_image="registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3"
annotation="cluster-dns.io/coredns-replicas"
outside_name="${CHECK_OUTSIDE_NAME:-kubernetes.io}"
context=""

say() { echo "kind-swap: $*" >&2; }
die() { say "$*"; exit 1; }
k() { kubectl --context "$context" "$@"; }

need() {
  local cmd
  for cmd in "$@"; do command -v "$cmd" >/dev/null || die "$cmd not found on PATH"; done
}

# Sets $context from --context, KIND_CLUSTER_NAME or the current context; fails if kubectl cannot reach it.
pick_context() {
  local wanted="$1"
  if [[ -n "$wanted" ]]; then
    context="$wanted"
  elif [[ -n "${KIND_CLUSTER_NAME:-}" ]]; then
    context="kind-${KIND_CLUSTER_NAME}"
  else
    context="$(kubectl config current-context 2>/dev/null)" || die "no current context in ${KUBECONFIG:-~/.kube/config}: pass --context NAME"
  fi
  k get --raw /readyz >/dev/null 2>&1 || die "cannot reach the cluster of context $context"
  say "cluster: context $context"
}

# The kind cluster behind the context, if it is one (context kind-NAME and kind on PATH).
kind_cluster() {
  [[ "$context" == kind-* ]] && command -v kind >/dev/null && kind get clusters 2>/dev/null | grep -qx "${context#kind-}" \
    && echo "${context#kind-}"
}

# Loads the image onto the nodes whose status does not list it (the kubelet reports the images it has).
load_image() {
  local missing=() node names
  while IFS=$'\t' read -r node names; do
    [[ -z "$node" ]] && continue
    [[ " $names " == *" docker.io/library/${image} "* || " $names " == *" ${image} "* ]] || missing+=("$node")
  done < <(k get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\t"}{range .status.images[*]}{range .names[*]}{@}{" "}{end}{end}{"\n"}{end}')
  if ((${#missing[@]} == 0)); then
    say "$image is already on every node"
    return
  fi
  local kind_name
  kind_name="$(kind_cluster || true)"
  if [[ -n "$kind_name" ]]; then
    say "loading $image into kind cluster $kind_name (nodes: ${missing[*]})"
    kind load docker-image "$image" --name "$kind_name" --nodes "$(IFS=,; echo "${missing[*]}")"
  else
    die "$image is not on node(s) ${missing[*]}: load it there, or push it to a registry they pull from and set the image in an overlay of manifests/dns"
  fi
}

check() {
  say "pods behind the kube-dns Service:"
  k -n kube-system get pods -l k8s-app=kube-dns -o wide
  local name="dnsutils-$RANDOM"
  say "nslookup from a pod ($name)"
  k run "$name" --image="$dnsutils_image" --image-pull-policy=IfNotPresent --restart=Never --rm -i --quiet --command -- sh -c \
    "set -e; nslookup kubernetes.default; nslookup kube-dns.kube-system; nslookup $outside_name"
}

swap_in() {
  local create=false build=true wanted=""
  while (($#)); do
    case "$1" in
      --create) create=true ;;
      --no-build) build=false ;;
      --context) [[ $# -ge 2 ]] || die "--context needs a name"; wanted="$2"; shift ;;
      *) die "unknown argument $1" ;;
    esac
    shift
  done
  need kubectl
  if $create; then
    need kind
    local name="${KIND_CLUSTER_NAME:-kind}"
    kind get clusters | grep -qx "$name" || kind create cluster --name "$name" --wait 120s
    [[ -n "$wanted" ]] || wanted="kind-$name"
  fi
  pick_context "$wanted"
  if $build; then
    need docker
    say "building $image"
    docker build -t "$image" "$root"
  fi
  load_image
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
  local replicas
  replicas="$(k -n kube-system get deployment coredns -o jsonpath="{.metadata.annotations['cluster-dns\.io/coredns-replicas']}")"
  k -n kube-system scale deployment coredns --replicas="${replicas:-2}"
  k -n kube-system rollout status deployment/coredns --timeout=180s
  k -n kube-system annotate deployment coredns "${annotation}-"
  k delete -k "$root/manifests/dns" --ignore-not-found
  k -n kube-system wait --for=delete pod -l app.kubernetes.io/name=cluster-dns --timeout=120s
  check
}

# --context for out and check
context_flag() {
  local wanted=""
  while (($#)); do
    case "$1" in
      --context) [[ $# -ge 2 ]] || die "--context needs a name"; wanted="$2"; shift ;;
      *) die "unknown argument $1" ;;
    esac
    shift
  done
  need kubectl
  pick_context "$wanted"
}

case "${1:-}" in
  in) shift; swap_in "$@" ;;
  out) shift; context_flag "$@"; swap_out ;;
  check) shift; context_flag "$@"; check ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
