"""The one error type host capabilities raise for a guest: it becomes the
guest SDK's own error (``Err(Error_<kind>(message))`` for spin-sdk)."""


class CapabilityError(Exception):
    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(message or kind)
        self.kind = kind
        self.message = message
