"""Starting a worker subprocess: the command line, its environment, its channel.

The worker runs ``python -I`` (isolated: no PYTHON* variables, no user site, no
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

from spin_py.guest.protocol import PROGRESS
from spin_py.resources import guest_dir

GUEST_DIR = guest_dir()

BOOTSTRAP = (
    "import importlib.util as u, sys\n"
    "d = sys.argv[1]\n"
    "s = u.spec_from_file_location('spin_py_guest', d + '/__init__.py', submodule_search_locations=[d])\n"
    "m = u.module_from_spec(s); sys.modules['spin_py_guest'] = m; s.loader.exec_module(m)\n"
    "from spin_py_guest.worker import main\n"
    "main(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))\n"
)


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to load a component; sent to it as JSON on its command line."""

    component: str  # for messages only: the host never learns identity from the guest
    module: str  # the handler module, as componentize-py names it
    workdir: str  # the worker's cwd, and on its sys.path after the -p paths (componentize-py's default path)
    paths: list = field(default_factory=list)  # componentize-py -p paths, absolute
    protected: list = field(default_factory=list)  # files the component may not write: the manifest, the runtime config
    allowed_outbound_hosts: list | None = None  # what the component's sockets may reach, as the host resolved it (None: unchecked)

    def to_json(self):
        return json.dumps(asdict(self))


def start_worker(python, settings, environment, **popen_args):
    """Start a worker; returns ``(process, host_end_of_channel, progress)``, ``progress``
    being the worker's progress map (protocol.PROGRESS), shared with it.

    ``environment`` is the component's whole environment, as in Spin: the
    developer's shell variables are not passed on. The worker leads a session
    and process group of its own, so stopping it kills what its handlers forked
    too, and Ctrl-C in the terminal reaches only the host, which stops it.
    """
    host_end, guest_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    progress_fd = os.memfd_create("spin-py-progress")
    try:
        os.ftruncate(progress_fd, PROGRESS.size)
        progress = mmap.mmap(progress_fd, PROGRESS.size)
        process = subprocess.Popen(
            [str(python), "-I", "-u", "-c", BOOTSTRAP, str(GUEST_DIR), str(guest_end.fileno()), settings.to_json(),
             str(progress_fd)],
            cwd=settings.workdir,
            env=dict(environment),
            pass_fds=(guest_end.fileno(), progress_fd),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **popen_args,
        )
    except BaseException:
        host_end.close()
        raise
    finally:
        guest_end.close()
        os.close(progress_fd)
    return process, host_end, progress
