"""What Spin accepts as the name of a new application or component (src/commands/new.rs).

Spin checks a name twice: every segment between non-alphanumeric characters must
start with a letter, and the name must then be a valid component id (kebab-case,
each word all lowercase or all UPPERCASE). Spin asks again for a name that fails
the second check; here both checks are errors.
"""

import re
from pathlib import Path

from spin_py.manifest.ids import kebab_problem

_PATH_UNSAFE = re.compile(r"[^-_.a-zA-Z0-9]")


def name_problem(name) -> str | None:
    """Spin's reason ``name`` cannot name an application or component, or None."""
    bad = [segment for segment in re.split(r"[^\w]|_", name) if not segment[:1].isalpha()]
    if bad:
        shown = ", ".join(f"'{segment}'" for segment in bad)
        verb = "does" if len(bad) == 1 else "do"
        return f"Each segment of the name must start with a letter. {shown} {verb} not start with a letter"
    problem = kebab_problem(name)
    if problem:
        return f"Name must be kebab-cased, and each segment must begin with a letter ({problem})"
    return None


def path_safe(name) -> Path:
    """The default output folder for ``name``, as Spin makes it."""
    return Path(_PATH_UNSAFE.sub("_", name))
