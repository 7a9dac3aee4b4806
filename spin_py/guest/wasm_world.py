"""The world WebAssembly gives a component, applied to an instance before its handler runs.

componentize-py's CPython runs on WASI preview 2 (``sys.platform == "wasi"``), where
a component has no threads, no processes and no signals, and imports only what was
imported while it was pre-initialized: its snapshot holds those modules, and the
standard library's files are not there at run time. An instance gets the same
exceptions, so that what fails under Spin fails here first:

- starting a thread: ``RuntimeError: can't start new thread``;
- ``subprocess``: ``OSError: wasi does not support processes.`` (CPython's
  subprocess.py says ``{sys.platform} does not support processes.`` where it cannot
  fork; the errno is this platform's ENOTSUP, as ``errno.ENOTSUP`` in the app's code);
- ``os.fork``, ``os.system``, ``os.popen``, ``os.spawn*``, ``os.exec*`` and
  ``os.posix_spawn*`` do not exist (AttributeError), as in WASI's ``os``;
- ``signal.signal`` installs nothing and returns ``SIG_DFL``;
- a module not imported yet: ``ModuleNotFoundError``.

Native code could still make the system calls itself: on x86-64 and arm64 Linux a
seccomp filter makes clone, clone3, fork and vfork fail (EAGAIN), so nothing the
instance does can start a thread or a process (and so nothing can outlive it).
Where the filter is not available the Python-level rules still hold.

The filesystem (the component's ``files`` at their guest paths, nothing else) is
set up once per load, in the zygote: see mounts.py.

Standard library only.
"""

import _thread
import ctypes
import errno
import os
import platform
import signal
import struct
import sys
import threading
from importlib.abc import MetaPathFinder
from typing import Any, NoReturn

from . import hardening

_THREAD = "can't start new thread"
_PROCESSES = "wasi does not support processes."

# What WASI's os module lacks (CPython's Modules/posixmodule.c under __wasi__), of what
# could start or replace a process.
_NO_PROCESSES = (
    "fork", "forkpty", "fork1", "system", "popen", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv",
    "spawnve", "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp", "execl", "execle", "execlp",
    "execlpe", "execv", "execve", "execvp", "execvpe", "register_at_fork", "kill", "killpg", "wait",
    "waitpid", "wait3", "wait4", "waitid", "setsid", "setpgid", "setpgrp",
)  # fmt: skip


def _refuse_thread(*_args, **_kwargs) -> NoReturn:
    raise RuntimeError(_THREAD)


def _no_threads() -> None:
    for name in ("start_new_thread", "start_new", "start_joinable_thread"):
        if hasattr(_thread, name):
            setattr(_thread, name, _refuse_thread)
    for name in ("_start_new_thread", "_start_joinable_thread"):
        if hasattr(threading, name):
            setattr(threading, name, _refuse_thread)


def _no_processes() -> None:
    import posix

    for name in _NO_PROCESSES:
        for module in (os, posix):
            if hasattr(module, name):
                delattr(module, name)
    subprocess = sys.modules.get("subprocess")  # imported by the guest (asyncio) or the app, if at all
    if subprocess is not None:
        def refuse(self, *_args, **_kwargs) -> NoReturn:
            raise OSError(errno.ENOTSUP, _PROCESSES)

        subprocess.Popen.__init__ = refuse


def _no_signals() -> None:
    def ignore(signalnum: int, handler: Any) -> Any:
        return signal.SIG_DFL

    signal.signal = ignore


class _NothingNew(MetaPathFinder):
    """Every import of a module not already in sys.modules fails, as in a snapshot."""

    def find_spec(self, fullname, path=None, target=None) -> NoReturn:
        raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


def _no_new_modules() -> None:
    sys.meta_path.insert(0, _NothingNew())


# seccomp: (audit arch, [clone, clone3, fork, vfork] as that architecture numbers them).
_ARCHES = {
    "x86_64": (0xC000003E, (56, 435, 57, 58)),
    "aarch64": (0xC00000B7, (220, 435)),
}
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _filter() -> "tuple[ctypes.Array[ctypes.c_char], _Program] | None":
    """The seccomp program for this machine (built once, in the base), or None: ``(its
    instructions, the sock_fprog naming them)``, the first kept alive for the second."""
    arch = _ARCHES.get(platform.machine())
    if arch is None or not sys.platform.startswith("linux"):
        return None
    audit_arch, calls = arch
    # BPF: load arch; other arch -> allow; load nr; each listed call -> errno; else allow.
    program = [(0x20, 0, 0, 4), (0x15, 0, len(calls) + 1, audit_arch), (0x20, 0, 0, 0)]
    for index, number in enumerate(calls):
        program.append((0x15, len(calls) - index, 0, number))
    program += [(0x06, 0, 0, _RET_ALLOW), (0x06, 0, 0, _RET_ERRNO | errno.EAGAIN)]
    buffer = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *instruction) for instruction in program))
    return buffer, _Program(len(program), ctypes.addressof(buffer))


_FILTER = _filter()
_libc = ctypes.CDLL(None, use_errno=True)


def _seccomp() -> bool:
    """Make the system calls that start a thread or a process fail. True when in force."""
    if _FILTER is None or _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(_FILTER[1]), 0, 0) == 0


_CHANGES = ("os.mkdir", "os.rmdir", "os.remove", "os.rename", "os.truncate", "os.chmod", "os.link", "os.symlink",
            "os.utime")  # fmt: skip


def _writes(event: str, args: tuple) -> str | None:
    """The path an audit event would change, or None."""
    if event == "open":
        path, mode, flags = args
        return path if hardening.opens_to_write(mode, flags) else None
    return args[0] if event in _CHANGES else None


def _read_only(event, args) -> None:
    """WASI refuses a change to a read-only mount with EPERM where Linux says EROFS; a path
    outside every mount is not found, as before."""
    path = _writes(event, args)
    if path is None or isinstance(path, int):
        return
    try:
        parent = os.path.dirname(os.path.abspath(os.fsdecode(path)))
    except (TypeError, ValueError):
        return
    if os.path.isdir(parent):
        raise PermissionError(errno.EPERM, "Operation not permitted", os.fsdecode(path))


def before_load() -> None:
    """In the zygote, before the app's module is imported: componentize-py pre-initializes
    the app inside WebAssembly too, so threads and signal handlers are refused from its
    first line on, and the interpreter reports what WASI's does (no executable, one CPU).
    (``os``'s process functions go once the app is imported: the standard library's
    modules read them at import time unless ``sys.platform`` is WASI's.)"""
    _no_threads()
    _no_signals()
    sys.executable = ""
    os.cpu_count = lambda: 1


def after_load(isolated: bool) -> None:
    """In the zygote, once the app is imported: the snapshot is complete; with the
    component's files mounted (``isolated``), they are read-only as WASI says it."""
    _no_processes()  # the guest keeps what it needs: forks.py
    _no_new_modules()
    if isolated:
        sys.addaudithook(_read_only)


def enter_instance() -> bool:
    """In an instance, before its handler runs: native code cannot start a thread or a
    process either. True when the kernel took the filter."""
    return _seccomp()
