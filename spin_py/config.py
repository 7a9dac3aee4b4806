"""The settings of one `spin-py up`, built once from the command line."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class UpConfig:
    manifest: Path  # the spin.toml
    host: str = "127.0.0.1"
    port: int = 3000
    env: dict = field(default_factory=dict)  # -e KEY=VALUE, over every component's manifest environment
    # Each capability's own flags (--variable, --key-value, --sqlite ...), by dest, as the
    # capability's Flag parsed them (spin_py/capabilities/seam.py): read back with flag().
    capability_flags: dict[str, Any] = field(default_factory=dict)
    state_dir: Path | None = None  # default: .spin beside the manifest
    runtime_config_file: Path | None = None
    profile: str | None = None  # --profile: the components' profile overrides to apply
    python: Path | None = None  # --python (else see spin_py/host/app_python.py)
    install: bool = True  # --no-install: never create a .venv or pip-install requirements.txt
    max_workers: int = 32  # per component (bench/serverless_ai.py: 32 lets 32 concurrent embeddings share forward passes)
    idle_timeout: float = 30.0  # seconds before an extra idle worker retires
    request_timeout: float = 300.0  # --request-timeout: seconds a handler has to respond
    watch: bool = True
    build_check: bool = True  # run each component's build command in the background (spin_py/host/build_check.py)
    ai_engine: str = "models"  # or "deterministic": fixed answers, no models
    stand_ins: bool = True  # a packaged model answers for an inferencing model that is not installed
    max_request_body: int = 100 * 1024 * 1024  # bytes; a longer request body is answered 413
    inspector: tuple[str, int] | None = None  # --inspector HOST:PORT (the CLI's default: loopback, a free port); None: none

    def state_dir_for(self, app_dir: str | Path) -> Path:
        return Path(self.state_dir) if self.state_dir else Path(app_dir) / ".spin"

    def flag(self, dest: str, default: Any = ()) -> Any:
        """A capability flag's setting; ``default`` when the flag was not given."""
        return self.capability_flags.get(dest, default)
