"""The trigger's rules on their own: request framing, request header text, and
what a response must be before it reaches the wire (the live tests in
test_http_edges.py go through `spin-py up`; these cover what is costly to
provoke there, such as a response over the per-response cap)."""

import io

import pytest

from spin_py.trigger.body import BodyTooLarge, ClientGone, MalformedBody, framing, read_body
from spin_py.trigger.headers import HeaderEncodingError, client_headers
from spin_py.trigger.responses import BadResponse, wire_response


def _stream(data):
    return io.BufferedReader(io.BytesIO(data))


def test_framing_follows_rfc_9112() -> None:
    assert framing([("transfer-encoding", "gzip, chunked"), ("content-length", "5")]) == ("chunked", None)
    assert framing([("content-length", "5, 5"), ("content-length", "5")]) == ("length", 5)
    assert framing([]) == ("none", 0)
    for headers in ([("content-length", "+5")], [("content-length", "5 5")], [("content-length", "")],
                    [("transfer-encoding", "chunked, gzip")]):
        with pytest.raises(MalformedBody):
            framing(headers)


def test_chunked_body_with_extensions_and_trailers() -> None:
    data = b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nx-checksum: 1\r\n\r\n"
    assert read_body(_stream(data), [("transfer-encoding", "chunked")]) == b"abcde"


def test_limits_hold_before_the_bytes_are_read() -> None:
    with pytest.raises(BodyTooLarge):
        read_body(_stream(b""), [("content-length", "11")], limit=10)
    with pytest.raises(BodyTooLarge):
        read_body(_stream(b"6\r\nabcdef\r\n5\r\n"), [("transfer-encoding", "chunked")], limit=10)
    assert read_body(_stream(b"a" * 10), [("content-length", "10")], limit=10) == b"a" * 10
    with pytest.raises(MalformedBody):
        read_body(_stream(b"1" * 5000 + b"\r\n"), [("transfer-encoding", "chunked")])
    with pytest.raises(ClientGone):
        read_body(_stream(b"3\r\nab"), [("transfer-encoding", "chunked")])


def test_request_header_values_are_the_utf8_text_sent() -> None:
    latin1 = "café ✓".encode().decode("latin-1")  # as http.server hands them over
    assert client_headers([("X-Text", latin1), ("Connection", "close"), ("X-M", "a"), ("Host", "h"), ("x-m", " b ")]) == [
        ["x-text", "café ✓"], ["x-m", "a"], ["x-m", "b"], ["host", "h"],
    ]
    with pytest.raises(HeaderEncodingError, match="'x-bad'"):
        client_headers([("X-Bad", "\xff")])


def test_a_response_over_the_cap_is_refused() -> None:
    with pytest.raises(BadResponse, match="11 bytes is over spin-py's 10 bytes limit"):
        wire_response(200, [], b"x" * 11, method="GET", max_body=10)
    assert wire_response(200, [], b"x" * 10, method="GET", max_body=10)[2] == [b"x" * 10]


def test_responses_without_a_body() -> None:
    assert wire_response(204, [], b"", method="GET") == ("204 No Content", [], [])
    assert wire_response(200, [["content-length", "99"]], b"", method="HEAD") == ("200 OK", [("content-length", "99")], [])
    with pytest.raises(BadResponse, match="says 99 bytes but the body has 0"):
        wire_response(200, [["content-length", "99"]], b"", method="GET")


@pytest.mark.parametrize("status", [99, 1000, "200", 200.0, True, None])
def test_status_must_be_what_status_code_from_u16_takes(status) -> None:
    with pytest.raises(BadResponse, match="status"):
        wire_response(status, [], b"", method="GET")


def test_header_values_go_out_as_utf8_bytes() -> None:
    _, headers, _ = wire_response(200, [["X-Price", "10 €"], ["x-tab", "a\tb"]], b"", method="GET")
    assert headers[0] == ("x-price", "10 €".encode().decode("latin-1"))
    assert headers[1] == ("x-tab", "a\tb")
    for name, value in [("x", "a\x7fb"), ("x", "a\x01b"), ("x y", "1"), ("", "1"), ("é", "1"), ("upgrade", "h2c")]:
        with pytest.raises(BadResponse):
            wire_response(200, [[name, value]], b"", method="GET")
