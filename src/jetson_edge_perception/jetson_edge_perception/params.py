"""Parameter schemas of the camera source and perception nodes (declared once, checked in profiles)."""

from __future__ import annotations

from jetson_edge_common.params import ParamSpec

from .depth import RESOLUTIONS
from .model_card import BACKENDS, PRECISIONS

CAMERA_SOURCE = [
    ParamSpec('source', 'assets:photos',
              'Frames to publish: a directory, image list or glob, a video file, /dev/videoN, a GStreamer '
              'pipeline (gst:... or containing " ! "), csi://N, jetson:<videoSource URI>, or assets:photos '
              '(the photos `jetson-edge assets fetch` put in the cache; assets:photos/*.png a glob of them).', read_only=True),
    ParamSpec('rate_hz', 10.0, 'Publishing rate (frames per second); 0 publishes as fast as the source delivers.',
              min_value=0.0, max_value=240.0, dynamic=True),
    ParamSpec('loop', True, 'Start again at the first frame when an image list or video file ends.', read_only=True),
    ParamSpec('width', 0, 'Resize frames to this width (0: keep; only one of width/height keeps the aspect).',
              min_value=0, max_value=8192, read_only=True),
    ParamSpec('height', 0, 'Resize frames to this height (0: keep).', min_value=0, max_value=8192, read_only=True),
    ParamSpec('frame_id', 'camera_optical_frame', 'frame_id of the published images (REP 103 optical frame).',
              read_only=True),
    ParamSpec('calibration_file', '', 'Camera calibration YAML (camera_calibration format); when set, '
              'camera_info is published with every image.', read_only=True),
    ParamSpec('image_topic', 'camera/image_raw', 'Topic of the published images.', read_only=True),
    ParamSpec('camera_info_topic', 'camera/camera_info', 'Topic of the published camera_info.', read_only=True),
    ParamSpec('frame_ring_slots', 0, 'Also put each frame into a shared-memory ring of this many slots (under '
              '/dev/shm) and publish a jetson_edge_msgs/FrameSlot naming it on <image_topic>/shm, for a perception '
              'node on this host (its frame_ring); Image messages then go out only while image_topic has '
              'subscribers. 0: no ring, Image always.', min_value=0, max_value=64, read_only=True),
    ParamSpec('diagnostics_period_s', 1.0, 'Period of the /diagnostics status.', min_value=0.1, max_value=60.0,
              read_only=True),
]

PERCEPTION = [
    ParamSpec('detection_model', 'ssd_mobilenet_v2_coco_tf',
              'Model card (name in config/models or path) of the object detector; empty disables detection.',
              read_only=True),
    ParamSpec('segmentation_model', 'selfie_segmentation_tflite',
              'Model card of the segmentation model; empty disables segmentation.', read_only=True),
    ParamSpec('depth_model', 'fastdepth_onnx',
              'Model card of the monocular depth model; empty disables depth. A metric card publishes metres; '
              'a relative card publishes unitless values whose meaning (and whether larger is nearer) its '
              '`depth.convention` states.', read_only=True),
    ParamSpec('depth_enabled', False, 'Run the depth model (off by default: the heaviest of the three; its model '
              'loads when first switched on).', dynamic=True),
    ParamSpec('depth_every_n_frames', 1, 'Run depth on every Nth processed frame of each camera (depth is the '
              'heaviest model).',
              min_value=1, max_value=1000, dynamic=True),
    ParamSpec('depth_max_rate_hz', 0.0, 'Most depth frames per second of each camera (0: no cap beyond '
              'depth_every_n_frames).',
              min_value=0.0, max_value=1000.0, dynamic=True),
    ParamSpec('depth_resolution', 'camera', 'Size of the published depth image: camera (the source frame\'s, '
              'resized bilinearly) or model (the network\'s output, letterbox padding removed).',
              choices=RESOLUTIONS, dynamic=True),
    ParamSpec('backends', [], 'Backend preference order, overriding the cards\' (any of '
              + ', '.join(BACKENDS) + '); empty uses each card\'s order.', item_type=str, read_only=True),
    ParamSpec('onnxruntime_providers', ['CPUExecutionProvider'],
              'ONNX Runtime execution providers to request, in order; a requested accelerator that ONNX Runtime '
              'does not enable is an error, never a silent CPU fallback.', read_only=True),
    ParamSpec('precision', 'fp16', 'TensorRT engine precision.', choices=PRECISIONS, read_only=True),
    ParamSpec('workspace_mb', 1024, 'TensorRT builder workspace limit (MiB).', min_value=16, max_value=65536,
              read_only=True),
    ParamSpec('dla_core', -1, 'DLA core for TensorRT engines (-1: GPU only; Xavier/Orin NX/AGX have 2).',
              min_value=-1, max_value=1, read_only=True),
    ParamSpec('engine_cache_dir', '', 'Where TensorRT engines are cached (empty: the user cache directory).',
              read_only=True),
    ParamSpec('calibration_images', '', 'Image folder for INT8 calibration (overrides the card).', read_only=True),
    ParamSpec('background_engine_build', True,
              'Build a missing TensorRT engine in the background while the next backend serves.', read_only=True),
    ParamSpec('model_path', [], 'Extra directories searched for model files named by relative paths in cards.',
              item_type=str, read_only=True),
    ParamSpec('intra_op_threads', 0, 'CPU threads for inference: ONNX Runtime intra-op and OpenCV DNN '
              '(0: the library decides, usually every core).', min_value=0, max_value=64, read_only=True),
    ParamSpec('score_threshold', 0.5, 'Minimum detection score.', min_value=0.0, max_value=1.0, dynamic=True),
    ParamSpec('class_filter', [], 'Only report these classes (label names or ids); empty reports all.',
              item_type=str, dynamic=True),
    ParamSpec('max_detections', 100, 'Most detections reported per image (best first).', min_value=1,
              max_value=1000, dynamic=True),
    ParamSpec('max_rate_hz', 0.0, 'Most frames processed per second of each camera (0: as fast as the model runs); '
              'frames over the rate are dropped and counted.', min_value=0.0, max_value=1000.0, dynamic=True),
    ParamSpec('load_level', 1.0, 'Share of max_rate_hz to run at: the power manager lowers it while the board '
              'is hot (1: full rate; with max_rate_hz 0 there is no rate to scale, and a warning says so).',
              min_value=0.01, max_value=1.0, dynamic=True),
    ParamSpec('publish_overlay', False, 'Publish the image with boxes and mask drawn on the overlay topic.',
              dynamic=True),
    ParamSpec('image_topic', 'camera/image_raw', 'Input images (when camera_names is empty: one camera).',
              read_only=True),
    ParamSpec('camera_names', [], 'Names of the cameras, one per entry of camera_topics; camera NAME publishes '
              'under the output topics\' namespace plus NAME (perception/NAME/detections). Empty: one camera on '
              'image_topic publishing on the output topics themselves.', item_type=str, read_only=True),
    ParamSpec('camera_topics', [], 'Image topic of each camera of camera_names, in the same order.',
              item_type=str, read_only=True),
    ParamSpec('max_batch', 4, 'Most frames (one per camera) per inference call of a batch: dynamic model; '
              'also the TensorRT optimization profile\'s largest batch. A batch: fixed model runs one call '
              'per frame.', min_value=1, max_value=64, read_only=True),
    ParamSpec('batch_wait_fraction', 0.25, 'Once a frame is ready, how long the batch waits for the other '
              'cameras that are due, as a share of the fastest camera\'s frame period (0: never wait); a '
              'camera that misses it joins the next batch.', min_value=0.0, max_value=1.0, read_only=True),
    ParamSpec('stale_after_periods', 10, 'Report ERROR when no image arrived for this many '
              'input periods (the median gap between recent images); such a camera is not waited for '
              'when a batch forms.', min_value=1, max_value=1000, read_only=True),
    ParamSpec('frame_ring', False,
              'Read each camera\'s frames from its camera source\'s shared-memory ring (same host; the camera\'s '
              'frame_ring_slots > 0), announced on <image topic>/shm, instead of Image messages; torn or '
              'overwritten slots are counted drops. Where the ring cannot be opened (the camera runs on another '
              'host), or the image topic has publishers and the FrameSlot topic none (a bag being played), that '
              'camera falls back to its Image topic, with a WARN.', read_only=True),
    ParamSpec('raw_image_intake', True,
              'Receive images serialized and read their pixels in place (skips rclpy\'s deserialization, ~1 ms '
              'per megapixel frame); false lets rclpy deserialize (for an RMW whose representation is not CDR).',
              read_only=True),
    ParamSpec('max_frame_pixels', 3840 * 2160,
              'Largest input image (width x height) processed; larger ones are dropped and counted '
              '(too_many_pixels) before any copy (default: 4K UHD).', min_value=1, max_value=8192 * 8192,
              read_only=True),
    ParamSpec('max_frame_bytes', 3840 * 2160 * 4,
              'Largest input image data (bytes) processed; larger ones are dropped and counted (too_many_bytes) '
              'before any copy (default: 4K UHD bgra8).', min_value=1, max_value=8192 * 8192 * 4, read_only=True),
    ParamSpec('detections_topic', 'perception/detections', 'Output detections (vision_msgs/Detection2DArray).',
              read_only=True),
    ParamSpec('segmentation_topic', 'perception/segmentation', 'Output class mask (mono8, one class id per pixel).',
              read_only=True),
    ParamSpec('depth_topic', 'perception/depth', 'Output depth image (32FC1, the source frame\'s header; NaN where '
              'the model gave no finite value).', read_only=True),
    ParamSpec('overlay_topic', 'perception/overlay', 'Output overlay image (bgr8; with depth, a colourised depth '
              'panel on the right).', read_only=True),
    ParamSpec('diagnostics_period_s', 1.0, 'Period of the /diagnostics status.', min_value=0.1, max_value=60.0,
              read_only=True),
]
