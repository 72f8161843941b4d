"""The standard shape of a node's ``main``: init, spin, clean shutdown on Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Callable

import rclpy
from rclpy.executors import (ExternalShutdownException, MultiThreadedExecutor,
                             SingleThreadedExecutor)
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from jetson_edge_common.dds import use_large_data_transport
from jetson_edge_common.thread_guard import EXIT_THREAD_DIED

SPIN_SLICE_S = 0.25  # how quickly a signal is noticed while the executor waits


def _raise_interrupt(*_args) -> None:
    raise KeyboardInterrupt


def run(node_factory: Callable[[], Node], args: list[str] | None = None, *,
        threads: int = 1) -> int:
    """Create the node, spin it until Ctrl-C or SIGTERM, clean up, destroy it
    (:func:`run_nodes` with one node)."""
    return run_nodes(lambda: [node_factory()], args, threads=threads)


def run_nodes(create: Callable[[], list[Node]], args: list[str] | None = None, *,
              threads: int = 1) -> int:
    """Create the nodes, spin them on one executor until Ctrl-C or SIGTERM, clean up each,
    destroy each. ``create`` cleans up what it made before it raises.

    rclpy's own signal handlers would shut the context down first, leaving the node unable
    to publish on its way out (a controller could not send its safe command). Here SIGINT and
    SIGTERM become ``KeyboardInterrupt`` in the main thread instead; the node's ``close()``
    runs while the context is still up, then the node is destroyed and rclpy shut down. This
    behaves the same on Humble and Jazzy. Fast DDS gets the suite's large-data transport
    unless the user chose other DDS settings (:mod:`jetson_edge_common.dds`).
    """
    use_large_data_transport()
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    nodes: list[Node] = []
    code = 0
    try:
        nodes = create()
        executor = (MultiThreadedExecutor(num_threads=threads) if threads > 1
                    else SingleThreadedExecutor())
        for node in nodes:
            executor.add_node(node)
        code = spin_until_shutdown(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not cut clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for node in nodes:
            close_node(node)
        rclpy.try_shutdown()
    return code


def close_node(node: Node) -> None:
    """The node's own ``close()`` (where it has one), then ``destroy_node``."""
    close = getattr(node, 'close', None)
    if callable(close):
        close()
    node.destroy_node()


def spin_until_shutdown(executor) -> int:
    """Spin until rclpy shuts down; a callback that raises ends it like a dying thread."""
    try:
        while rclpy.ok():
            executor.spin_once(timeout_sec=SPIN_SLICE_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        return 0
    except Exception:
        # A callback raised: the executor thread dies like any other thread of the node, so
        # the node's thread guard (if installed) reports ERROR and ends the process; without
        # one the traceback is written and the node exits with the same code.
        threading.excepthook(threading.ExceptHookArgs((*sys.exc_info(), threading.current_thread())))
        return EXIT_THREAD_DIED
    return 0
