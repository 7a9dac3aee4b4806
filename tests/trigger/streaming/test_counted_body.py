"""A streamed response counted as it goes (trigger/responses.py): the response cap and
content-length hold for it as for a body sent whole, by cutting the connection."""

import pytest

from spin_py.trigger.responses import BodyCut, CountedBody, wire_response


class Pieces:
    def __init__(self, *pieces):
        self.pieces = pieces
        self.closed = False

    def __iter__(self):
        return iter(self.pieces)

    def close(self):
        self.closed = True


def drain(body):
    return b"".join(body)


def test_a_streamed_body_goes_out_chunked_and_whole() -> None:
    status, headers, body = wire_response(200, [["content-type", "text/plain"]], Pieces(b"ab", b"cd"), method="GET")
    assert status == "200 OK" and ("content-length" not in dict(headers)) and drain(body) == b"abcd"
    body.close()
    assert body.stream.closed


@pytest.mark.parametrize("pieces, text", [
    ((b"12345",), "says 10 bytes but the body has 5"),
    ((b"0123", b"456789"), None),
])
def test_content_length_is_counted(pieces, text) -> None:
    _, _, body = wire_response(200, [["content-length", "10"]], Pieces(*pieces), method="GET")
    said = []
    body.on_problem = said.append
    if sum(map(len, pieces)) == 10:
        assert drain(body) == b"".join(pieces) and said == []
        return
    with pytest.raises(BodyCut):
        drain(body)
    assert said == ["response header 'content-length' " + text]


def test_more_than_the_content_length_is_cut_before_it_is_sent() -> None:
    _, _, body = wire_response(200, [["content-length", "3"]], Pieces(b"ab", b"cdef"), method="GET")
    sent = []
    with pytest.raises(BodyCut, match="says 3 bytes but the body has more"):
        for piece in body:
            sent.append(piece)
    assert sent == [b"ab"]


def test_the_response_cap_holds_for_a_streamed_body() -> None:
    _, _, body = wire_response(200, [], Pieces(b"x" * 600, b"y" * 600), method="GET", max_body=1000)
    with pytest.raises(BodyCut, match="over spin-py's 1000 bytes limit"):
        drain(body)


def test_head_drains_the_stream_and_sends_nothing() -> None:
    _, _headers, body = wire_response(200, [["content-length", "4"]], Pieces(b"ab", b"cd"), method="HEAD")
    assert isinstance(body, CountedBody) and drain(body) == b"" and body.sent == 4
