"""Every file of every template under templates/ renders to the text recorded in
golden_renders.json, for three sets of parameter values: the defaults, values that
work every filter the templates use, and a route ending in a slash.

The recorded texts were made by the renderer spin-py had before it used python-liquid,
so this shows python-liquid renders the templates as that one did. After a template
changes on purpose, record again with `python tests/scaffold/test_golden_render.py`.
"""

import json
import sys
from pathlib import Path

import pytest

from spin_py.scaffold import render
from spin_py.scaffold.template import Template, TemplateError, load_template

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden_renders.json")
TEMPLATE_DIRS = sorted(p for p in (ROOT / "templates").iterdir() if (p / "metadata" / "spin-template.toml").is_file())

# The values `new`/`add` would give each template: the special ones (render.special_values) and
# the parameters. A case's value for a parameter a template lacks is left out for that template.
CASES: dict[str, dict[str, str | None]] = {
    "defaults": {
        "project-name": "my-app",
        "output-path": "my-app",
        "authors": "Ada Lovelace <ada@example.com>",
        "username": "Ada Lovelace",
    },
    "every-filter": {
        "project-name": "Pet-Store_HTTPServer",
        "output-path": "services/pet store",
        "authors": "",
        "username": "",
        # Liquid in a value is text: it must come out as it went in.
        "project-description": 'Says "hi" & {{ not-liquid }} {% neither %}',
        "http-path": "/api",
        "max-tokens": "64",
        "temperature": "0",
    },
    "slash-route": {
        "project-name": "chat",
        "output-path": "chat",
        "authors": "Grace Hopper",
        "username": "Grace Hopper",
        "project-description": "A chat",
        "http-path": "/chat/",
        "max-tokens": "999999",
        "temperature": "1.25",
    },
}
_SPECIAL = ("project-name", "output-path", "authors", "username")

# The Liquid a template of one's own may use, beyond what the templates here do; recorded the same way.
# An outcome is the rendered text, "error" (Spin refuses the template) or "copied" (not Liquid: kept as is).
SNIPPET_VALUES = {"project-name": "My HTTPServer app", "http-path": "/api/", "none-given": "", "n": "3"}
SNIPPETS = [
    "{{project-name | kebab_case}} {{project-name | snake_case}} {{project-name | pascal_case}}",
    "{{ 'fermyon.pet-store' | dotted_pascal_case }} {{ http-path | http_wildcard }} {{ '/x/...' | http_wildcard }}",
    "{{ 'Grüße, Welt' | kebab_case }} {{ 'fermyon pet store' | pascal_case }} {{ 'XMLHttpRequest2' | snake_case }}",
    "{{ project-name | upcase }} {{ project-name | downcase }} {{ 'abc' | capitalize }}",
    "[{{ '  a b  ' | strip }}][{{ '  a' | lstrip }}][{{ 'a  ' | rstrip }}]",
    "{{ http-path | append: 'v1' | prepend: 'https://x' }} {{ http-path | remove: '/' }}",
    "{{ 'a-b-a' | replace: 'a', 'c' }} {{ 'a-b-a' | replace_first: 'a', 'c' }} {{ project-name | size }}",
    "{{ none-given | default: 'none' }} {{ n | default: 'none' }}",
    "{% if none-given == '' %}a{% else %}b{% endif %}{% unless nope %}c{% endunless %}",
    "{% if n == '3' %}three{% elsif n == '4' %}four{% else %}other{% endif %}",
    "{% if nope %}x{% elsif project-name contains 'HTTP' %}has{% endif %}",
    "{% if none-given == empty and n != '2' or nope %}yes{% endif %}",
    "{% assign route = http-path | http_wildcard %}{{ route }}",
    "x {{- 'y' | append: 'z' -}} \n w {%- if n -%} \n v {%- endif %}",
    "{% raw %}{{ kept }}{% endraw %} {% comment %}gone {{ nope }}{% endcomment %}done",
    "{{ nope }}",
    "{{ project-name | shout }}",
    "{% if nope %}{{ project-name | shout }}{% endif %}",
    "d = {{ 'not closed'",
    "left {{ open",
    "{% endif %}",
    "{% if n %}never closed",
]


def template_values(template: Template, case: dict[str, str | None]) -> dict[str, str]:
    values = {name: case[name] or "" for name in _SPECIAL}
    for parameter in template.parameters:
        value = case.get(parameter.id, parameter.default)
        assert value is not None, f"{template.id}: no value for {parameter.id}"
        values[parameter.id] = value
    return values


def template_files(template: Template) -> dict[str, Path]:
    """{label: path} for every file the renderer reads: content/ files and snippets."""
    files = {}
    for kind, root in (("content", template.content_dir), ("snippets", template.snippets_dir)):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            files[f"{kind}/{path.relative_to(root).as_posix()}"] = path
    return files


def rendered(template: Template, case: dict[str, str | None]) -> dict[str, str]:
    values = template_values(template, case)
    out = {}
    for label, path in template_files(template).items():
        out[label] = render.render_text(template, label, path.read_bytes(), values).decode("utf-8")
    for output in template.outputs:
        out[f"outputs/{output.path}"] = render.render_text(template, output.path, output.path.encode(), values).decode()
    return out


def snippet_outcome(source: str) -> str:
    template = Template("snippets", "", frozenset(), ROOT, (), {})
    try:
        text = render.render_text(template, "snippet", source.encode(), SNIPPET_VALUES).decode("utf-8")
    except TemplateError:
        return "error"
    return "copied" if text == source and ("{{" in source or "{%" in source) else text


def record() -> dict:
    recorded: dict = {
        case_name: {folder.name: rendered(load_template(folder), case) for folder in TEMPLATE_DIRS}
        for case_name, case in CASES.items()
    }
    recorded["snippets"] = {source: snippet_outcome(source) for source in SNIPPETS}
    return recorded


@pytest.fixture(scope="module")
def golden() -> dict[str, dict[str, dict[str, str]]]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_the_recording_covers_every_template_and_file(golden):
    assert sorted(golden) == sorted([*CASES, "snippets"])
    for case_name in CASES:
        assert sorted(golden[case_name]) == [folder.name for folder in TEMPLATE_DIRS]
        for folder in TEMPLATE_DIRS:
            assert sorted(golden[case_name][folder.name]) == sorted(template_files(load_template(folder)))


@pytest.mark.parametrize("case_name", CASES)
@pytest.mark.parametrize("folder", TEMPLATE_DIRS, ids=lambda folder: folder.name)
def test_every_template_file_renders_as_recorded(golden, case_name, folder):
    expected = golden[case_name][folder.name]
    actual = rendered(load_template(folder), CASES[case_name])
    assert actual.keys() == expected.keys()
    for label in expected:
        assert actual[label] == expected[label], f"{folder.name}/{label} ({case_name})"
        assert "{{" not in actual[label].replace("{{ not-liquid }}", ""), label  # nothing left unrendered



@pytest.mark.parametrize("source", SNIPPETS)
def test_liquid_beyond_the_templates_renders_as_recorded(golden, source):
    assert snippet_outcome(source) == golden["snippets"][source]


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(record(), indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    sys.exit(0)
