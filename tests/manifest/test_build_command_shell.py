"""Build commands are read as `sh -c` reads them (Spin runs them through the shell,
crates/build's ``Exec::shell``): quotes, escapes, operators, comments, redirections, and
substitutions (``$(...)``, backticks, ``$NAME``), which are one word whose value is unknown."""


import pytest

from spin_py.manifest.python_source import NotPython, PythonEntry, build_outputs, build_tool, parse_build_command

SITE = "$(python3 -c 'import site; print(site.getsitepackages()[0])')"


def parsed(command, workdir):
    found = parse_build_command(command, workdir)
    assert isinstance(found, PythonEntry), found
    return found


def test_the_site_packages_substitution_is_a_path_only_the_shell_knows(tmp_path):
    # The public AI example's build command: `(` is not the module, and the substitution adds no path.
    found = parsed(f"componentize-py -w spin-http componentize -p . -p {SITE} app -o app.wasm", tmp_path)
    assert found == PythonEntry("app", tmp_path.resolve(), (tmp_path.resolve(),))


@pytest.mark.parametrize(
    ("command", "module", "paths"),
    [
        ("componentize-py componentize -p `python3 -c 'print(1)'` app -o app.wasm", "app", ["."]),
        ("componentize-py componentize -p$(pwd)/lib -p src app -o app.wasm", "app", ["src"]),
        ('componentize-py componentize --python-path="$HOME/lib" --python-path=src app', "app", ["src"]),
        ("componentize-py componentize -p ${DEPS:-deps} app -o app.wasm", "app", ["."]),
        # A substitution in the module's place is not the module; a later plain word is.
        ("componentize-py componentize $(cat flags.txt) app -o app.wasm", "app", ["."]),
        ('componentize-py componentize "a $(x) b" app -o app.wasm', "app", ["."]),
        # Parentheses, quotes and backslashes inside the substitution do not end it.
        ("componentize-py componentize -p $(echo ')' \"(\" \\)) app", "app", ["."]),
        ("componentize-py componentize -p $(dirname $(which python3)) app", "app", ["."]),
        ("componentize-py componentize -p $((1 + 2)) app", "app", ["."]),
        # An environment prefix, even one with a substitution, is not the command.
        ("SOURCE_DATE_EPOCH=$(date +%s) componentize-py componentize app -o a.wasm", "app", ["."]),
        # Comments, subshells, line continuations, a quoted word spanning lines.
        ("componentize-py componentize app -o a.wasm # builds app (not this)", "app", ["."]),
        ("(cd src && componentize-py componentize app -o ../a.wasm)", "app", ["."]),
        ("componentize-py componentize \\\n  -p src \\\n  app -o a.wasm", "app", ["src"]),
        ("echo 'one\ntwo' && componentize-py componentize app", "app", ["."]),
        ("componentize-py componentize app -o a.wasm 2>&1 >build.log", "app", ["."]),
        ("componentize-py componentize a\\ pp -o a.wasm", "a pp", ["."]),
    ],
)
def test_shell_words(tmp_path, command, module, paths):
    (tmp_path / "src").mkdir()
    found = parsed(command, tmp_path)
    where = tmp_path / "src" if command.startswith("(cd src") else tmp_path
    assert found.module == module
    assert found.paths == tuple((where / path).resolve() for path in paths)


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("componentize-py componentize $(echo app) -o app.wasm",
         "names the Python module for componentize-py only through a shell substitution, which spin-py does not run"),
        ("componentize-py componentize -p $(pwd -o app.wasm", "cannot be parsed: No closing ')' for '$('"),
        ("componentize-py componentize -p `pwd app", "cannot be parsed: No closing backquote"),
        ('componentize-py componentize "app', "cannot be parsed: No closing quotation"),
    ],
)
def test_what_cannot_be_known(tmp_path, command, reason):
    assert parse_build_command(command, tmp_path) == NotPython(f"build command `{command}` {reason}")


def test_the_tool_and_its_outputs(tmp_path):
    command = f"pip install -r requirements.txt && cd py && .venv/bin/componentize-py componentize -p {SITE} app -o ../app.wasm"
    assert build_tool(command, tmp_path) == ("componentize-py", (".venv/bin/componentize-py",), tmp_path / "py")
    assert build_outputs(command, tmp_path) == [(tmp_path / "app.wasm").resolve()]
    assert build_tool("python3 -m componentize_py componentize app", tmp_path)[:2] == (
        "componentize-py", ("python3", "-m", "componentize_py"))
    assert build_tool("spin py2wasm app -o app.wasm", tmp_path)[:2] == ("py2wasm", ("spin", "py2wasm"))
    assert build_tool("componentize-py -w spin-http bindings out", tmp_path) is None
    # An output only the shell would know is not claimed.
    assert build_outputs('componentize-py componentize app -o "$OUT/app.wasm"', tmp_path) == []
    assert build_outputs("componentize-py componentize app --output=dist/app.wasm", tmp_path) == [
        (tmp_path / "dist/app.wasm").resolve()]


def test_quoted_words_match_the_shell(tmp_path):
    """The words the parser sees are the words sh passes on: checked against a real sh."""
    import subprocess

    command = """componentize-py componentize -p 'a b' -p "c\\"d" -p e\\ f -p "g\\\\h" app"""
    shell = subprocess.run(["sh", "-c", "printf '%s\\n' " + command.partition(" ")[2]], capture_output=True, text=True)
    words = shell.stdout.splitlines()
    found = parsed(command, tmp_path)
    assert [str(path.relative_to(tmp_path.resolve())) for path in found.paths] == [words[2], words[4], words[6], words[8]]
