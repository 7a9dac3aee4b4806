"""A host call made after the response belongs to the turn that is still running
(a spin-sdk 5 task the handler spawned), not to the client that has its answer:
the client closing its connection does not end it. Through `spin-py up`."""

import time

from apps import component, manifest, sdk5_python, write_app

LATER_APP = """
    import asyncio
    import componentize_py_async_support
    from spin_sdk import key_value
    from spin_sdk.http import Handler, Request, Response

    async def later():
        await asyncio.sleep(0.3)  # the client has its answer, and its connection is closed
        try:
            with await key_value.open_default() as store:
                await store.set("later", b"written after the response")
        except Exception as error:
            print("the call after the response failed:", getattr(error, "value", error), flush=True)

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            if request.uri == "/spawn":
                componentize_py_async_support.spawn(later())
                return Response(200, {}, b"spawned")
            with await key_value.open_default() as store:
                value = await store.get("later")
            return Response(200, {}, value or b"nothing yet")
"""


def test_a_call_after_the_response_outlives_the_clients_connection(tmp_path, spin_up):
    path = write_app(tmp_path / "app", manifest(component("kv", route="/...", extra='key_value_stores = ["default"]')),
                     {"app.py": LATER_APP})
    server = spin_up(path, "--python", str(sdk5_python()))
    assert server.get("/spawn")[:3:2] == (200, b"spawned")
    deadline = time.monotonic() + 10
    while (body := server.get("/read")[2]) == b"nothing yet":
        assert "the call after the response failed" not in server.output(), server.output()
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    assert body == b"written after the response"
