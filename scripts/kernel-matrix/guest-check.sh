#!/usr/bin/env bash
# Runs inside the kernel matrix's guest (host root over 9p, read-only): for
# each connect-probe mode, starts hostflow on lo, runs the loopback workload,
# and checks the mode attached and the workload's conn records came out the
# same in every mode. One "HFMATRIX result ..." line per mode.
#   guest-check.sh REPO kprobe,fentry,tracepoint
set -euo pipefail

repo=$1
IFS=, read -r -a modes <<<"$2"
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
  # wait until hostflow traces (slow under TCG), or it died
  for _ in $(seq 1 600); do
    grep -q 'tracing;' "$log" 2>/dev/null && break
    kill -0 "$hf" 2>/dev/null || break
    sleep 0.2
  done
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
  fi
done
