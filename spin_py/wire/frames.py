"""The messages of a worker's private channel (a socketpair), one TypedDict each.

A frame is a JSON object, whose ``op`` says which message it is, and raw bytes
beside it (framing.py): the JSON carries the message, the raw bytes carry an
HTTP body untouched, so bodies are binary-safe and never base64-encoded (so is a
Redis message's payload). Bytes inside the JSON (a host call's arguments and
results) cross as ``{"$bytes": base64}`` (codec.py).

Every request is one *turn*, numbered by the host; every frame of a turn
carries its number in ``turn``, and the turn ends explicitly: with a
``response`` or ``handled`` that says ``done: true`` (the handler left nothing
going, the usual case: one frame), with ``done`` after it, or with ``failed``.
Nothing is sent outside a turn but the instance's ``ready``.

The channel itself is the worker's identity: no message names a component.

Flow control: the host sends nothing during a turn but answers (to ``call`` and
``read``), so a piece of the request body crosses only when the guest asks for
it; the guest's pieces of a response wait in the socket until the host has
written the previous ones to its client. Neither side holds more than a piece
or two, whatever the size of a body. A body of at most PIECE bytes, the usual
case, still crosses in the one ``http`` or ``response`` frame.

What the host reads here is never trusted: it checks each field it uses (the
types below say what a well-behaved guest sends). Standard library only (see
the package's docstring).
"""

import struct
from typing import Any, Literal, NotRequired, TypedDict

PIECE = 1024 * 1024  # the most one body piece carries, and the largest body sent in one frame
# The largest body a frame may announce. What the guest sends the host never carries more
# than PIECE (a response body, or one piece of it), so the host's end refuses anything larger
# before buffering it: a worker cannot make the host hold what it likes. The guest's end takes
# up to MAX_BODY, for a Redis message (one message crosses whole, however large).
MAX_BODY = 1024 * 1024 * 1024
MAX_JSON = 64 * 1024 * 1024  # the most JSON one frame may carry

# The worker's progress map (a shared 8-byte memory file beside the channel): the number of
# the last Redis turn it ended quietly, without a frame of its own (see guest/host.py), so
# that the host knows which messages were handled when the worker dies before it says so.
# The host reads it only within the batch it sent that worker: a worker that writes nonsense
# there can only lose its own messages, as a handler that ignores them would.
PROGRESS = struct.Struct("<q")
# The map's second slot is the guest's own: the first turn of a run of quiet turns not yet
# told to the host, handed from a turn's process to its parent (guest/host.py, fork_turn).
QUIET_FIRST = struct.Struct("<q")
PROGRESS_MAP_SIZE = PROGRESS.size + QUIET_FIRST.size

# How long work the handler spawned may go on after its response before the guest cancels it
# (guest/async_support.py); the host waits a little longer for the turn's ``done``.
FINISH_LIMIT = 30.0

Headers = list[list[str]]  # [[name, value], ...], in order, names as sent


# --- host -> guest ---------------------------------------------------------------------------


class HttpFrame(TypedDict):
    """Starts a turn: an HTTP request. Its body: the whole request body, or with ``stream:
    true`` none (the guest pulls it with ``read``)."""

    op: Literal["http"]
    turn: int
    method: str
    uri: str
    headers: Headers
    stream: NotRequired[bool]


class RedisFrame(TypedDict):
    """Starts a turn: its body is the payload of a message published on a Redis trigger's
    channel; or with ``sizes`` [n, ...] the payloads of that many messages one after another,
    each a turn of its own numbered on from ``turn`` (the guest starts the next once the
    previous has ended; the host sends nothing new meanwhile)."""

    op: Literal["redis"]
    turn: int
    sizes: NotRequired[list[int]]


class BodyPieceFrame(TypedDict):
    """Answers ``read``: its body is the next piece of the request body (at most ``max``
    bytes); ``end``: it is the last, maybe empty."""

    op: Literal["body"]
    turn: int
    end: bool


class ReturnFrame(TypedDict):
    """Answers ``call``: what the host function returned."""

    op: Literal["return"]
    turn: int
    value: Any


class ErrorFrame(TypedDict):
    """Answers ``call``: the host function failed (``kind``: the WIT error variant); or
    answers ``read`` with ``kind`` BodyError: the client's body could not be read, and the
    host answers the client itself."""

    op: Literal["error"]
    turn: int
    kind: str
    message: str


# --- guest -> host ---------------------------------------------------------------------------


class InstanceReadyFrame(TypedDict):
    """An instance's first frame, outside any turn: its process (and process group) id."""

    op: Literal["ready"]
    pid: int


class ReadFrame(TypedDict):
    """The next piece of a streamed request body, at most ``max`` bytes."""

    op: Literal["read"]
    turn: int
    max: int


class CallFrame(TypedDict):
    """A host function: ``capability``'s ``function`` with ``args`` (JSON; bytes as codec.py
    writes them). Answered with ``return`` or ``error``."""

    op: Literal["call"]
    turn: int
    capability: str
    function: str
    args: dict[str, Any]


class ResponseFrame(TypedDict):
    """The answer to an ``http`` turn (once), its body with it; with ``stream: true`` the
    body follows in ``body`` frames and ``end``."""

    op: Literal["response"]
    turn: int
    status: int
    headers: Headers
    stream: NotRequired[bool]
    done: NotRequired[bool]


class ResponsePieceFrame(TypedDict):
    """Its body: the next piece of a streamed response (at most PIECE bytes)."""

    op: Literal["body"]
    turn: int


class EndFrame(TypedDict):
    """The streamed response body is complete (``done: true`` as for ``response``)."""

    op: Literal["end"]
    turn: int
    done: NotRequired[bool]


class HandledFrame(TypedDict):
    """The answer to a ``redis`` turn (once), in place of ``response``. ``error``: None, or why
    the message failed without the handler raising (its ``Err``, a missing export). With
    ``first``: the turns ``first`` to ``turn`` of a batch all ended handled, without error or
    host call (one frame for the run; the progress map says how far a run got)."""

    op: Literal["handled"]
    turn: int
    error: str | None
    first: NotRequired[int]
    done: NotRequired[bool]


class DoneFrame(TypedDict):
    """What the handler started after its answer has finished: the turn is over."""

    op: Literal["done"]
    turn: int


class FailedFrame(TypedDict):
    """The handler raised or exited (``error``: the traceback as text); the worker then exits."""

    op: Literal["failed"]
    turn: int
    error: str


HostFrame = HttpFrame | RedisFrame | BodyPieceFrame | ReturnFrame | ErrorFrame
GuestFrame = (InstanceReadyFrame | ReadFrame | CallFrame | ResponseFrame | ResponsePieceFrame | EndFrame | HandledFrame
              | DoneFrame | FailedFrame)
