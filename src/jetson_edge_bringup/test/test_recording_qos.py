"""The recorder's and player's QoS choice: an endpoint that matches every recorded publisher."""

from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

from jetson_edge_bringup.bag_metadata import Qos, qos_yaml
from jetson_edge_bringup.player import publisher_qos
from jetson_edge_bringup.recorder import matching_qos

SENSOR = Qos(reliability='best_effort', depth=5)
RELIABLE = Qos(reliability='reliable', depth=10)
LATCHED = Qos(reliability='reliable', durability='transient_local', depth=1)


def test_one_best_effort_publisher_makes_the_recorder_best_effort():
    assert matching_qos([RELIABLE, SENSOR], depth=1).reliability == ReliabilityPolicy.BEST_EFFORT
    assert matching_qos([RELIABLE], depth=1).reliability == ReliabilityPolicy.RELIABLE


def test_transient_local_only_when_every_publisher_offers_it():
    assert matching_qos([LATCHED], depth=1).durability == DurabilityPolicy.TRANSIENT_LOCAL
    assert matching_qos([LATCHED, RELIABLE], depth=1).durability == DurabilityPolicy.VOLATILE


def test_the_player_offers_what_was_recorded():
    played = publisher_qos(qos_yaml([SENSOR]))
    assert (played.reliability, played.durability) == (ReliabilityPolicy.BEST_EFFORT,
                                                        DurabilityPolicy.VOLATILE)
    assert publisher_qos(qos_yaml([LATCHED])).durability == DurabilityPolicy.TRANSIENT_LOCAL
    assert publisher_qos('').reliability == ReliabilityPolicy.RELIABLE
