"""A frame's announced size is checked before any of its body is buffered: the host's end
of a worker's channel takes at most one piece (what a guest ever sends), the guest's end
(the module as a worker loads it, by path under its own name) a whole Redis message."""

import importlib.util
import socket
import sys
import threading

import pytest

from spin_py.host.launch import WIRE_DIR
from spin_py.wire import framing as protocol


def guest_protocol():
    """framing.py loaded as a worker loads the wire package (spin_py/host/launch.py), by path
    under a name of its own."""
    spec = importlib.util.spec_from_file_location("spin_py_wire_probe", WIRE_DIR / "__init__.py",
                                                  submodule_search_locations=[str(WIRE_DIR)])
    package = importlib.util.module_from_spec(spec)
    sys.modules["spin_py_wire_probe"] = package
    try:
        spec.loader.exec_module(package)
        return importlib.import_module("spin_py_wire_probe.framing")
    finally:
        for name in [name for name in sys.modules if name.startswith("spin_py_wire_probe")]:
            del sys.modules[name]


def test_the_host_end_refuses_a_frame_announcing_more_than_a_piece_before_reading_it():
    host_sock, guest_sock = socket.socketpair()
    with host_sock, guest_sock:
        channel = protocol.Channel(host_sock)
        frame = b'{"op":"body","turn":1}'
        guest_sock.sendall(protocol.HEADER.pack(len(frame), 1000 << 20) + frame + b"z" * 4096)
        with pytest.raises(protocol.ProtocolError, match="announced a 1048576000-byte body, over the 1048576-byte"):
            channel.recv()
        assert len(channel._buffer) <= 64 * 1024  # one read's worth, not the announced body


def test_a_piece_crosses_and_the_guest_end_takes_a_whole_redis_message():
    host_sock, guest_sock = socket.socketpair()
    with host_sock, guest_sock:
        piece = protocol.encode({"op": "body", "turn": 1}, b"p" * protocol.PIECE)
        sender = threading.Thread(target=guest_sock.sendall, args=(piece,))
        sender.start()
        message, body = protocol.Channel(host_sock).recv()
        sender.join()
        assert message["op"] == "body" and len(body) == protocol.PIECE

        guest = guest_protocol()
        large = guest.encode({"op": "redis", "turn": 1}, b"r" * (3 << 20))
        sender = threading.Thread(target=host_sock.sendall, args=(large,))
        sender.start()
        message, body = guest.Channel(guest_sock).recv()
        sender.join()
        assert message["op"] == "redis" and len(body) == 3 << 20
