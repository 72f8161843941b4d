"""A dress rehearsal: a robot profile started here, its hardware endpoints on the sim's stand-ins.

:func:`rehearsal_profile` is pure: it takes the robot profile and a stand-in profile (``sim``,
or a test's own copy of it) and returns the robot profile with only the parameters the node
catalogue (``_base.yaml``) declares as ``endpoints`` replaced by the stand-ins' values, plus the
stand-ins' own nodes (virtual LiDAR, IMU emulator, thermal model), each override listed. Every
other parameter stays as the robot runs it, so what fails here would fail there.

Endpoint kinds (``nodes.<key>.endpoints.<parameter>`` in the catalogue):

* ``address``: where the hardware is (a port, a socket, a sysfs root, the actuators);
  replaced by the stand-in's value.
* ``model_card``: a model the robot loads from its disk; replaced by the stand-in's card,
  which must do the same task (``card_task`` tells it).
* ``device``: what the endpoint must speak; not replaced, the stand-in must speak the same.
* ``timing``: a threshold judging the robot's own timing (the RT loop on its isolated core);
  replaced by the stand-in's, which judges a shared development machine.

A stand-in node copies robot values it must agree with through ``mirrors``
(``{parameter: <node>.<parameter>}``), e.g. the thermal model writes the robot's layout.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import yaml

from jetson_edge_bringup.plan import SIM_PACKAGE
from jetson_edge_common.profiles import Profile, ProfileError, profiles_dir


class RehearsalError(ProfileError):
    """The profile cannot be rehearsed here; the message says which endpoint and why."""


@dataclass(frozen=True)
class Override:
    node: str
    parameter: str
    kind: str
    robot_value: Any
    rehearsal_value: Any

    def __str__(self) -> str:
        what = {'model_card': 'model card', 'timing': 'host timing'}.get(self.kind, 'endpoint')
        robot = 'the node\'s default' if self.robot_value is None else repr(self.robot_value)
        return f'{self.node}.{self.parameter} ({what}): {robot} -> {self.rehearsal_value!r}'


@dataclass(frozen=True)
class Rehearsal:
    profile: Profile               # the robot profile, endpoints redirected, stand-ins added
    overrides: tuple[Override, ...]
    stand_ins: tuple[str, ...]     # node keys added from the stand-in profile (sim-only nodes)


def _enabled(nodes: dict) -> dict:
    return {key: spec for key, spec in nodes.items() if spec.get('enabled', True)}


def rehearsal_profile(robot: Profile, stand_ins: Profile, *,
                      card_task: Callable[[str], str] | None = None) -> Rehearsal:
    """``robot`` with its hardware endpoints on ``stand_ins``' devices (see the module doc).

    The stand-ins are sim-only nodes: on a Jetson, the plan's hardware check refuses them unless
    the user allows simulators on hardware.
    """
    data = copy.deepcopy(robot.data)
    nodes = data.setdefault('nodes', {})
    sim_nodes = stand_ins.nodes
    overrides: list[Override] = []
    problems: list[str] = []
    for key, spec in _enabled(nodes).items():
        params = spec.setdefault('parameters', {})
        sim_params = sim_nodes.get(key, {}).get('parameters', {}) or {}
        for name, kind in (spec.get('endpoints') or {}).items():
            robot_value, sim_value = params.get(name), sim_params.get(name)
            if sim_value is None:
                problems.append(f'nodes.{key}.parameters.{name}: the stand-in profile '
                                f'{stand_ins.name!r} sets no value for this {kind} endpoint')
            elif kind == 'device':
                if robot_value != sim_value:
                    problems.append(f'nodes.{key}.parameters.{name}: the profile configures '
                                    f'{robot_value!r}, the stand-in speaks {sim_value!r}')
            elif robot_value != sim_value:
                if kind == 'model_card' and card_task is not None and robot_value is not None:
                    tasks = card_task(robot_value), card_task(sim_value)
                    if tasks[0] != tasks[1]:
                        problems.append(f'nodes.{key}.parameters.{name}: stand-in card '
                                        f'{sim_value!r} does {tasks[1]!r}, not {tasks[0]!r}')
                        continue
                params[name] = copy.deepcopy(sim_value)
                overrides.append(Override(key, name, kind, robot_value, sim_value))
        companions = sim_nodes.get(key, {}).get('companions', [])
        spec['companions'] = list(dict.fromkeys(spec.get('companions', []) + companions))
    added = [key for key in _enabled(sim_nodes)
             if key not in _enabled(nodes) and sim_nodes[key].get('package') == SIM_PACKAGE]
    for key in added:
        spec = copy.deepcopy(sim_nodes[key])
        for name, source in (spec.get('mirrors') or {}).items():
            node, _, parameter = source.partition('.')
            value = nodes.get(node, {}).get('parameters', {}).get(parameter)
            if value is None:
                problems.append(f'nodes.{key}.mirrors.{name}: the profile sets no {source}')
                continue
            spec.setdefault('parameters', {})[name] = value
        nodes[key] = spec
    if problems:
        raise RehearsalError(f'cannot rehearse {robot.name!r} on {stand_ins.name!r}:\n  '
                             + '\n  '.join(problems))
    # stand-ins first: the devices are there when the drivers open them
    data['nodes'] = {**{key: nodes[key] for key in added},
                     **{key: spec for key, spec in nodes.items() if key not in added}}
    return Rehearsal(Profile(robot.name, robot.path, data), tuple(overrides), tuple(added))


def card_task(name: str) -> str:
    """The ``task`` of model card ``name`` in the configuration's ``models/`` directory."""
    path = profiles_dir().parent / 'models' / f'{name}.yaml'
    try:
        return str(yaml.safe_load(path.read_text()).get('task', ''))
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise RehearsalError(f'model card {name!r}: cannot read its task from {path} ({exc})') from None
