"""Starting a component's base process: the command line, its environment, its
control channel; and the channels of the zygotes and instances it forks.

The base runs ``python -I`` (isolated: no PYTHON* variables, no user site, no
script folder on sys.path) in the app's own interpreter, and loads two of our
packages from their folders by path: the wire both sides speak (spin_py/wire)
under the name ``spin_py_wire``, then the guest under ``spin_py_guest``. Only
those two become importable that way: neither the rest of spin-py nor the host's
site-packages leaks into the app.
"""

import json
import mmap
import os
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spin_py import wire
from spin_py.resources import guest_dir
from spin_py.wire.control import Control
from spin_py.wire.frames import PROGRESS_MAP_SIZE

GUEST_DIR = guest_dir()
WIRE_DIR = Path(wire.__file__).resolve().parent


def guest_loader(wire_dir: Path = WIRE_DIR, guest: Path = GUEST_DIR) -> str:
    """Python source that loads the wire package, then the guest package, from their
    folders by path under the names the guest imports them by."""
    return (
        "import importlib.util as _util, sys as _sys\n"
        f"for _name, _folder in (('spin_py_wire', {str(wire_dir)!r}), ('spin_py_guest', {str(guest)!r})):\n"
        "    _spec = _util.spec_from_file_location(_name, _folder + '/__init__.py', submodule_search_locations=[_folder])\n"
        "    _module = _util.module_from_spec(_spec); _sys.modules[_name] = _module; _spec.loader.exec_module(_module)\n"
    )


BOOTSTRAP = guest_loader() + "from spin_py_guest.worker import main\nmain(int(_sys.argv[1]), _sys.argv[2])\n"


@dataclass(frozen=True)
class WorkerSettings:
    """What a component's base process needs; sent to it as JSON on its command line."""

    component: str  # for messages only: the host never learns identity from the guest
    module: str  # the handler module, as componentize-py names it
    workdir: str  # where the app's code is imported from, and on its sys.path after the -p paths
    paths: list = field(default_factory=list)  # componentize-py -p paths, absolute
    protected: list = field(default_factory=list)  # files the component may not write: the manifest, the runtime config
    allowed_outbound_hosts: list | None = None  # what the component's sockets may reach, as the host resolved it (None: unchecked)
    mounts: list = field(default_factory=list)  # the component's files: [host path or None, guest path] (guest/mounts.py)
    root: str | None = None  # an empty folder the instances' filesystem is built on (None: the host's filesystem)
    preload: list = field(default_factory=list)  # modules the base imports ahead (what earlier loads imported)
    environment_names: list = field(default_factory=list)  # what os.environ may hold: the component's environment

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def start_base(python: str | os.PathLike, settings: WorkerSettings, environment: Mapping[str, str],
               **popen_args: Any) -> tuple[subprocess.Popen, Control]:
    """Start a component's base process (guest/worker.py); returns ``(process, control)``,
    ``control`` being the host's end of its control channel (spin_py/wire/control.py).

    ``environment`` is the component's whole environment, as in Spin: the
    developer's shell variables are not passed on. The base leads a session
    and process group of its own, and Ctrl-C in the terminal reaches only the
    host, which stops it.
    """
    control, guest_end = control_pair()
    try:
        process = subprocess.Popen(
            [str(python), "-I", "-u", "-c", BOOTSTRAP, str(guest_end.fileno()), settings.to_json()],
            cwd=settings.workdir,
            env=dict(environment),
            pass_fds=(guest_end.fileno(),),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **popen_args,
        )
    except BaseException:
        control.close()
        raise
    finally:
        guest_end.close()
    return process, control


def control_pair() -> tuple[Control, socket.socket]:
    """A new control channel: ``(host end, guest end)`` (spin_py/wire/control.py)."""
    host_end, guest_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    return Control(host_end), guest_end


def instance_channels() -> tuple[socket.socket, mmap.mmap, tuple[socket.socket, int]]:
    """An instance's channel and progress map: ``(host end, progress map, descriptors
    to hand to the zygote)``; the caller closes those descriptors once sent."""
    host_end, guest_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    progress_fd = os.memfd_create("spin-py-progress")
    try:
        os.ftruncate(progress_fd, PROGRESS_MAP_SIZE)
        progress = mmap.mmap(progress_fd, PROGRESS_MAP_SIZE)
    except BaseException:
        host_end.close()
        guest_end.close()
        os.close(progress_fd)
        raise
    return host_end, progress, (guest_end, progress_fd)
