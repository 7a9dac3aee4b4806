"""`spin-py up --key-value KEY=VALUE`: pairs written to the `default` store when
the app is configured, before it serves (crates/trigger/src/cli/initial_kv_setter.rs).

As in Spin, the text after the first `=` is the value, whatever it is: Spin's
`--key-value` reads no files (`KEY=@file` stores the text "@file"; only
`--variable` reads `@file`), and the key may be empty
(crates/common/src/arg_parser.rs `parse_kv`). The split itself is the command
line's one KEY=VALUE splitter (spin_py/cli_values.py `split_key_value`).
"""

from spin_py.capabilities.seam import Flag, FlagError
from spin_py.cli_values import split_key_value

MESSAGE = "Key/Values must be of the form `key=value`"  # crates/common/src/arg_parser.rs


def parse_key_values(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in values:
        pair = split_key_value(item)
        if pair is None:
            raise FlagError(f"'{item}': {MESSAGE}")
        pairs.append(pair)
    return tuple(pairs)


KEY_VALUE_FLAG = Flag(
    "--key-value", "key_values", "KEY=VALUE",
    "Set a key/value pair in the app's default store before serving (overwrites). Repeatable.", parse_key_values,
)
