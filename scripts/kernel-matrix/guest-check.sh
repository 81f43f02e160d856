#!/usr/bin/env bash
# Runs inside the kernel matrix's guest (host root over 9p, read-only): for
# each connect-probe mode, starts hostflow on lo, runs the loopback workload,
# and checks the mode attached and the workload's conn records came out the
# same in every mode. One "HFMATRIX result ..." line per mode.
# Then, for each mode, the privileged test files named in SUITE (names under
# dist/test/privileged, without .test.js) with CI=true and
# HOSTFLOW_TEST_CONNECT_PROBE=<mode>: one "HFMATRIX file ..." line per file
# and one "HFMATRIX suite ..." line per mode with the test counts.
#   guest-check.sh REPO kprobe,fentry,tracepoint [SUITE: records,pipeline,...]
set -euo pipefail

repo=$1
IFS=, read -r -a modes <<<"$2"
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
    diagnose
  fi
done

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
