#!/usr/bin/env bash
# Runs inside the kernel matrix's guest (host root over 9p, read-only): for
# each connect-probe mode, starts hostflow on lo, runs the loopback workload,
# and checks the mode attached and the workload's conn records came out the
# same in every mode. One "HFMATRIX result ..." line per mode.
# The mode "virtio" is the virtio line instead (virtio_check below): hostflow
# with its default interface, the virtio NIC, which refuses native XDP.
# Then, for each connect-probe mode, the privileged test files named in SUITE
# (names under dist/test/privileged, without .test.js) with CI=true and
# HOSTFLOW_TEST_CONNECT_PROBE=<mode>: one "HFMATRIX file ..." line per file
# and one "HFMATRIX suite ..." line per mode with the test counts.
#   guest-check.sh REPO kprobe,fentry,tracepoint,virtio [SUITE: records,pipeline,...]
# Environment: HF_MATRIX_VIRTIO=GUEST_CIDR,GATEWAY,PORT (from run.sh, for the
# virtio line: the guest's address, the namespace's and its peer's port)
set -euo pipefail

repo=$1
IFS=, read -r -a all_modes <<<"$2"
modes=()
virtio=no
for m in "${all_modes[@]}"; do
  if [[ $m == virtio ]]; then virtio=yes; else modes+=("$m"); fi
done
IFS=, read -r -a suite <<<"${3:-}"
file_timeout=${HF_MATRIX_FILE_TIMEOUT:-600}
here="$repo/scripts/kernel-matrix"
python=/usr/bin/python3
count=${HF_MATRIX_CONNECTIONS:-3}
out=/tmp/hf-matrix
mkdir -p "$out"
cd "$repo"

kver=$(uname -r)
btf=no
[[ -r /sys/kernel/btf/vmlinux ]] && btf=yes
echo "HFMATRIX guest: kernel $kver, btf $btf, node $(node --version)"

# diagnose: why hostflow could not start in the guest (hostflow prints one
# line; the addon's own error, memory and the kernel's last words say more).
diagnose() {
  local addon="$repo/addon/build/Release/hostflow.node"
  node -e 'require(process.argv[1])' "$addon" 2>&1 | grep -v '^$' | head -n 5 | sed 's/^/HFMATRIX diag require: /' || true
  free -m | sed 's/^/HFMATRIX diag free: /' || true
  dmesg | tail -n 8 | sed 's/^/HFMATRIX diag dmesg: /' || true
}

# wait_until_tracing LOG PID: until hostflow says it traces (slow under TCG),
# or it died; at most 120 s.
wait_until_tracing() {
  for _ in $(seq 1 600); do
    grep -q 'tracing;' "$1" 2>/dev/null && return
    kill -0 "$2" 2>/dev/null || return
    sleep 0.2
  done
}

first_sig=
port=${HF_MATRIX_PORT:-47100}  # the same for every mode: records must match exactly
for mode in "${modes[@]}"; do

  log="$out/$mode.err"
  recs="$out/$mode.jsonl"
  status=passed
  sig=
  why=
  seen=0
  start=$(date +%s)
  rm -f "$recs" "$log"  # hostflow -o appends
  node dist/src/cli.js --headless --connect-probe "$mode" -i lo -o "$recs" \
    --no-control --no-default-libc --duration 120 2>"$log" &
  hf=$!
  wait_until_tracing "$log" "$hf"
  if ! grep -q 'tracing;' "$log"; then
    status=failed
    why="hostflow did not start: $(grep -v '^$' "$log" | tail -n 3 | tr '\n' ' ')"
    kill -INT "$hf" 2>/dev/null || true
    wait "$hf" 2>/dev/null || true
  else
    "$python" "$here/workload.py" "$port" "$count" &
    wl=$!
    wait "$wl"
    sleep 1
    kill -INT "$hf"
    wait "$hf" || true
    attached=$(sed -n 's/^hostflow: connect probe: \([a-z]*\).*/\1/p' "$log" | head -n 1)
    if [[ "$attached" != "$mode" ]]; then
      status=failed
      why="attached '${attached:-nothing}' instead of $mode"
    fi
    # the socket hooks (cgroup programs on the cgroup2 root guest-init.sh mounts)
    # must load and attach on every kernel of the matrix
    hooks=$(sed -n 's/^hostflow: socket hooks: //p' "$log" | head -n 1)
    echo "HFMATRIX sockets kernel=$kver mode=$mode ${hooks:-no start line}"
    if [[ "$hooks" != "cgroup2 root /sys/fs/cgroup "* ]]; then
      status=failed
      why="${why:+$why; }socket hooks: ${hooks:-no start line}"
    fi
    if summary=$("$python" "$here/summarize.py" "$recs" "$wl" "$port" "$mode" 2>"$out/$mode.sum.err"); then
      seen=${summary%% *}
      sig=${summary#* }
      if [[ "$sig" != *"open=$count,close=$count"* ]]; then
        status=failed
        why="${why:+$why; }expected $count open and close records of the workload, got $sig"
      elif [[ -z "$first_sig" ]]; then
        first_sig=$sig
      elif [[ "$sig" != "$first_sig" ]]; then
        status=failed
        why="${why:+$why; }records differ from ${modes[0]}: $sig vs $first_sig"
      fi
    else
      seen=${summary%% *}
      status=failed
      why="${why:+$why; }$(cat "$out/$mode.sum.err")"
    fi
  fi
  if [[ -n "$sig" ]]; then echo "HFMATRIX sig kernel=$kver mode=$mode sig=$sig"; fi
  echo "HFMATRIX result kernel=$kver mode=$mode status=$status conn_records=$seen secs=$(($(date +%s) - start)) ${why:+why=$why}"
  if [[ $status == failed ]]; then
    sed 's/^/HFMATRIX log: /' "$log" | tail -n 20
    diagnose
  fi
done

# virtio_check: the virtio line. The guest's eth0 is a virtio-net-pci device
# whose host implements GRO_HW/CSUM and gives the guest no control of it
# (run.sh: vnet_hdr=on, ctrl_guest_offloads=off), as on most KVM cloud VMs:
# virtio_net refuses native XDP there. eth0 gets an address and the default
# route, and hostflow starts with no -i, so it picks eth0 itself; the check
# is that it started in generic XDP mode saying why, and that the workload's
# traffic to and from run.sh's namespace (virtio-traffic.py) comes out as
# conn records and as flow records on eth0, ingress and egress.
# One "HFMATRIX result ... mode=virtio" line and one "HFMATRIX virtio-bulk"
# line (packets of a bulk transfer as hostflow, the sender and the NIC count
# them); eth0 is taken down again after, for the privileged files.
virtio_check() {
  local cidr gateway port log="$out/virtio.err" recs="$out/virtio.jsonl" work="$out/virtio-workload.json"
  local status=passed why='' xdp=none conns=0 flows=0 bulk='' start hf='' driver='' features='' checked
  IFS=, read -r cidr gateway port <<<"${HF_MATRIX_VIRTIO:-}"
  start=$(date +%s)
  # virtio_fail REASON: the line fails, with REASON added to its why=
  virtio_fail() {
    status=failed
    why="${why:+$why; }$1"
  }
  if [[ -z "$port" ]]; then
    virtio_fail "no HF_MATRIX_VIRTIO from run.sh"
  elif [[ ! -e /sys/class/net/eth0 ]]; then
    virtio_fail "no eth0 (interfaces: $(echo /sys/class/net/*))"
  else
    driver=$(basename "$(readlink -f /sys/class/net/eth0/device/driver)")
    # virtio feature bits, negotiated: 1 GUEST_CSUM, 2 CTRL_GUEST_OFFLOADS, 7 GUEST_TSO4
    features=$(cat /sys/class/net/eth0/device/features 2>/dev/null || true)
    echo "HFMATRIX virtio log: eth0 driver $driver, virtio features $features"
    if [[ $driver != virtio_net ]]; then
      virtio_fail "eth0's driver is '$driver', not virtio_net"
    elif [[ ${features:1:1}${features:2:1}${features:7:1} != 101 ]]; then
      virtio_fail "eth0 does not refuse native XDP as the line needs: GUEST_CSUM, CTRL_GUEST_OFFLOADS, GUEST_TSO4 bits ${features:1:1}${features:2:1}${features:7:1}, want 101"
    fi
    if ! { ip link set eth0 up && ip addr add "$cidr" dev eth0 && ip route add default via "$gateway" dev eth0; } 2>"$out/virtio-ip.err"; then
      virtio_fail "could not give eth0 $cidr and the default route via $gateway: $(tail -n 1 "$out/virtio-ip.err")"
    fi
    if [[ $status == passed ]] && ! "$python" "$here/virtio-traffic.py" wait "$gateway" "$port" 60 2>"$out/virtio-wait.err"; then
      virtio_fail "$(tail -n 1 "$out/virtio-wait.err")"
    fi
  fi
  if [[ $status == passed ]]; then
    rm -f "$recs" "$log"
    node dist/src/cli.js --headless -o "$recs" --no-control --duration 600 --flow-interval 1 2>"$log" &
    hf=$!
    wait_until_tracing "$log" "$hf"
    xdp=$(sed -n 's/^hostflow: xdp on eth0: \([a-z]*\).*/\1/p' "$log" | head -n 1)
    grep '^hostflow: xdp on' "$log" | sed 's/^/HFMATRIX virtio log: /' || true
    # the kernel's own view of eth0 while hostflow runs: the XDP program and its mode
    ip -d link show eth0 | sed 's/^/HFMATRIX virtio log: /'
    if ! grep -q 'tracing;' "$log"; then
      virtio_fail "hostflow did not start: $(grep -v '^$' "$log" | tail -n 3 | tr '\n' ' ')"
    elif ! grep -q '^hostflow: xdp on eth0: generic (native refused by virtio_net' "$log"; then
      virtio_fail "start line: '$(grep '^hostflow: xdp on' "$log" | tr '\n' ' ')', want 'xdp on eth0: generic (native refused by virtio_net...'"
    elif ! ip -d link show eth0 | grep -q 'xdpgeneric'; then
      virtio_fail "ip link shows no generic XDP program on eth0"
    fi
  fi
  if [[ -n "$hf" ]] && kill -0 "$hf" 2>/dev/null; then
    if "$python" "$here/virtio-traffic.py" run "$gateway" "$port" eth0 >"$work" 2>"$out/virtio-run.err"; then
      # flow records come each --flow-interval: wait for all of them, then stop
      for _ in $(seq 1 120); do
        "$python" "$here/virtio-check.py" "$recs" "$work" eth0 >/dev/null 2>&1 && break
        sleep 0.5
      done
    else
      virtio_fail "workload: $(tail -n 1 "$out/virtio-run.err")"
    fi
    kill -INT "$hf"
    wait "$hf" || true
    if [[ -s "$work" ]]; then
      checked=$("$python" "$here/virtio-check.py" "$recs" "$work" eth0 2>"$out/virtio-check.err") ||
        virtio_fail "$(cat "$out/virtio-check.err")"
      read -r conns flows bulk <<<"$checked"
    fi
  elif [[ -n "$hf" ]]; then
    wait "$hf" || true
  fi
  if [[ -n "$bulk" ]]; then echo "HFMATRIX virtio-bulk kernel=$kver xdp=${xdp:-none} $bulk"; fi
  echo "HFMATRIX result kernel=$kver mode=virtio status=$status xdp=${xdp:-none} conn_records=$conns flow_records=$flows secs=$(($(date +%s) - start)) ${why:+why=$why}"
  if [[ $status == failed ]]; then
    sed 's/^/HFMATRIX log: /' "$log" 2>/dev/null | tail -n 20
    diagnose
  fi
  # eth0 as it was before the line: the privileged files ran without it
  ip route del default via "$gateway" dev eth0 2>/dev/null || true
  ip addr flush dev eth0 2>/dev/null || true
  ip link set eth0 down 2>/dev/null || true
}
if [[ $virtio == yes ]]; then virtio_check; fi

# count NAME TAPFILE: the last "# NAME N" of node's tap output, 0 when absent.
count() {
  local n
  n=$(sed -n "s/^# $1 \([0-9]\+\)$/\1/p" "$2" | tail -n 1)
  echo "${n:-0}"
}

# The privileged files, one node --test run per file (a file that hangs is
# killed alone and counted as failed), in each mode.
for mode in "${modes[@]}"; do
  [[ ${#suite[@]} -gt 0 ]] || break
  pass=0 fail=0 skip=0 broken=()
  start=$(date +%s)
  for name in "${suite[@]}"; do
    file="dist/test/privileged/$name.test.js"
    tap="$out/suite-$mode-$name.tap"
    file_start=$(date +%s)
    rc=0
    if [[ -f "$file" ]]; then
      CI=true HOSTFLOW_TEST_CONNECT_PROBE=$mode HOSTFLOW_TEST_REORDER_WINDOW_MS=2000 timeout --kill-after=10 "$file_timeout" \
        node --test --test-concurrency=1 --test-reporter=tap "$file" >"$tap" 2>&1 || rc=$?
    else
      echo "# fail 1 (no $file: build first)" >"$tap"
      rc=1
    fi
    # cancelled tests (a before hook that threw) did not pass: they count as failed
    p=$(count pass "$tap") f=$(($(count fail "$tap") + $(count cancelled "$tap"))) k=$(count skipped "$tap")
    # a file that crashed, hung or was killed fails even if no test reported failing
    if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
    pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + k))
    echo "HFMATRIX file kernel=$kver mode=$mode file=$name pass=$p fail=$f skipped=$k exit=$rc secs=$(($(date +%s) - file_start))"
    if [[ $f -ne 0 ]]; then
      broken+=("$name")
      # the failing tests and why, not the whole log: the console is a serial port
      # tests cancelled by their parent repeat the parent's failure: left out
      awk '
        function flush() { if (buf != "" && buf !~ /cancelledByParent/) printf "%s", buf; buf = "" }
        /^ *not ok /{ flush(); keep = 1 }
        /^ *stack:/{ keep = 0 }
        /^ *(ok|# Subtest:) |^ *[0-9]+\.\.[0-9]+$/{ keep = 0 }
        keep && !/^ *(---|\.\.\.)$|^ *(duration_ms|location):/{ buf = buf $0 "\n" }
        END{ flush() }' "$tap" |
        head -n 60 | sed "s/^/HFMATRIX log $mode $name: /" || true
      if [[ $rc -eq 124 || $rc -eq 137 ]]; then echo "HFMATRIX log $mode $name: killed after ${file_timeout}s"; fi
      if grep -q 'native addon could not be loaded' "$tap"; then diagnose; fi
    fi
  done
  echo "HFMATRIX suite kernel=$kver mode=$mode pass=$pass fail=$fail skipped=$skip files=${#suite[@]} secs=$(($(date +%s) - start))${broken[*]:+ failed_files=${broken[*]}}"
done
