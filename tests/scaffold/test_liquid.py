"""Spin's five template filters, each through the Liquid environment by the name a
template uses (as Spin's crates/templates run.rs `test_filters` does), and the ways
Spin's renderer refuses or copies a template."""

import pytest

from spin_py.scaffold import liquid
from spin_py.scaffold.cases import dotted_pascal_case, http_wildcard, kebab_case, pascal_case, snake_case


def render(source: str, **values: object) -> str:
    return liquid.render(source, values)


def test_spin_filters_are_the_five_spin_registers():
    # crates/templates/src/run.rs, Run::template_parser
    assert set(liquid.SPIN_FILTERS) == {"kebab_case", "pascal_case", "dotted_pascal_case", "snake_case", "http_wildcard"}


@pytest.mark.parametrize("text, expected", [
    ("originally_snaky", "originally-snaky"),  # run.rs test_filters
    ("HTTPServer", "http-server"), ("MY-APP", "my-app"), ("myApp v2", "my-app-v2"),
    ("Pet-Store_HTTPServer", "pet-store-http-server"), ("  spaced  out ", "spaced-out"), ("Grüße, Welt", "grüße-welt"),
])  # fmt: skip
def test_kebab_case(text, expected):
    assert render("{{ name | kebab_case }}", name=text) == expected == kebab_case(text)


@pytest.mark.parametrize("text, expected", [
    ("originally-kebabby", "originally_kebabby"),  # run.rs test_filters
    ("XMLHttpRequest2", "xml_http_request2"), ("My App", "my_app"), ("already_snake", "already_snake"),
])  # fmt: skip
def test_snake_case(text, expected):
    assert render("{{ name | snake_case }}", name=text) == expected == snake_case(text)


@pytest.mark.parametrize("text, expected", [
    ("originally_snaky", "OriginallySnaky"),  # run.rs test_filters
    ("fermyon pet store", "FermyonPetStore"), ("HTTP-server", "HttpServer"), ("a.b", "AB"),
])  # fmt: skip
def test_pascal_case(text, expected):
    assert render("{{ name | pascal_case }}", name=text) == expected == pascal_case(text)


@pytest.mark.parametrize("text, expected", [
    ("originally.semi-dotted", "Originally.SemiDotted"),  # run.rs test_filters
    # filters.rs test_dotted_pascal_case
    ("Fermyon.PetStore", "Fermyon.PetStore"), ("fermyon-pet-store", "FermyonPetStore"),
    ("fermyon_pet_store", "FermyonPetStore"), ("fermyon.pet-store", "Fermyon.PetStore"),
    ("fermyon.pet_store", "Fermyon.PetStore"), ("fermyon pet store", "FermyonPetStore"),
])  # fmt: skip
def test_dotted_pascal_case(text, expected):
    assert render("{{ name | dotted_pascal_case }}", name=text) == expected == dotted_pascal_case(text)


@pytest.mark.parametrize("route, expected", [
    # filters.rs HttpWildcardFilter: kept when it ends in /..., "..." after a trailing /, else "/..."
    ("/api/...", "/api/..."), ("/api/", "/api/..."), ("/api", "/api/..."), ("/", "/..."), ("/...", "/..."),
])  # fmt: skip
def test_http_wildcard(route, expected):
    assert render("{{ route | http_wildcard }}", route=route) == expected == http_wildcard(route)


def test_spin_filters_take_a_scalar_as_text_and_no_arguments():
    assert render("{{ 42 | kebab_case }} {{ true | snake_case }}") == "42 true"
    with pytest.raises(liquid.LiquidError, match="String expected"):  # filters.rs: input.as_scalar()
        render("{{ names | kebab_case }}", names=["a", "b"])
    with pytest.raises(liquid.LiquidError, match="kebab_case takes no arguments"):
        render("{{ name | kebab_case: '-' }}", name="a")


def test_spin_filters_chain_with_the_standard_ones():
    assert render('{{ p | http_wildcard | remove: "/..." }}/search', p="/find") == "/find/search"
    assert render("{{ name | kebab_case | upcase | append: '!' }}", name="My App") == "MY-APP!"


def test_an_unset_variable_is_an_error_when_output_and_false_in_a_condition():
    with pytest.raises(liquid.LiquidError, match=r"'nope' is undefined \(line 2\)"):
        render("fine\n{{ nope }}")
    assert render("{% if nope %}a{% else %}b{% endif %}{% unless nope %}c{% endunless %}") == "bc"


def test_an_unknown_filter_is_an_error_even_where_it_would_not_run():
    # renderer.rs infer_from_bytes: liquid-rust refuses it while parsing, before any value is known.
    for source in ("{{ x | shout }}", "{% if false %}{{ x | shout }}{% endif %}"):
        with pytest.raises(liquid.LiquidError, match="unknown filter 'shout'") as raised:
            liquid.parse(source)
        assert not isinstance(raised.value, liquid.NotLiquid)


@pytest.mark.parametrize("source", ["left {{ open", "{% endif %}", "{% if x %}never closed", "{% no_such_tag %}"])
def test_text_that_does_not_parse_is_not_liquid(source):
    with pytest.raises(liquid.NotLiquid):
        liquid.parse(source)


def test_every_built_in_template_file_is_liquid():
    """A stray `{{` (an f-string's literal brace) would make Spin copy the whole file unrendered."""
    from spin_py.scaffold.template import builtin_templates_dir

    files = [p for p in builtin_templates_dir().rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    files = [p for p in files if p.name != "spin-template.toml" and p.parent != builtin_templates_dir()]
    assert len(files) >= 4 * 6
    for path in files:
        liquid.parse(path.read_text(encoding="utf-8"))  # NotLiquid would fail the test
