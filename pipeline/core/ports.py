"""A free TCP port, for the processes this project starts (a training job's rendezvous, test servers).

One helper instead of a copy per caller: the port is found by binding port 0 and reading what the kernel
picked, which is free *now*; the caller binds it moments later (a race no caller here can avoid cheaply).
"""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
