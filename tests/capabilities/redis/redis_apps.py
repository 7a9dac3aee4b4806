"""Shared pieces of the outbound Redis tests: one app per SDK generation whose
handler runs an action named in the path against the address in the query."""

import json
from urllib.parse import quote

from apps import component, manifest, write_app

# "web" may reach any port on 127.0.0.1 by redis://; "closed" may reach nothing.
COMPONENTS = (("web", '["redis://127.0.0.1:*"]'), ("closed", None))


def write_redis_app(folder, source, world="spin-http"):
    parts = [
        component(cid, route=f"/{cid}/...", world=world, extra=f"allowed_outbound_hosts = {hosts}" if hosts else "")
        for cid, hosts in COMPONENTS
    ]
    return write_app(folder, manifest(*parts), {"app.py": source})


def act(server, component_id, action, address):
    status, _, body = server.request("GET", f"/{component_id}/{action}?{quote(address, safe='')}")
    assert status == 200, body
    return json.loads(body)


def subscribed(url, channel):
    """A redis-py pub/sub on ``channel``, ready for messages."""
    import redis

    pubsub = redis.Redis.from_url(url).pubsub()
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    return pubsub


def next_message(pubsub):
    message = pubsub.get_message(timeout=5)
    return message and (message["channel"], message["data"])
