"""``jetson-edge doctor``: what this machine has for the suite, and what to do about each gap.

Each check returns a :class:`Check` (name, ok, what was found, what to do). Packages add their
own checks through the ``jetson_edge.doctor`` entry point group (a callable returning a list of
``(name, ok, message)``), so a check lives next to the code that depends on it: the real-time
permissions (SCHED_FIFO, mlockall, CPU affinity, PREEMPT_RT) come from jetson_edge_rt.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from importlib.metadata import entry_points

from jetson_edge_common.profiles import ProfileError, detect_profile, read_device_tree_model
from jetson_edge_common.runtimes import RUNTIME_MODULES, detect_runtimes, module_present


@dataclass
class Check:
    name: str
    ok: bool
    found: str
    advice: str = ''


def check_ros() -> list[Check]:
    distro = os.environ.get('ROS_DISTRO')
    try:
        import rclpy  # noqa: F401
        from rclpy.utilities import get_rmw_implementation_identifier
    except ImportError as exc:
        return [Check('ROS 2', False, f'rclpy does not import ({exc})',
                      'run scripts/setup.sh, then `source scripts/env.sh`')]
    checks = [Check('ROS 2', True, f'{distro} (sourced)' if distro else
                    'Jazzy from PyPI wheels (.venv)')]
    try:
        rmw = get_rmw_implementation_identifier()
        checks.append(Check('RMW', True, rmw))
    except Exception as exc:  # rclpy raises its own RCLError types here
        checks.append(Check('RMW', False, str(exc),
                            'install ros-<distro>-rmw-fastrtps-cpp (PyPI: ros-jazzy-rmw-fastrtps-cpp)'))
    return checks


def check_jetson(root: str = '/') -> list[Check]:
    model = read_device_tree_model(root)
    try:
        profile, why = detect_profile(root=root)
    except ProfileError as exc:
        return [Check('Jetson', False, f'{model}: matches no profile', str(exc))]
    if model is None:
        return [Check('Jetson', False, 'not a Jetson (no /proc/device-tree/model)',
                      f'fine for development: `--profile auto` uses {profile!r}')]
    return [Check('Jetson', True, f'{model}; {why}')]


def _module_version(name: str) -> str:
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # broken native libraries raise more than ImportError
        return f'present but does not import: {exc}'
    return str(getattr(module, '__version__', 'present'))


def _runtime_check(name: str, runtime: str, found: dict[str, tuple[bool, str]],
                   advice: str) -> Check:
    """One runtime as :func:`detect_runtimes` found it (the detection the perception backends
    use too), with its version when present."""
    if not found[runtime][0]:
        return Check(name, False, 'not installed', advice)
    module = next(m for m in RUNTIME_MODULES[runtime] if module_present(m)[0])
    return Check(name, True, _module_version(module))


def check_runtimes() -> list[Check]:
    found = detect_runtimes()
    checks = [
        _runtime_check('TensorRT', 'tensorrt', found,
                       'on a Jetson it comes with JetPack (python3-libnvinfer); the suite uses '
                       'ONNX Runtime or OpenCV DNN meanwhile'),
        _runtime_check('ONNX Runtime', 'onnxruntime', found, 'pip install -r requirements.txt'),
        _runtime_check('OpenCV DNN', 'opencv', found, 'pip install -r requirements.txt'),
        _runtime_check('jetson-inference', 'jetson_inference', found,
                       'optional; on a Jetson build dusty-nv/jetson-inference'),
        _runtime_check('CUDA from Python', 'cuda_python', found,
                       'needed by the TensorRT backend: pip install cuda-python'),
    ]
    if found['onnxruntime'][0]:
        import onnxruntime
        checks[1].found += f' ({", ".join(onnxruntime.get_available_providers())})'
    return checks


def plugin_checks() -> list[Check]:
    checks = []
    for ep in entry_points(group='jetson_edge.doctor'):
        try:
            for name, ok, message in ep.load()():
                checks.append(Check(name, ok, message))
        except Exception as exc:  # a broken plug-in is reported, not fatal to the doctor
            checks.append(Check(ep.name, False, f'check failed: {exc!r}'))
    return checks


def run_checks(*, root: str = '/') -> list[Check]:
    return check_ros() + check_jetson(root) + check_runtimes() + plugin_checks()


def format_checks(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        mark = 'ok ' if c.ok else '-- '
        lines.append(f'{mark} {c.name:<{width}}  {c.found}')
        if not c.ok and c.advice:
            lines.append(f'    {"":<{width}}  -> {c.advice}')
    return '\n'.join(lines)
