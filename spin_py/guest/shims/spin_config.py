"""The original Spin Python API's ``spin_config`` module (spin-python-sdk's old-sdk
branch, spin_sdk/spin_config.py): ``config_get(key)`` returns the component's
variable. As there, a failure raises AssertionError with the Rust error's Debug text
(crates/spin-python-engine: ``PyAssertionError::new_err(format!("{error:?}"))`` of the
fermyon:spin/config error), e.g. ``Error::Provider("no variable for \\"hello\\".\\"nope\\"")``."""

from spin_py_guest import host
from spin_py_guest.bindings import variables
from spin_py_wire.rust_text import rust_debug


def config_get(key: str) -> str:
    """Get a configuration value for the current component.

    The config key must match one defined in in the component manifest.
    """
    try:
        return variables.get(key)
    except host.HostError as error:
        variant, text = variables.config_error(error)
        raise AssertionError(f"Error::{variant}({rust_debug(text)})") from None
