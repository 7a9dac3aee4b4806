"""The llama.cpp build spin-py's set-up installs is the portable one: built
with GGML_NATIVE, it turns on AMX where the building CPU reports it, and that
build segfaults on the first generation on such machines."""

import llama_cpp


def features():
    info = llama_cpp.llama_print_system_info().decode()
    return {name.strip(): value.strip() for name, _, value in (part.partition("=") for part in info.split("|")) if value}


def test_the_installed_llama_cpp_is_built_for_portable_x86_64():
    found = features()
    assert found.get("AVX2") == "1" and found.get("FMA") == "1" and found.get("F16C") == "1", found
    assert not any(name.startswith(("AMX", "AVX512")) and value == "1" for name, value in found.items()), found
