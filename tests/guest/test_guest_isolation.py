"""Guest code shares an interpreter with the user's app: it must import the
standard library only, and see nothing of the host's packages."""

import json
import subprocess
import sys

from apps import sdk3_python

from spin_py.host.launch import GUEST_DIR, WIRE_DIR, guest_loader

CHECK = "import json, sys\nbefore = set(sys.modules)  # what the interpreter loaded at startup (site, .pth hooks)\n" \
    + guest_loader() + f"""
d = {str(GUEST_DIR)!r}
sys.path.insert(0, d + '/shims')
import pkgutil, importlib
for info in pkgutil.iter_modules([d]):
    importlib.import_module('spin_py_guest.' + info.name)
for info in pkgutil.iter_modules([{str(WIRE_DIR)!r}]):
    importlib.import_module('spin_py_wire.' + info.name)
for name in ('spin_http', 'spin_llm', 'componentize_py_types', 'componentize_py_runtime'):
    importlib.import_module(name)
ours = {{'spin_py_guest', 'spin_py_wire', 'spin_http', 'spin_llm', 'componentize_py_types', 'componentize_py_runtime'}}
foreign = sorted(n for n in set(sys.modules) - before
                 if n.split('.')[0] not in sys.stdlib_module_names and n.split('.')[0] not in ours)
print(json.dumps(foreign))
"""


def test_guest_imports_only_the_standard_library():
    result = subprocess.run([sys.executable, "-I", "-c", CHECK], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_a_worker_cannot_import_the_host_packages(tmp_path):
    """-I and loading the guest by path: in the app's own venv, the host's packages
    (werkzeug, click, spin_py itself) are not importable."""
    (tmp_path / "app.py").write_text(
        "import importlib.util\nfrom spin_http import Response\n"
        "SEEN = [m for m in ('werkzeug', 'spin_py', 'click') if importlib.util.find_spec(m)]  # while imported\n"
        "def handle_request(request):\n"
        "    return Response(200, {}, ','.join(SEEN).encode())\n"
    )
    from spin_py.host.instances import InstanceSource
    from spin_py.host.launch import WorkerSettings
    from spin_py.host.output import ComponentOutput
    from spin_py.host.worker import Worker

    output = ComponentOutput("iso", tmp_path)
    source = InstanceSource(sdk3_python, WorkerSettings("iso", "app", str(tmp_path)), {}, output)
    worker = Worker(source.load(), output)
    try:
        answer = worker.serve("GET", "/", [], b"", None)
        assert answer.status == 200
        assert answer.body == b""
    finally:
        worker.stop()
        source.stop()
