"""Model cards: every shipped card validates; malformed cards fail naming the file and the key."""

from pathlib import Path

import pytest
import yaml

from conftest import CARDS
from jetson_edge_perception.errors import ModelCardError
from jetson_edge_perception.model_card import find_card, load_card, parse_card, resolve_model_file

MINIMAL = {
    'task': 'detection', 'file': 'm.onnx', 'format': 'onnx', 'backends': ['onnxruntime'],
    'input': {'width': 300, 'height': 300}, 'decoder': {'type': 'yolo'}, 'labels': ['a', 'b'],
}


def _write(tmp_path: Path, data: dict, name: str = 'card.yaml') -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _with(**changes):
    data = yaml.safe_load(yaml.safe_dump(MINIMAL))
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split('__')
        for key in parents:
            target = target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return data


@pytest.mark.parametrize('path', sorted(CARDS.glob('*.yaml')), ids=lambda p: p.stem)
def test_shipped_cards_validate(path, tmp_path, monkeypatch):
    (tmp_path / 'labels.txt').write_text('BACKGROUND\nthing\n')  # the jetson-inference card's labels come with its model
    monkeypatch.setenv('JETSON_EDGE_MODEL_PATH', str(tmp_path))
    card = load_card(path)
    assert card.name == path.stem
    assert card.labels or card.task == 'depth'  # a depth map has no classes
    assert card.backends


def test_ssd_onnx_card_matches_the_fixture_tensor_spec():
    card = load_card(CARDS / 'ssd_mobilenet_v2_coco_onnx.yaml')
    assert (card.input.name, card.input.width, card.input.height, card.input.layout) == (
        'Preprocessor/sub:0', 300, 300, 'NHWC')
    # p * 2/255 - 1 written as (p * scale - mean) / std
    for p in (0, 127.5, 255):
        assert (p * card.input.scale - card.input.mean[0]) / card.input.std[0] == pytest.approx(p * 2 / 255 - 1)
    assert card.decoder.box_scale == (10, 10, 5, 5)
    assert card.label(18) == 'dog' and card.label(1) == 'person' and len(card.labels) == 91


@pytest.mark.parametrize('changes, key, words', [
    ({'task': KeyError}, 'task', 'is required'),
    ({'task': 'pose'}, 'task', 'not one of'),
    ({'backends': ['tensorflow_lite']}, 'backends', 'not one of'),
    ({'backends': []}, 'backends', 'at least one'),
    ({'input__width': 'wide'}, 'input.width', 'expected int'),
    ({'input__width': 0}, 'input.width', '> 0'),
    ({'input__layout': 'CHW'}, 'input.layout', 'not one of'),
    ({'input__mean': [1, 2]}, 'input.mean', '3 numbers'),
    ({'input__std': [1, 0, 1]}, 'input.std', 'not contain 0'),
    ({'decoder__type': 'mask_argmax'}, 'decoder.type', 'not one of'),
    ({'decoder__type': 'ssd_tf'}, 'decoder.outputs.boxes', 'required by decoder ssd_tf'),
    ({'score_threshold': 1.5}, 'score_threshold', 'within [0, 1]'),
    ({'input__colour': 'RGB'}, 'input.colour', 'unknown key'),
    ({'tensorrt': {'precision': 'int4'}}, 'tensorrt.precision', 'not one of'),
    ({'labels': 'missing_labels.txt'}, 'labels', 'not found'),
    ({'input__scale': True}, 'input.scale', 'boolean'),
])
def test_invalid_cards_name_file_and_key(tmp_path, changes, key, words):
    path = _write(tmp_path, _with(**changes))
    with pytest.raises(ModelCardError) as info:
        load_card(path)
    assert info.value.key == key
    assert str(path) in str(info.value) and words in str(info.value)


def test_unreadable_and_non_mapping_cards(tmp_path):
    with pytest.raises(ModelCardError, match='cannot read'):
        load_card(tmp_path / 'absent.yaml')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('task: [unclosed')
    with pytest.raises(ModelCardError, match='not valid YAML'):
        load_card(bad)
    with pytest.raises(ModelCardError, match='expected a mapping'):
        parse_card(['a'], path=bad)


def test_find_card_by_name_and_path(tmp_path, monkeypatch):
    from ament_index_python.packages import get_package_share_directory

    monkeypatch.delenv('JETSON_EDGE_CONFIG', raising=False)
    monkeypatch.delenv('JETSON_EDGE_MODEL_CARDS', raising=False)
    installed = Path(get_package_share_directory('jetson_edge_bringup')) / 'config' / 'models'
    found = find_card('ssd_mobilenet_v2_coco_tf')
    assert found == installed / 'ssd_mobilenet_v2_coco_tf.yaml'
    assert found.read_text() == (CARDS / 'ssd_mobilenet_v2_coco_tf.yaml').read_text()
    (tmp_path / 'models').mkdir()
    (tmp_path / 'models' / 'ssd_mobilenet_v2_coco_tf.yaml').write_text('override')
    monkeypatch.setenv('JETSON_EDGE_CONFIG', str(tmp_path))
    assert find_card('ssd_mobilenet_v2_coco_tf') == tmp_path / 'models' / 'ssd_mobilenet_v2_coco_tf.yaml'
    monkeypatch.delenv('JETSON_EDGE_CONFIG')
    assert find_card(str(CARDS / 'selfie_segmentation_onnx.yaml')).is_file()
    with pytest.raises(ModelCardError, match='no model card of that name'):
        find_card('no_such_model')


def test_model_files_resolve_via_search_path_and_say_where_they_looked(tmp_path, models_dir, monkeypatch):
    card = load_card(CARDS / 'ssd_mobilenet_v2_coco_onnx.yaml')
    assert resolve_model_file(card, card.file, search_dirs=[models_dir]) == models_dir / card.file
    monkeypatch.setenv('JETSON_EDGE_MODEL_PATH', str(models_dir))
    assert resolve_model_file(card, card.file) == models_dir / card.file
    monkeypatch.delenv('JETSON_EDGE_MODEL_PATH')
    with pytest.raises(ModelCardError) as info:
        resolve_model_file(card, card.file, search_dirs=[tmp_path])
    assert str(tmp_path) in str(info.value) and 'JETSON_EDGE_MODEL_PATH' in str(info.value)


def test_asset_references_point_into_the_cache(tmp_path):
    card = load_card(CARDS / 'ssd_mobilenet_v2_coco_tf.yaml')
    with pytest.raises(ModelCardError, match='jetson-edge assets fetch'):
        resolve_model_file(card, card.file, assets_dir=tmp_path)
    target = tmp_path / 'ssd_mobilenet_v2_coco' / 'frozen_inference_graph.pb'
    target.parent.mkdir(parents=True)
    target.write_bytes(b'x')
    assert resolve_model_file(card, card.file, assets_dir=tmp_path) == target
