"""Listening sockets for syncd's HTTP servers (the sandbox and the daemon's status endpoints).

uvicorn writes a response's headers and body separately; with Nagle's algorithm on, the
body then waits for the client's delayed ACK, about 40 ms on every request. Sockets made
here have TCP_NODELAY, which accepted connections inherit.
"""

from __future__ import annotations

import socket


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for uvicorn's ``Server.run(sockets=[...])``; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock
