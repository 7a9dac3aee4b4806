"""`spin-py up --key-value KEY=VALUE`: pairs written to the `default` store when
the app is configured, before it serves (crates/trigger/src/cli/initial_kv_setter.rs).

As in Spin, the text after the first `=` is the value, whatever it is: Spin's
`--key-value` reads no files (`KEY=@file` stores the text "@file"; only
`--variable` reads `@file`), and the key may be empty
(crates/common/src/arg_parser.rs `parse_kv`). The split itself is the CLI's one
KEY=VALUE splitter (spin_py/cli.py `split_key_value`).
"""

MESSAGE = "Key/Values must be of the form `key=value`"  # crates/common/src/arg_parser.rs
