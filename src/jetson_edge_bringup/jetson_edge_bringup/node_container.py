"""``node_container``: the nodes of one process group in one process, on one executor.

    node_container --members /tmp/jetson-edge-sim-x/sim.light.members.yaml

The plan writes the members file (:func:`jetson_edge_bringup.plan.members_document`); each member
is created from the node class its package registers (:mod:`.composition`) with its own
``--ros-args`` as the node's ``cli_args``, so it keeps its name, namespace, parameter file and
remappings, its own ``/diagnostics`` and its topics, as if it ran alone.

A group fails as a whole, so that respawn restarts it: a member that cannot be created, a
callback that raises or a thread that dies ends the container with an ERROR naming the member
(its own thread guard reports it on ``/diagnostics`` first, where it installed one).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import traceback
from typing import Callable, Sequence

from jetson_edge_bringup.composition import (Member, MembersFileError, NotComposable, node_class,
                                             owner_of, read_members)
from jetson_edge_common.node_main import close_node, run_nodes
from jetson_edge_common.thread_guard import EXIT_THREAD_DIED, fatal_thread_hook

PREFIX = '[node_container]'
EXIT_CANNOT_START = 2


def say(message: str) -> None:
    print(f'{PREFIX} {message}', file=sys.stderr, flush=True)


class Container:
    """Creates the members and routes a dying thread to the member it belongs to."""

    def __init__(self, members: list[Member]) -> None:
        self.members = members
        self.nodes: dict[str, object] = {}
        self._hooks: dict[str, Callable] = {}            # each member's own thread guard
        self._started_by: dict[threading.Thread, str] = {}
        self._everyone = ', '.join(m.key for m in members)

    def create(self) -> list:
        """Every member node, in order; on a failure, what was made is destroyed and the error
        re-raised after an ERROR naming the member."""
        classes = {m.key: node_class(m.package, m.executable) for m in self.members}
        own_hook = threading.excepthook
        for member in self.members:
            before = set(threading.enumerate())
            try:
                self.nodes[member.key] = classes[member.key](cli_args=member.ros_arguments)
            except BaseException as exc:   # a Ctrl-C while starting is no failure, but cleans up
                if isinstance(exc, Exception):
                    say(f'ERROR: member {member.label} failed to start: {type(exc).__name__}: '
                        f'{exc}; the container of {self._everyone} exits')
                for node in reversed(list(self.nodes.values())):
                    close_node(node)
                raise
            finally:
                # A node's thread guard takes over the process-wide hook; keep it for that
                # member and put the container's back, so one member cannot speak for the rest.
                if threading.excepthook is not own_hook:
                    self._hooks[member.key] = threading.excepthook
                    threading.excepthook = own_hook
            for thread in set(threading.enumerate()) - before:
                self._started_by[thread] = member.key
        threading.excepthook = self._member_died
        return list(self.nodes.values())

    def _member_died(self, args: threading.ExceptHookArgs) -> None:
        key = owner_of(args.exc_traceback, self.nodes,
                       started_by=self._started_by.get(args.thread))
        name = args.thread.name if args.thread is not None else '<unknown>'
        what = f'{args.exc_type.__name__}: {args.exc_value}'
        member = next((m for m in self.members if m.key == key), None)
        whose = f'member {member.label}' if member else 'a member (not known which)'
        say(f'ERROR: {whose}: thread {name!r} died: {what}; the container of {self._everyone} '
            f'exits (code {EXIT_THREAD_DIED}) so that respawn restarts them')
        hook = self._hooks.get(key) or fatal_thread_hook(lambda _death: None, exit_process=os._exit)
        hook(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='node_container', description='Run the nodes of one jetson_edge process group in '
        'one process (written by the plan; see jetson_edge_bringup.plan.members_document)')
    parser.add_argument('--members', required=True, help='the group\'s members file (YAML)')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, _ros = build_parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    try:
        members = read_members(args.members)
        for member in members:   # every class found before any node starts
            node_class(member.package, member.executable)
    except (MembersFileError, NotComposable) as exc:
        say(f'ERROR: {exc}')
        return EXIT_CANNOT_START
    say(f'composing {", ".join(m.label for m in members)} (pid {os.getpid()})')
    container = Container(members)
    try:
        return run_nodes(container.create, [])
    except Exception:   # its ERROR naming the member is out; the traceback follows
        traceback.print_exc()
        return EXIT_CANNOT_START


if __name__ == '__main__':
    sys.exit(main())
