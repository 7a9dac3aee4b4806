"""`spin-py new`, `add`, `templates list` and `plugin manifest`: Spin's scaffolding
commands over the templates in Spin's own format, and packaging as a Spin plugin."""

from pathlib import Path

import click

from spin_py.cli_errors import InputError

_SETTINGS = {"help_option_names": ["-h", "--help"]}


def _fail(error) -> click.ClickException:
    """A scaffolding error as one line naming the argument at fault."""
    message = str(error).replace("\n", " ")
    param = getattr(error, "param", None)
    if param:
        return InputError(param, message)
    return click.ClickException(message)


def _say_if_replaced(template_id: str) -> None:
    """A template of the user's that hides another with its id (a built-in, say) is named, so
    the one used is never a surprise. An unknown id is left for the command to report."""
    from spin_py.scaffold.template import discover, replacement_note

    template = discover().get(template_id)
    note = replacement_note(template) if template is not None else None
    if note:
        click.echo(note, err=True)


def _ask(parameter) -> str:
    """Prompt for a template parameter until its value passes the template's checks."""
    default = parameter.default
    choices = click.Choice(parameter.allowed_values) if parameter.allowed_values else None
    while True:
        value = click.prompt(parameter.prompt, default=default, show_default=bool(default), type=choices,
                             err=True)  # fmt: skip
        problem = parameter.problem(value)
        if problem is None:
            return value
        click.echo(f"Invalid value: {problem}", err=True)


def _template_and_name(template, name, template_option) -> tuple[str, str]:
    """Spin 1 syntax `TEMPLATE NAME`, or Spin 2's `NAME -t TEMPLATE`; both are required."""
    if template_option is not None:
        if name is not None:
            raise click.UsageError("Cannot supply both positional and named template id")
        template, name = template_option, template
    if template is None:
        raise click.UsageError("Missing argument 'TEMPLATE' (see `spin-py templates list`).")
    if name is None:
        raise click.UsageError("Missing argument 'NAME'.")
    return template, name


_template_option = click.option("-t", "--template", "template_option", metavar="TEMPLATE",
                                help="The template to use (then NAME is the only argument), as in `spin new NAME -t TEMPLATE`.")  # fmt: skip
_value_option = click.option("-v", "--value", "values", multiple=True, metavar="NAME=VALUE",
                             help="A template parameter's value (repeatable).")  # fmt: skip
_defaults_option = click.option("-a", "--accept-defaults", is_flag=True,
                                help="Use the template's defaults instead of prompting.")  # fmt: skip


@click.command(context_settings=_SETTINGS)
@click.argument("template", required=False)
@click.argument("name", required=False)
@_template_option
@click.option("-o", "--output", type=click.Path(path_type=Path), metavar="DIR",
              help="Where to create the app.  [default: NAME]")  # fmt: skip
@_value_option
@_defaults_option
@click.option("--no-vcs", is_flag=True, help="Leave out .gitignore and do not `git init`.")
def new(template, name, template_option, output, values, accept_defaults, no_vcs) -> None:
    """Create a new app from TEMPLATE, named NAME, as `spin new` does."""
    from spin_py.scaffold import TemplateError, new_application, parse_value_options
    from spin_py.scaffold.next_steps import next_steps

    template, name = _template_and_name(template, name, template_option)
    _say_if_replaced(template)
    try:
        folder = new_application(template, name, output=output, values=parse_value_options(values),
                                 accept_defaults=accept_defaults, ask=_ask, no_vcs=no_vcs)  # fmt: skip
    except TemplateError as error:
        raise _fail(error) from None
    click.echo(f"Created {name} in {folder} from {template}. Next steps:")
    for step in next_steps(folder):
        click.echo(f"  {step}")


@click.command(context_settings=_SETTINGS)
@click.argument("template", required=False)
@click.argument("name", required=False)
@_template_option
@click.option("-f", "--file", "manifest", default="spin.toml", show_default=True, metavar="PATH",
              help="The app's spin.toml, or a folder holding one.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(path_type=Path), metavar="DIR",
              help="The component's folder, relative to the manifest's.  [default: NAME]")  # fmt: skip
@_value_option
@_defaults_option
def add(template, name, template_option, manifest, output, values, accept_defaults) -> None:
    """Add component NAME from TEMPLATE to an app, as `spin add` does."""
    from spin_py.scaffold import TemplateError, add_component, parse_value_options

    template, name = _template_and_name(template, name, template_option)
    _say_if_replaced(template)
    try:
        folder = add_component(template, name, manifest=manifest, output=output,
                               values=parse_value_options(values), accept_defaults=accept_defaults, ask=_ask)  # fmt: skip
    except TemplateError as error:
        raise _fail(error) from None
    click.echo(f"Added component {name} in {folder} from {template}.")


@click.group(context_settings=_SETTINGS)
def templates() -> None:
    """The templates `new` and `add` use (Spin's template format)."""


@templates.command("list")
@click.option("--verbose", is_flag=True, help="Show where each template comes from, and its tags.")
def list_templates(verbose) -> None:
    """List the templates: id and description."""
    from spin_py.scaffold.template import discover, replacement_note

    found = discover()
    if not found:
        raise click.ClickException("No templates found (set SPIN_PY_TEMPLATES to a folder of Spin templates).")
    width = max(len(template_id) for template_id in found)
    for template_id, template in found.items():
        line = f"{template_id:<{width}}  {template.description}"
        if verbose:
            line += f"  [{', '.join(sorted(template.tags))}]  {template.dir}"
        click.echo(line.rstrip())
    for template in found.values():
        note = replacement_note(template)
        if note:
            click.echo(note, err=True)


@click.group(context_settings=_SETTINGS)
def plugin() -> None:
    """spin-py as the Spin plugin `py` (`spin py up`)."""


@plugin.command("manifest")
@click.option("-c", "--config", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="The plugin description.  [default: ./plugin.toml, else spin-py's own]")  # fmt: skip
@click.option("--url", metavar="URL", help="Where the archive will be downloaded from.  [default: its file:// URL]")
@click.option("--os", "os_name", type=click.Choice(["linux", "macos", "windows"]), multiple=True,
              help="An OS to list the package for (repeatable).  [default: linux and macos]")  # fmt: skip
@click.option("--arch", type=click.Choice(["amd64", "aarch64", "arm"]), multiple=True,
              help="An architecture to list the package for (repeatable).  [default: all Spin knows]")  # fmt: skip
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Where to write the JSON; the archive goes beside it.  [default: ./<name>.json]")  # fmt: skip
def plugin_manifest(config, url, os_name, arch, output) -> None:
    """Build the plugin archive (launcher + license) and the plugin manifest JSON for `spin plugins install`.

    The launcher is a shell script, so the one archive is listed for every POSIX platform asked for.
    """
    from spin_py.scaffold.plugin import PluginError, build_plugin

    try:
        manifest_file, archive = build_plugin(config=config, url=url, os_name=os_name, arch=arch, output=output)
    except PluginError as error:
        raise _fail(error) from None
    click.echo(f"Wrote {manifest_file} and {archive}. Install: spin plugins install --file {manifest_file}")
