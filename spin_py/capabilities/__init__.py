"""Host capabilities: what a guest's host calls reach, one module per capability.

Each has the same shape as a Spin factor: built once per manifest load (the
permissions it works out from the manifest), then ``handle(component_id,
function, args)`` for every call arriving on a worker's channel, with the
component id the host knows from that channel.
"""
