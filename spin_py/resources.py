"""spin-py's own files, found the same way in a checkout, an editable install and a wheel.

The repository keeps one copy of the templates and the plugin description at its top
level (``templates/``, ``plugin.toml``, ``LICENSE``), where ``spin templates install
--dir <repository>`` and the plugin build expect them. A wheel cannot ship files outside
its packages, so setup.py's build step copies them into ``spin_py/_bundled/``; a checkout
or an editable install has no such folder and reads the top-level copy instead.

The guest (``spin_py/guest/``, shims included) is a package of its own and is found
through importlib.resources like any package data.
"""

from importlib import resources
from pathlib import Path

BUNDLED = "_bundled"  # the folder inside spin_py that setup.py's build step fills


def _package_path(package: str) -> Path:
    """The folder of an installed package. pip installs unpacked, so this is a real folder;
    a zipped spin-py (zipimport) could not hand the guest's folder to a worker anyway."""
    folder = resources.files(package)
    if not isinstance(folder, Path):
        raise RuntimeError(f"{package} is not installed as files on disk ({folder!r}); install spin-py with pip")
    return folder


def shipped(name: str) -> Path:
    """``templates``, ``plugin.toml`` or ``LICENSE``: the wheel's copy, else the checkout's top-level one."""
    package = _package_path("spin_py")
    inside = package / BUNDLED / name
    checkout = package.parent
    if inside.exists() or not (checkout / "pyproject.toml").is_file():
        return inside  # a wheel (a site-packages is no checkout, whatever else lies there)
    return checkout / name


def guest_dir() -> Path:
    """The guest package's folder (worker.py, shims/), which a worker loads by path."""
    return _package_path("spin_py.guest").resolve()
