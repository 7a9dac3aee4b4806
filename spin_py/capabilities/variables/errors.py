"""The variables capability's error kinds, as Spin's host reports them to a guest
(crates/factor-variables/src/host.rs: the `variables` interface's error variants)."""

from typing import ClassVar

INVALID_NAME = "InvalidName"
UNDEFINED = "Undefined"
PROVIDER = "Provider"
OTHER = "Other"


class VariablesError(Exception):
    """spin_expressions::Error: ``kind`` is its variant, ``str()`` its Display text."""

    PREFIXES: ClassVar[dict[str, str]] = {
        INVALID_NAME: "invalid variable name: ",
        "InvalidTemplate": "invalid variable template: ",
        PROVIDER: "provider error: ",
        UNDEFINED: "undefined variable: ",
    }

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(self.PREFIXES[kind] + detail)
        self.kind = kind
        self.detail = detail  # the variant's payload: what a guest's error variant carries
