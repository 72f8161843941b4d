"""The standard shape of a node's ``main``: init, spin, clean shutdown on Ctrl-C or SIGTERM."""

from __future__ import annotations

from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node


def run(node_factory: Callable[[], Node], args: list[str] | None = None, *,
        threads: int = 1) -> int:
    """Create the node, spin it until shutdown, destroy it. Returns a process exit code.

    rclpy turns SIGINT (and on Jazzy SIGTERM) into a context shutdown; the supervisor stops
    nodes with SIGINT so their clean-up runs on Humble too. A node exposing ``close()`` has it called before it is destroyed.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = node_factory()
        executor = (MultiThreadedExecutor(num_threads=threads) if threads > 1
                    else rclpy.executors.SingleThreadedExecutor())
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            close = getattr(node, 'close', None)
            if callable(close):
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
