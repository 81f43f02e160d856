#!/usr/bin/env bash
# Builds the kernel matrix's initramfs for one extracted Debian kernel package:
# busybox-static, the virtio/9p, virtio_net, TC and veth modules (with their
# dependencies, from the package itself) and guest-init.sh as /init.
#   build-initramfs.sh EXTRACTED_DEB_DIR KERNEL_VERSION OUTPUT.cpio.gz
set -euo pipefail

pkgdir=$1
kver=$2
out=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}
moddir="$pkgdir/lib/modules/$kver"

[[ -d "$moddir" ]] || { echo "build-initramfs: no modules in $moddir" >&2; exit 1; }
if ! file -L "$busybox" | grep -q 'statically linked'; then
  echo "build-initramfs: $busybox is not static (install busybox-static)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin" "$work/root/lib/modules" "$work/root/proc" "$work/root/sys" \
  "$work/root/dev" "$work/root/newroot" "$work/mods"
cp "$busybox" "$work/root/bin/busybox"
cp "$here/guest-init.sh" "$work/root/init"
chmod 755 "$work/root/init"

# Index every module file of the package by its module name.
declare -A modfile=()
while IFS= read -r f; do
  name=$(basename "$f")
  name=${name%%.ko*}
  modfile[${name//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst')

declare -A loaded=()
order=()
# add_module NAME: its dependencies first (from the module's own modinfo), then it.
add_module() {
  local name=${1//-/_} src dst deps dep
  [[ -n "${loaded[$name]:-}" ]] && return 0
  src=${modfile[$name]:-}
  if [[ -z "$src" ]]; then
    # built into this kernel (e.g. virtio on 6.12): nothing to load
    if ! grep -q "/${name}\.ko\$" <(sed 's/-/_/g' "$moddir/modules.builtin"); then
      echo "build-initramfs: module $1 is neither in $moddir/kernel nor built in" >&2
      exit 1
    fi
    loaded[$name]=builtin
    return 0
  fi
  dst="$work/mods/$name.ko"
  case "$src" in
    *.xz) xz -dc "$src" >"$dst" ;;
    *.zst) zstd -qdc "$src" >"$dst" ;;
    *) cp "$src" "$dst" ;;
  esac
  loaded[$name]=pending
  deps=$(tr '\0' '\n' <"$dst" | sed -n 's/^depends=//p' | head -n 1)
  for dep in ${deps//,/ }; do
    add_module "$dep"
  done
  cp "$dst" "$work/root/lib/modules/$name.ko"
  order+=("$name")
  loaded[$name]=yes
}

# sch_ingress and cls_bpf: hostflow attaches TC (clsact) programs on lo;
# veth: the privileged tests' network namespace topologies (test/helpers/netns.ts);
# virtio_net (with net_failover and failover, its depends=): the virtio line's
# NIC, which must refuse native XDP as a cloud VM's does (run.sh)
for m in virtio virtio_ring virtio_pci 9pnet 9pnet_virtio 9p sch_ingress cls_bpf veth virtio_net; do
  add_module "$m"
done
printf '%s\n' "${order[@]}" >"$work/root/modules.order"

(cd "$work/root" && find . | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "build-initramfs: $out (modules: ${order[*]:-none})" >&2
