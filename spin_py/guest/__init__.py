"""Code that runs inside a component's worker subprocess, in the app's own Python.

Everything under this package imports the standard library only, and the wire
it shares with the host (spin_py/wire, imported here as ``spin_py_wire``): it
shares an interpreter with the user's code and whatever spin-sdk version the app
pins. The host loads both by path, this package under the name ``spin_py_guest``
(see ``spin_py.host.launch``), so that nothing else of spin-py, and none of the
host's packages, is visible to the app.
"""
