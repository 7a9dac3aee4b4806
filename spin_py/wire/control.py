"""The control channel of a fork server (guest/forks.py): how the host has a
component's base fork zygotes, and a zygote fork instances.

A SOCK_SEQPACKET socketpair the host made, one message per datagram, each a
JSON object with no body; descriptors travel beside some (SCM_RIGHTS):

  host -> server ``fork``        descriptors attached: the child's own channels; the server
                                 forks, and the child gets the descriptors and the message
  host -> server ``status``      ``pid``: is that child still running? answered with
  server -> host ``status``      ``pid``, ``status``: None while it runs, else its exit code (a
                                 negative code: the signal that ended it), as subprocess reports it
  host -> server ``preload``     ``modules``: import these now, so that every later fork has them
  host -> server ``close``       fork no more; exit once every child has exited
  server -> host ``ready``       the server's first message: the base has imported the guest; a
                                 zygote has imported the app (``files``, ``modules``, ``isolation``)
  server -> host ``load-failed`` ``error``: importing the app failed (text with file and line)

Standard library only (see the package's docstring).
"""

import array
import json
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict

_MOST_FDS = 8
_MESSAGE = 64 * 1024


class ForkFrame(TypedDict):
    op: Literal["fork"]


class StatusQueryFrame(TypedDict):
    op: Literal["status"]
    pid: int


class StatusFrame(TypedDict):
    op: Literal["status"]
    pid: int
    status: int | None


class PreloadFrame(TypedDict):
    op: Literal["preload"]
    modules: list[str]


class CloseFrame(TypedDict):
    op: Literal["close"]


class ReadyFrame(TypedDict):
    """A base's ``ready`` has no more; a zygote's has the rest."""

    op: Literal["ready"]
    files: NotRequired[list[str]]  # the app's source files its import loaded
    modules: NotRequired[list[str]]  # what it imported from outside the app's folders (preloaded next time)
    isolation: NotRequired[str | None]  # why the component's files are not isolated, or None


class LoadFailedFrame(TypedDict):
    op: Literal["load-failed"]
    error: str


ControlFrame = ForkFrame | StatusQueryFrame | StatusFrame | PreloadFrame | CloseFrame | ReadyFrame | LoadFailedFrame


class Control:
    """One end of a control channel: whole messages, descriptors attached to some."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, message: Mapping[str, Any], fds: Sequence[int] = ()) -> None:
        data = json.dumps(message, separators=(",", ":")).encode("utf-8")
        if fds:
            self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        else:
            self.sock.send(data)

    def recv(self) -> tuple[dict[str, Any] | None, list[int]]:
        """The next message and the descriptors that came with it; ``(None, [])`` once the peer is gone."""
        data, fds, _flags, _address = socket.recv_fds(self.sock, _MESSAGE, _MOST_FDS)
        if not data:
            for fd in fds:
                os.close(fd)
            return None, []
        return json.loads(data), fds

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()


def control_from_fd(fd: int) -> Control:
    return Control(socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, fileno=fd))
