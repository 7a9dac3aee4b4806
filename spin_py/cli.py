"""The `spin-py` command line (also `spin py ...` as a Spin plugin).

Commands import what they need when they run, so `spin-py --help` stays fast
and never loads a model engine.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from spin_py import __version__
from spin_py.cli_errors import InputError
from spin_py.cli_values import parse_listen, parse_size, split_key_value


def _parse_env(values: tuple[str, ...]) -> dict[str, str]:
    env = {}
    for item in values:
        pair = split_key_value(item)
        if pair is None or not pair[0]:
            raise InputError("'-e' / '--env'", f"'{item}' is not KEY=VALUE")
        env[pair[0]] = pair[1]
    return env


def _parse_max_request_body(value: str) -> int:
    try:
        return parse_size(value)
    except ValueError as error:
        raise InputError("--max-request-body", str(error)) from None


# How each `up` flag becomes its UpConfig field, where it is more than the value click gives.
_UP_PARSERS: dict[str, Callable[[Any], Any]] = {
    "env": _parse_env,
    "max_request_body": _parse_max_request_body,
    "inspector": lambda value: _parse_address("--inspector", value),
}


def _parse_address(option: str, value: str) -> tuple[str, int]:
    try:
        return parse_listen(value)
    except ValueError as error:
        raise InputError(option, str(error)) from None


def _capability_option(flag: Any) -> click.Option:
    return click.Option([flag.name, flag.dest], multiple=True, metavar=flag.metavar, help=flag.help)


class _UpCommand(click.Command):
    """`up`, with each capability's own flags (spin_py/capabilities: their ``flags``) added after
    ``--env`` the first time its options are needed (its help, a run), so that `spin-py --help`
    imports no capability."""

    _with_capability_flags = False

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        if not self._with_capability_flags:
            from spin_py.capabilities import capability_flags

            self._with_capability_flags = True
            at = next(index for index, param in enumerate(self.params) if param.name == "env") + 1
            self.params[at:at] = [_capability_option(flag) for flag in capability_flags()]
        return super().get_params(ctx)


def _capability_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Each capability flag's setting, by its dest, as its own ``parse`` reads the values given."""
    from spin_py.capabilities import capability_flags
    from spin_py.capabilities.seam import FlagError

    settings = {}
    for flag in capability_flags():
        try:
            settings[flag.dest] = flag.parse(tuple(values.pop(flag.dest, ())))
        except FlagError as error:
            raise InputError(flag.name, str(error)) from None
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="spin-py")
def main() -> None:
    """Run Spin's Python apps natively: `spin up` for Python, with hot reload and a shared model pool."""


@main.command(cls=_UpCommand)
@click.option("-f", "--from", "manifest", default=".", show_default=True, metavar="PATH",
              help="The spin.toml to run, or a folder holding one.")
@click.option("--listen", default="127.0.0.1:3000", show_default=True, metavar="HOST:PORT",
              help="The address to serve on.")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY=VALUE",
              help="An environment variable for every component, over the manifest's `environment`.")
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
@click.option("--inspector", default="127.0.0.1:0", show_default=True, metavar="HOST:PORT",
              help="Where to serve the dev inspector, a page of the app's requests and stores (port 0: a free one; "
                   "its URL is printed at startup).")
@click.option("--no-inspector", is_flag=True, help="Do not serve the dev inspector (nothing is recorded).")
def up(manifest: str, listen: str, python: Path | None, **flags: Any) -> None:
    """Serve the app's triggers, as `spin up` does."""
    from spin_py.config import UpConfig
    from spin_py.dev_server import DevServer, ListenError
    from spin_py.host.runtime import StateDirError
    from spin_py.manifest import ManifestError, manifest_file
    from spin_py.runtime_config import RuntimeConfigError

    try:
        host, port = parse_listen(listen)
    except ValueError as error:
        raise InputError("--listen", str(error)) from None
    capability_settings = _capability_settings(flags)
    settings = {name: _UP_PARSERS.get(name, lambda value: value)(value) for name, value in flags.items()}
    if settings.pop("no_inspector"):
        settings["inspector"] = None
    # Absolute, but not resolved: workers start in the app's folder, and a venv's python is a symlink.
    python = Path(os.path.abspath(python)) if python is not None else None
    config = UpConfig(manifest=manifest_file(manifest), host=host, port=port, python=python,
                      capability_flags=capability_settings, **settings)
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
