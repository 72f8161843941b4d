"""The bag core against independent implementations: messages serialized by rosbags' own CDR
serializer are written with BagWriter and read back with rosbags' rosbag2 reader and with the
mcap library's ROS 2 decoder (which parses the stored definitions). No ROS graph."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import yaml
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore

from jetson_edge_bringup import bag as bag_module
from jetson_edge_bringup.bag import BagError, BagReader, BagWriter
from jetson_edge_bringup.bag_metadata import Qos, parse_qos_yaml, qos_yaml
from jetson_edge_bringup.msg_definitions import DELIMITER, DefinitionError, full_definition

STORE = get_typestore(Stores.ROS2_JAZZY)
SENSOR = qos_yaml([Qos(reliability='best_effort', depth=5)])
RELIABLE = qos_yaml([Qos(reliability='reliable', durability='transient_local', depth=1)])


def imu(stamp_ns: int, z: float):
    Imu, Header, Time, Quaternion, Vector3 = (STORE.types[name] for name in (
        'sensor_msgs/msg/Imu', 'std_msgs/msg/Header', 'builtin_interfaces/msg/Time',
        'geometry_msgs/msg/Quaternion', 'geometry_msgs/msg/Vector3'))
    cov = np.zeros(9)
    return Imu(Header(Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9), 'imu_link'),
               Quaternion(0.0, 0.0, 0.0, 1.0), cov, Vector3(0.0, 0.0, 0.1), cov,
               Vector3(0.0, 0.0, z), cov)


def string(text: str):
    return STORE.types['std_msgs/msg/String'](text)


@pytest.fixture
def recording(tmp_path) -> Path:
    directory = tmp_path / 'run'
    with BagWriter(directory, ros_distro='jazzy') as writer:
        writer.add_topic('/imu/data', 'sensor_msgs/msg/Imu', offered_qos_profiles=SENSOR)
        writer.add_topic('/state', 'std_msgs/msg/String', offered_qos_profiles=RELIABLE)
        for i in range(20):
            t = 1_700_000_000_000_000_000 + i * 10_000_000
            writer.write('/imu/data', STORE.serialize_cdr(imu(t, 9.81 + i), 'sensor_msgs/msg/Imu'), t)
            if i % 5 == 0:
                writer.write('/state', STORE.serialize_cdr(string(f'state {i}'),
                                                           'std_msgs/msg/String'), t + 1)
    return directory


def test_rosbags_reads_what_was_written(recording):
    info = yaml.safe_load((recording / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert info['version'] == 8 and info['storage_identifier'] == 'mcap'
    with Reader(recording) as reader:
        topics = {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}
        assert topics == {'/imu/data': ('sensor_msgs/msg/Imu', 20), '/state': ('std_msgs/msg/String', 4)}
        assert reader.duration == 190_000_000 + 1
        values = [(c.topic, STORE.deserialize_cdr(raw, c.msgtype)) for c, _t, raw in reader.messages()]
        qos = {c.topic: c.ext.offered_qos_profiles for c in reader.connections}
    zs = [m.linear_acceleration.z for topic, m in values if topic == '/imu/data']
    assert zs == [9.81 + i for i in range(20)]
    assert [m.data for topic, m in values if topic == '/state'] == ['state 0', 'state 5', 'state 10',
                                                                    'state 15']
    # rosbags parses the QoS strings into its own profile objects
    assert (qos['/state'][0].durability.name, qos['/state'][0].depth) == ('TRANSIENT_LOCAL', 1)
    assert qos['/imu/data'][0].reliability.name == 'BEST_EFFORT'


def test_qos_strings_round_trip():
    offers = [Qos(reliability='best_effort', depth=5), Qos(durability='transient_local', depth=1)]
    assert parse_qos_yaml(qos_yaml(offers)) == offers


def test_mcap_decodes_with_the_stored_definitions(recording):
    """mcap_ros2 builds its decoder from the schema text alone: the definitions must be complete."""
    with open(recording / 'run_0.mcap', 'rb') as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        assert reader.get_header().profile == 'ros2'
        decoded = list(reader.iter_decoded_messages())
    imu_msgs = [m for _s, c, _m, m in decoded if c.topic == '/imu/data']
    assert [m.linear_acceleration.z for m in imu_msgs] == [9.81 + i for i in range(20)]
    assert imu_msgs[3].header.frame_id == 'imu_link'
    schema, channel = decoded[0][0], decoded[0][1]
    assert schema.encoding == 'ros2msg' and channel.message_encoding == 'cdr'
    assert yaml.safe_load(channel.metadata['offered_qos_profiles'])[0]['reliability'] in (1, 2)


def test_our_reader_plays_back_in_time_order(recording):
    bag = BagReader(recording)
    times = [m.time_ns for m in bag.messages()]
    assert times == sorted(times) and len(times) == 24
    assert {t.name: t.message_count for t in bag.topics} == {'/imu/data': 20, '/state': 4}


def test_definitions_follow_rosbag2_layout():
    texts = {('a', 'Top'): 'b/Mid mid\nLeaf[] leaves\nuint8 X=1\n',
             ('b', 'Mid'): 'a/Leaf leaf\nstring name\n', ('a', 'Leaf'): 'float64 v\n'}
    text = full_definition('a/msg/Top', read=lambda p, n: texts[(p, n)])
    # dependencies depth first, sorted, each once
    assert text == (texts[('a', 'Top')] + f'\n{DELIMITER}\nMSG: a/Leaf\n' + texts[('a', 'Leaf')]
                    + f'\n{DELIMITER}\nMSG: b/Mid\n' + texts[('b', 'Mid')])


def test_installed_definition_is_complete():
    text = full_definition('sensor_msgs/msg/Image')
    assert 'MSG: std_msgs/Header' in text and 'MSG: builtin_interfaces/Time' in text


def test_an_unknown_type_is_refused_with_the_reason():
    with pytest.raises(DefinitionError, match='not installed'):
        full_definition('no_such_msgs/msg/Thing')
    with pytest.raises(DefinitionError, match='not a message type'):
        full_definition('Image')


def test_an_existing_directory_is_not_overwritten(recording):
    with pytest.raises(BagError, match='already exists'):
        BagWriter(recording)


def test_an_unfinished_recording_is_refused(tmp_path):
    (tmp_path / 'half').mkdir()
    with pytest.raises(BagError, match='not a finished'):
        BagReader(tmp_path / 'half')


@pytest.mark.parametrize('module', ['bag', 'bag_metadata', 'msg_definitions'])
def test_the_bag_core_imports_no_rclpy(module):
    path = Path(bag_module.__file__).with_name(f'{module}.py')
    tree = ast.parse(path.read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(name.split('.')[0] == 'rclpy' for name in names)
