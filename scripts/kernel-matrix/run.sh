#!/usr/bin/env bash
# npm run test:kernels: boots Debian's own kernels under qemu-system-x86_64
# (KVM when it works, else TCG software emulation) with an initramfs built
# here, the host root read-only over virtio-9p, and runs guest-check.sh in
# each: hostflow with --connect-probe kprobe, fentry, tracepoint on a loopback
# workload (the mode attached, the same conn records in every mode), then, in
# each mode, privileged test files with CI=true and
# HOSTFLOW_TEST_CONNECT_PROBE=<mode> (test/helpers/connect-probe.ts: every
# hostflow and Tracer those tests start uses that mode, and they expect it in
# the records). One line per kernel and mode with the conn records of the
# workload and the files' test counts; exit 1 on any failure, a failing or
# hanging test file included.
#
# The files (HF_MATRIX_SUITE's default) are the ones whose assertions are on
# what the connect probe produces, the conn records:
#   pipeline  connect to close over IPv4 and IPv6: pid, comm, addresses,
#             probe, connect latency, exact bytes
#   records   every naming rule of conn records, in and out
#   tcplife   conn records against libbpf-tools tcplife, byte for byte
# With these the matrix takes 8 to 10 minutes (472 s and 583 s measured for
# 2 kernels x 3 modes, boots included, on a shared 2-CPU machine). The whole privileged suite takes about
# 14 minutes per mode under TCG (818 s for 16 files on 6.1), six times over
# the matrix's budget, and the other files do not depend on the connect probe:
#   addon        the native addon's own test programs, not the Tracer
#   blocklist, block-host, capture, control, ctl-cli
#                XDP/TC packets, the blocklist, pcap and the control socket
#   libc         getaddrinfo uprobes (dns records)
#   storage-cli  the bucket holds the JSON output, whatever wrote it
#   topology     the netns test helpers, no hostflow
#   ui           rendering in tmux
#   unresolved, wire-names
#                names from DNS, SNI and HTTP, not connect-time fields
#   cli          the forced mode attaching is what guest-check.sh asserts; its
#                SIGKILL test fails on 6.1 whatever the mode (no tcx there:
#                the netlink TC filter keeps flow_tc loaded)
# Every file honours HOSTFLOW_TEST_CONNECT_PROBE (the helpers that start
# hostflow or a Tracer read it), so HF_MATRIX_SUITE=all (with a larger
# HF_MATRIX_TIMEOUT) runs them all in each mode; on 6.1 with kprobe that gave
# 100 passed, 6 failed: addon (expects tcx), cli (above), control (50
# concurrent ctl clients) and libc, none of them about the connect probe.
#
# Environment:
#   HF_MATRIX_KERNELS  kernel image packages (default: what linux-image-amd64
#                      and linux-image-6.12-amd64 depend on in apt's sources)
#   HF_MATRIX_MODES    default kprobe,fentry,tracepoint
#   HF_MATRIX_CACHE    where .debs and extracted kernels are cached
#                      (default: build/kernels, gitignored)
#   HF_MATRIX_ACCEL    qemu -accel list, default tcg; "kvm tcg" tries KVM first (KVM fails on these machines)
#   HF_MATRIX_SUITE    privileged files to run in each mode, comma-separated
#                      names under test/privileged without .test.ts (default
#                      pipeline,records,tcplife; "all" for every file, "none"
#                      for the workload check only)
#   HF_MATRIX_TIMEOUT  seconds per kernel boot (default 1500)
#   HF_MATRIX_FILE_TIMEOUT  seconds per test file in the guest (default 600)
set -euo pipefail
exec </dev/null

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${HF_MATRIX_CACHE:-$repo/build/kernels}
default_suite=pipeline,records,tcplife
modes=${HF_MATRIX_MODES:-kprobe,fentry,tracepoint}
suite=${HF_MATRIX_SUITE:-$default_suite}
[[ $suite == none ]] && suite=
if [[ $suite == all ]]; then
  suite=$(cd "$repo/test/privileged" && find . -maxdepth 1 -name '*.test.ts' | sed 's|^\./||; s|\.test\.ts$||' | sort | paste -sd, -)
fi
timeout_s=${HF_MATRIX_TIMEOUT:-1500}
read -r -a accels <<<"${HF_MATRIX_ACCEL:-tcg}"
started=$(date +%s)

for tool in qemu-system-x86_64 apt-get dpkg-deb xz file; do
  command -v "$tool" >/dev/null || { echo "test:kernels: $tool missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
[[ -f "$repo/dist/src/cli.js" && -f "$repo/build/bpf/hostflow.bpf.o" ]] || {
  echo "test:kernels: build first (npm run build)" >&2
  exit 1
}

# field LINE NAME: the value of NAME=... in an HFMATRIX line.
field() {
  sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
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
    -append "console=ttyS0 panic=-1 quiet loglevel=3 hf.repo=$repo hf.modes=$modes hf.suite=$suite hf.file_timeout=${HF_MATRIX_FILE_TIMEOUT:-600}" \
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
    check_status=$status # the workload check's own, for the cross-kernel comparison
    seen=$(sed -n 's/.* conn_records=\([0-9]*\).*/\1/p' <<<"$line")
    secs=$(sed -n 's/.* secs=\([0-9]*\).*/\1/p' <<<"$line")
    why=$(sed -n 's/.* why=//p' <<<"$line")
    tests=
    if [[ -n "$suite" ]]; then
      sline=$(grep -a "^HFMATRIX suite kernel=$kver mode=$mode " "$log" | tail -n 1 || true)
      if [[ -z "$sline" ]]; then
        status=failed
        tests="; tests: no result (qemu exit $rc after ${boot_secs}s)"
        why="${why:+$why; }the privileged files did not finish; console: $log"
      else
        tests="; tests $(field "$sline" pass) passed, $(field "$sline" fail) failed, $(field "$sline" skipped) skipped in $(field "$sline" files) files, $(field "$sline" secs)s"
        if [[ $(field "$sline" fail) != 0 ]]; then
          status=failed
          why="${why:+$why; }failing files: $(sed -n 's/.* failed_files=//p' <<<"$sline"); console: $log"
        fi
      fi
    fi
    printf 'kernel %-24s %-10s %s (%s conn records, %ss%s)%s\n' "$kver" "$mode" "$status" "$seen" "$secs" "$tests" "${why:+: $why}"
    [[ $status == passed ]] || failures=$((failures + 1))
    sig=$(grep -a "^HFMATRIX sig kernel=$kver mode=$mode " "$log" | tail -n 1 | sed 's/.* sig=//' || true)
    if [[ $check_status == passed && -n "$sig" ]]; then
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
