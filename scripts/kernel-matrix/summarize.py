#!/usr/bin/env python3
"""Summarises one hostflow run of the kernel matrix: the outgoing conn
records of the workload (pid, comm, daddr, dport, bytes) as a signature that
must be the same for every connect-probe mode.
  summarize.py RECORDS.jsonl WORKLOAD_PID PORT MODE
Prints: <records seen> <signature>; exits 1 when a record is missing or off."""
import json
import sys

path, pid, port, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conns = []
with open(path) as f:
    for line in f:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("type") == "conn":
            conns.append(rec)

mine = [r for r in conns if r.get("direction") == "out" and r.get("dport") == port]
problems = []
sig = []
for r in mine:
    if r.get("probe") != mode:
        problems.append(f"probe {r.get('probe')} != {mode}")
    if r.get("pid") != pid:
        problems.append(f"pid {r.get('pid')} != {pid}")
    if r.get("event") == "close":
        sig.append(f"{r.get('comm')}>{r.get('daddr')}:{r.get('dport')}/{r.get('bytes_sent')}/{r.get('bytes_received')}")
opens = sum(1 for r in mine if r.get("event") == "open")
sig.sort()
print(f"{len(conns)} open={opens},close={len(sig)}:{';'.join(sorted(set(sig)))}x{len(sig)}")
if problems:
    print("problems: " + "; ".join(sorted(set(problems))), file=sys.stderr)
    sys.exit(1)
