"""What both sides share: the $bytes codec, the host's reading of it, and the names a
worker gives the package (its modules, and the type stubs that let mypy follow them)."""

import ast
import socket
import sys
from pathlib import Path

import pytest

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import decode_bytes as host_decode
from spin_py.capabilities.seam import encode_bytes as host_encode
from spin_py.host.launch import WIRE_DIR
from spin_py.wire import codec, frames, framing

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("data", [b"", b"\x00\xff binary", bytearray(b"ba"), memoryview(b"mv")])
def test_bytes_cross_as_base64_and_come_back(data):
    encoded = codec.encode_bytes(data)
    assert set(encoded) == {"$bytes"} and isinstance(encoded["$bytes"], str)
    assert codec.decode_bytes(encoded) == bytes(data)
    assert host_encode(data) == encoded  # the host writes them the same way


@pytest.mark.parametrize("value", [None, "AAEC", {"$bytes": 5}, {"$bytes": "not base64!"}, {"bytes": "AAEC"}, [1, 2]])
def test_anything_but_encoded_bytes_is_refused(value):
    with pytest.raises(ValueError, match=r'not bytes \({"\$bytes": base64}\)'):
        codec.decode_bytes(value)
    with pytest.raises(CapabilityError, match="the key must be bytes") as refused:
        host_decode(value, "key")
    assert refused.value.kind == "Other"


def test_null_stays_none_where_a_value_may_be_missing():
    assert codec.decode_optional_bytes(None) is None
    assert codec.decode_optional_bytes(codec.encode_bytes(b"v")) == b"v"


def test_a_typed_frame_crosses_the_channel_as_it_was_built():
    host_end, guest_end = socket.socketpair()
    with host_end, guest_end:
        call: frames.CallFrame = {"op": "call", "turn": 3, "capability": "key_value", "function": "get",
                                  "args": {"key": codec.encode_bytes(b"k")}}
        framing.Channel(guest_end).send(call)
        assert framing.Channel(host_end).recv() == (call, b"")


def test_every_wire_module_has_a_stub_under_the_name_a_worker_loads_it_by():
    modules = {path.stem for path in WIRE_DIR.glob("*.py")}
    stubs = {path.stem for path in (ROOT / "typings" / "spin_py_wire").glob("*.pyi")}
    assert modules == stubs


def test_the_wire_imports_only_the_standard_library_and_itself():
    for path in WIRE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level else [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in sys.stdlib_module_names, f"{path.name} imports {name}"
