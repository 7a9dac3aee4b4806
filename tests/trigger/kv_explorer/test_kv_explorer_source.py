"""Which components are spin-kv-explorer releases, and the Go behaviours its answers depend on
(encoding/json, DecodeSafeKey, the set request's decoding, httprouter's CleanPath, BasicAuth)."""

import base64

import pytest
from apps import write_app

from spin_py.manifest import load_manifest
from spin_py.trigger.kv_explorer import (
    DIGESTS,
    _basic_auth,
    _set_request,
    decode_safe_key,
    go_clean,
    go_json,
    kv_explorer_release,
)

V010 = "sha256:65bc286f8315746d1beecd2430e178f539fa487ebf6520099daae09a35dbce1d"


def _release(tmp_path, source):
    head = 'spin_manifest_version = 2\n[application]\nname = "a"\n[[trigger.http]]\nroute = "/internal/kv-explorer/..."\ncomponent = "kv"\n'
    app = load_manifest(write_app(tmp_path, head + f"[component.kv]\nsource = {source}\n", {}))
    return kv_explorer_release(app, app.components["kv"])


@pytest.mark.parametrize(
    ("source", "label", "version", "variables"),
    [
        ('{ url = "https://github.com/fermyon/spin-kv-explorer/releases/download/v0.10.0/spin-kv-explorer.wasm", digest = "' + V010 + '" }',
         "spin-kv-explorer v0.10.0", (0, 10, 0), True),
        ('{ url = "https://github.com/radu-matei/spin-kv-explorer/releases/download/v0.9.0/spin-kv-explorer.wasm", '
         'digest = "sha256:07f5f0b8514c14ae5830af0f21674fd28befee33cd7ca58bc0a68103829f2f9c" }',
         "spin-kv-explorer v0.9.0", (0, 9, 0), False),
        # a newer release this list does not know: by the URL
        ('{ url = "https://github.com/spinframework/spin-kv-explorer/releases/download/v0.11.2/spin-kv-explorer.wasm", digest = "sha256:00" }',
         "spin-kv-explorer v0.11.2", (0, 11, 2), True),
        ('{ url = "https://mirror.example.com/explorer.wasm", digest = "sha256:' + V010[7:].upper() + '" }',
         "spin-kv-explorer v0.10.0", (0, 10, 0), True),
        # its own repository's manifest builds it here
        ('"explorer/spin-kv-explorer.wasm"', "spin-kv-explorer", None, True),
    ],
)
def test_releases_by_url_digest_or_file_name(tmp_path, source, label, version, variables):
    release = _release(tmp_path, source)
    assert (release.label, release.version, release.credentials_in_variables) == (label, version, variables)


@pytest.mark.parametrize("source", [
    '{ url = "https://github.com/someone/spin-kv-explorer/releases/download/v0.10.0/spin-kv-explorer.wasm", digest = "sha256:00" }',
    '{ url = "https://github.com/fermyon/spin-fileserver/releases/download/v0.3.0/spin_static_fs.wasm", digest = "sha256:00" }',
    '"explorer.wasm"',
])
def test_other_components_are_not_the_explorer(tmp_path, source):
    assert _release(tmp_path, source) is None


def test_every_release_of_its_template_history_has_a_digest():
    assert sorted(set(DIGESTS.values())) == ["v0.10.0", "v0.4.0", "v0.5.0", "v0.6.0", "v0.7.0", "v0.8.0", "v0.9.0"]


def test_go_json_escapes_as_encoding_json_does():
    assert go_json({"keys": ["<a>&b", "é\u2028"], "v": None}) == b'{"keys":["\\u003ca\\u003e\\u0026b","\xc3\xa9\\u2028"],"v":null}\n'


def test_safe_keys():
    key = "a/b?c"
    safe = base64.b64encode(key.encode()).decode().replace("/", "-")
    assert decode_safe_key(safe) == (key.encode(), None)
    data, error = decode_safe_key("YWJj!!!!")  # Go returns what it decoded before the bad quantum
    assert data == b"abc" and error is not None


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"key": "k", "value": "v"}', ("k", "v")),
    (b'{"KEY": "k", "Value": "v", "other": 1}', ("k", "v")),  # names match without regard to case
    (b'{"key": "a", "KEY": "b"}', ("b", "")),  # in document order, the last one naming a field wins
    (b'  {"key": "k"} trailing', ("k", "")),  # one value is read; what follows is left
    (b"null", ("", "")),
    (b'{"key": null}', ("", "")),
    (b'{"key": 1}', None),
    (b"[]", None),
    (b"", None),
])
def test_the_set_request_decodes_as_go_decodes_it(body, expected):
    assert _set_request(body) == expected


def test_clean_path_and_basic_auth():
    assert [go_clean(p) for p in ("//a//b/", "/a/./b/../c", "/")] == ["/a/b/", "/a/c", "/"]
    assert _basic_auth("basic " + base64.b64encode(b"u:p:q").decode()) == ("u", "p:q")
    assert _basic_auth("Basic " + base64.b64encode(b"nocolon").decode()) is None
    assert _basic_auth("Basic !!") is None
    assert _basic_auth(None) is None
