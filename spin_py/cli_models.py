"""`spin-py models`: where each model of the app comes from, and
`spin-py models serve`: share this machine's model pool over HTTP."""

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import click

from spin_py.cli_errors import InputError
from spin_py.cli_values import parse_listen

if TYPE_CHECKING:
    from spin_py.capabilities.llm.pools import ModelPool


def _load_pool(state_dir: Path, runtime_config_file: Path | None, stand_ins: bool) -> "ModelPool":
    from spin_py.capabilities.llm.pools import make_model_pool
    from spin_py.runtime_config import RuntimeConfigError, load_runtime_config

    try:
        runtime_config = load_runtime_config(runtime_config_file) if runtime_config_file else None
        # The pool reads the file's [llm_compute] table (spin_py/capabilities/llm/compute.py).
        return make_model_pool("models", runtime_config, state_dir, stand_ins, click.echo)
    except RuntimeConfigError as error:
        raise click.ClickException(str(error)) from None


def _kind(state_dir: Path, model: str) -> str:
    from spin_py.capabilities.llm import packaged
    from spin_py.capabilities.llm.locate import EMBEDDINGS, INFERENCING, _embeddings_in_state_dir

    if model == packaged.EMBEDDINGS_MODEL or _embeddings_in_state_dir(state_dir, model):
        return EMBEDDINGS
    return INFERENCING


@click.group(invoke_without_command=True)
@click.option("-f", "--from", "manifest", default=".", show_default=True, metavar="PATH",
              help="The spin.toml, or a folder holding one.")
@click.option("--state-dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Where models live.  [default: .spin beside the manifest]")
@click.option("--runtime-config-file", type=click.Path(path_type=Path), metavar="FILE")
@click.option("--stand-ins/--no-stand-ins", default=True, show_default=True)
@click.pass_context
def models(context: click.Context, manifest: str, state_dir: Path | None, runtime_config_file: Path | None,
           stand_ins: bool) -> None:
    """Show where each model in the app's `ai_models` comes from."""
    if context.invoked_subcommand is not None:
        return
    from spin_py.manifest import ManifestError, load_manifest

    try:
        app = load_manifest(manifest)
    except ManifestError as error:
        raise click.ClickException(str(error)) from None
    state_dir = state_dir or app.dir / ".spin"
    pool = _load_pool(state_dir, runtime_config_file, stand_ins)
    users: dict[str, list[str]] = {}
    for component in app.components.values():
        for model in component.ai_models:
            users.setdefault(model, []).append(component.id)
    if not users:
        click.echo("No component lists a model in `ai_models`.")
    for model, components in users.items():
        click.echo(f"{pool.describe(model, _kind(state_dir, model))}  [used by: {', '.join(components)}]")


@models.command()
@click.option("--listen", default="127.0.0.1:3100", show_default=True, metavar="HOST:PORT")
@click.option("--token", envvar="SPIN_PY_MODELS_TOKEN", metavar="TOKEN",
              help="The bearer token clients must send (or $SPIN_PY_MODELS_TOKEN); made up and printed if not given.")
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".spin"), show_default=True, metavar="DIR")
@click.option("--stand-ins/--no-stand-ins", default=True, show_default=True)
def serve(listen: str, token: str | None, state_dir: Path, stand_ins: bool) -> None:
    """Serve this machine's models with Spin's remote protocol (api_type "default")."""
    from spin_py.capabilities.llm.serve import ModelServer
    from spin_py.trigger.http_server import ListenError, bind_server

    try:
        host, port = parse_listen(listen)
    except ValueError as error:
        raise InputError("--listen", str(error)) from None
    if not token:
        token = secrets.token_urlsafe(24)
        click.echo(f"Token: {token}")
    pool = _load_pool(state_dir, None, stand_ins)
    try:
        server = bind_server(host, port, ModelServer(pool, token))
    except ListenError as error:
        raise click.ClickException(str(error)) from None
    url = f"http://{host}:{server.socket.getsockname()[1]}"
    click.echo(f"Serving models on {url}")
    click.echo(f'Use it from an app\'s runtime config: [llm_compute] type = "remote_http", url = "{url}", '
               'auth_token = "<token>", api_type = "default"')
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
