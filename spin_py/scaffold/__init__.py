"""Scaffolding from Spin templates: discovery, Liquid (python-liquid with Spin's own
filters), `new` (an app) and `add` (a component in an app); and the Spin plugin
packaging (spin_py.scaffold.plugin)."""

from spin_py.scaffold.add import add_component
from spin_py.scaffold.new import new_application
from spin_py.scaffold.render import parse_value_options
from spin_py.scaffold.template import Template, TemplateError, discover, find_template, load_template

__all__ = [
    "Template",
    "TemplateError",
    "add_component",
    "discover",
    "find_template",
    "load_template",
    "new_application",
    "parse_value_options",
]
