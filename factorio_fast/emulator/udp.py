"""The server's one Lua UDP socket (``--enable-lua-udp PORT``), as ``helpers.send_udp`` /
``recv_udp`` use it (docs/factorio-facts.md §2.2, Factorio >= 2.0.59).

* One socket on 127.0.0.1:PORT: it receives, and it is the source port of every send.
* Receive buffer 256 KB (``SO_RCVBUF``): what arrives between two ``recv_udp`` calls beyond it is
  lost, as the game loses it (and while paused, when nothing calls ``recv_udp``).
* ``recv_udp`` takes what the socket holds; each packet becomes an input action, raised as
  ``on_udp_packet_received`` at the next update (``Emulator.deliver_input``).
* A send above :data:`FRAME_CAP` bytes is dropped silently (reported for the game: about 3,900
  bytes, oversize sends fail without an error). Sends go to 127.0.0.1 only.
"""

from __future__ import annotations

import socket

__all__ = ["LuaUdpSocket", "FRAME_CAP", "RECEIVE_BUFFER"]

FRAME_CAP = 3900
RECEIVE_BUFFER = 256 * 1024


class LuaUdpSocket:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError:
            pass
        self.port = sock.getsockname()[1]
        self._queue: list[tuple[bytes, int]] = []
        self.sent = 0
        self.dropped = 0

    def send(self, port: int, data: bytes) -> None:
        if len(data) > FRAME_CAP:
            self.dropped += 1
            return
        try:
            self.sock.sendto(data, ("127.0.0.1", port))
            self.sent += 1
        except OSError:
            # nothing listening (ECONNREFUSED from an earlier send) or a full buffer: UDP loses
            # the datagram; the game reports nothing either
            self.dropped += 1

    def receive(self) -> None:
        """Move what the socket holds into the queue of the next update's input actions."""
        for _ in range(4096):  # bounded: 256 KB of datagrams of at least 64 bytes
            try:
                data, (_host, port) = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # an ICMP error reported on this socket: skip it
            self._queue.append((data, port))

    def pending(self) -> bool:
        return bool(self._queue)

    def take(self) -> list[tuple[bytes, int]]:
        q, self._queue = self._queue, []
        return q
