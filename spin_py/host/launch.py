"""Starting a component's base process: the command line, its environment, its
control channel; and the channels of the zygotes and instances it forks.

The base runs ``python -I`` (isolated: no PYTHON* variables, no user site, no
script folder on sys.path) in the app's own interpreter, and loads our guest
package from its file path under the name ``spin_py_guest``. Only the guest
package becomes importable that way: neither the rest of spin-py nor the host's
site-packages leaks into the app.
"""

import json
import mmap
import os
import socket
import subprocess
from dataclasses import asdict, dataclass, field

from spin_py.guest.forks import Control
from spin_py.guest.protocol import PROGRESS_MAP_SIZE
from spin_py.resources import guest_dir

GUEST_DIR = guest_dir()

BOOTSTRAP = (
    "import importlib.util as u, sys\n"
    "d = sys.argv[1]\n"
    "s = u.spec_from_file_location('spin_py_guest', d + '/__init__.py', submodule_search_locations=[d])\n"
    "m = u.module_from_spec(s); sys.modules['spin_py_guest'] = m; s.loader.exec_module(m)\n"
    "from spin_py_guest.worker import main\n"
    "main(int(sys.argv[2]), sys.argv[3])\n"
)


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

    def to_json(self):
        return json.dumps(asdict(self))


def start_base(python, settings, environment, **popen_args):
    """Start a component's base process (guest/worker.py); returns ``(process, control)``,
    ``control`` being the host's end of its control channel (guest/forks.py).

    ``environment`` is the component's whole environment, as in Spin: the
    developer's shell variables are not passed on. The base leads a session
    and process group of its own, and Ctrl-C in the terminal reaches only the
    host, which stops it.
    """
    control, guest_end = control_pair()
    try:
        process = subprocess.Popen(
            [str(python), "-I", "-u", "-c", BOOTSTRAP, str(GUEST_DIR), str(guest_end.fileno()), settings.to_json()],
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


def control_pair():
    """A new control channel: ``(host end, guest end)`` (guest/forks.py)."""
    host_end, guest_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    return Control(host_end), guest_end


def instance_channels():
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
