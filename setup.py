"""The one build step pyproject.toml cannot say: copy the repository's top-level
templates/, plugin.toml and LICENSE into the built package, as spin_py/_bundled/.

They stay at the top level in the repository (Spin's `spin templates install --dir
<repository>` looks for templates/ there), so there is one copy to edit; a wheel gets
its own, which spin_py.resources finds. An editable install reads the top-level copy.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("templates", "plugin.toml", "LICENSE")  # keep in step with spin_py.resources
TARGET = Path("spin_py") / "_bundled"


class BuildPyWithBundled(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # the checkout's own copies are read in place
            return
        target = Path(self.build_lib) / TARGET
        shutil.rmtree(target, ignore_errors=True)  # nothing stale from an earlier build
        target.mkdir(parents=True)
        for name in BUNDLED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"))
            else:
                shutil.copy2(source, target / name)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        target = Path(self.build_lib) / TARGET
        return outputs + [str(path) for path in target.rglob("*") if path.is_file()]


setup(cmdclass={"build_py": BuildPyWithBundled})
