#!/usr/bin/env bash
# Build the offline kind node image; print its ref (kfp-mlsecops-kind-node:<key>).
#
# 1. A Debian bookworm root made with debootstrap (systemd, containerd, runc, CNI plugins,
#    iptables, ...), imported as kfp-mlsecops-kind-nodebase:<key>.
# 2. The control-plane images kubeadm expects (the names `kubeadm config images list` prints):
#    kube-apiserver, kube-controller-manager, kube-scheduler and etcd FROM scratch with their
#    static binary, kube-proxy on the node base (it needs iptables), pause FROM scratch.
# 3. node/Dockerfile on the base (kind's node files from the kind module, kubelet, kubeadm,
#    kubectl, crictl from its Go module), then the images of step 2 imported into the node's
#    containerd (a container of the image runs containerd and `ctr images import --no-unpack`,
#    then is committed), so kubeadm pulls nothing. CoreDNS is not built: the cluster has no DNS (kind-up skips the addon).
# <key> hashes the binaries' key, the base image, node/*, the kind version and the recipe.
# Cold: ~3 min after the binaries (~1 min debootstrap); the image is ~1.3 GB.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
recipe="node v1"
# crictl: kind reads image IDs with it (no crictl: `kind load` reloads every image every time);
# the Go module proxy serves only v1.34.0 and v1.37.0 of cri-tools.
crictl_version="v1.34.0"
mirror="${MIRROR:-http://deb.debian.org/debian}"
base_packages="systemd,dbus,containerd,runc,containernetworking-plugins,iptables,nftables,conntrack"
base_packages+=",iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,bash,ca-certificates,curl"
base_packages+=",jq,procps,socat"

ensure_docker

base="kfp-mlsecops-kind-nodebase:$(echo "minbase bookworm $base_packages v1" | key)"
if ! has_image "$base"; then
    lock nodebase
    if ! has_image "$base"; then
        require debootstrap
        root="$(mktemp -d /tmp/kfp-mlsecops-kind-rootfs.XXXXXX)"
        trap 'rm -rf "$root"' EXIT
        log "debootstrap bookworm for the node base from $mirror (a minute or two)"
        timed "node base" debootstrap --variant=minbase --include="$base_packages" bookworm \
            "$root" "$mirror" >/dev/null
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
        tar -C "$root" -c . | docker import \
            -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" >&2
        rm -rf "$root"
        trap - EXIT
    fi
fi

bin="$("$KIND_INFRA/build-binaries.sh")"
k="$(
    {
        echo "$recipe $KIND_VERSION $K8S_VERSION $crictl_version $(basename "$bin")"
        docker image inspect --format '{{.Id}}' "$base"
        cat "$KIND_INFRA"/node/*
    } | key
)"
image="kfp-mlsecops-kind-node:$k"
if has_image "$image"; then
    echo "$image"
    exit 0
fi
lock node
if has_image "$image"; then
    echo "$image"
    exit 0
fi

work="$(mktemp -d /tmp/kfp-mlsecops-kind-node.XXXXXX)"
preload="kfp-mlsecops-kind-preload-$$"
stage="kfp-mlsecops-kind-node-stage:$k"
cleanup() {
    docker rm -f "$preload" >/dev/null 2>&1 || true
    docker rmi "$stage" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

log "building the control-plane images"
mapfile -t wanted < <("$bin/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)
images=()
for ref in "${wanted[@]}"; do
    name="${ref##*/}"
    name="${name%%:*}"
    case "$name" in
        coredns) continue ;;  # not built: no DNS in this cluster
        pause) binary=pause from=scratch entry='["/usr/local/bin/pause"]' ;;
        kube-proxy) binary=kube-proxy from="$base" entry='["/usr/local/bin/kube-proxy"]' ;;
        *) binary="$name" from=scratch entry="[\"/usr/local/bin/$name\"]" ;;
    esac
    ctx="$work/img-$name"
    mkdir -p "$ctx"
    cp "$bin/$binary" "$ctx/"
    {
        echo "FROM $from"
        echo "COPY $binary /usr/local/bin/$binary"
        echo "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        echo "ENTRYPOINT $entry"
    } >"$ctx/Dockerfile"
    docker build -q -t "$ref" "$ctx" >/dev/null
    images+=("$ref")
done
log "control-plane images: ${images[*]}"
docker save -o "$work/images.tar" "${images[@]}"
docker rmi "${images[@]}" >/dev/null

log "building the node image $image"
ctx="$work/node"
mkdir -p "$ctx/kind"
cp -r "$(kind_module_dir)/images/base/files/." "$ctx/kind/"
chmod -R u+w "$ctx/kind"
cp "$KIND_INFRA"/node/* "$ctx/"
cp "$bin/kubelet" "$bin/kubectl" "$ctx/"
cp "$bin/kubeadm" "$ctx/kubeadm.real"  # node/kubeadm waits for containerd, then runs it
CGO_ENABLED=0 GOBIN="$ctx" timed "crictl built" \
    go install -trimpath -ldflags "-s -w" "sigs.k8s.io/cri-tools/cmd/crictl@$crictl_version"
echo "$K8S_VERSION" >"$ctx/version"
docker build -q --build-arg "BASE_IMAGE=$base" -t "$stage" "$ctx" >/dev/null

log "preloading the control-plane images into the node's containerd"
docker run -d --name "$preload" --entrypoint /usr/bin/containerd "$stage" >/dev/null
for _ in $(seq 60); do
    docker exec "$preload" ctr version >/dev/null 2>&1 && break
    sleep 0.5
done
docker cp "$work/images.tar" "$preload:/images.tar"
docker exec "$preload" ctr -n k8s.io images import --no-unpack /images.tar >&2
docker exec "$preload" rm /images.tar
docker exec "$preload" ctr -n k8s.io images ls -q >&2
docker stop -t 10 "$preload" >/dev/null
# The container's config keeps the stage's STOPSIGNAL and ENV; only the entrypoint is reset.
docker commit \
    -c 'ENTRYPOINT ["/usr/local/bin/kfp-mlsecops-pre-entrypoint", "/usr/local/bin/entrypoint", "/sbin/init"]' \
    -c 'CMD []' \
    "$preload" "$image" >/dev/null
# Older node images of ours: drop them (1.3 GB each).
docker image ls --format '{{.Repository}}:{{.Tag}}' kfp-mlsecops-kind-node \
    | grep -vx "$image" | xargs -r docker rmi >/dev/null 2>&1 || true
echo "$image"
