"""The thread contract of the IMU emulator node (the driver node's own is in test/): its
serving thread dying is an ERROR on /diagnostics naming it, then the exit that makes respawn
restart the node."""

from jetson_edge_common.testing import kill_a_thread, ros_in_process
from jetson_edge_common.thread_guard import EXIT_THREAD_DIED


def test_a_dead_serving_thread_reports_error_and_ends_the_emulator(tmp_path):
    from jetson_edge_sim.imu.emulator_main import ImuEmulatorNode

    def broken_latch():
        raise RuntimeError('injected register bug')

    with ros_in_process({'link_path': tmp_path / 'imu.pty'}):
        node = ImuEmulatorNode()
        try:
            exits, errors = kill_a_thread(
                node, lambda: setattr(node.device.registers, 'latch_due_sample', broken_latch))
        finally:
            node.close()
            node.destroy_node()
    assert exits == [EXIT_THREAD_DIED]
    assert errors and all("thread 'bno055-emulator' died: RuntimeError: injected register bug"
                          in e.message for e in errors)


def test_a_serve_loop_whose_link_ends_reports_error_and_ends_the_emulator(tmp_path):
    """The serve loop returning while the node lives would leave an emulator that says
    "serving" with nobody answering: a link that ends is the same ERROR and exit."""
    import os

    from jetson_edge_sim.imu.emulator_main import ImuEmulatorNode

    read_end, write_end = os.pipe()
    os.close(write_end)
    with ros_in_process({'link_path': tmp_path / 'imu.pty'}):
        node = ImuEmulatorNode()
        try:
            exits, errors = kill_a_thread(
                node, lambda: setattr(node.device.server, 'fd', read_end))
        finally:
            node.close()
            node.destroy_node()
            os.close(read_end)
    assert exits == [EXIT_THREAD_DIED]
    assert errors and all("thread 'bno055-emulator' died: LinkLost: the pty master" in e.message
                          for e in errors)
