"""The original Spin Python API's `spin_http` module (spin-python-sdk before
PyPI, as in Spin's Serverless AI guide), for apps that ``from spin_http import Response``.

Headers are a dict, as the old SDK gave them (repeated request headers joined
with ", "); bodies are bytes or None.
"""


class Request:
    def __init__(self, method, uri, headers, body):
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body

    def __repr__(self):
        return f"Request(method={self.method!r}, uri={self.uri!r}, headers={self.headers!r}, body={self.body!r})"


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def __repr__(self):
        return f"Response(status={self.status!r}, headers={self.headers!r}, body={self.body!r})"


def http_send(request):
    raise NotImplementedError("spin-py does not yet provide outbound HTTP (spin_http.http_send)")
