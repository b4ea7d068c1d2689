#!/usr/bin/env python3
"""Drives examples/http_server as clients do, good and bad (the I/O issue's
HTTP server rules), on both runtime flavours:

  check-http-server.py [--wrapper CMD] SERVER [CLIENT]

- a request gets the fixed 200 response, and keep-alive serves another;
- pipelined requests in one write get their answers in order;
- a request split into one-byte writes (a slow client) is answered;
- a malformed request gets 400 and the connection closes;
- a request head over 8 KiB gets 431 and the connection closes;
- clients that vanish mid-request (and mid-response) leave the server
  serving others;
- with CLIENT (examples/http_get): it fetches from the server, and it times
  out against a server that accepts and never answers.
No timing decides a result: every wait is for bytes or a closed socket,
under a generous socket timeout that only turns a hang into a failure."""
import socket
import subprocess
import sys
import time

OK = (b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain"
      b"\r\n\r\nHello, world!")
GET = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def connect(port):
    deadline = time.time() + 20
    while True:
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=20)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return c
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def read_exact(c, n):
    data = b""
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_to_close(c):
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            return data
        data += chunk


def check(name, cond, detail=""):
    print("%s %s%s" % ("ok  " if cond else "FAIL", name,
                       "" if cond else ": " + detail))
    return 1 if cond else 0


def run_client(client, wrapper, port):
    p = subprocess.run(wrapper + [client, "127.0.0.1", str(port), "/"],
                       stdout=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace")


def run(server, wrapper, flavour, client=None):
    port = free_port()
    proc = subprocess.Popen(wrapper + [server, "--port", str(port)] + flavour)
    passed = failed = 0
    try:
        def t(name, cond, detail=""):
            nonlocal passed, failed
            if check("%s %s" % (" ".join(flavour), name), cond, detail):
                passed += 1
            else:
                failed += 1

        c = connect(port)
        c.sendall(GET)
        t("one request", read_exact(c, len(OK)) == OK)
        c.sendall(GET)
        t("keep-alive: a second request", read_exact(c, len(OK)) == OK)
        c.sendall(GET * 60)   # more than one response batch
        t("60 pipelined requests", read_exact(c, 60 * len(OK)) == OK * 60)
        for b in GET:
            c.sendall(bytes([b]))
        t("a slow client, one byte at a time", read_exact(c, len(OK)) == OK)
        c.close()

        c = connect(port)
        c.sendall(b"BLAH / HTTP/1.1\r\n\r\n")
        data = read_to_close(c)
        t("malformed: 400 and closed", data.startswith(b"HTTP/1.1 400 "),
          repr(data[:60]))
        c.close()

        c = connect(port)
        c.sendall(GET + b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        data = read_to_close(c)
        t("an earlier request is answered before a 431",
          data.startswith(OK), repr(data[:60]))
        t("head over 8 KiB: 431 and closed",
          data[len(OK):].startswith(b"HTTP/1.1 431 "), repr(data[-60:]))
        c.close()

        for k in range(20):   # clients that vanish mid-request
            v = connect(port)
            v.sendall(GET[: 5 + k % 10])
            v.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")
            v.close()         # a reset, with linger 0
        for k in range(20):   # and mid-response: many requests, then gone
            v = connect(port)
            v.sendall(GET * 200)
            v.close()
        c = connect(port)
        c.sendall(GET)
        t("still serving after vanishing clients",
          read_exact(c, len(OK)) == OK)
        c.close()
        if client is not None:
            rc, out = run_client(client, wrapper, port)
            t("http_get fetches from it",
              rc == 0 and out.startswith("HTTP/1.1 200 OK\n") and
              "%d bytes" % len(OK) in out and "Hello, world!" in out, out)
        t("the server is still running", proc.poll() is None)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return passed, failed


def main():
    args = sys.argv[1:]
    wrapper = []
    if args and args[0] == "--wrapper":
        wrapper = [w for w in args[1].split() if w]
        args = args[2:]
    server = args[0]
    client = args[1] if len(args) > 1 else None
    passed = failed = 0
    for flavour in (["--current"], ["--threads", "2"]):
        p, f = run(server, wrapper, flavour, client)
        passed += p
        failed += f
    if client is not None:   # a server that accepts and never answers
        mute = socket.socket()
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        port = mute.getsockname()[1]
        p = subprocess.run(wrapper + [client, "127.0.0.1", str(port), "/",
                                      "--timeout", "300"],
                           stdout=subprocess.PIPE, timeout=60)
        out = p.stdout.decode(errors="replace")
        ok = p.returncode == 1 and out.startswith("timed out after 300 ms")
        print("%s http_get times out%s" % ("ok  " if ok else "FAIL",
                                             "" if ok else ": " + out))
        passed, failed = passed + ok, failed + (not ok)
        mute.close()
    print("check-http-server: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
