"""Effects of options and obligations, compiled once into closures over (world, draws, cause)."""

from __future__ import annotations

from collections.abc import Callable

from escalsim.engine.draws import NON_NEGATIVE, PROBABILITY, ParamList
from escalsim.scenario.schema import Effect

Apply = Callable[[object, object, str], str]  # (world, draws, cause) -> short text of what it did


def compile_effects(effects: list[Effect], plist: ParamList, planning) -> list[Apply]:
    """Compile effects into closures, in order, adding their parameters to `plist` as slots.

    A rung or track named in an effect is looked up in `planning` (an element.Planning; KeyError if absent:
    the reference checks catch it first)."""
    return [_compile(e, plist, planning) for e in effects]


def apply_all(compiled: list[Apply], world, draws, cause: str) -> list[str]:
    """Apply compiled effects in order; returns what each did, as short text for the trace (it may be ''
    when the run is not traced)."""
    return [fn(world, draws, cause) for fn in compiled]


def _compile(e: Effect, plist: ParamList, planning) -> Apply:
    rungs = planning.rungs
    if e.set is not None:
        return _assign({k: plist.add(v) for k, v in e.set.items()}, add=False)
    if e.add is not None:
        return _assign({k: plist.add(v) for k, v in e.add.items()}, add=True)
    if e.ladder is not None:
        return _raise_to(*rungs[e.ladder], e.ladder)
    if e.ladder_step is not None:
        return _step(0, e.ladder_step)
    if e.step is not None:
        return _step(planning.tracks[e.step.track], e.step.by)
    if e.ladder_set is not None:
        return _set_level(*rungs[e.ladder_set], e.ladder_set)
    if e.enable is not None:
        return _toggle(tuple(e.enable), True)
    if e.disable is not None:
        return _toggle(tuple(e.disable), False)
    if e.scale_flow is not None:
        return _scale(e.scale_flow.deployment, plist.add(e.scale_flow.factor, None, NON_NEGATIVE))
    if e.stop_flow is not None:
        return _scale(e.stop_flow, None)
    if e.resume_flow is not None:
        return _resume(e.resume_flow)
    if e.cancel is not None:
        return _cancel(tuple(e.cancel))
    if e.withdraw is not None:
        w = e.withdraw
        stages = [st.name for st in planning.scenario.deployments[w.deployment].stages]
        return _withdraw(w.deployment, plist.add(w.share, None, PROBABILITY),
                         None if w.to is None else stages.index(w.to), w.to)
    if e.scale_attrition is not None:
        return _scale_attrition(e.scale_attrition.deployment,
                                plist.add(e.scale_attrition.factor, None, NON_NEGATIVE))
    return _flag(e.flag)


def _assign(slots: dict[str, int], add: bool) -> Apply:
    items = tuple(slots.items())

    def apply(world, draws, cause):
        done = []
        for name, i in items:
            value = draws(i)
            world.set(name, world.values[name] + value if add else value)
            if world.trace is not None:  # the text is for the trace only: formatting numbers is not free
                done.append(f"{name} {value:+,.4g}" if add else f"{name} = {value:,.4g}")
        return ", ".join(done)

    return apply


def _track_name(world, track: int) -> str:
    """How the trace names a track in an effect's text: 'ladder' for a single ladder, else its label."""
    label = world.model.tracks[track].label
    first = label.split()[0]
    return label[0].lower() + label[1:] if first[1:].islower() else label  # 'Ladder' -> 'ladder'; 'NATO ...' kept


def _raise_to(track: int, target: int, name: str) -> Apply:
    def apply(world, draws, cause):
        if world.values[world.model.tracks[track].id] < target:
            world.move_level(track, target, cause)
            return "" if world.trace is None else f"{_track_name(world, track)}: {name}"
        return "" if world.trace is None else f"{_track_name(world, track)} already at or above {name}"

    return apply


def _step(track: int, steps: int) -> Apply:
    def apply(world, draws, cause):
        world.move_level(track, int(world.values[world.model.tracks[track].id]) + steps, cause)
        return "" if world.trace is None else f"{_track_name(world, track)} {steps:+d}"

    return apply


def _set_level(track: int, target: int, name: str) -> Apply:
    def apply(world, draws, cause):
        world.move_level(track, target, cause)
        return "" if world.trace is None else f"{_track_name(world, track)} set to {name}"

    return apply


def _toggle(names: tuple[str, ...], enable: bool) -> Apply:
    """Enable or disable options, or treaty obligations (named treaty.party)."""
    done = f"{'enables' if enable else 'disables'} {', '.join(names)}"

    def apply(world, draws, cause):
        for name in names:
            if name in world.options:
                world.options[name].set_enabled(enable, cause)
            else:
                treaty, i = world.obligations[name]
                treaty.set_obligation(i, enable, cause)
        return done

    return apply


def _cancel(option_ids: tuple[str, ...]) -> Apply:
    done = f"drops the pending decisions of {', '.join(option_ids)}"

    def apply(world, draws, cause):
        for oid in option_ids:
            world.options[oid].cancel_pending(cause)
        return done

    return apply


def _resume(deployment: str) -> Apply:
    done = f"{deployment} sends again"

    def apply(world, draws, cause):
        world.deployments[deployment].resume(cause)
        return done

    return apply


def _withdraw(deployment: str, share_slot: int, to: int | None, to_name: str | None) -> Apply:
    where = "out of the country" if to is None else f"back to {to_name}"

    def apply(world, draws, cause):
        n = world.deployments[deployment].withdraw(draws(share_slot), to, cause)
        return "" if world.trace is None else f"{n:,} withdrawn from {deployment} {where}"

    return apply


def _scale_attrition(deployment: str, factor_slot: int) -> Apply:
    def apply(world, draws, cause):
        factor = draws(factor_slot)
        world.deployments[deployment].scale_attrition(factor)
        return "" if world.trace is None else f"{deployment} attrition x{factor:.3g}"

    return apply


def _scale(deployment: str, factor_slot: int | None) -> Apply:
    def apply(world, draws, cause):
        factor = 0.0 if factor_slot is None else draws(factor_slot)
        world.deployments[deployment].scale(factor, cause)
        if world.trace is None:
            return ""
        return f"{deployment} stops sending" if factor == 0 else f"{deployment} rate x{factor:.3g}"

    return apply


def _flag(name: str) -> Apply:
    done = f"flag {name}"

    def apply(world, draws, cause):
        world.happen(name, cause)
        return done

    return apply
