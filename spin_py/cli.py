"""The `spin-py` command line (also `spin py ...` as a Spin plugin).

Commands import what they need when they run, so `spin-py --help` stays fast
and never loads a model engine.
"""

import os
import re
from pathlib import Path

import click

from spin_py import __version__
from spin_py.cli_errors import InputError


def _parse_listen(value):
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InputError("--listen", f"'{value}' is not HOST:PORT (for example 127.0.0.1:3000)")
    return host.strip("[]"), int(port)


def split_key_value(text):
    """``(key, value)`` split at the first ``=``, as Spin splits its KEY=VALUE options
    (``split_once('=')``), or None when there is no ``=``: the one splitter of -e,
    --variable and --key-value."""
    key, sep, value = text.partition("=")
    return (key, value) if sep else None


def _parse_env(values):
    env = {}
    for item in values:
        pair = split_key_value(item)
        if pair is None or not pair[0]:
            raise InputError("'-e' / '--env'", f"'{item}' is not KEY=VALUE")
        env[pair[0]] = pair[1]
    return env


def _parse_variables(values):
    """`--variable`: KEY=VALUE, KEY=@FILE, @FILE.json, @FILE.toml; files read now, a later one wins."""
    from spin_py.capabilities.variables.sources import VariableSourceError, parse_variable

    variables = {}
    for item in values:
        try:
            variables.update(parse_variable(item, split_key_value))
        except VariableSourceError as error:
            raise InputError("--variable", f"'{item}': {error}") from None
    return variables


def _parse_key_values(values):
    """`--key-value KEY=VALUE` as Spin's parse_kv takes it: the key may be empty, the value is never a file."""
    from spin_py.capabilities.key_value.seed import MESSAGE

    pairs = []
    for item in values:
        pair = split_key_value(item)
        if pair is None:
            raise InputError("--key-value", f"'{item}': {MESSAGE}")
        pairs.append(pair)
    return tuple(pairs)


_SIZE = re.compile(r"(\d+)\s*([kmg]?)(?:i?b)?", re.I)


def _parse_size(param, value):
    """Bytes from "1048576", "512K", "100M", "1GiB" (K, M, G are powers of 1024)."""
    match = _SIZE.fullmatch(value.strip())
    if not match:
        raise InputError(param, f"'{value}' is not a size in bytes (for example 1048576, 512K, 100M or 1G)")
    return int(match.group(1)) * 1024 ** " kmg".index(match.group(2).lower() or " ")


# How each `up` flag becomes its UpConfig field, where it is more than the value click gives.
_UP_PARSERS = {
    "env": _parse_env,
    "variables": _parse_variables,
    "key_values": _parse_key_values,
    "max_request_body": lambda value: _parse_size("--max-request-body", value),
}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="spin-py")
def main():
    """Run Spin's Python apps natively: `spin up` for Python, with hot reload and a shared model pool."""


@main.command()
@click.option("-f", "--from", "manifest", default=".", show_default=True, metavar="PATH",
              help="The spin.toml to run, or a folder holding one.")
@click.option("--listen", default="127.0.0.1:3000", show_default=True, metavar="HOST:PORT",
              help="The address to serve on.")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY=VALUE",
              help="An environment variable for every component, over the manifest's `environment`.")
@click.option("--variable", "variables", multiple=True, metavar="KEY=VALUE | KEY=@FILE | @FILE.json | @FILE.toml",
              help="A value for an application variable, over every other provider. Repeatable.")
@click.option("--key-value", "key_values", multiple=True, metavar="KEY=VALUE",
              help="Set a key/value pair in the app's default store before serving (overwrites). Repeatable.")
@click.option("--sqlite", "sqlite_statements", multiple=True, metavar="STATEMENT",
              help="Run a SQLite statement such as a migration against the default database before serving; "
                   "@FILE runs a file of statements, @FILE:LABEL against the database LABEL. Repeatable.")
@click.option("--state-dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Where logs and models live.  [default: .spin beside the manifest]")
@click.option("--runtime-config-file", type=click.Path(path_type=Path), metavar="FILE",
              help="Spin runtime config (TOML), e.g. its [llm_compute] table.")
@click.option("--profile", metavar="NAME",
              help="Apply the components' [component.<id>.profile.NAME] overrides, as `spin up --profile` does.")
@click.option("--python", "python", type=click.Path(path_type=Path), metavar="PATH",
              help="The interpreter for the app's code, used as it is (nothing is installed into it).  "
                   "[default: the app's .venv/ or venv/, else the activated $VIRTUAL_ENV, else a new .venv "
                   "when there is a requirements.txt, else spin-py's own]")
@click.option("--install/--no-install", default=True, show_default=True,
              help="Install requirements.txt into the app's virtual environment (a new .venv when it has none) "
                   "when it changed since the last install, and again when it changes while serving.")
@click.option("--max-workers", default=32, show_default=True, type=click.IntRange(min=1),
              help="Worker processes per component, the most that serve requests at once.")
@click.option("--max-request-body", default="100M", show_default=True, metavar="BYTES",
              help="The longest request body served (a number of bytes, or 512K, 100M, 1G); a longer one gets a 413.")
@click.option("--request-timeout", default=300.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              metavar="SECONDS", help="How long a handler may take to respond before it gets a 500 and its worker is replaced.")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Reload a component when its files change, and the app when spin.toml changes.")
@click.option("--build-check/--no-build-check", default=True, show_default=True,
              help="Run each component's build command as `spin build` does, in the background at startup and "
                   "after changes, and say whether it passed (the app serves either way).")
@click.option("--stand-ins/--no-stand-ins", default=True, show_default=True,
              help="Let a packaged model answer for an inferencing model that is not installed (announced).")
@click.option("--ai-engine", type=click.Choice(["models", "deterministic"]), default="models", show_default=True,
              help="`deterministic`: fixed echo answers and hash embeddings, no models (for tests).")
def up(manifest, listen, python, **flags):
    """Serve the app's triggers, as `spin up` does."""
    from spin_py.config import UpConfig
    from spin_py.host.runtime import StateDirError
    from spin_py.manifest import ManifestError, manifest_file
    from spin_py.runtime_config import RuntimeConfigError
    from spin_py.dev_server import DevServer, ListenError

    host, port = _parse_listen(listen)
    settings = {name: _UP_PARSERS.get(name, lambda value: value)(value) for name, value in flags.items()}
    # Absolute, but not resolved: workers start in the app's folder, and a venv's python is a symlink.
    python = Path(os.path.abspath(python)) if python is not None else None
    config = UpConfig(manifest=manifest_file(manifest), host=host, port=port, python=python, **settings)
    if python is not None and not (python.is_file() and os.access(python, os.X_OK)):
        raise InputError("--python", f"{python} is not an executable file")
    from spin_py.guest.hardening import not_dumpable

    # Other processes of the developer (a component where its files are not isolated among them)
    # cannot read the host's memory or environment through /proc.
    not_dumpable()
    try:
        server = DevServer(config)
    except (ManifestError, RuntimeConfigError, StateDirError, ListenError) as error:
        raise click.ClickException(str(error)) from None
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass



# Commands that live in their own modules (each imports what it needs only when run).
from spin_py import cli_models, cli_scaffold  # noqa: E402

for _command in (cli_scaffold.new, cli_scaffold.add, cli_scaffold.templates, cli_scaffold.plugin, cli_models.models):
    main.add_command(_command)
