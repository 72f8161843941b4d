"""The suite's one piece of DDS set-up: a Fast DDS profile that carries whole scans and frames."""

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
