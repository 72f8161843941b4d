"""Three cameras, one perception node (issue 16): the `sim_multicam` profile started as `jetson-edge up` starts
it; detections of each camera's photos on its own topic over DDS, and each camera in the diagnostics."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from system_helpers import probe

DETECTIONS = 'vision_msgs/msg/Detection2DArray'
# the photos each camera plays (sim_multicam.yaml) and what the COCO SSD finds in them
EXPECTED = {'front': {'person', 'cat', 'cup', 'tie'}, 'left': {'person', 'cat', 'cup'}, 'right': {'person', 'tie'}}


def test_three_cameras_each_get_their_detections(start_suite):
    from jetson_edge_perception import assets
    if any(v != 'ok' for v in assets.verify().values()):
        pytest.skip('sim assets not fetched: run `jetson-edge assets fetch`')
    suite = start_suite('sim_multicam', only=['perception_multicam'])
    with ThreadPoolExecutor(4) as pool:
        results = {camera: pool.submit(probe, f'perception/{camera}/detections', DETECTIONS, seconds=4, keep=10)
                   for camera in EXPECTED}
        diagnostics = pool.submit(probe, '/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', seconds=3, keep=30)
        results = {camera: future.result() for camera, future in results.items()}
        diagnostics = diagnostics.result()
    assert suite.alive()
    for camera, result in results.items():
        seen = {d['results'][0][0] for m in result['messages'] for d in m['detections']}
        assert seen and seen <= EXPECTED[camera], (camera, seen)
        assert {m['frame_id'] for m in result['messages']} == {f'{camera}_camera_optical_frame'}
    statuses = {s['name']: s for m in diagnostics['messages'] for s in m['status']}
    inference = statuses['perception: inference']['values']
    assert inference['cameras'] == '3' and inference['detection_batching'].startswith('dynamic batch')
    for camera in EXPECTED:
        values = statuses[f'perception: camera {camera}']['values']
        assert int(values['frames_processed']) > 0, (camera, values)
