"""The suite's one piece of DDS set-up: a Fast DDS profile that carries whole scans and frames."""

import subprocess
import xml.etree.ElementTree as ET

from jetson_edge_common.dds import use_large_data_transport


def test_large_data_profile_is_used_only_when_nothing_else_was_chosen():
    environ = {}
    assert use_large_data_transport(environ)
    profile = environ['FASTRTPS_DEFAULT_PROFILES_FILE']
    ns = {'f': 'http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles'}
    segment = ET.parse(profile).getroot().find('.//f:segment_size', ns)
    assert int(segment.text) >= 4 * 1024 * 1024  # a dual-return VLP-32C scan fits
    # readers free each sample (a burst of huge images leaves no grown buffers), and rmw_fastrtps is told to read it
    reader = ET.parse(profile).getroot().find('f:subscriber[@is_default_profile="true"]/f:historyMemoryPolicy', ns)
    assert reader.text == 'DYNAMIC' and environ['RMW_FASTRTPS_USE_QOS_FROM_XML'] == '1'
    for chosen in ({'RMW_IMPLEMENTATION': 'rmw_cyclonedds_cpp'},
                   {'FASTRTPS_DEFAULT_PROFILES_FILE': '/etc/mine.xml'},
                   {'FASTDDS_BUILTIN_TRANSPORTS': 'LARGE_DATA'}):
        before = dict(chosen)
        assert not use_large_data_transport(chosen)
        assert chosen == before


def test_shared_memory_left_by_a_killed_process_is_cleaned_with_fast_dds_own_tool(tmp_path):
    from jetson_edge_common.dds import clean_stale_shared_memory
    tool = tmp_path / 'fastdds'
    tool.write_text('#!/bin/sh\necho "shm.clean:"\necho "2 zombie ports cleaned"\n')
    tool.chmod(0o755)
    seen = []

    def run(argv, **kwargs):
        seen.append(argv)
        return subprocess.run(argv, **kwargs)

    message = clean_stale_shared_memory({'PATH': str(tmp_path)}, run=run)
    assert seen == [[str(tool), 'shm', 'clean']]
    assert message == 'fastdds shm clean: shm.clean:; 2 zombie ports cleaned'


def test_shared_memory_clean_up_reports_instead_of_raising(tmp_path):
    from jetson_edge_common.dds import clean_stale_shared_memory
    assert 'not on PATH' in clean_stale_shared_memory({'PATH': str(tmp_path)})
    assert 'not Fast DDS' in clean_stale_shared_memory({'RMW_IMPLEMENTATION': 'rmw_cyclonedds_cpp'})
    tool = tmp_path / 'fastdds'
    tool.write_text('#!/bin/sh\necho "no such segment" >&2\nexit 3\n')
    tool.chmod(0o755)
    assert clean_stale_shared_memory({'PATH': str(tmp_path)}) == \
        'fastdds shm clean failed (exit 3): no such segment'
