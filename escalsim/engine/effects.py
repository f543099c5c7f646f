"""Effects of options and obligations, compiled once into closures over (world, draws, cause)."""

from __future__ import annotations

from collections.abc import Callable

from escalsim.engine.draws import ParamList
from escalsim.scenario.schema import Effect

Apply = Callable[[object, object, str], str]  # (world, draws, cause) -> short text of what it did


def compile_effects(effects: list[Effect], plist: ParamList, rungs: list[str]) -> list[Apply]:
    """Compile effects into closures, in order, adding their parameters to `plist` as slots.

    A rung named in an effect is looked up in `rungs` (ValueError if absent: the reference checks
    catch it first)."""
    return [_compile(e, plist, rungs) for e in effects]


def apply_all(compiled: list[Apply], world, draws, cause: str) -> list[str]:
    """Apply compiled effects in order; returns what each did, as short text for the trace (it may be ''
    when the run is not traced)."""
    return [fn(world, draws, cause) for fn in compiled]


def _compile(e: Effect, plist: ParamList, rungs: list[str]) -> Apply:
    if e.set is not None:
        return _assign({k: plist.add(v) for k, v in e.set.items()}, add=False)
    if e.add is not None:
        return _assign({k: plist.add(v) for k, v in e.add.items()}, add=True)
    if e.ladder is not None:
        return _raise_to(rungs.index(e.ladder), e.ladder)
    if e.ladder_step is not None:
        return _step(e.ladder_step)
    if e.ladder_set is not None:
        return _set_level(rungs.index(e.ladder_set), e.ladder_set)
    if e.enable is not None:
        return _toggle(tuple(e.enable), True)
    if e.disable is not None:
        return _toggle(tuple(e.disable), False)
    if e.scale_flow is not None:
        return _scale(e.scale_flow.deployment, plist.add(e.scale_flow.factor))
    if e.stop_flow is not None:
        return _scale(e.stop_flow, None)
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


def _raise_to(target: int, name: str) -> Apply:
    raised, already = f"ladder: {name}", f"ladder already at or above {name}"

    def apply(world, draws, cause):
        if world.values["level"] < target:
            world.move_level(target, cause)
            return raised
        return already

    return apply


def _step(steps: int) -> Apply:
    done = f"ladder {steps:+d}"

    def apply(world, draws, cause):
        world.move_level(int(world.values["level"]) + steps, cause)
        return done

    return apply


def _set_level(target: int, name: str) -> Apply:
    done = f"ladder set to {name}"

    def apply(world, draws, cause):
        world.move_level(target, cause)
        return done

    return apply


def _toggle(option_ids: tuple[str, ...], enable: bool) -> Apply:
    done = f"{'enables' if enable else 'disables'} {', '.join(option_ids)}"

    def apply(world, draws, cause):
        for oid in option_ids:
            world.options[oid].set_enabled(enable, cause)
        return done

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
