"""The recording check of ``bench record`` and test/test_record.py: message-by-message matching."""

from jetson_edge_bringup.bench_record import compare, failures

QOS = {'/state': 'reliable', '/scan': 'sensor'}


def test_a_missed_reliable_message_fails_and_a_lost_sensor_message_is_counted():
    tapped = {'/state': [(1, b'a'), (2, b'b'), (3, b'c')], '/scan': [(1, b's1'), (2, b's2')]}
    recorded = {'/state': [(1, b'a'), (3, b'c')], '/scan': [(1, b's1'), (2, b's3')]}
    rows = {r.topic: r for r in compare(tapped, recorded, QOS, start_ns=0, end_ns=10)}
    assert (rows['/state'].missed, rows['/scan'].missed, rows['/scan'].extra) == (1, 1, 1)
    assert failures(list(rows.values())) == ['/state: 1 reliable messages missed']


def test_identical_messages_are_matched_as_often_as_they_occur():
    tapped = {'/state': [(1, b'same'), (2, b'same')], '/scan': []}
    rows = compare(tapped, {'/state': [(1, b'same')]}, QOS, start_ns=0, end_ns=10)
    assert rows[0].missed == 1


def test_only_the_window_is_counted_and_edges_match_anywhere():
    tapped = {'/state': [(1, b'early'), (5, b'mid'), (9, b'late')], '/scan': []}
    recorded = {'/state': [(4, b'mid'), (6, b'early')]}  # the recorder's clock differs a little
    rows = compare(tapped, recorded, QOS, start_ns=3, end_ns=7)
    assert (rows[0].subscriber, rows[0].recorded, rows[0].missed, rows[0].extra) == (1, 2, 0, 0)
    assert failures(rows) == []
