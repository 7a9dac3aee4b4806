"""`spin-py add`: a new component in an existing app, as `spin add` makes it.

The template's content goes into a subfolder; its snippets go into spin.toml the
way Spin puts them there: ``component`` and ``application_trigger`` appended
after the user's text (which stays byte for byte, comments and all),
``variables`` merged into the top-level ``[variables]`` table by tomlkit.
"""

import shutil
import tomllib
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions

from spin_py.manifest import manifest_file
from spin_py.scaffold import render
from spin_py.scaffold.template import ADD_COMPONENT, TemplateError, find_template
from spin_py.scaffold.writer import replace_file, target_folder, write_tree

MANIFEST_PARAM = "'-f' / '--file'"
APPENDED = ("component", "application_trigger")


def add_component(template_id, name, manifest="spin.toml", output=None, values=None, accept_defaults=False,
                  ask=None) -> Path:  # fmt: skip
    """Add component ``name`` from ``template_id`` to the app of ``manifest``; returns the component's folder.

    Every check runs, and the new manifest is rendered and parsed, before anything is written.
    """
    manifest_path = _manifest_path(manifest)
    original = _read_manifest(manifest_path)
    template = find_template(template_id)
    variant = template.variants.get(ADD_COMPONENT)
    if variant is None:
        raise TemplateError(f"Template {template.id} doesn't support the 'add component' operation", param="TEMPLATE")
    _check_manifest_version(template, manifest_path, original)
    variant = variant.resolved(original.unwrap())
    output_path, target = target_folder(manifest_path.parent, name, output)
    given = dict(values or {})
    render.check_values(template, given)
    for kind in variant.snippets:
        if kind not in (*APPENDED, "variables"):
            raise TemplateError(f"Spin doesn't know what to do with snippet {kind}")
    chosen = render.collect_values(template, variant, given, accept_defaults, ask)
    all_values = {**render.special_values(name, output_path), **chosen}
    files = render.render_content(template, variant, all_values)
    snippets = render.render_snippets(template, variant, all_values)
    component_dirs: list[str] = []
    app_dirs: list[str] = []
    for path, at in render.render_dirs(template, all_values):
        (app_dirs if at == "manifest" else component_dirs).append(path)
    new_text = _new_manifest_text(manifest_path, original, snippets)
    if not files and not component_dirs and not app_dirs and new_text == original.as_string():
        raise TemplateError("Nothing to create")
    if files or component_dirs:
        write_tree(target, files, component_dirs)
    try:
        for path in app_dirs:
            (manifest_path.parent / path).mkdir(parents=True, exist_ok=True)
        replace_file(manifest_path, new_text)
    except (OSError, TemplateError) as error:
        shutil.rmtree(target, ignore_errors=True)
        raise TemplateError(str(error)) from None
    return target


def _manifest_path(manifest) -> Path:
    path = manifest_file(manifest)
    if not path.is_file():
        raise TemplateError(f"Can't add component to {path.absolute()}: file does not exist", param=MANIFEST_PARAM)
    return path


def _read_manifest(path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.TOMLKitError) as error:
        raise TemplateError(f"Can't add a component to {path}: it is not valid TOML: {error}", param=MANIFEST_PARAM) from None


def _check_manifest_version(template, path, document) -> None:
    version = document.get("spin_manifest_version", document.get("spin_version"))
    if str(version) == "1":
        raise TemplateError("Components cannot be added to Spin manifest version 1 applications.", param=MANIFEST_PARAM)
    content_manifest = template.content_dir / "spin.toml"
    if content_manifest.is_file() and 'spin_manifest_version = "1"' in content_manifest.read_text(encoding="utf-8"):
        raise TemplateError("This template is for a different version of the Spin manifest", param="TEMPLATE")


def _new_manifest_text(path, document, snippets) -> str:
    text = document.as_string()
    existing_components = set(document.get("component", {}))
    for kind in APPENDED:
        snippet = snippets.get(kind)
        if snippet is None:
            continue
        added = _parse_snippet(kind, snippet)
        clash = sorted(existing_components & set(added.get("component", {})))
        if clash:
            raise TemplateError(f"{path} already has a component '{clash[0]}'", param="NAME")
        text = f"{text.rstrip()}\n\n{snippet}"
    if "variables" in snippets:
        text = _merge_variables(text, snippets["variables"])
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(f"The template's snippet does not fit into {path}: {error}") from None
    return text


def _parse_snippet(kind, snippet) -> dict[str, dict[str, Any]]:
    try:
        return tomllib.loads(snippet)
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(f"The template's {kind} snippet is not valid TOML: {error}") from None


def _merge_variables(text, snippet) -> str:
    _parse_snippet("variables", snippet)
    document = tomlkit.parse(text)
    merging = tomlkit.parse(snippet)
    if "variables" not in document:
        document["variables"] = tomlkit.table()
    table = document["variables"]
    if not isinstance(table, dict):
        raise TemplateError("Cannot merge template data into variables as it is not a table")
    for key, value in merging.items():
        table[key] = value
    return document.as_string()
