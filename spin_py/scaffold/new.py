"""`spin-py new`: a new application from a template, as `spin new` makes it."""

import subprocess
from pathlib import Path

from spin_py.scaffold import render
from spin_py.scaffold.template import NEW_APPLICATION, TemplateError, find_template
from spin_py.scaffold.writer import target_folder, write_tree

SNIPPETS_FOR_ADD_ONLY = ("component", "application_trigger", "variables")


def new_application(template_id, name, output=None, values=None, accept_defaults=False, ask=None,
                    no_vcs=False, cwd=None) -> Path:  # fmt: skip
    """Render ``template_id`` into a new folder (``output``, default: ``name`` made path-safe).

    Returns the folder. Every check runs, and every file is rendered, before anything is written.
    """
    template = find_template(template_id)
    variant = template.variants.get(NEW_APPLICATION)
    if variant is None:
        raise TemplateError(f"Template {template.id} doesn't support the 'new application' operation", param="TEMPLATE")
    variant = variant.resolved()
    output_path, target = target_folder(cwd or ".", name, output)
    given = dict(values or {})
    render.check_values(template, given)
    for kind in variant.snippets:
        if kind in SNIPPETS_FOR_ADD_ONLY:
            raise TemplateError(f"Spin doesn't know what to do with a '{kind}' snippet outside an 'add component' operation")
        raise TemplateError(f"Spin doesn't know what to do with snippet {kind}")
    chosen = render.collect_values(template, variant, given, accept_defaults, ask)
    all_values = {**render.special_values(name, output_path), **chosen}
    files = render.render_content(template, variant, all_values, no_vcs=no_vcs)
    dirs = [path for path, _at in render.render_dirs(template, all_values)]
    if not files and not dirs:
        raise TemplateError("Nothing to create")
    write_tree(target, files, dirs)
    if not no_vcs:
        _maybe_git_init(target)
    return target


def _maybe_git_init(folder) -> None:
    """Like Spin: a git repository for the new app, unless it is inside one already or git is missing."""
    try:
        inside = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=folder, capture_output=True, timeout=30)
        if inside.returncode == 0:
            return
        subprocess.run(["git", "init", "--quiet"], cwd=folder, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pass
