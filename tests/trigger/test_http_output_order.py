"""Through a real `spin-py up`: what a handler prints before it responds reaches the
terminal before that request's access line, though its instance's output goes through
the component's shared pipes and another thread writes it."""

import re

from apps import write_app

# The original API runs on spin-py's own interpreter: no SDK environment to build.
APP = """
    import sys
    from spin_http import Response

    def handle_request(request):
        print("stdout of", request.uri)
        print("stderr of", request.uri, file=sys.stderr)
        return Response(200, {"content-type": "text/plain"}, b"ok")
"""

MANIFEST = """
    spin_manifest_version = 2
    [application]
    name = "printing"
    [[trigger.http]]
    route = "/..."
    component = "printer"
    [component.printer]
    source = "app.wasm"
    [component.printer.build]
    command = "spin py2wasm app -o app.wasm"
"""


def test_printed_lines_come_before_the_access_line(tmp_path, spin_up) -> None:
    server = spin_up(write_app(tmp_path / "app", MANIFEST, {"app.py": APP}))
    paths = [f"/n/{number}" for number in range(40)]
    for path in paths:
        status, _, body = server.get(path)
        assert (status, body) == (200, b"ok")
    for path in paths:
        server.wait_for_output(f"GET {path} -> printer 200 ")
    output = server.output()
    for path in paths:
        access = re.search(rf"^GET {path} -> printer 200 [\d.]+ms$", output, re.MULTILINE)
        assert access, output
        for stream in ("stdout", "stderr"):
            printed = output.find(f"[printer] {stream} of {path}\n")
            assert 0 <= printed < access.start(), f"{stream} of {path} after its access line:\n{output}"
