"""The sim's parameter schemas."""

from jetson_edge_sim.params import THERMAL_MODEL


def test_the_thermal_model_takes_its_layout_from_a_layout_file_and_names_no_model():
    names = {s.name for s in THERMAL_MODEL}
    assert 'layout_file' in names and 'hardware_model' not in names
