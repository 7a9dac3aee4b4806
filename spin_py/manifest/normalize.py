"""Spin's normalize.rs: every trigger gets an id, and inline components move to
top-level components referenced by id."""

from dataclasses import replace

from spin_py.manifest import ids


def normalize_ids(triggers) -> None:
    """Spin's normalize_trigger_ids: `<component>-<type>-trigger`, else `<type>-trigger<N>`."""
    taken = {trigger.id for trigger in triggers}
    counters: dict[str, int] = {}
    for trigger in triggers:
        if trigger.id:
            continue
        if isinstance(trigger.component, str):
            candidate = f"{trigger.component}-{trigger.type}-trigger"
            if candidate not in taken:
                trigger.id = candidate
                taken.add(candidate)
                continue
        counter = counters.get(trigger.type, 1)
        while f"{trigger.type}-trigger{counter}" in taken:
            counter += 1
        counters[trigger.type] = counter
        trigger.id = f"{trigger.type}-trigger{counter}"
        taken.add(trigger.id)


def normalize_inline_components(triggers, components, origins) -> None:
    """Spin's normalize_inline_components: an inline component gets the id
    `<trigger id>-component`, or `inline-component<N>` when the trigger has several
    components, that id is taken, or is not kebab-case."""
    for trigger in triggers:
        specs = trigger.specs()
        counter = 1
        for spec, path, set_spec in specs:
            if isinstance(spec, str):
                continue
            component_id = f"{trigger.id}-component"
            if len(specs) > 1 or ids.kebab_problem(component_id) or component_id in components:
                while f"inline-component{counter}" in components:
                    counter += 1
                component_id = f"inline-component{counter}"
            components[component_id] = replace(spec, id=component_id)
            origins[component_id] = path
            set_spec(component_id)
