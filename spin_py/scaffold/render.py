"""Running a template in memory: checking and collecting parameter values, then
rendering its content files and snippets. Nothing here writes to disk, so a
failure leaves nothing behind."""

from pathlib import Path
from typing import Any

from spin_py.scaffold import liquid
from spin_py.scaffold.authors import authors
from spin_py.scaffold.template import TemplateError

VALUE_PARAM = "'-v' / '--value'"


def parse_value_options(items) -> dict:
    """``-v name=value`` options -> {name: value}, later ones winning, as Spin merges them."""
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise TemplateError(f"'{item}' should be in the form name=value", param=VALUE_PARAM)
        values[name] = value
    return values


def check_values(template, values) -> None:
    """Spin's checks on values given up front: known parameters, matching their patterns."""
    problems = []
    for name, value in values.items():
        parameter = template.parameter(name)
        if parameter is None:
            known = ", ".join(p.id for p in template.parameters) or "none"
            problems.append(f"Template does not contain a parameter named '{name}' (its parameters: {known})")
        elif (problem := parameter.problem(value)) is not None:
            problems.append(f"{name}: {problem}")
    if problems:
        raise TemplateError("; ".join(problems), param=VALUE_PARAM)


def collect_values(template, variant, given, accept_defaults, ask) -> dict:
    """A value for each parameter the variant uses: given, else the default (with
    ``accept_defaults``), else from ``ask(parameter)``; no ``ask`` means it is an error."""
    values = {}
    for parameter in template.parameters:
        if parameter.id in variant.skip_parameters:
            continue
        if parameter.id in given:
            values[parameter.id] = given[parameter.id]
        elif accept_defaults and parameter.default is not None:
            values[parameter.id] = parameter.default
        elif ask is not None:
            values[parameter.id] = ask(parameter)
        else:
            raise TemplateError(f"Parameter '{parameter.id}' not provided", param=VALUE_PARAM)
    return values


def special_values(name, output_path) -> dict[str, str]:
    author, username = authors()
    return {"authors": author, "username": username, "project-name": name, "output-path": Path(output_path).as_posix()}


def render_text(template, label, raw, values) -> bytes:
    """Rendered bytes of one file; bytes that are not UTF-8 or not Liquid are kept as they are (as in Spin)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    try:
        return liquid.render(text, values).encode("utf-8")
    except liquid.NotLiquid:
        return raw
    except liquid.LiquidError as error:
        raise TemplateError(f"template {template.id}: {label}: {error}") from None


def render_content(template, variant, values, no_vcs=False) -> dict[Path, bytes]:
    """{relative output path: bytes} for the template's content/ files the variant keeps."""
    files: dict[Path, bytes] = {}
    root = template.content_dir
    if not root.is_dir():
        return files
    skipped = set(variant.skip_files)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if relative.as_posix() in skipped or (no_vcs and path.name == ".gitignore"):
            continue
        if "__pycache__" in relative.parts:
            continue  # left by running a template's own code in place, never content
        rendered = render_text(template, relative.as_posix(), path.read_bytes(), values)
        if relative.suffix == ".tmpl":
            relative = relative.with_suffix("")  # lets a template ship e.g. pyproject.toml.tmpl
        files[relative] = rendered
    return files


def render_snippets(template, variant, values) -> dict[str, str]:
    """{snippet kind: text} for the variant's snippets (component, application_trigger, variables)."""
    snippets = {}
    for kind, file_name in variant.snippets.items():
        path = template.snippets_dir / file_name
        try:
            raw = path.read_bytes()
        except OSError:
            raise TemplateError(f"template {template.id}: Error reading snippet file {file_name}") from None
        snippets[kind] = render_text(template, f"snippet {file_name}", raw, values).decode("utf-8")
    return snippets


def render_dirs(template, values) -> list[Any]:
    """(relative path, at) for each ``create_dir`` output."""
    dirs = []
    for output in template.outputs:
        path = render_text(template, f"output {output.path}", output.path.encode(), values).decode()
        dirs.append((Path(path), output.at))
    return dirs
