"""From a profile to a launch plan: the nodes to start and how.

Both ``launch/jetson_edge.launch.py`` (launch_ros) and the supervisor (``jetson-edge up``)
consume the same :class:`Plan` through :func:`prepare_plan`, and start each of its processes
(:meth:`Plan.processes`) with the command of :func:`process_command` (``node_runner`` with the
process's scheduling, environment and respawn policy, then the node, or the ``node_container``
of a process group), so what runs on a robot and what runs here cannot drift apart.

A node's ``process`` value in the profile names the process group it runs in: the enabled nodes
of one group share one process (several rclpy nodes on one executor, ROS 2 composition), which
saves the interpreter, rclpy and DDS participant that each process costs. A node without one
runs alone.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from jetson_edge_bringup.node_runner import RunnerOptions
from jetson_edge_bringup.respawn import RespawnPolicy
from jetson_edge_common.profiles import (Profile, ProfileError, detect_profile, load_profile,
                                         read_device_tree_model)

RUNNER = 'node_runner'
CONTAINER = 'node_container'
SIM_PACKAGE = 'jetson_edge_sim'   # its nodes stand in for hardware


@dataclass
class NodePlan:
    key: str                    # the node's key in the profile (what --only selects)
    package: str
    executable: str
    name: str                   # ROS node name
    namespace: str
    parameters: dict
    respawn: bool = True
    respawn_delay_s: float = 1.0
    max_restarts: int = 5
    nice: int = 0
    cpu_affinity: list[int] = field(default_factory=list)
    remappings: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    expects: dict[str, dict] = field(default_factory=dict)   # topic -> {type, rate_hz, qos}
    companions: list[str] = field(default_factory=list)      # keys started along with this one
    process: str = ''           # its process group ('': a process of its own)
    params_file: Path | None = None
    status_file: Path | None = None   # where its node_runner keeps its state (runner_status)

    @property
    def sim_only(self) -> bool:
        """A stand-in for hardware (its package is the sim's): refused on a detected Jetson."""
        return self.package == SIM_PACKAGE

    @property
    def fully_qualified_name(self) -> str:
        ns = self.namespace.strip('/')
        return f'/{ns}/{self.name}' if ns else f'/{self.name}'

    def resolve_topic(self, topic: str) -> str:
        """The absolute name of a topic relative to this node's namespace."""
        if topic.startswith('/'):
            return topic
        ns = self.namespace.strip('/')
        return f'/{ns}/{topic}' if ns else f'/{topic}'

    def ros_arguments(self) -> list[str]:
        """The ``--ros-args`` part of the command line, in the order launch_ros's ``Node`` builds
        it (name, namespace, parameter file, remappings)."""
        args = ['--ros-args', '-r', f'__node:={self.name}']
        if self.namespace:
            args += ['-r', f'__ns:=/{self.namespace.strip("/")}']
        if self.params_file is not None:
            args += ['--params-file', str(self.params_file)]
        for src, dst in self.remappings.items():
            args += ['-r', f'{src}:={dst}']
        return args

    def runner_options(self) -> RunnerOptions:
        return RunnerOptions(
            key=self.key, nice=self.nice, cpus=tuple(self.cpu_affinity), env=dict(self.env),
            policy=RespawnPolicy(respawn=self.respawn, delay_s=self.respawn_delay_s,
                                 max_restarts=self.max_restarts),
            status_file=str(self.status_file or ''))


@dataclass
class ProcessPlan:
    """One process of the plan: a node alone, or the members of a process group composed in one
    ``node_container``. A group's scheduling and environment are its members' (which must
    agree); it respawns with the longest delay and the fewest restarts any member asks for."""

    key: str                    # the node's key, or the group's name
    members: list[NodePlan]
    members_file: Path | None = None   # a group's members, for its container

    @property
    def composed(self) -> bool:
        return len(self.members) > 1

    def runner_options(self) -> RunnerOptions:
        if not self.composed:
            return self.members[0].runner_options()
        first = self.members[0]
        return RunnerOptions(
            key=self.key, nice=first.nice, cpus=tuple(first.cpu_affinity), env=dict(first.env),
            policy=RespawnPolicy(respawn=first.respawn,
                                 delay_s=max(m.respawn_delay_s for m in self.members),
                                 max_restarts=min(m.max_restarts for m in self.members)),
            status_file=str(first.status_file or ''))


def group_processes(nodes: list[NodePlan]) -> list[ProcessPlan]:
    """The processes that run ``nodes``: one per process group present (in the order of its
    first member) and one per node without a group; a group with a single member present runs
    it alone, as its own executable. Members that disagree on how their process runs (nice, CPU
    affinity, environment, respawn on or off) are refused, naming the setting."""
    groups: dict[str, list[NodePlan]] = {}
    for node in nodes:
        groups.setdefault(node.process or node.key, []).append(node)
    clash = {n.process for n in nodes if n.process} & {n.key for n in nodes}
    if clash:
        raise ProfileError(f'process group {sorted(clash)[0]!r} has the name of a node; '
                           f'give the group another name')
    for name, members in groups.items():
        for setting in ('nice', 'cpu_affinity', 'env', 'respawn'):
            values = {m.key: getattr(m, setting) for m in members}
            if len({repr(v) for v in values.values()}) > 1:
                raise ProfileError(
                    f'process group {name!r}: its members share one process, so they must '
                    f'agree on {setting}, and they do not ({values}); set it alike or move a '
                    f'node to another process')
    return [ProcessPlan(name if len(members) > 1 else members[0].key, members)
            for name, members in groups.items()]


@dataclass
class Plan:
    profile: str
    nodes: list[NodePlan]
    hardware: dict = field(default_factory=dict)   # the profile's hardware section
    _processes: list[ProcessPlan] | None = field(default=None, repr=False, compare=False)

    def select(self, only: list[str] | None) -> 'Plan':
        """The named nodes and, transitively, their companions, in the plan's order; a node
        that watches the plan (the suite monitor) comes along and watches what was chosen."""
        if not only:
            return self
        by_key = {n.key: n for n in self.nodes}
        unknown = [k for k in only if k not in by_key]
        if unknown:
            raise ProfileError(f'--only: no enabled node {", ".join(map(repr, unknown))} in profile '
                               f'{self.profile!r} (enabled: {", ".join(sorted(by_key))})')
        wanted, todo = set(), list(only)
        while todo:
            key = todo.pop()
            if key in wanted or key not in by_key:
                continue
            wanted.add(key)
            todo.extend(by_key[key].companions)
        wanted |= {n.key for n in self.nodes if watches_plan(n)}
        return Plan(self.profile, [n for n in self.nodes if n.key in wanted], self.hardware)

    def processes(self) -> list[ProcessPlan]:
        """The processes that run the plan's nodes (:func:`group_processes`); after
        :func:`write_parameter_files`, with their status and members files."""
        if self._processes is None:
            self._processes = group_processes(self.nodes)
        return self._processes


def build_plan(profile: Profile) -> Plan:
    """The enabled nodes of ``profile``, in the profile's order."""
    nodes = []
    for key, spec in profile.nodes.items():
        if not spec.get('enabled', True):
            continue
        sched = spec.get('scheduling', {})
        nodes.append(NodePlan(
            key=key,
            package=spec['package'],
            executable=spec['executable'],
            name=spec.get('name', key),
            namespace=spec.get('namespace', ''),
            parameters=dict(spec.get('parameters', {}) or {}),
            respawn=spec.get('respawn', True),
            respawn_delay_s=float(spec.get('respawn_delay_s', 1.0)),
            max_restarts=int(spec.get('max_restarts', 5)),
            nice=int(sched.get('nice', 0)),
            cpu_affinity=list(sched.get('cpu_affinity', [])),
            remappings=dict(spec.get('remappings', {}) or {}),
            env=dict(spec.get('env', {}) or {}),
            expects=dict(spec.get('expects', {}) or {}),
            companions=list(spec.get('companions', [])),
            process=str(spec.get('process', '') or ''),
        ))
    return Plan(profile.name, nodes, dict(profile.hardware))


def declared_parameters(node: NodePlan) -> set[str]:
    """The parameters the node's installed schema declares (none where it is not installed)."""
    from jetson_edge_common.schema_registry import SchemaNotInstalled, node_schema

    try:
        return {s.name for s in node_schema(node.package, node.executable)}
    except SchemaNotInstalled:
        return set()


def watches_plan(node: NodePlan) -> bool:
    """Whether ``node`` watches the other nodes of its plan: its schema declares
    ``plan_file`` (the suite monitor)."""
    return 'plan_file' in declared_parameters(node)


def parameters_document(node: NodePlan) -> dict:
    """A standard ROS 2 parameter file's content, keyed to the node's fully qualified name."""
    return {node.fully_qualified_name: {'ros__parameters': node.parameters}}


def monitored_document(plan: Plan, *, exclude: str) -> dict:
    """What the suite monitor watches: every node of ``plan`` but ``exclude`` (the monitor's
    key), with its ROS name, its runner's status file and its expected topics (absolute)."""
    return {'profile': plan.profile, 'nodes': [
        {'key': node.key, 'name': node.name,
         'status_file': str(node.status_file or ''),
         'expects': {node.resolve_topic(topic): dict(spec) for topic, spec in node.expects.items()}}
        for node in plan.nodes if node.key != exclude]}


VIEWER_PACKAGE = 'jetson_edge_viewer'


def viewer_addresses(plan: Plan) -> list[str]:
    """``ws://host:port`` of each live viewer in the plan: its profile parameters, else its schema's
    defaults; an any-address bind is shown as this machine's name."""
    from jetson_edge_common.schema_registry import node_schema

    addresses = []
    for node in plan.nodes:
        if node.package != VIEWER_PACKAGE:
            continue
        values = {spec.name: spec.default for spec in node_schema(node.package, node.executable)}
        values.update(node.parameters)
        host = socket.gethostname() if values['host'] in ('0.0.0.0', '::') else values['host']
        addresses.append(f'ws://{host}:{values["port"]}')
    return addresses


def write_parameter_files(plan: Plan, directory: str | os.PathLike) -> Plan:
    """Writes one parameter file per node into ``directory`` and records its path in the plan.

    The profile's hardware section goes into a layout file beside them, handed to each node
    whose schema declares ``layout_file`` and whose profile entry does not set one. Each node's
    runner keeps its state in a status file there; the list of watched nodes (names, status
    files, expected topics) goes to each node whose schema declares ``plan_file`` (the suite
    monitor) and whose profile entry does not set one.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    layout_file = directory / f'{plan.profile}.hardware.yaml'
    layout_file.write_text(yaml.safe_dump(plan.hardware, sort_keys=False))
    for process in plan.processes():
        status_file = directory / f'{plan.profile}.{process.key}.runner.json'
        status_file.unlink(missing_ok=True)   # a previous run's state is not this run's
        for node in process.members:          # a group's members share its runner
            node.status_file = status_file
    for node in plan.nodes:
        declared = declared_parameters(node)
        if 'layout_file' in declared and not node.parameters.get('layout_file'):
            node.parameters['layout_file'] = str(layout_file)
        if 'plan_file' in declared and not node.parameters.get('plan_file'):
            plan_file = directory / f'{plan.profile}.{node.key}.monitored.yaml'
            plan_file.write_text(yaml.safe_dump(monitored_document(plan, exclude=node.key),
                                                sort_keys=False))
            node.parameters['plan_file'] = str(plan_file)
        path = directory / f'{plan.profile}.{node.key}.params.yaml'
        path.write_text(yaml.safe_dump(parameters_document(node), sort_keys=False))
        node.params_file = path
    for process in plan.processes():
        if process.composed:
            process.members_file = directory / f'{plan.profile}.{process.key}.members.yaml'
            process.members_file.write_text(yaml.safe_dump(members_document(process),
                                                           sort_keys=False))
    return plan


def members_document(process: ProcessPlan) -> list[dict]:
    """What a group's ``node_container`` creates: each member's key, node class (by package and
    executable) and its own ``--ros-args`` (name, namespace, parameter file, remappings)."""
    return [{'key': node.key, 'package': node.package, 'executable': node.executable,
             'ros_arguments': node.ros_arguments()} for node in process.members]


@dataclass(frozen=True)
class NodeCommand:
    """How one process is started: ``prefix`` (``node_runner`` and its options, ending ``--``),
    then the executable and its ``arguments`` (a node's ``--ros-args``, or a container's
    ``--members FILE``). ``ros2 launch`` gives ``prefix`` to launch_ros's ``Node`` as its launch
    prefix; ``jetson-edge up`` runs ``argv``."""

    prefix: list[str]
    executable: Path
    arguments: list[str]

    @property
    def argv(self) -> list[str]:
        return [*self.prefix, str(self.executable), *self.arguments]


def process_command(process: ProcessPlan) -> NodeCommand:
    """The one command line of ``process`` that both runners use: a node alone runs its own
    executable with its ``--ros-args``; a group runs ``node_container`` on its members file
    (each member's ``--ros-args`` are in there, none is global to the process)."""
    runner = _installed(process.key, 'jetson_edge_bringup', RUNNER)
    prefix = [str(runner), *process.runner_options().to_argv()]
    if not process.composed:
        node = process.members[0]
        return NodeCommand(prefix=prefix, executable=executable_path(node),
                           arguments=node.ros_arguments())
    from jetson_edge_bringup.composition import NotComposable, node_class

    for node in process.members:
        try:
            node_class(node.package, node.executable)
        except NotComposable as exc:
            raise ProfileError(f'nodes.{node.key}: process {node.process!r}: {exc}') from None
    if process.members_file is None:
        raise ProfileError(f'process group {process.key!r}: no members file; call '
                           f'write_parameter_files first')
    return NodeCommand(prefix=prefix,
                       executable=_installed(process.key, 'jetson_edge_bringup', CONTAINER),
                       arguments=['--members', str(process.members_file)])


def executable_path(node: NodePlan) -> Path:
    """Where colcon installed the node's executable (the place ``ros2 run`` looks)."""
    return _installed(node.key, node.package, node.executable)


def _installed(key: str, package: str, executable: str) -> Path:
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        prefix = Path(get_package_prefix(package))
    except PackageNotFoundError:
        raise ProfileError(f'nodes.{key}: package {package!r} is not installed '
                           f'(build the workspace and source install/setup.bash)') from None
    path = prefix / 'lib' / package / executable
    if not path.exists():
        raise ProfileError(f'nodes.{key}: {package} has no executable '
                           f'{executable!r} (looked for {path})')
    return path


# --- which plan runs here ---------------------------------------------------------------------

def check_hardware(plan: Plan, *, root: str | os.PathLike = '/',
                   allow_sim_on_hardware: bool = False) -> None:
    """Refuses a plan with sim-only nodes on a machine with a device tree (a Jetson)."""
    model = read_device_tree_model(root)
    simulators = [n.key for n in plan.nodes if n.sim_only]
    if model is None or not simulators or allow_sim_on_hardware:
        return
    raise ProfileError(
        f'this machine is {model!r} (from {Path(root) / "proc/device-tree/model"}), and profile '
        f'{plan.profile!r} starts simulators in place of its hardware: {", ".join(simulators)}. '
        f'They would feed made-up sensor data to a real robot. Use this Jetson\'s profile '
        f'(profile auto picks it), or, for a bench test on purpose, pass '
        f'--allow-sim-on-hardware (jetson-edge) or allow_sim_on_hardware:=true (ros2 launch).')


def prepare_plan(profile: str | Profile, *, only: list[str] | None = None,
                 root: str | os.PathLike = '/',
                 allow_sim_on_hardware: bool = False) -> tuple[Plan, list[str]]:
    """The plan both runners start: ``profile`` (a name, a path, ``auto`` or a loaded profile)
    resolved, loaded, narrowed to ``only`` and checked against the hardware. Returns it with what
    was decided on the way (the ``auto`` choice), for the runner to log."""
    notes = []
    if profile == 'auto':
        profile, why = detect_profile(root=root)
        notes.append(why)
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    plan = build_plan(profile).select(only or None)
    check_hardware(plan, root=root, allow_sim_on_hardware=allow_sim_on_hardware)
    return plan, notes
