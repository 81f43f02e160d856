#!/usr/bin/env python3
"""Loopback workload for the kernel matrix: a server on 127.0.0.1 and N
client connections from this process, each sending a fixed payload."""
import socket
import sys
import threading
import time

port = int(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 3
payload = b"x" * 1000

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)


def serve():
    for _ in range(count):
        conn, _ = srv.accept()
        data = b""
        while len(data) < len(payload):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        conn.sendall(b"y" * 500)
        conn.close()


t = threading.Thread(target=serve)
t.start()
for _ in range(count):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(payload)
    c.recv(65536)
    c.close()
    time.sleep(0.1)
t.join()
srv.close()
