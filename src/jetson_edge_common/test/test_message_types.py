import pytest

from jetson_edge_common.message_types import message_type


def test_both_spellings_name_the_same_class():
    from diagnostic_msgs.msg import DiagnosticArray

    assert message_type('diagnostic_msgs/msg/DiagnosticArray') is DiagnosticArray
    assert message_type('diagnostic_msgs/DiagnosticArray') is DiagnosticArray


@pytest.mark.parametrize('name, reason', [
    ('DiagnosticArray', 'not a message type name'),
    ('no_such_msgs/msg/Thing', 'not installed'),
])
def test_a_bad_name_says_what_is_wrong(name, reason):
    with pytest.raises(ValueError, match=reason):
        message_type(name)


def test_a_missing_type_in_an_installed_package_says_so():
    pytest.importorskip('diagnostic_msgs', reason='needs an installed message package')
    with pytest.raises(ValueError, match='has no message'):
        message_type('diagnostic_msgs/msg/NoSuchType')
