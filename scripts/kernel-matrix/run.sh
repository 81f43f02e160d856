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
# The mode "virtio" (issue 13) is one more line per kernel: the guest gets a
# virtio-net-pci NIC whose host implements GRO_HW/CSUM and gives the guest no
# way to turn that off (tap with vnet_hdr=on, ctrl_guest_offloads=off), the
# state in which virtio_net refuses native XDP, as on most KVM cloud VMs.
# The tap is in a network namespace this script creates (random name
# hfvm-XXXXXXXX, 10.214.0.1/24 on the tap, the peer virtio-traffic.py on that
# address) and qemu runs in it, so the guest (10.214.0.2, default route via
# .1) exchanges traffic with that namespace and nothing else. The guest
# starts hostflow with no -i, so it takes the default route's interface, and
# the line asserts: eth0 is virtio_net in that state (virtio feature bits),
# hostflow said "xdp on eth0: generic (native refused by virtio_net...",
# ip link shows xdpgeneric on eth0, and TCP both ways and UDP with the peer
# came out as conn records (exact bytes) and flow records on eth0, ingress
# and egress (virtio-check.py). About 10 to 25 s per kernel under TCG. The
# namespace is recorded in /run/hostflow-matrix (this script's pid and start
# time) before it exists and removed on every exit, Ctrl-C included; one left
# by a run killed with SIGKILL is swept by the next run (its qemu with it).
# HF_MATRIX_MODES=virtio runs only this line (no privileged files then).
#
# The files (HF_MATRIX_SUITE's default) are the ones whose assertions are on
# what the connect probe produces, the conn records:
#   pipeline  connect to close over IPv4 and IPv6: pid, comm, addresses,
#             probe, connect latency, exact bytes
#   records   every naming rule of conn records, in and out
#   tcplife   conn records against libbpf-tools tcplife, byte for byte
#   socket-hooks  the cgroup socket hooks: DNS, UDP conversations, QUIC
#             and process parents through the Tracer (the guest mounts
#             cgroup2 for them; each mode's start line must say they attached)
#   lifecycle-sweep  the close of a socket no probe saw end, written by the
#             sweep from socket memory read through CO-RE, and live sockets
#             left alone (the same in every mode: it is cheap)
# With these the matrix takes 8 to 10 minutes (472 s and 583 s measured for
# 2 kernels x 3 modes, boots included, on a shared 2-CPU machine; with the
# virtio line 502 s, 9 s and 11 s of it, and 834 s under a load above 4).
# The whole privileged suite takes about
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
#   HF_MATRIX_MODES    default kprobe,fentry,tracepoint,virtio; the connect
#                      probe modes and the virtio line, in any subset
#                      (virtio alone while working on it)
#   HF_MATRIX_CACHE    where .debs and extracted kernels are cached
#                      (default: build/kernels, gitignored)
#   HF_MATRIX_ACCEL    qemu -accel list, default tcg; "kvm tcg" tries KVM first (KVM fails on these machines)
#   HF_MATRIX_SUITE    privileged files to run in each mode, comma-separated
#                      names under test/privileged without .test.ts (default
#                      pipeline,records,tcplife,socket-hooks; "all" for every file, "none"
#                      for the workload check only)
#   HF_MATRIX_TIMEOUT  seconds per kernel boot (default 1500)
#   HF_MATRIX_FILE_TIMEOUT  seconds per test file in the guest (default 600)
set -euo pipefail
exec </dev/null

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${HF_MATRIX_CACHE:-$repo/build/kernels}
default_suite=pipeline,records,tcplife,socket-hooks,lifecycle-sweep
modes=${HF_MATRIX_MODES:-kprobe,fentry,tracepoint,virtio}
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
# The guest mounts a tmpfs on /etc/netns for the privileged files' resolvers
# (test/helpers/netns.ts), and can only where the folder exists on the
# read-only host root; it does once the suite has run on the host, not on a
# fresh machine.
if [[ -n "$suite" ]]; then mkdir -p /etc/netns; fi
accel_args=()
for a in "${accels[@]}"; do
  if [[ $a == kvm && ! -w /dev/kvm ]]; then continue; fi
  accel_args+=(-accel "$a")
done

IFS=, read -r -a mode_list <<<"$modes"

# The virtio line's network: a namespace with a random name holding a tap
# (vnet_hdr, so qemu offers the guest GUEST_CSUM/TSO4/TSO6) with
# $virtio_subnet.1/24 on it and the peer (virtio-traffic.py serve) on that
# address; qemu runs in the namespace, so the guest's NIC reaches that tap and
# nothing else. The subnet is outside the privileged tests' 10.213.0.0/16
# (test/helpers/netns.ts). The namespace is recorded in $virtio_state (this
# script's pid and start time) before it exists, removed on every exit, and
# one left by a killed run is swept by the next.
virtio_subnet=10.214.0
virtio_port=47200
virtio_tap=hfvm0
virtio_state=/run/hostflow-matrix
virtio_ns=
virtio_error=
virtio_peer=
qemu_job=
guest_modes=$modes

# start_time PID: the process's start time (clock ticks since boot), empty when it is gone.
start_time() {
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

remove_netns() {
  local pid
  for pid in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip -n "$1" link del "$virtio_tap" 2>/dev/null || true
  ip netns del "$1" 2>/dev/null || true
  rm -f "$virtio_state/$1.pid"
}

# Namespaces of runs that no longer run (their pid is gone or is another process now).
sweep_netns() {
  local file pid when
  for file in "$virtio_state"/hfvm-*.pid; do
    [[ -e "$file" ]] || continue
    read -r pid when <"$file" || true
    if [[ -n "${pid:-}" && -n "$(start_time "$pid")" && "$(start_time "$pid")" == "${when:-}" ]]; then continue; fi
    echo "test:kernels: removing $(basename "$file" .pid), left by a run that is gone" >&2
    remove_netns "$(basename "$file" .pid)"
  done
}

cleanup() {
  if [[ -n "$qemu_job" ]]; then
    # timeout passes TERM on to qemu, which stops at once
    kill -TERM "$qemu_job" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$qemu_job" 2>/dev/null || break
      sleep 0.1
    done
    { kill -KILL "$qemu_job" && wait "$qemu_job"; } 2>/dev/null || true
  fi
  if [[ -n "$virtio_ns" ]]; then remove_netns "$virtio_ns"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

setup_virtio() {
  if [[ ! -c /dev/net/tun ]]; then
    virtio_error="no /dev/net/tun for the guest's tap"
    return
  fi
  if [[ ! -x /usr/bin/python3 ]]; then
    virtio_error="no /usr/bin/python3 for the peer"
    return
  fi
  mkdir -p "$virtio_state"
  sweep_netns
  virtio_ns=hfvm-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  echo "$$ $(start_time $$)" >"$virtio_state/$virtio_ns.pid"
  if ! {
    ip netns add "$virtio_ns" &&
      ip -n "$virtio_ns" link set lo up &&
      ip -n "$virtio_ns" tuntap add dev "$virtio_tap" mode tap vnet_hdr &&
      ip -n "$virtio_ns" addr add "$virtio_subnet.1/24" dev "$virtio_tap" &&
      ip -n "$virtio_ns" link set "$virtio_tap" up
  } 2>"$cache/virtio-netns.err"; then
    virtio_error="could not set up namespace $virtio_ns: $(tail -n 1 "$cache/virtio-netns.err")"
    return
  fi
  virtio_peer="$cache/virtio-peer.log"
  ip netns exec "$virtio_ns" /usr/bin/python3 "$here/virtio-traffic.py" serve "$virtio_subnet.1" "$virtio_port" "$virtio_tap" \
    >"$virtio_peer" 2>&1 &
  disown  # killed with the namespace, by cleanup: no job message then
}

virtio=no
for mode in "${mode_list[@]}"; do
  [[ $mode == virtio ]] && virtio=yes
done
if [[ $virtio == yes ]]; then
  setup_virtio
  if [[ -n "$virtio_error" ]]; then
    # the other lines still run; the virtio line fails with this reason
    guest_modes=$(tr , '\n' <<<"$modes" | grep -vx virtio | paste -sd, - || true)
  fi
fi

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
  in_netns=()
  net_args=()
  append="console=ttyS0 panic=-1 quiet loglevel=3 hf.repo=$repo hf.modes=$guest_modes hf.suite=$suite hf.file_timeout=${HF_MATRIX_FILE_TIMEOUT:-600}"
  if [[ $virtio == yes && -z "$virtio_error" ]]; then
    # the host implements GRO_HW/CSUM (vnet_hdr: guest_csum, guest_tso4/6 are
    # offered) and the guest cannot turn it off (ctrl_guest_offloads=off):
    # virtio_net refuses native XDP, as on most KVM cloud VMs
    in_netns=(ip netns exec "$virtio_ns")
    net_args=(-netdev "tap,id=hfnet,ifname=$virtio_tap,script=no,downscript=no,vnet_hdr=on"
      -device "virtio-net-pci,netdev=hfnet,ctrl_guest_offloads=off,romfile=")
    append+=" hf.virtio=$virtio_subnet.2/24,$virtio_subnet.1,$virtio_port"
  fi
  if [[ -n "$guest_modes" ]]; then
    # in the background: a signal to this script is handled (cleanup) while it waits
    "${in_netns[@]}" timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
      "${accel_args[@]}" -cpu max -smp 2 -m 2048 \
      -nodefaults -display none -no-reboot -serial stdio -monitor none \
      -kernel "$pkgdir/boot/vmlinuz-$kver" -initrd "$initrd" -append "$append" \
      -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
      "${net_args[@]}" >"$log" 2>&1 &
    qemu_job=$!
    wait "$qemu_job" || rc=$?
    qemu_job=
  else
    : >"$log"
  fi
  boot_secs=$(($(date +%s) - boot_start))
  tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
  for mode in "${mode_list[@]}"; do
    line=$(grep -a "^HFMATRIX result kernel=$kver mode=$mode " "$log" | tail -n 1 || true)
    if [[ $mode == virtio ]]; then
      if [[ -n "$virtio_error" ]]; then
        printf 'kernel %-24s %-10s failed: %s\n' "$kver" "$mode" "$virtio_error"
      elif [[ -z "$line" ]]; then
        printf 'kernel %-24s %-10s failed: no result (qemu exit %s after %ss); console: %s; peer: %s\n' "$kver" "$mode" "$rc" "$boot_secs" "$log" "$virtio_peer"
      else
        why=$(sed -n 's/.* why=//p' <<<"$line")
        line=${line%% why=*}
        printf 'kernel %-24s %-10s %s (xdp %s on eth0, %s conn and %s flow records, %ss)%s\n' "$kver" "$mode" \
          "$(field "$line" status)" "$(field "$line" xdp)" "$(field "$line" conn_records)" "$(field "$line" flow_records)" \
          "$(field "$line" secs)" "${why:+: $why; console: $log}"
        bulk=$(grep -a "^HFMATRIX virtio-bulk kernel=$kver " "$log" | tail -n 1 | sed 's/^HFMATRIX virtio-bulk kernel=[^ ]* //' || true)
        if [[ -n "$bulk" ]]; then echo "kernel $kver: virtio bulk transfer to the guest: $bulk" >&2; fi
        [[ $(field "$line" status) == passed ]] && continue
      fi
      failures=$((failures + 1))
      continue
    fi
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
