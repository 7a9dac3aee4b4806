"""What the host and a component's worker both speak: the one part of spin-py that
runs on both sides of the worker's channel.

- ``frames``: every message of the worker channel, a TypedDict each, with the
  rules of a turn and the limits both ends keep;
- ``framing``: how a frame crosses the socket (``Channel``);
- ``control``: the control channel of a fork server (base, zygote) and its messages;
- ``codec``: bytes inside a frame's JSON (``{"$bytes": base64}``);
- ``rust_text``: text quoted as Rust's ``{:?}`` writes it (Spin's messages).

Standard library only: a worker runs in the app's own interpreter, next to
whatever the app installed. The host imports this package as ``spin_py.wire``;
a worker loads it from its folder by path under the name ``spin_py_wire``
(spin_py/host/launch.py), before the guest package, so the guest imports it
under that name and nothing else of spin-py becomes importable there.
"""
