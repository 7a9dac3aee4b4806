"""A user's mistake on the command line: one line naming the argument, no usage text, no traceback."""

import click


class InputError(click.ClickException):
    exit_code = 2  # a usage error's status

    def __init__(self, param: str, message: str) -> None:
        hint = param if param.startswith("'") else f"'{param}'"
        super().__init__(f"Invalid value for {hint}: {message}")
