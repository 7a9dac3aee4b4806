"""Spin templates on disk: ``<id>/metadata/spin-template.toml`` beside ``content/``,
read with the same rules as Spin (crates/templates: manifest_version "1", unknown
keys refused, ``[new_application]``/``[add_component]`` variants, string
parameters with ``pattern`` and ``allowed_values``).
"""

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from spin_py.resources import shipped


class TemplateError(Exception):
    """A template that cannot be used, or input it does not accept.

    ``param`` names the command-line argument at fault (e.g. "NAME"), when there is one.
    """

    def __init__(self, message, param=None) -> None:
        super().__init__(message)
        self.param = param


NEW_APPLICATION = "new_application"
ADD_COMPONENT = "add_component"

_TOP_KEYS = {"manifest_version", "id", "description", "trigger_type", "tags", "new_application",
             "add_component", "parameters", "custom_filters", "outputs"}  # fmt: skip
_VARIANT_KEYS = {"supported", "skip_files", "skip_parameters", "snippets", "conditions"}
_CONDITION_KEYS = {"condition", "skip_files", "skip_parameters", "skip_snippets"}
_PARAMETER_KEYS = {"type", "prompt", "default", "pattern", "allowed_values"}


@dataclass(frozen=True)
class Parameter:
    id: str
    prompt: str
    default: str | None = None
    pattern: str | None = None
    allowed_values: tuple[str, ...] | None = None

    def problem(self, value) -> str | None:
        """Spin's reason ``value`` is refused, or None. Patterns match anywhere, as Rust's is_match does."""
        if self.pattern is not None and not re.search(self.pattern, value):
            return f"Input '{value}' does not match pattern '{self.pattern}'"
        if self.allowed_values is not None and value not in self.allowed_values:
            return f"Input '{value}' is not one of the allowed values ({', '.join(self.allowed_values)})"
        return None


@dataclass(frozen=True)
class Conditional:
    manifest_entry: tuple[str, ...]  # the only condition Spin has: manifest_entry_exists
    skip_files: tuple[str, ...] = ()
    skip_parameters: tuple[str, ...] = ()
    skip_snippets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variant:
    skip_files: tuple[str, ...] = ()
    skip_parameters: tuple[str, ...] = ()
    snippets: dict = field(default_factory=dict)  # snippet kind -> file under metadata/snippets
    conditions: tuple[Conditional, ...] = ()

    def resolved(self, manifest_table=None) -> "Variant":
        """This variant with the conditions that hold for ``manifest_table`` (the app's spin.toml) applied."""
        skip_files, skip_parameters, snippets = list(self.skip_files), list(self.skip_parameters), dict(self.snippets)
        for conditional in self.conditions:
            if manifest_table is not None and _entry_exists(manifest_table, conditional.manifest_entry):
                skip_files += conditional.skip_files
                skip_parameters += conditional.skip_parameters
                for kind in conditional.skip_snippets:
                    snippets.pop(kind, None)
        return Variant(tuple(skip_files), tuple(skip_parameters), snippets)


@dataclass(frozen=True)
class CreateDir:
    path: str  # a Liquid template
    at: str = "component"  # or "manifest"


@dataclass(frozen=True)
class Template:
    id: str
    description: str
    tags: frozenset
    dir: Path
    parameters: tuple[Parameter, ...]
    variants: dict  # NEW_APPLICATION / ADD_COMPONENT -> Variant, for the supported ones
    outputs: tuple[CreateDir, ...] = ()
    replaces: Path | None = None  # the folder of a template with the same id that this one hides

    @property
    def content_dir(self) -> Path:
        return self.dir / "content"

    @property
    def snippets_dir(self) -> Path:
        return self.dir / "metadata" / "snippets"

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.id == name), None)


def load_template(folder) -> Template:
    folder = Path(folder)
    path = folder / "metadata" / "spin-template.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TemplateError(f"{path} is not a valid template manifest: {error}") from None
    where = f"{path}"
    if raw.get("manifest_version") != "1":
        raise TemplateError(f"{where}: manifest_version must be \"1\"")
    _no_unknown_keys(raw, _TOP_KEYS, where)
    if "custom_filters" in raw:
        raise TemplateError(f"{where}: Custom filters are not supported in this version of Spin. Please update your template.")
    if not isinstance(raw.get("id"), str):
        raise TemplateError(f"{where}: id is missing")
    variants = {}
    for kind, default_supported in ((NEW_APPLICATION, True), (ADD_COMPONENT, False)):
        table = raw.get(kind)
        if table is None:
            if default_supported:
                variants[kind] = Variant()
            continue
        _no_unknown_keys(table, _VARIANT_KEYS, f"{where}: [{kind}]")
        if table.get("supported", True):
            variants[kind] = _variant(table, f"{where}: [{kind}]")
    return Template(
        id=raw["id"],
        description=raw.get("description") or "",
        tags=frozenset(tag.lower() for tag in raw.get("tags", [])),
        dir=folder,
        parameters=tuple(_parameter(name, value, where) for name, value in raw.get("parameters", {}).items()),
        variants=variants,
        outputs=tuple(_output(name, value, where) for name, value in raw.get("outputs", {}).items()),
    )


def _no_unknown_keys(table, allowed, where) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise TemplateError(f"{where}: unknown field '{unknown[0]}'")


def _variant(table, where) -> Variant:
    conditions = []
    for name, raw in table.get("conditions", {}).items():
        _no_unknown_keys(raw, _CONDITION_KEYS, f"{where} condition {name}")
        condition = raw.get("condition")
        if not (isinstance(condition, dict) and list(condition) == ["manifest_entry_exists"]):
            raise TemplateError(f"{where} condition {name}: Invalid condition: unknown condition type")
        conditions.append(Conditional(
            tuple(condition["manifest_entry_exists"].split(".")),
            tuple(raw.get("skip_files", ())), tuple(raw.get("skip_parameters", ())), tuple(raw.get("skip_snippets", ())),
        ))  # fmt: skip
    return Variant(
        tuple(table.get("skip_files", ())), tuple(table.get("skip_parameters", ())),
        dict(table.get("snippets", {})), tuple(conditions),
    )  # fmt: skip


def _parameter(name, raw, where) -> Parameter:
    _no_unknown_keys(raw, _PARAMETER_KEYS, f"{where}: parameter {name}")
    if raw.get("type") != "string":
        raise TemplateError(f"{where}: parameter {name}: Unrecognised data type '{raw.get('type')}'")
    if "prompt" not in raw:
        raise TemplateError(f"{where}: parameter {name}: missing field 'prompt'")
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as error:
            raise TemplateError(f"{where}: parameter {name}: bad pattern: {error}") from None
    allowed = raw.get("allowed_values")
    return Parameter(name, raw["prompt"], raw.get("default"), pattern, tuple(allowed) if allowed is not None else None)


def _output(name, raw, where) -> CreateDir:
    if raw.get("action") != "create_dir" or "path" not in raw:
        raise TemplateError(f"{where}: output {name}: only `action = \"create_dir\"` with a `path` is known")
    return CreateDir(raw["path"], raw.get("at", "component"))


def _entry_exists(table, path) -> bool:
    current = table
    for step in path:
        if not isinstance(current, dict) or step not in current:
            return False
        current = current[step]
    return True


# --- where templates are found


def builtin_templates_dir() -> Path:
    """spin-py's own templates (the repository's top-level templates/, bundled into a wheel)."""
    return shipped("templates")


def template_roots() -> list[Path]:
    """Folders holding one template per subfolder: $SPIN_PY_TEMPLATES (os.pathsep-separated) first,
    then the built-in ones. An earlier folder's template wins over a later one with the same id."""
    extra = [Path(p) for p in os.environ.get("SPIN_PY_TEMPLATES", "").split(os.pathsep) if p]
    return [*extra, builtin_templates_dir()]


def discover() -> dict[str, Template]:
    """{id: Template} for every readable template; templates that fail to load are skipped, as Spin does."""
    found: dict[str, Template] = {}
    for root in template_roots():
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if not (folder / "metadata" / "spin-template.toml").is_file():
                continue
            try:
                template = load_template(folder)
            except TemplateError:
                continue
            earlier = found.get(template.id)
            if earlier is None:
                found[template.id] = template
            elif earlier.replaces is None:
                found[template.id] = dataclasses.replace(earlier, replaces=folder)
    return dict(sorted(found.items()))


def replacement_note(template: Template) -> str | None:
    """One line saying which template ``template`` hides, or None when it hides none."""
    if template.replaces is None:
        return None
    hidden = "the built-in one" if template.replaces.parent == builtin_templates_dir() else "the one"
    return (f"Template '{template.id}' from {template.dir} replaces {hidden} at {template.replaces} "
            f"(SPIN_PY_TEMPLATES comes first)")  # fmt: skip


def find_template(template_id) -> Template:
    templates = discover()
    if template_id in templates:
        return templates[template_id]
    known = ", ".join(templates) or "none (no templates folder found)"
    raise TemplateError(f"Unknown template '{template_id}'. Known templates: {known}", param="TEMPLATE")
