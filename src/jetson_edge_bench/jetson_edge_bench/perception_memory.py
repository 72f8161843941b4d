"""`jetson-edge bench perception -- --memory`: where the perception node's resident memory goes.

Two measurements of the profile's perception node (sim: SSD TF graph, selfie segmentation and
FastDepth on OpenCV DNN):

- node: the real camera source and perception processes, with the profile's parameters, in a
  namespace of their own; the perception process's VmRSS (and its anonymous / file-backed split)
  sampled until every configured model ran, then for `seconds` more: peak and last;
- stages: the same imports and models in a fresh interpreter without ROS nodes, one step at a
  time, RSS after each (module imports, each model's load, its first frame, three more frames):
  what each part costs; the node's excess over the last step is its own (DDS participant and its
  shared memory, threads, frame and result buffers).

The target is the node's peak within 300 MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

TARGET_MB = 300.0


def _status_mb(pid: int | str = 'self') -> dict[str, float]:
    values = {}
    with open(f'/proc/{pid}/status', encoding='ascii') as status:
        for line in status:
            key, _, rest = line.partition(':')
            if key in ('VmRSS', 'RssAnon', 'RssFile', 'RssShmem'):
                values[key] = int(rest.split()[0]) / 1024
    return values


def _start(directory: Path, module: str, name: str, namespace: str, params: dict) -> subprocess.Popen:
    path = directory / f'{name}.yaml'
    path.write_text(yaml.safe_dump({f'{namespace}/{name}': {'ros__parameters': params}}))
    log = open(directory / f'{name}.log', 'wb')
    return subprocess.Popen([sys.executable, '-m', module, '--ros-args', '-r', f'__node:={name}',
                             '-r', f'__ns:={namespace}', '--params-file', str(path)], stdout=log,
                            stderr=subprocess.STDOUT)


def node_memory(camera: dict, perception: dict, *, seconds: float, startup_timeout_s: float = 180.0) -> dict:
    """Peak and last VmRSS (MB) of a perception process run as the profile runs it, fed by its camera."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from jetson_edge_common import qos
    from jetson_edge_common.testing import interrupt

    namespace = f'/bench_memory_{os.getpid()}'
    roles = [r for r in ('detection', 'segmentation', 'depth') if perception.get(f'{r}_model')]
    if not perception.get('depth_enabled', False):
        roles = [r for r in roles if r != 'depth']
    values: dict[str, str] = {}
    samples: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix='jetson_edge_bench_') as tmp:
        processes = [_start(Path(tmp), 'jetson_edge_perception.camera_node', 'camera', namespace, camera),
                     _start(Path(tmp), 'jetson_edge_perception.node', 'perception', namespace,
                            {**perception, 'diagnostics_period_s': 0.5})]
        rclpy.init()
        node = rclpy.create_node('bench_memory')

        def on_diagnostics(msg: DiagnosticArray) -> None:
            for status in msg.status:
                if status.name == 'perception: inference':
                    values.update({kv.key: kv.value for kv in status.values})

        node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, qos.DIAGNOSTICS)

        def all_ran() -> bool:
            return all(values.get(f'{role}_model') for role in roles) and (
                'depth' not in roles or int(values.get('depth_frames', 0)) > 0)

        try:
            deadline = time.monotonic() + startup_timeout_s
            while not all_ran() and time.monotonic() < deadline and processes[1].poll() is None:
                rclpy.spin_once(node, timeout_sec=0.25)
                samples.append(_status_mb(processes[1].pid))
            if not all_ran():
                raise SystemExit(f'the perception node did not run {", ".join(roles)} within {startup_timeout_s} s; '
                                 f'its log:\n{(Path(tmp) / "perception.log").read_text()[-3000:]}')
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                rclpy.spin_once(node, timeout_sec=0.25)
                samples.append(_status_mb(processes[1].pid))
        finally:
            for process in processes:
                interrupt(process)
            node.destroy_node()
            rclpy.try_shutdown()
    peak = max(samples, key=lambda s: s['VmRSS'])
    return {'peak': peak, 'last': samples[-1], 'roles': roles,
            'frames_processed': int(values.get('frames_processed', 0)),
            'depth_frames': int(values.get('depth_frames', 0)), 'frame_input': values.get('frame_input', '?'),
            'backends': {role: values.get(f'{role}_backend', '?') for role in roles}}


def stage_memory(perception: dict, image_path: Path) -> list[tuple[str, float]]:
    """RSS (MB) after each step of what the node does, in this process (a fresh interpreter)."""
    done = subprocess.run([sys.executable, '-m', 'jetson_edge_bench.perception_memory', 'stages', str(image_path),
                           yaml.safe_dump(perception)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f'memory stages failed: {done.stderr[-3000:]}')
    return [(line.split('\t')[0], float(line.split('\t')[1])) for line in done.stdout.splitlines() if '\t' in line]


def _stages(image_path: str, perception_yaml: str) -> None:
    """Runs in a fresh interpreter: prints `step<TAB>RSS MB` lines."""
    def step(name: str) -> None:
        print(f'{name}\t{_status_mb()["VmRSS"]:.1f}', flush=True)

    step('interpreter')
    import numpy  # noqa: F401
    step('import numpy')
    import cv2
    step('import cv2')
    import rclpy  # noqa: F401
    from sensor_msgs.msg import Image  # noqa: F401
    from vision_msgs.msg import Detection2DArray  # noqa: F401
    step('import rclpy and messages')
    from jetson_edge_perception import node as perception_node
    from jetson_edge_perception.memory import return_large_blocks_to_system
    from jetson_edge_perception.model_card import find_card, load_card
    from jetson_edge_perception.params import PERCEPTION
    from jetson_edge_perception.pipeline import ModelPipeline
    from jetson_edge_perception.runner import open_runner
    step('import the perception node')
    return_large_blocks_to_system()
    perception = {**{spec.name: spec.default for spec in PERCEPTION}, **yaml.safe_load(perception_yaml)}
    options = perception_node.worker_config(perception, perception_node.cameras_of(perception)).options
    image = cv2.imread(image_path)
    pipelines = []  # held, as the node holds its models: a dropped one would give its memory back
    for role in ('detection', 'segmentation', 'depth'):
        name = perception.get(f'{role}_model')
        if not name:
            continue
        card = load_card(find_card(name))
        runner = open_runner(card, order=perception.get('backends') or None, options=options, log=lambda _: None)
        step(f'{role}: load {card.name} ({runner.description})')
        pipeline = ModelPipeline(card, runner, max_batch=perception.get('max_batch', 4))
        pipelines.append(pipeline)
        pipeline.process(image, 'bgr8')
        step(f'{role}: first frame')
        for _ in range(3):
            pipeline.process(image, 'bgr8')
        step(f'{role}: three more frames')


def print_memory(profile: str, result: dict, stages: list[tuple[str, float]]) -> None:
    peak, last = result['peak'], result['last']
    print(f'perception memory, profile {profile}: {", ".join(result["roles"])} '
          f'({", ".join(sorted(set(result["backends"].values())))}); input: {result["frame_input"]}; '
          f'{result["frames_processed"]} frames, {result["depth_frames"]} with depth')
    print(f'{"node process":<62} {"VmRSS":>7} {"anon":>7} {"file":>7} {"x target":>9}')
    for name, sample in (('peak', peak), ('last', last)):
        print(f'{name:<62} {sample["VmRSS"]:7.1f} {sample.get("RssAnon", 0):7.1f} {sample.get("RssFile", 0):7.1f} '
              f'{sample["VmRSS"] / TARGET_MB:9.3f}')
    print(f'MB; target: peak VmRSS <= {TARGET_MB:.0f} MB')
    print(f'{"in one process, step by step":<62} {"RSS":>7} {"+":>7}')
    previous = 0.0
    for name, mb in stages:
        print(f'{name:<62} {mb:7.1f} {mb - previous:+7.1f}')
        previous = mb


def main_memory(profile: str, perception: dict, camera: dict, image_path: Path, *, seconds: float) -> dict:
    result = node_memory(camera, perception, seconds=seconds)
    stages = stage_memory(perception, image_path)
    print_memory(profile, result, stages)
    return {'profile': profile, 'node': result, 'stages': stages}


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == 'stages':
        _stages(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit('usage: python -m jetson_edge_bench.perception_memory stages IMAGE PARAMETERS_YAML')
