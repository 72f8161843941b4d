"""The thread contract of the virtual Velodyne: its sender thread dying is an ERROR on
/diagnostics naming it, then the exit that makes respawn restart the node."""

from jetson_edge_common.testing import kill_a_thread, ros_in_process
from jetson_edge_common.thread_guard import EXIT_THREAD_DIED


def test_a_dead_sender_thread_of_the_virtual_sensor_reports_error_and_ends_the_process():
    from jetson_edge_sim.lidar.virtual_node import VirtualVelodyneNode

    with ros_in_process({'port': 23689}):
        node = VirtualVelodyneNode()

        def broken_packets(count):
            raise RuntimeError('injected scene bug')

        try:
            exits, errors = kill_a_thread(
                node, lambda: setattr(node._sender.sensor, 'next_packets', broken_packets))
        finally:
            node.close()
            node.destroy_node()
    assert exits == [EXIT_THREAD_DIED]
    assert errors and all("thread 'virtual-velodyne' died: RuntimeError: injected scene bug"
                          in e.message for e in errors)
