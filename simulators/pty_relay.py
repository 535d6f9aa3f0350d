#!/usr/bin/env python3
"""Fallback pseudo-terminal pair when socat is not installed.

Opens two pseudo-terminals, puts both slave sides in raw mode, prints their paths as one JSON
line on stdout, then copies bytes between the two masters until stdin closes (the parent died)
or it receives SIGTERM. Equivalent to `socat pty,raw,echo=0 pty,raw,echo=0`.
"""
import json
import os
import select
import signal
import sys
import tty


def main() -> None:
    m1, s1 = os.openpty()
    m2, s2 = os.openpty()
    # Raw mode on the slave sides: no echo, no line discipline, 8-bit clean (what serial I/O expects).
    tty.setraw(s1)
    tty.setraw(s2)
    print(json.dumps({"a": os.ttyname(s1), "b": os.ttyname(s2)}), flush=True)
    # Keep our slave fds open so the masters never see EIO when a user closes and reopens a port.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stdin = sys.stdin.fileno()
    peers = {m1: m2, m2: m1}
    while True:
        readable, _, _ = select.select([m1, m2, stdin], [], [])
        for fd in readable:
            if fd == stdin:
                if not os.read(stdin, 1024):
                    return
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                continue
            if data:
                os.write(peers[fd], data)


if __name__ == "__main__":
    main()
