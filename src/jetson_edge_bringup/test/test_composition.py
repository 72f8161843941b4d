import sys

import pytest

from jetson_edge_bringup.composition import (MembersFileError, NotComposable, node_class,
                                             owner_of, read_members)


class Member:
    def step(self, fail):
        fail()


class Helper:
    def work(self):
        raise RuntimeError('decode bug')


def _traceback_of(call):
    try:
        call()
    except RuntimeError:
        return sys.exc_info()[2]
    raise AssertionError('did not raise')


def test_the_owner_is_the_innermost_member_whose_method_raised():
    a, b, helper = Member(), Member(), Helper()
    tb = _traceback_of(lambda: a.step(lambda: b.step(helper.work)))
    assert owner_of(tb, {'a': a, 'b': b}) == 'b'


def _status(value):
    raise RuntimeError(f'bad reading {value}')


class TimerNode:
    def __init__(self):
        self.value = 3
        self.callback = lambda: _status(self.value)   # the way nodes pass diagnostics tasks


def test_a_lambda_closing_over_the_member_counts_as_its_code():
    node = TimerNode()
    assert owner_of(_traceback_of(node.callback), {'power_manager': node}) == 'power_manager'


def test_without_a_member_frame_the_thread_starter_owns_it_else_nobody():
    tb = _traceback_of(Helper().work)
    assert owner_of(tb, {'a': Member()}, started_by='imu_emulator') == 'imu_emulator'
    assert owner_of(tb, {'a': Member()}) is None


def test_members_file_is_read_and_checked(tmp_path):
    good = tmp_path / 'm.yaml'
    good.write_text('- {key: viewer, package: jetson_edge_viewer, executable: viewer_node, '
                    'ros_arguments: [--ros-args, -r, "__node:=viewer"]}\n')
    [member] = read_members(good)
    assert member.label == 'viewer (jetson_edge_viewer/viewer_node)'
    assert member.ros_arguments == ['--ros-args', '-r', '__node:=viewer']
    for text in ('[]', '- {key: viewer}', 'not: a list'):
        good.write_text(text)
        with pytest.raises(MembersFileError):
            read_members(good)
    with pytest.raises(MembersFileError, match='cannot read'):
        read_members(tmp_path / 'absent.yaml')


def test_installed_nodes_register_their_classes_and_others_are_named():
    cls = node_class('jetson_edge_sim', 'thermal_model_node')
    assert cls.__name__ == 'ThermalModelNode'
    with pytest.raises(NotComposable, match='jetson_edge_perception/perception_node'):
        node_class('jetson_edge_perception', 'perception_node')
