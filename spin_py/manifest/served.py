"""Which of an app's triggers `spin-py up` serves, decided as `spin up` decides
which trigger to run (Spin's src/commands/up.rs, trigger_commands_for_trigger_types):
``http`` and ``redis`` are built in; any other type runs the plugin
``trigger-<type>``, and when Spin knows no such plugin it refuses the app with

    No built-in trigger named '<type>', and no plugin named 'trigger-<type>' was found

so a typo (``[[trigger.htttp]]``) fails startup with that text, and a trigger
spin-py does not serve (every plugin trigger) is named at startup. Both built-in
triggers are served: HTTP (spin_py/trigger/http.py) and Redis (spin_py/trigger/redis.py).
"""

import difflib
import os
import sys
from pathlib import Path

from spin_py.manifest.errors import ManifestError
from spin_py.manifest.model import App

SERVED = frozenset({"http", "redis"})
BUILT_IN = ("http", "redis")
# Trigger plugins Spin can find: those in its plugin catalogue (spinframework/spin-plugins,
# manifests/trigger-*) and the cron trigger, installed from its release URL.
KNOWN_PLUGINS = frozenset({"command", "cron", "kinesis", "mqtt", "sqs"})


def spin_data_dir() -> Path:
    """Spin's data directory (crates/common/src/data_dir.rs): $SPIN_DATA_DIR, else the
    platform's local data folder + ``spin``."""
    if os.environ.get("SPIN_DATA_DIR"):
        return Path(os.environ["SPIN_DATA_DIR"])
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "spin"


def plugin_known(trigger_type: str) -> bool:
    """Would `spin up` find the plugin ``trigger-<type>``: a published one, one installed
    (plugins/manifests/<name>.json) or one in the local catalogue (plugins/.spin-plugins/manifests/<name>/)?"""
    if trigger_type in KNOWN_PLUGINS:
        return True
    name = f"trigger-{trigger_type}"
    plugins = spin_data_dir() / "plugins"
    return (plugins / "manifests" / f"{name}.json").is_file() or (plugins / ".spin-plugins" / "manifests" / name).is_dir()


def check_trigger_types(app: App) -> None:
    """Raise Spin's error, with the manifest line, for a trigger type Spin could not run."""
    for trigger_type in app.other_triggers:
        if trigger_type in BUILT_IN or plugin_known(trigger_type):
            continue
        key, line = app.trigger_places.get(trigger_type, ("", None))
        message = f"No built-in trigger named '{trigger_type}', and no plugin named 'trigger-{trigger_type}' was found"
        close = difflib.get_close_matches(trigger_type, BUILT_IN + tuple(sorted(KNOWN_PLUGINS)), n=1)
        if close:
            message += f" (did you mean '{close[0]}'?)"
        raise ManifestError(app.path, message, key=key, line=line)


def unserved_triggers(app: App) -> list[str]:
    """One line for each trigger spin-py does not serve, saying why."""
    lines = []
    for trigger_type, tables in app.other_triggers.items():
        for table in tables:
            lines.append(
                f"Trigger '{table.get('id', trigger_type)}' ({trigger_type}{_components(table)}) is not served: "
                f"it runs in the Spin plugin 'trigger-{trigger_type}', which spin-py does not run"
            )
    return lines


def _components(table) -> str:
    ids = []
    if isinstance(table.get("component"), str):
        ids.append(table["component"])
    for specs in (table.get("components") or {}).values():
        ids += [specs] if isinstance(specs, str) else list(specs)
    if not ids:
        return ""
    return ", component " + ", ".join(f"'{component_id}'" for component_id in ids)
