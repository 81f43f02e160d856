#!/usr/bin/env bash
# npm run test:kernels: boots Debian's own kernels under qemu-system-x86_64
# (KVM when it works, else TCG software emulation) with an initramfs built
# here, the host root read-only over virtio-9p, and runs guest-check.sh in
# each: hostflow with --connect-probe kprobe, fentry, tracepoint on a loopback
# workload. One line per kernel and mode; exit 1 on any failure.
#
# Environment:
#   HF_MATRIX_KERNELS  kernel image packages (default: what linux-image-amd64
#                      and linux-image-6.12-amd64 depend on in apt's sources)
#   HF_MATRIX_MODES    default kprobe,fentry,tracepoint
#   HF_MATRIX_CACHE    where .debs and extracted kernels are cached
#                      (default: build/kernels, gitignored)
#   HF_MATRIX_ACCEL    qemu -accel list, default tcg; "kvm tcg" tries KVM first (KVM fails on these machines)
#   HF_MATRIX_TIMEOUT  seconds per kernel boot (default 420)
set -euo pipefail
exec </dev/null

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${HF_MATRIX_CACHE:-$repo/build/kernels}
modes=${HF_MATRIX_MODES:-kprobe,fentry,tracepoint}
timeout_s=${HF_MATRIX_TIMEOUT:-420}
read -r -a accels <<<"${HF_MATRIX_ACCEL:-tcg}"
started=$(date +%s)

for tool in qemu-system-x86_64 apt-get dpkg-deb xz file; do
  command -v "$tool" >/dev/null || { echo "test:kernels: $tool missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
[[ -f "$repo/dist/src/cli.js" && -f "$repo/build/bpf/hostflow.bpf.o" ]] || {
  echo "test:kernels: build first (npm run build)" >&2
  exit 1
}

# The image package a meta-package depends on, if apt knows the meta-package.
resolve() {
  apt-cache depends "$1" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1
}
if [[ -n "${HF_MATRIX_KERNELS:-}" ]]; then
  read -r -a kernels <<<"$HF_MATRIX_KERNELS"
else
  kernels=()
  for meta in linux-image-amd64 linux-image-6.12-amd64; do
    pkg=$(resolve "$meta")
    if [[ -n "$pkg" ]]; then
      kernels+=("$pkg")
    else
      echo "test:kernels: $meta is not in apt's sources here; skipping it" >&2
    fi
  done
fi
[[ ${#kernels[@]} -gt 0 ]] || { echo "test:kernels: no kernel packages found" >&2; exit 1; }

mkdir -p "$cache"
accel_args=()
for a in "${accels[@]}"; do
  if [[ $a == kvm && ! -w /dev/kvm ]]; then continue; fi
  accel_args+=(-accel "$a")
done

IFS=, read -r -a mode_list <<<"$modes"
failures=0
first_sig=
first_from=
for pkg in "${kernels[@]}"; do
  kver=${pkg#linux-image-}
  deb=$(compgen -G "$cache/${pkg}_*.deb" | head -n 1 || true)
  if [[ -z "$deb" ]]; then
    (cd "$cache" && apt-get download "$pkg" 2>&1 | grep -v 'unsandboxed' >&2) || true
    deb=$(compgen -G "$cache/${pkg}_*.deb" | head -n 1 || true)
  fi
  if [[ -z "$deb" ]]; then
    for mode in "${mode_list[@]}"; do
      printf 'kernel %-24s %-10s failed: apt-get download %s failed\n' "$kver" "$mode" "$pkg"
    done
    failures=$((failures + 1))
    continue
  fi
  pkgdir="$cache/x-$kver"
  if [[ ! -f "$pkgdir/.extracted" ]]; then
    rm -rf "$pkgdir"
    dpkg-deb -x "$deb" "$pkgdir"
    touch "$pkgdir/.extracted"
  fi
  initrd="$cache/initrd-$kver.cpio.gz"
  bash "$here/build-initramfs.sh" "$pkgdir" "$kver" "$initrd"
  log="$cache/console-$kver.log"
  boot_start=$(date +%s)
  rc=0
  timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
    "${accel_args[@]}" -cpu max -smp 2 -m 2048 \
    -nodefaults -display none -no-reboot -serial stdio -monitor none \
    -kernel "$pkgdir/boot/vmlinuz-$kver" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3 hf.repo=$repo hf.modes=$modes" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
    >"$log" 2>&1 || rc=$?
  boot_secs=$(($(date +%s) - boot_start))
  tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
  for mode in "${mode_list[@]}"; do
    line=$(grep -a "^HFMATRIX result kernel=$kver mode=$mode " "$log" | tail -n 1 || true)
    if [[ -z "$line" ]]; then
      why="no result (qemu exit $rc after ${boot_secs}s); console: $log"
      printf 'kernel %-24s %-10s failed: %s\n' "$kver" "$mode" "$why"
      failures=$((failures + 1))
      continue
    fi
    status=$(sed -n 's/.* status=\([a-z]*\).*/\1/p' <<<"$line")
    seen=$(sed -n 's/.* conn_records=\([0-9]*\).*/\1/p' <<<"$line")
    secs=$(sed -n 's/.* secs=\([0-9]*\).*/\1/p' <<<"$line")
    why=$(sed -n 's/.* why=//p' <<<"$line")
    printf 'kernel %-24s %-10s %s (%s conn records, %ss)%s\n' "$kver" "$mode" "$status" "$seen" "$secs" "${why:+: $why}"
    [[ $status == passed ]] || failures=$((failures + 1))
    sig=$(grep -a "^HFMATRIX sig kernel=$kver mode=$mode " "$log" | tail -n 1 | sed 's/.* sig=//' || true)
    if [[ $status == passed && -n "$sig" ]]; then
      if [[ -z "$first_sig" ]]; then
        first_sig=$sig
        first_from="$kver $mode"
      elif [[ "$sig" != "$first_sig" ]]; then
        printf 'kernel %-24s %-10s failed: records differ from %s: %s vs %s\n' "$kver" "$mode" "$first_from" "$sig" "$first_sig"
        failures=$((failures + 1))
      fi
    fi
  done
  echo "kernel $kver: guest ran ${boot_secs}s (${accel_args[*]:-default accel}; console: $log)" >&2
done

echo "test:kernels: $failures failure(s), $(($(date +%s) - started))s in all"
[[ $failures -eq 0 ]]
