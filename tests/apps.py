"""Small Spin apps written to disk for tests: a spin.toml plus handler modules."""

import textwrap
from pathlib import Path

from venvs import venv_python

SDK3 = ("sdk3-py311", "3.11", ["spin-sdk==3.4.1"])
SDK5 = ("sdk5-py312", "3.12", ["spin-sdk==5.0.0"])
SDK4 = ("sdk4-py312", "3.12", ["spin-sdk==4.0.0"])  # what spin-python-sdk's examples pin


def sdk3_python():
    return venv_python(*SDK3)


def sdk5_python():
    return venv_python(*SDK5)


def sdk4_python():
    return venv_python(*SDK4)


def write_app(folder, manifest, files):
    """Write ``spin.toml`` and ``files`` ({relative path: source}) under ``folder``; returns the manifest path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    manifest_path = folder / "spin.toml"
    manifest_path.write_text(textwrap.dedent(manifest).lstrip())
    return manifest_path


def component(component_id, module="app", route=None, extra="", world="spin-http"):
    """A v2 manifest fragment: a trigger (when ``route`` is given) and a componentize-py component."""
    trigger = f'[[trigger.http]]\nroute = "{route}"\ncomponent = "{component_id}"\n\n' if route else ""
    return (
        trigger
        + f'[component.{component_id}]\nsource = "{module}.wasm"\n{extra}\n'
        + f'[component.{component_id}.build]\ncommand = "componentize-py -w {world} componentize {module} -o {module}.wasm"\n\n'
    )


def manifest(*components, name="test-app", base=None):
    head = f'spin_manifest_version = 2\n\n[application]\nname = "{name}"\n'
    if base:
        head += f'[application.trigger.http]\nbase = "{base}"\n'
    return head + "\n" + "".join(components)


# An sdk3 handler that reports what it was given, so tests can check the request path end to end.
ECHO_SDK3 = """
    import json, os
    from spin_sdk.http import IncomingHandler, Request, Response

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            if request.uri.startswith("/echo-body"):
                return Response(201, {"content-type": "application/octet-stream", "x-echo": "yes"}, request.body)
            seen = {"method": request.method, "uri": request.uri, "headers": dict(request.headers),
                    "env": dict(os.environ), "pid": os.getpid()}
            return Response(200, {"content-type": "application/json"}, json.dumps(seen).encode())
"""
