"""Three cameras, one perception node (issue 16): the `sim_multicam` profile started as `jetson-edge up` starts
it; detections of each camera's photos on its own topic over DDS, depth per camera too, and each camera in
the diagnostics."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from system_helpers import probe

DETECTIONS = 'vision_msgs/msg/Detection2DArray'
# the photos each camera plays (sim_multicam.yaml): front all four, left the PNGs (astronaut, chelsea the
# cat, coffee), right only grace_hopper (a person in a tie)
CAMERAS = ('front', 'left', 'right')


def test_three_cameras_each_get_their_detections(start_suite):
    from jetson_edge_perception import assets
    if any(v != 'ok' for v in assets.verify().values()):
        pytest.skip('sim assets not fetched: run `jetson-edge assets fetch`')
    suite = start_suite('sim_multicam', only=['perception_multicam'])
    with ThreadPoolExecutor(4) as pool:
        results = {camera: pool.submit(probe, f'perception/{camera}/detections', DETECTIONS, seconds=4, keep=10)
                   for camera in CAMERAS}
        depth = pool.submit(probe, 'perception/left/depth', 'sensor_msgs/msg/Image', seconds=0.5, qos='sensor')
        results = {camera: future.result() for camera, future in results.items()}
        depth = depth.result()
    # Only once every camera's detections came out: a slow start (a loaded machine) must not leave a camera
    # without a processed frame in the diagnostics looked at.
    diagnostics = probe('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', seconds=3, keep=30)
    assert suite.alive()
    seen = {camera: {d['results'][0][0] for m in result['messages'] for d in m['detections']}
            for camera, result in results.items()}
    assert seen['right'] and seen['right'] <= {'person', 'tie'}, seen
    assert seen['left'] & {'cat', 'cup'}, seen
    assert seen['front'] & {'person', 'cat', 'cup', 'tie'}, seen
    for camera, result in results.items():
        assert {m['frame_id'] for m in result['messages']} == {f'{camera}_camera_optical_frame'}
    first_depth = depth['messages'][0]
    assert first_depth['encoding'] == '32FC1' and first_depth['frame_id'] == 'left_camera_optical_frame'
    statuses = {s['name']: s for m in diagnostics['messages'] for s in m['status']}
    inference = statuses['perception: inference']['values']
    assert inference['cameras'] == '3' and inference['detection_batching'].startswith('dynamic batch')
    for camera in CAMERAS:
        values = statuses[f'perception: camera {camera}']['values']
        assert int(values['frames_processed']) > 0, (camera, values)
