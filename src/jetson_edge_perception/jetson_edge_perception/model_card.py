"""Model cards: one YAML file per model saying how to feed it and how to read its outputs.

A card names the model file and its format, the backends that may run it (in order of
preference), the input tensor (name, size, layout, colour order, normalization, resize mode), the
decoder that turns raw outputs into detections, a mask or a depth map, the labels and the default
thresholds. A depth card also says what its output means (`depth`: metric or relative, how to scale
it, its valid range).
Every validation error names the card file and the key at fault.

File references inside a card (`file`, `config_file`, `labels` when it is a path) are resolved by
`resolve_model_file`: `asset:<name>/<file>` means the `jetson-edge assets fetch` cache, an absolute
path is taken as is, and a relative path is looked up next to the card, then in each directory of
the model search path (`JETSON_EDGE_MODEL_PATH`, `os.pathsep`-separated, plus any given directories).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .errors import ModelCardError

BACKENDS = ('tensorrt', 'onnxruntime', 'opencv_dnn', 'jetson_inference')
FORMATS = ('onnx', 'tensorflow', 'tflite', 'caffe', 'engine')
TASKS = ('detection', 'segmentation', 'depth')
LAYOUTS = ('NCHW', 'NHWC')
COLOUR_ORDERS = ('RGB', 'BGR')
RESIZE_MODES = ('stretch', 'letterbox')
DTYPES = ('float32', 'float16', 'uint8')
DECODERS = {
    'detection': ('ssd_tf', 'detection_out', 'yolo', 'ssd_scores_boxes'),
    'segmentation': ('mask_probability', 'mask_argmax'),
    'depth': ('depth_map',),
}
DEPTH_KINDS = ('metric', 'relative')
PRECISIONS = ('fp32', 'fp16', 'int8')
SPARSITY_PATTERNS = ('2:4',)
#: `dynamic`: the model takes a batch of any size (a symbolic batch dimension in ONNX, a TensorRT
#: optimization profile up to the node's max_batch, OpenCV DNN's batch blobs); `fixed`: batch 1 only,
#: so several cameras cost one call each.
BATCH_MODES = ('fixed', 'dynamic')
CALIBRATORS = ('entropy', 'minmax')
MODEL_PATH_ENV = 'JETSON_EDGE_MODEL_PATH'
CARD_PATH_ENV = 'JETSON_EDGE_MODEL_CARDS'


@dataclass(frozen=True)
class InputSpec:
    """The network input: its name, size, memory layout and how pixels are normalized.

    A pixel value p (0..255) becomes `(p * scale - mean[c]) / std[c]` for channel c, in
    `colour_order`; `uint8` inputs take the resized pixels unchanged.
    """

    width: int
    height: int
    name: str | None = None
    layout: str = 'NCHW'
    colour_order: str = 'RGB'
    resize: str = 'stretch'
    pad_value: int = 114
    dtype: str = 'float32'
    scale: float = 1.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class DecoderSpec:
    """How raw outputs become results. `outputs` maps a role (boxes, scores, anchors, mask) to a tensor name.

    `layout` is the layout of a multi-class mask output (`mask_argmax`).
    """

    type: str
    outputs: Mapping[str, str] = field(default_factory=dict)
    iou_threshold: float = 0.5
    box_scale: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
    score_activation: str = 'none'
    background_class: int | None = None
    mask_threshold: float = 0.5
    mask_class_id: int = 1
    layout: str = 'NCHW'


@dataclass(frozen=True)
class DepthSpec:
    """What a depth model's one-channel output means, and how it becomes the published depth.

    A raw value r becomes `r * scale + offset`, then is clipped to [min_value, max_value] (the
    range the model was trained on: values outside it are not measurements). `metric`: metres.
    `relative`: unitless, as `convention` says (the card must say it, because the published image
    carries no unit); `inverse` when larger values are nearer (inverse depth, disparity).
    """

    kind: str = 'metric'
    scale: float = 1.0
    offset: float = 0.0
    min_value: float = 0.1
    max_value: float = 10.0
    convention: str = 'metres from the camera'
    inverse: bool = False


@dataclass(frozen=True)
class CalibrationSpec:
    """INT8 calibration: an image folder fed through the card's preprocessing, and a cache file."""

    images: str | None = None
    algorithm: str = 'entropy'
    batch_size: int = 8
    max_images: int = 256
    cache: str | None = None


@dataclass(frozen=True)
class TensorRTSpec:
    """TensorRT build defaults; a profile's perception parameters override precision, workspace and DLA."""

    precision: str = 'fp16'
    workspace_mb: int = 1024
    dla_core: int = -1
    calibration: CalibrationSpec = field(default_factory=CalibrationSpec)


@dataclass(frozen=True)
class ModelCard:
    """A validated model card. `path` is the card file; file references are still unresolved strings."""

    name: str
    path: Path
    task: str
    file: str
    format: str
    backends: tuple[str, ...]
    input: InputSpec
    decoder: DecoderSpec
    labels: tuple[str, ...]
    score_threshold: float = 0.5
    max_detections: int = 100
    config_file: str | None = None
    tensorrt: TensorRTSpec = field(default_factory=TensorRTSpec)
    jetson_inference: Mapping[str, Any] = field(default_factory=dict)
    description: str = ''
    batch: str = 'fixed'
    depth: DepthSpec | None = None
    #: '2:4' when the weights are structured-sparse (`jetson-edge model prune`): TensorRT may use sparse kernels.
    sparsity: str | None = None

    def label(self, class_id: int) -> str:
        """The label of `class_id`, or `class_<id>` when the card has none for it."""
        if 0 <= class_id < len(self.labels):
            return self.labels[class_id]
        return f'class_{class_id}'


class _Reader:
    """Typed access to a YAML mapping, raising `ModelCardError` naming file and dotted key."""

    def __init__(self, source: str, data: Any, prefix: str = '') -> None:
        if not isinstance(data, Mapping):
            raise ModelCardError(source, prefix.rstrip('.') or None, f'expected a mapping, got {type(data).__name__}')
        self.source, self.data, self.prefix = source, data, prefix
        self.used: set[str] = set()

    def _key(self, key: str) -> str:
        return f'{self.prefix}{key}'

    def fail(self, key: str, problem: str) -> ModelCardError:
        return ModelCardError(self.source, self._key(key), problem)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, choices: Sequence[Any] | None = None) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise self.fail(key, 'is required')
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and kind is not bool:
            raise self.fail(key, f'expected {_kind_name(kind)}, got a boolean')
        if not isinstance(value, kind):
            raise self.fail(key, f'expected {_kind_name(kind)}, got {type(value).__name__} {value!r}')
        if choices is not None and value not in choices:
            raise self.fail(key, f'{value!r} is not one of {", ".join(map(str, choices))}')
        return value

    def number_list(self, key: str, length: int, default: tuple[float, ...]) -> tuple[float, ...]:
        value = self.get(key, (list, int, float), default=list(default))
        if isinstance(value, (int, float)):
            value = [value] * length
        if len(value) != length or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise self.fail(key, f'expected {length} numbers, got {value!r}')
        return tuple(float(v) for v in value)

    def child(self, key: str, *, required: bool = False) -> '_Reader':
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise self.fail(key, 'is required')
            return _Reader(self.source, {}, f'{self._key(key)}.')
        return _Reader(self.source, self.data[key], f'{self._key(key)}.')

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], f'unknown key (known keys: {", ".join(sorted(self.used))})')


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return ' or '.join(k.__name__ for k in kinds)


def _positive(reader: _Reader, key: str, value: float) -> None:
    if value <= 0:
        raise reader.fail(key, f'must be > 0, got {value}')


def _unit(reader: _Reader, key: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise reader.fail(key, f'must be within [0, 1], got {value}')


def _read_input(reader: _Reader) -> InputSpec:
    width = reader.get('width', int)
    height = reader.get('height', int)
    _positive(reader, 'width', width)
    _positive(reader, 'height', height)
    std = reader.number_list('std', 3, (1.0, 1.0, 1.0))
    if any(s == 0 for s in std):
        raise reader.fail('std', 'must not contain 0')
    spec = InputSpec(
        width=width,
        height=height,
        name=reader.get('name', str, None),
        layout=reader.get('layout', str, 'NCHW', choices=LAYOUTS),
        colour_order=reader.get('colour_order', str, 'RGB', choices=COLOUR_ORDERS),
        resize=reader.get('resize', str, 'stretch', choices=RESIZE_MODES),
        pad_value=reader.get('pad_value', int, 114),
        dtype=reader.get('dtype', str, 'float32', choices=DTYPES),
        scale=reader.get('scale', float, 1.0),
        mean=reader.number_list('mean', 3, (0.0, 0.0, 0.0)),
        std=std,
    )
    reader.reject_unknown()
    return spec


def _read_decoder(reader: _Reader, task: str) -> DecoderSpec:
    kind = reader.get('type', str, choices=DECODERS[task])
    outputs = reader.get('outputs', dict, {})
    for role, name in outputs.items():
        if not isinstance(name, str):
            raise reader.fail(f'outputs.{role}', f'expected a tensor name, got {name!r}')
    spec = DecoderSpec(
        type=kind,
        outputs=dict(outputs),
        iou_threshold=reader.get('iou_threshold', float, 0.5),
        box_scale=reader.number_list('box_scale', 4, (10.0, 10.0, 5.0, 5.0)),
        score_activation=reader.get('score_activation', str, 'none', choices=('none', 'sigmoid', 'softmax')),
        background_class=reader.get('background_class', int, None),
        mask_threshold=reader.get('mask_threshold', float, 0.5),
        mask_class_id=reader.get('mask_class_id', int, 1),
        layout=reader.get('layout', str, 'NCHW', choices=LAYOUTS),
    )
    _unit(reader, 'iou_threshold', spec.iou_threshold)
    _unit(reader, 'mask_threshold', spec.mask_threshold)
    required = {'ssd_tf': ('boxes', 'scores', 'anchors'), 'ssd_scores_boxes': ('boxes', 'scores')}
    for role in required.get(kind, ()):
        if role not in spec.outputs:
            raise reader.fail(f'outputs.{role}', f'is required by decoder {kind}')
    reader.reject_unknown()
    return spec


def _read_depth(reader: _Reader, task: str) -> DepthSpec | None:
    if task != 'depth':
        if reader.data:
            raise ModelCardError(reader.source, reader.prefix.rstrip('.'), f'only a depth card has this section, '
                                                                           f'this is a {task} card')
        return None
    kind = reader.get('kind', str, choices=DEPTH_KINDS)
    convention = reader.get('convention', str, 'metres from the camera' if kind == 'metric' else ...)
    spec = DepthSpec(kind=kind, scale=reader.get('scale', float, 1.0), offset=reader.get('offset', float, 0.0),
                     min_value=reader.get('min', float), max_value=reader.get('max', float), convention=convention,
                     inverse=reader.get('inverse', bool, False))
    if spec.scale == 0:
        raise reader.fail('scale', 'must not be 0')
    if not spec.min_value < spec.max_value:
        raise reader.fail('max', f'must be above min ({spec.min_value}), got {spec.max_value}')
    if kind == 'metric' and spec.min_value <= 0:
        raise reader.fail('min', f'a metric depth is a distance: must be > 0, got {spec.min_value}')
    if kind == 'metric' and spec.inverse:
        raise reader.fail('inverse', 'a metric depth is a distance, not an inverse; use kind: relative')
    reader.reject_unknown()
    return spec


def _read_tensorrt(reader: _Reader) -> TensorRTSpec:
    cal = reader.child('calibration')
    calibration = CalibrationSpec(
        images=cal.get('images', str, None),
        algorithm=cal.get('algorithm', str, 'entropy', choices=CALIBRATORS),
        batch_size=cal.get('batch_size', int, 8),
        max_images=cal.get('max_images', int, 256),
        cache=cal.get('cache', str, None),
    )
    _positive(cal, 'batch_size', calibration.batch_size)
    cal.reject_unknown()
    spec = TensorRTSpec(
        precision=reader.get('precision', str, 'fp16', choices=PRECISIONS),
        workspace_mb=reader.get('workspace_mb', int, 1024),
        dla_core=reader.get('dla_core', int, -1),
        calibration=calibration,
    )
    _positive(reader, 'workspace_mb', spec.workspace_mb)
    reader.reject_unknown()
    return spec


def _read_labels(reader: _Reader, card_dir: Path) -> tuple[str, ...]:
    value = reader.get('labels', (list, str), [])
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise reader.fail('labels', 'every label must be a string')
        return tuple(value)
    candidates = [Path(value)] if Path(value).is_absolute() else [
        directory / value for directory in [card_dir, *model_search_dirs()]]
    for path in candidates:
        try:
            lines = path.read_text(encoding='utf-8').splitlines()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise reader.fail('labels', f'cannot read label file {path}: {exc.strerror}') from exc
        return tuple(line.strip() for line in lines if line.strip())
    raise reader.fail('labels', f'label file {value} not found in {", ".join(str(p.parent) for p in candidates)}; '
                                f'put it next to the card or in a {MODEL_PATH_ENV} directory')


def _read_sparsity(reader: _Reader) -> str | None:
    if isinstance(reader.data.get('sparsity'), int):  # YAML 1.1 reads an unquoted 2:4 as the base-60 number 124
        raise reader.fail('sparsity', "write the pattern quoted, sparsity: '2:4' (unquoted, YAML reads a number)")
    return reader.get('sparsity', str, None, choices=SPARSITY_PATTERNS)


def parse_card(data: Any, *, path: Path) -> ModelCard:
    """Validate the YAML content `data` of the card at `path` and return a `ModelCard`."""
    source = str(path)
    reader = _Reader(source, data)
    task = reader.get('task', str, choices=TASKS)
    backends = reader.get('backends', list)
    if not backends:
        raise reader.fail('backends', 'must list at least one backend')
    for name in backends:
        if name not in BACKENDS:
            raise reader.fail('backends', f'{name!r} is not one of {", ".join(BACKENDS)}')
    card = ModelCard(
        name=reader.get('name', str, path.stem),
        path=path,
        task=task,
        file=reader.get('file', str),
        format=reader.get('format', str, choices=FORMATS),
        backends=tuple(backends),
        input=_read_input(reader.child('input', required=True)),
        decoder=_read_decoder(reader.child('decoder', required=True), task),
        labels=_read_labels(reader, path.parent),
        score_threshold=reader.get('score_threshold', float, 0.5),
        max_detections=reader.get('max_detections', int, 100),
        config_file=reader.get('config_file', str, None),
        tensorrt=_read_tensorrt(reader.child('tensorrt')),
        jetson_inference=reader.get('jetson_inference', dict, {}),
        description=reader.get('description', str, ''),
        batch=reader.get('batch', str, 'fixed', choices=BATCH_MODES),
        depth=_read_depth(reader.child('depth', required=task == 'depth'), task),
        sparsity=_read_sparsity(reader),
    )
    _unit(reader, 'score_threshold', card.score_threshold)
    _positive(reader, 'max_detections', card.max_detections)
    if card.format == 'engine' and card.backends != ('tensorrt',):
        raise reader.fail('backends', 'a serialized TensorRT engine can only run on the tensorrt backend')
    reader.reject_unknown()
    return card


def load_card(path: str | os.PathLike[str]) -> ModelCard:
    """Read and validate the card file at `path`."""
    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as exc:
        raise ModelCardError(str(path), None, f'cannot read model card: {exc.strerror}') from exc
    import yaml  # here, so the pure spec types import on machines without PyYAML (the GPU benchmark host)

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ModelCardError(str(path), None, f'not valid YAML: {exc}') from exc
    return parse_card(data, path=path)


def card_search_dirs() -> list[Path]:
    """Where bare card names are looked up: `JETSON_EDGE_MODEL_CARDS`, then `models/` of the
    suite's installed config (`JETSON_EDGE_CONFIG`, else jetson_edge_bringup's share)."""
    from jetson_edge_common.config_location import ConfigNotFound, config_dir

    dirs = [Path(p) for p in os.environ.get(CARD_PATH_ENV, '').split(os.pathsep) if p]
    try:
        dirs.append(config_dir() / 'models')
    except ConfigNotFound:
        pass  # find_card says why when the name is in none of the other directories
    return dirs


def find_card(name_or_path: str) -> Path:
    """Turn a card name (`ssd_mobilenet_v2_coco_tf`) or a path into the card file's path."""
    from jetson_edge_common.config_location import ConfigNotFound, config_dir

    candidate = Path(name_or_path)
    if candidate.suffix in ('.yaml', '.yml') or candidate.parent != Path('.'):
        if candidate.is_file():
            return candidate
        raise ModelCardError(name_or_path, None, 'model card file not found')
    searched = card_search_dirs()
    for directory in searched:
        for suffix in ('.yaml', '.yml'):
            path = directory / f'{name_or_path}{suffix}'
            if path.is_file():
                return path
    try:
        config_dir()
        why = ''
    except ConfigNotFound as exc:
        why = f' ({exc})'
    raise ModelCardError(
        name_or_path, None,
        f'no model card of that name in {", ".join(map(str, searched)) or "no directory"}{why}; '
        f'give a path or set {CARD_PATH_ENV}')


def model_search_dirs(extra: Sequence[str | os.PathLike[str]] = ()) -> list[Path]:
    """Directories searched for relative model files after the card's own directory."""
    env = [Path(p) for p in os.environ.get(MODEL_PATH_ENV, '').split(os.pathsep) if p]
    return [Path(p) for p in extra] + env


def resolve_model_file(card: ModelCard, reference: str, *, key: str = 'file',
                       search_dirs: Sequence[str | os.PathLike[str]] = (),
                       assets_dir: Path | None = None) -> Path:
    """Resolve one file reference of `card` to an existing path, or say where it was looked for."""
    if reference.startswith('asset:'):
        from .assets import asset_path
        path = asset_path(reference[len('asset:'):], cache_dir=assets_dir)
        if not path.is_file():
            raise ModelCardError(str(card.path), key,
                                 f'{reference} is not in the asset cache ({path}); run `jetson-edge assets fetch`')
        return path
    path = Path(reference)
    if path.is_absolute():
        if not path.is_file():
            raise ModelCardError(str(card.path), key, f'{path} does not exist')
        return path
    tried = [card.path.parent] + model_search_dirs(search_dirs)
    for directory in tried:
        if (directory / path).is_file():
            return directory / path
    raise ModelCardError(
        str(card.path), key,
        f'{reference} not found in {", ".join(map(str, tried))}; put it there or add its directory to {MODEL_PATH_ENV}')
