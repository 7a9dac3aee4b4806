"""Fills in the host functions of the app's real spin-sdk.

spin-sdk's generated WIT bindings (``spin_sdk.wit.imports.*``) are plain
functions that only work inside a WebAssembly component. When the app imports
one of them, this replaces those functions with ones that call our host, and
returns results and errors as the SDK's own types: the SDK's code above them
(``spin_sdk.llm.infer`` ...) runs unchanged.
"""

import importlib.abc
import sys

from . import host, llm


def _llm_error(module, error):
    if error.kind == "ModelNotSupported":
        variant = module.Error_ModelNotSupported()
    elif error.kind == "InvalidInput":
        variant = module.Error_InvalidInput(error.message)
    else:
        variant = module.Error_RuntimeError(error.message)
    return module.Err(variant)


def bind_llm(module):
    """``module``: a generated llm interface (spin-sdk 2/3 ``llm``, 4/5 ``fermyon_spin_llm_2_0_0``...)."""

    def infer(model, prompt, params=None):
        try:
            value = llm.infer(model, prompt, params)
        except host.HostError as error:
            raise _llm_error(module, error) from None
        usage = value["usage"]
        return module.InferencingResult(
            value["text"], module.InferencingUsage(usage["prompt_token_count"], usage["generated_token_count"])
        )

    def generate_embeddings(model, text):
        try:
            value = llm.generate_embeddings(model, text)
        except host.HostError as error:
            raise _llm_error(module, error) from None
        return module.EmbeddingsResult(value["embeddings"], module.EmbeddingsUsage(value["usage"]["prompt_token_count"]))

    module.infer = infer
    module.generate_embeddings = generate_embeddings


BINDINGS = {
    "spin_sdk.wit.imports.llm": bind_llm,  # spin-sdk 2.x, 3.x
    "spin_sdk.wit.imports.fermyon_spin_llm": bind_llm,  # spin-sdk 4.x, 5.x: llm v1
    "spin_sdk.wit.imports.fermyon_spin_llm_2_0_0": bind_llm,  # spin-sdk 4.x, 5.x: llm v2
}


class _BindingFinder(importlib.abc.MetaPathFinder):
    """Lets the normal import find the module, then binds it once it has run."""

    def find_spec(self, fullname, path, target=None):
        bind = BINDINGS.get(fullname)
        if bind is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _BindingLoader(spec.loader, bind)
                return spec
        return None


class _BindingLoader(importlib.abc.Loader):
    def __init__(self, loader, bind):
        self.loader = loader
        self.bind = bind

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.bind(module)


def install():
    sys.meta_path.insert(0, _BindingFinder())
