#!/usr/bin/env python3
"""Checks hostflow's records of the virtio line's workload (virtio-traffic.py
run): every TCP connection has its open and close conn records with the exact
payload bytes, and every connection and the UDP exchange have flow records on
IFACE in both directions (egress from the guest's address and port, ingress
to them) whose counts can be that traffic.
  virtio-check.py RECORDS.jsonl WORKLOAD.json IFACE
Prints "<conn records> <flow records> <bulk summary>" of the workload's
records; exits 1, saying what is missing or off on stderr, unless all is there.
"""
import json
import sys

SYN, FIN = 0x02, 0x01
IPV4_UDP_HEADERS = 28
MAX_SHOWN = 5

path, workload_path, iface = sys.argv[1:4]
with open(workload_path) as f:
    workload = json.load(f)
records = []
with open(path) as f:
    for line in f:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue


def tuple_of(r):
    return (r.get("saddr"), r.get("sport"), r.get("daddr"), r.get("dport"))


def reverse(t):
    return (t[2], t[3], t[0], t[1])


def show(t):
    return f"{t[0]}:{t[1]}>{t[2]}:{t[3]}"


problems = []
conns = {}
flows = {}  # (direction, proto, tuple) -> summed counters
flow_records = 0
mine = set()
for c in workload["tcp_out"] + workload["tcp_in"]:
    mine.add(("tcp", tuple_of(c)))
    mine.add(("tcp", reverse(tuple_of(c))))
for u in workload["udp"]:
    mine.add(("udp", tuple_of(u)))
    mine.add(("udp", reverse(tuple_of(u))))

for r in records:
    if r.get("type") == "conn" and ("tcp", tuple_of(r)) in mine:
        conns.setdefault(tuple_of(r), []).append(r)
    elif r.get("type") == "flow" and (r.get("proto"), tuple_of(r)) in mine:
        flow_records += 1
        if r.get("iface") != iface:
            problems.append(f"{r.get('direction')} {r.get('proto')} flow {show(tuple_of(r))} on {r.get('iface')}, not {iface}")
        key = (r.get("direction"), r.get("proto"), tuple_of(r))
        total = flows.setdefault(key, {"packets": 0, "bytes": 0, "tcp_flags": 0})
        total["packets"] += r.get("packets") or 0
        total["bytes"] += r.get("bytes") or 0
        total["tcp_flags"] |= r.get("tcp_flags") or 0


for direction, expected in (("out", workload["tcp_out"]), ("in", workload["tcp_in"])):
    for c in expected:
        t = tuple_of(c)
        got = conns.get(t, [])
        events = {r.get("event") for r in got}
        if "open" not in events or "close" not in events:
            problems.append(f"conn {direction} {show(t)}: events {sorted(events) or 'none'}, want open and close")
        for r in got:
            if r.get("direction") != direction:
                problems.append(f"conn {show(t)}: direction {r.get('direction')}, want {direction}")
            if r.get("event") == "close":
                sent, received = r.get("bytes_sent"), r.get("bytes_received")
                if (sent, received) != (c["sent"], c["received"]):
                    problems.append(f"conn {direction} {show(t)}: bytes {sent}/{received}, want {c['sent']}/{c['received']}")
        # egress carries what the guest sent, ingress what it received; IP bytes are more than the payload
        for flow_dir, ft, payload in (("egress", t, c["sent"]), ("ingress", reverse(t), c["received"])):
            total = flows.get((flow_dir, "tcp", ft))
            if total is None:
                problems.append(f"no {flow_dir} tcp flow {show(ft)}")
            elif total["bytes"] <= payload or not total["tcp_flags"] & SYN or not total["tcp_flags"] & FIN:
                problems.append(f"{flow_dir} tcp flow {show(ft)}: {total['packets']} packets, {total['bytes']} bytes, "
                                f"flags {total['tcp_flags']:#x}; want more than {payload} bytes, SYN and FIN")

for u in workload["udp"]:
    t = tuple_of(u)
    for flow_dir, ft, count, size in (("egress", t, u["sent"], u["request"]), ("ingress", reverse(t), u["received"], u["answer"])):
        total = flows.get((flow_dir, "udp", ft))
        want = (count, count * (size + IPV4_UDP_HEADERS))
        if total is None:
            problems.append(f"no {flow_dir} udp flow {show(ft)}")
        elif (total["packets"], total["bytes"]) != want:
            problems.append(f"{flow_dir} udp flow {show(ft)}: {total['packets']} packets, {total['bytes']} bytes; want {want[0]}, {want[1]}")

bulk = workload["bulk"]
seen = flows.get(("ingress", "tcp", reverse(tuple_of(bulk))), {"packets": 0, "bytes": 0})
summary = (f"bulk_bytes={bulk['bytes']} hostflow_packets={seen['packets']} hostflow_bytes={seen['bytes']} "
           f"sender_segs={bulk['sender_segs']} tap_packets={bulk['tap_packets']} tap_bytes={bulk['tap_bytes']} "
           f"nic_rx_packets={bulk['nic_rx_packets']} nic_rx_bytes={bulk['nic_rx_bytes']}")
print(f"{sum(len(v) for v in conns.values())} {flow_records} {summary}")
if problems:
    # the first few: the reason ends up on one line of the matrix's output
    shown = problems[:MAX_SHOWN] + ([f"and {len(problems) - MAX_SHOWN} more"] if len(problems) > MAX_SHOWN else [])
    print("; ".join(shown), file=sys.stderr)
    sys.exit(1)
