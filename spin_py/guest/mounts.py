"""The component's filesystem: its ``files`` at their guest paths, read-only, and nothing else.

Spin gives a component a WASI filesystem holding its ``files`` mounts (crates/factor-wasi:
the component's files are preopened at ``/``), so a host path outside them does not exist
for it, and neither does ``/proc``. The zygote builds the same view once per load, after
the app's modules are imported (pre-initialization reads them from the host, as
componentize-py's build does), in a mount namespace of its own that every instance it
forks inherits:

- a new mount namespace (as root; otherwise inside a new user namespace, where an
  unprivileged user may mount), private, so nothing propagates to the host;
- a tmpfs as the new root, each mount bound at its guest path and made read-only (a
  folder is bound whole, so edits in it show at once; a folder that another mount lies
  inside, or one with ``exclude_files``, is bound file by file);
- ``pivot_root`` into it and the old root detached: the working directory is ``/``.

Where neither namespace can be made (a kernel or container that forbids both), the
instance keeps the host's filesystem and the zygote says so (the host shows it once).

Standard library only.
"""

import ctypes
import os

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


class MountFailed(OSError):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise MountFailed(number, f"{what}: {os.strerror(number)}")


def _mount(source, target, kind, flags, data=None) -> None:
    encode = lambda text: text.encode() if text is not None else None  # noqa: E731
    _check(_libc.mount(encode(source), encode(target), encode(kind), flags, encode(data)),
           f"mount {source or ''} on {target}")


def _own_namespace() -> None:
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(_CLONE_NEWNS) == 0:
        return
    _check(_libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "unshare")
    # In the new user namespace this process is root, mapped to the user it was.
    with open("/proc/self/setgroups", "w") as file:
        file.write("deny")
    with open("/proc/self/uid_map", "w") as file:
        file.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as file:
        file.write(f"0 {gid} 1")


def _bind(host: str, target: str) -> None:
    if os.path.isdir(host):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "wb").close()
    _mount(host, target, None, _MS_BIND)
    _mount(None, target, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def enter(plan: list, root: str) -> str | None:
    """Make ``plan`` (``[host path, guest path]`` pairs, in order, folders first made
    for guest folders without a host side: ``[None, guest path]``) this process's whole
    filesystem, built on the empty folder ``root``. Returns None, or why the host's
    filesystem stays visible."""
    try:
        _own_namespace()
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        _mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=755,size=1m")
    except OSError as error:  # MountFailed too
        return f"the component's files are not isolated (no mount namespace: {error})"
    for host, guest in plan:
        target = os.path.join(root, guest.lstrip("/"))
        if host is None:
            os.makedirs(target, exist_ok=True)
        else:
            _bind(host, target)
    _mount(None, root, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, "mode=755")
    os.chdir(root)
    # pivot_root(".", "."): the old root ends up stacked under the new one, and is detached.
    _check(_libc.syscall(155 if os.uname().machine == "x86_64" else 41, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", _MNT_DETACH), "umount the host's root")
    os.chdir("/")
    return None
