#!/usr/bin/env python3
"""Traffic of the kernel matrix's virtio line, between the guest and the
network namespace run.sh creates, over the guest's virtio NIC and nothing else.

  virtio-traffic.py serve ADDR PORT TAP   the peer, in the namespace: TCP and
                                          UDP on ADDR:PORT (ADDR is on TAP)
  virtio-traffic.py wait ADDR PORT SECS   in the guest: until the peer answers
  virtio-traffic.py run ADDR PORT IFACE   in the guest: the workload; prints
                                          what it did as one JSON object

The workload, one thing after the other so that each connection's counters
are its own:
  echo  two connections out: the guest sends a request, the peer answers
  back  one connection in: the peer connects to a port the guest listens on
        (the request that asks for it is a connection out too)
  udp   datagrams out, each answered by the peer
  bulk  one connection out that receives BULK_BYTES, with the sender's own
        counts (TCP segments, the tap's packets) and the guest NIC's, to set
        beside what hostflow counted; reported, not asserted
Every TCP connection is reported with its addresses, ports and the exact
payload bytes each way, which the conn records must repeat.
"""
import json
import socket
import sys
import threading
import time

ECHO_REQUEST, ECHO_ANSWER = 1000, 500
BACK_SEND, BACK_ANSWER = 700, 300
UDP_REQUEST, UDP_ANSWER, UDP_COUNT = 200, 300, 3
BULK_BYTES = 2 * 1024 * 1024
IO_TIMEOUT = 60  # seconds: TCG is slow, a stuck peer is not


def read_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode()


def read_exactly(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(min(65536, count - len(data)))
        if not chunk:
            raise OSError(f"peer closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def read_to_end(conn):
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk


# ---- the peer, in run.sh's namespace ----


def counters(tap):
    """The namespace's TCP segments sent and the tap's packets/bytes sent to the guest."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    segs = int(rows[1][rows[0].index("OutSegs")])
    stats = {}
    for name in ("tx_packets", "tx_bytes"):
        with open(f"/sys/class/net/{tap}/statistics/{name}") as f:
            stats[name] = int(f.read())
    return {"segs": segs, "tap_packets": stats["tx_packets"], "tap_bytes": stats["tx_bytes"]}


def handle(conn, peer, tap):
    with conn:
        conn.settimeout(IO_TIMEOUT)
        words = read_line(conn).split()
        if words == ["ping"]:
            conn.sendall(b"pong\n")
        elif words[:1] == ["echo"]:
            read_exactly(conn, int(words[1]))
            conn.sendall(b"y" * int(words[2]))
        elif words[:1] == ["back"]:
            port, send, answer = (int(w) for w in words[1:4])
            with socket.create_connection((peer[0], port), timeout=IO_TIMEOUT) as back:
                back.sendall(b"z" * send)
                read_exactly(back, answer)
                sport = back.getsockname()[1]
            conn.sendall(f"ok {sport}\n".encode())
        elif words[:1] == ["bulk"]:
            before = counters(tap)
            conn.sendall(b"b" * int(words[1]))
            read_line(conn)  # "done": the guest has it all
            after = counters(tap)
            conn.sendall((json.dumps({k: after[k] - before[k] for k in after}) + "\n").encode())


def serve(addr, port, tap):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, port))

    def answer_datagrams():
        while True:
            _, peer = udp.recvfrom(65536)
            udp.sendto(b"u" * UDP_ANSWER, peer)

    threading.Thread(target=answer_datagrams, daemon=True).start()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(16)
    while True:
        conn, peer = srv.accept()
        threading.Thread(target=handle, args=(conn, peer, tap), daemon=True).start()


# ---- the guest ----


def wait(addr, port, secs):
    deadline = time.monotonic() + secs
    while True:
        try:
            with socket.create_connection((addr, port), timeout=5) as c:
                c.sendall(b"ping\n")
                if read_line(c) == "pong\n":
                    return
        except OSError as error:
            if time.monotonic() > deadline:
                sys.exit(f"peer {addr}:{port} did not answer in {secs}s: {error}")
        time.sleep(0.2)


def tcp_record(c, sent, received):
    local, remote = c.getsockname(), c.getpeername()
    return {"saddr": local[0], "sport": local[1], "daddr": remote[0], "dport": remote[1], "sent": sent, "received": received}


def nic_counters(iface):
    stats = {}
    for name in ("rx_packets", "rx_bytes"):
        with open(f"/sys/class/net/{iface}/statistics/{name}") as f:
            stats[name] = int(f.read())
    return stats


def run(addr, port, iface):
    done = {"tcp_out": [], "tcp_in": [], "udp": [], "bulk": None}
    for _ in range(2):
        with socket.create_connection((addr, port), timeout=IO_TIMEOUT) as c:
            request = f"echo {ECHO_REQUEST} {ECHO_ANSWER}\n".encode()
            c.sendall(request + b"x" * ECHO_REQUEST)
            answer = read_to_end(c)
            done["tcp_out"].append(tcp_record(c, len(request) + ECHO_REQUEST, len(answer)))

    with socket.create_connection((addr, port), timeout=IO_TIMEOUT) as c:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((c.getsockname()[0], 0))
        listener.listen(1)
        listener.settimeout(IO_TIMEOUT)
        request = f"back {listener.getsockname()[1]} {BACK_SEND} {BACK_ANSWER}\n".encode()
        c.sendall(request)
        back, _ = listener.accept()
        with back:
            back.settimeout(IO_TIMEOUT)
            read_exactly(back, BACK_SEND)
            back.sendall(b"w" * BACK_ANSWER)
            done["tcp_in"].append(tcp_record(back, BACK_ANSWER, BACK_SEND))
        answer = read_to_end(c)
        done["tcp_out"].append(tcp_record(c, len(request), len(answer)))
        listener.close()

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.connect((addr, port))
        u.settimeout(5)
        sent = received = 0
        while received < UDP_COUNT and sent < UDP_COUNT + 3:
            u.send(b"d" * UDP_REQUEST)
            sent += 1
            try:
                u.recv(65536)
                received += 1
            except socket.timeout:
                pass
        # an answer that came after its request was sent again still counts:
        # hostflow sees it on the NIC
        try:
            while received < sent:
                u.recv(65536)
                received += 1
        except socket.timeout:
            pass
        local = u.getsockname()
        done["udp"].append({
            "saddr": local[0], "sport": local[1], "daddr": addr, "dport": port,
            "sent": sent, "received": received, "request": UDP_REQUEST, "answer": UDP_ANSWER,
        })

    before = nic_counters(iface)
    with socket.create_connection((addr, port), timeout=IO_TIMEOUT) as c:
        request = f"bulk {BULK_BYTES}\n".encode()
        c.sendall(request)
        read_exactly(c, BULK_BYTES)
        after = nic_counters(iface)
        c.sendall(b"done\n")
        stats = read_to_end(c)
        record = tcp_record(c, len(request) + 5, BULK_BYTES + len(stats))
    sender = json.loads(stats)
    done["bulk"] = dict(record, bytes=BULK_BYTES, sender_segs=sender["segs"], tap_packets=sender["tap_packets"],
                        tap_bytes=sender["tap_bytes"], nic_rx_packets=after["rx_packets"] - before["rx_packets"],
                        nic_rx_bytes=after["rx_bytes"] - before["rx_bytes"])
    done["tcp_out"].append(record)
    print(json.dumps(done))


if __name__ == "__main__":
    role, args = sys.argv[1], sys.argv[2:]
    if role == "serve":
        serve(args[0], int(args[1]), args[2])
    elif role == "wait":
        wait(args[0], int(args[1]), float(args[2]))
    elif role == "run":
        run(args[0], int(args[1]), args[2])
    else:
        sys.exit(__doc__)
