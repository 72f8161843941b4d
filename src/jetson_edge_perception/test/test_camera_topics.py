"""Cameras from parallel parameter lists: per-camera topics, the one-camera case, errors that say what is wrong."""

import pytest

from jetson_edge_perception.camera_topics import camera_specs, per_camera_topic

OUTPUTS = {'detections': 'perception/detections', 'segmentation': 'perception/segmentation'}


def test_no_cameras_listed_is_one_camera_on_todays_topics():
    [camera] = camera_specs([], [], image_topic='camera/image_raw', outputs=OUTPUTS)
    assert camera.name == '' and camera.image_topic == 'camera/image_raw' and camera.outputs == OUTPUTS
    assert camera.label == 'camera/image_raw'


def test_named_cameras_publish_in_their_namespace():
    front, left = camera_specs(['front', 'left'], ['front/image_raw', '/left/image'], image_topic='x',
                               outputs=OUTPUTS)
    assert front.outputs == {'detections': 'perception/front/detections',
                             'segmentation': 'perception/front/segmentation'}
    assert left.image_topic == '/left/image' and left.label == 'left'
    assert per_camera_topic('/perception/depth', 'wrist_l') == '/perception/wrist_l/depth'
    assert per_camera_topic('detections', 'a') == 'a/detections'


@pytest.mark.parametrize('names, topics, problem', [
    (['a', 'b'], ['t'], 'camera_names has 2 entries and camera_topics 1'),
    (['a', 'a'], ['t', 'u'], 'camera names repeat: a'),
    (['front cam'], ['t'], 'is not a ROS name token'),
    (['a'], [''], 'empty topic'),
])
def test_bad_camera_lists_are_refused(names, topics, problem):
    with pytest.raises(ValueError, match=problem):
        camera_specs(names, topics, image_topic='x', outputs=OUTPUTS)
