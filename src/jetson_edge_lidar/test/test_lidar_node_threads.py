"""The thread contract of ``velodyne_node``: its receive thread dying is an ERROR on
/diagnostics naming it, then the exit that makes respawn restart the node."""

from jetson_edge_common.testing import kill_a_thread, ros_in_process
from jetson_edge_common.thread_guard import EXIT_THREAD_DIED


def test_a_dead_receive_thread_reports_error_and_ends_the_process(fixture_pcap):
    from jetson_edge_lidar.node import VelodyneNode

    with ros_in_process({'pcap': fixture_pcap, 'replay_loop': True}):
        node = VelodyneNode()

        def broken_poll(timeout_s):
            raise RuntimeError('injected decoder bug')

        try:
            exits, errors = kill_a_thread(
                node, lambda: setattr(node._driver, 'poll', broken_poll))
        finally:
            node.close()
            node.destroy_node()
    assert exits == [EXIT_THREAD_DIED]
    assert errors and all(
        "thread 'velodyne-receive' died: RuntimeError: injected decoder bug" in e.message
        for e in errors)
