"""`jetson-edge bench perception-multi`: N cameras batched through one perception worker vs N separate ones.

For N = 1, 2, 4 (`--cameras`) it runs, on the same model card, backend and machine:

- batched: one process holding one `PerceptionWorker` with N cameras (batches of up to N);
- separate: N processes at once, each a `PerceptionWorker` with one camera (one node per camera).

Every camera is a closed loop on its own photo: its next frame is offered as soon as its previous
result is published, so every camera asks for as much as the worker gives and nothing queues. The
workers are the perception node's engine room without its DDS edge (a frame reaches one subscriber
either way, so transport costs the same in both). It reports frames per second in all, p50/p99
latency per camera (offer to result, the batch wait included), resident memory (VmRSS at the end;
summed over the separate processes), and the ratios the targets are about, each against a reference
of the same run: batched/separate throughput at each N, and batched RSS at N against one camera's
(one node's). On a shared host more processes get more of the CPU, so it also gives frames per
CPU-second of the workers (their process CPU time over the window), which that share does not move. A last table says where the time goes: the model alone per image at batch 1 and at
batch N, and the batched worker's per-batch stages.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from array import array
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from jetson_edge_perception.backends import BackendOptions, create_backend
from jetson_edge_perception.model_card import find_card, load_card
from jetson_edge_perception.pipeline import ModelPipeline
from jetson_edge_perception.worker import PerceptionWorker, WorkerConfig


def _photos() -> list[Path]:
    from jetson_edge_perception.assets import photos_dir
    photos = sorted(p for p in photos_dir().iterdir() if p.suffix.lower() in ('.jpg', '.png'))
    if not photos:
        raise SystemExit(f'no photos in {photos_dir()}: run `jetson-edge assets fetch`')
    return photos


def _message(image: np.ndarray) -> SimpleNamespace:
    stamp = SimpleNamespace(sec=0, nanosec=0)
    return SimpleNamespace(header=SimpleNamespace(stamp=stamp, frame_id='camera'), encoding='bgr8',
                           height=image.shape[0], width=image.shape[1], step=image.shape[1] * 3, is_bigendian=0,
                           data=array('B', image.tobytes()))


def _rss_mb() -> float:
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    return float('nan')


def _options(spec: dict) -> BackendOptions:
    return BackendOptions(intra_op_threads=spec['threads'], search_dirs=tuple(spec['model_path']),
                          max_batch=spec['cameras'])


def run_worker(spec: dict) -> dict:
    """One process's part (called in the child): a worker with spec['cameras'] cameras, fed in closed loops."""
    cameras = spec['cameras']
    photos = _photos()
    messages = [_message(cv2.imread(str(photos[(spec['first_photo'] + i) % len(photos)]))) for i in range(cameras)]
    latencies: list[list[float]] = [[] for _ in range(cameras)]
    counting = threading.Event()
    worker: PerceptionWorker

    def publish(job, result) -> None:
        if counting.is_set():
            latencies[job.camera].append(result.latency_s)
        worker.offer(messages[job.camera], camera=job.camera)

    role = load_card(find_card(spec['model'])).task  # the worker's slot for it: detection, segmentation or depth
    config = WorkerConfig(**{f'{role}_card': spec['model']}, backend_order=(spec['backend'],), options=_options(spec),
                          cameras=tuple(f'camera{i}' for i in range(cameras)), max_batch=cameras)
    worker = PerceptionWorker(config, publish=publish, log=lambda _: None)
    worker.start()
    while worker.state == 'loading':
        time.sleep(0.05)
    if worker.state != 'ready':
        raise SystemExit(f'worker not ready: {worker.message}')
    print('ready', flush=True)
    sys.stdin.readline()  # the parent's go, once every process of the run is ready
    for camera in range(cameras):
        worker.offer(messages[camera], camera=camera)
    time.sleep(spec['warmup_s'])
    counting.set()
    started, cpu_started = time.monotonic(), time.process_time()
    time.sleep(spec['seconds'])
    counting.clear()
    elapsed, cpu_s = time.monotonic() - started, time.process_time() - cpu_started
    values = worker.status()[2]
    worker.close()
    return {'frames': [len(x) for x in latencies], 'elapsed_s': elapsed, 'cpu_s': cpu_s, 'latencies': latencies,
            'rss_mb': _rss_mb(), 'stages_ms': {k.removeprefix(f'{role}_'): v for k, v in values.items()
                                               if k.startswith(f'{role}_')}}


def _run_processes(specs: list[dict]) -> list[dict]:
    """Start one child per spec, wait until all are ready, start them together, collect their results."""
    procs = [subprocess.Popen([sys.executable, '-m', 'jetson_edge_bench.perception_multi', '--child', json.dumps(s)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for s in specs]
    for proc in procs:
        line = proc.stdout.readline()
        if line.strip() != 'ready':
            for p in procs:
                p.kill()
            raise SystemExit(f'a benchmark worker did not start (said {line!r}); see its error above')
    for proc in procs:
        proc.stdin.write('go\n')
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f'a benchmark worker failed (exit {proc.returncode})')
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _summary(results: list[dict]) -> dict:
    latencies = [lat for r in results for lat in r['latencies']]
    fps = sum(sum(r['frames']) / r['elapsed_s'] for r in results)
    per_camera = [{'fps': len(lat) / results[0]['elapsed_s'],
                   'p50_ms': float(np.percentile(lat, 50) * 1e3) if lat else float('nan'),
                   'p99_ms': float(np.percentile(lat, 99) * 1e3) if lat else float('nan')} for lat in latencies]
    frames_per_cpu_s = sum(sum(r['frames']) for r in results) / sum(r['cpu_s'] for r in results)
    return {'fps': fps, 'frames_per_cpu_s': frames_per_cpu_s, 'cameras': per_camera,
            'rss_mb': sum(r['rss_mb'] for r in results),
            'stages_ms': results[0]['stages_ms'] if len(results) == 1 else {}}


def _median_run(runs: list[dict]) -> dict:
    """The run of median throughput, with every run's frames per second alongside."""
    ranked = sorted(runs, key=lambda r: r['fps'])
    return {**ranked[(len(ranked) - 1) // 2], 'fps_runs': [r['fps'] for r in runs]}


def model_alone(spec: dict, batch: int, iterations: int) -> float:
    """Milliseconds per image of the backend call alone at `batch` (batch 1 calls for a fixed card)."""
    card = load_card(find_card(spec['model']))
    image = cv2.imread(str(_photos()[0]))
    with create_backend(spec['backend'], card, options=_options({**spec, 'cameras': batch})) as backend:
        pipeline = ModelPipeline(card, backend, max_batch=batch)
        tensor, _ = pipeline._pre(image, 'bgr8')
        feed = {backend.input_name: np.repeat(tensor, pipeline.max_batch, axis=0)}
        calls = batch // pipeline.max_batch
        backend.infer(feed)
        start = time.perf_counter()
        for _ in range(iterations):
            for _ in range(calls):
                backend.infer(feed)
        return (time.perf_counter() - start) / (iterations * batch) * 1e3


def _fmt(value: float) -> str:
    return f'{value:.1f}'


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench perception-multi', description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', default='ssd_mobilenet_v2_coco_tf', help='model card (any task)')
    parser.add_argument('--backend', default='opencv_dnn')
    parser.add_argument('--model-path', action='append', default=[], help='extra model directory (repeatable)')
    parser.add_argument('--cameras', default='1,2,4', help='camera counts to run')
    parser.add_argument('--seconds', type=float, default=10.0, help='measured seconds per run')
    parser.add_argument('--warmup-s', type=float, default=2.0)
    parser.add_argument('--rounds', type=int, default=3, help='alternated runs of each setup; the median is shown')
    parser.add_argument('--threads', type=int, default=0,
                        help='inference threads of every worker (0: the library decides, every core)')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_worker(json.loads(args.child))), flush=True)
        return {}
    base = {'model': args.model, 'backend': args.backend, 'model_path': args.model_path, 'threads': args.threads,
            'seconds': args.seconds, 'warmup_s': args.warmup_s, 'first_photo': 0}
    counts = [int(c) for c in args.cameras.split(',')]
    print(f'{args.model} on {args.backend}, {args.threads or "library-default"} threads per worker, '
          f'{os.cpu_count()} CPUs, {args.seconds:g} s per run, median of {args.rounds} alternated runs')
    rows = {}
    for n in counts:
        runs: dict[str, list[dict]] = {'batched': [], 'separate': []}
        for _ in range(args.rounds):  # alternated, so the host's load drift hits both alike
            runs['batched'].append(_summary(_run_processes([{**base, 'cameras': n}])))
            runs['separate'].append(_summary(_run_processes([{**base, 'cameras': 1, 'first_photo': i}
                                                             for i in range(n)])))
        rows[n] = {setup: _median_run(done) for setup, done in runs.items()}
    one_node_rss = rows[1]['batched']['rss_mb'] if 1 in rows else float('nan')
    print('\n| cameras | setup | frames/s in all | frames per CPU-second | per camera p50 / p99 ms | RSS MB | '
          'batched/separate fps (per CPU-s) | RSS vs one node |')
    print('|---|---|---|---|---|---|---|---|')
    for n, row in rows.items():
        ratio = row['batched']['fps'] / row['separate']['fps']
        cpu_ratio = row['batched']['frames_per_cpu_s'] / row['separate']['frames_per_cpu_s']
        for setup in ('batched', 'separate'):
            r = row[setup]
            lat = ', '.join(f'{_fmt(c["p50_ms"])} / {_fmt(c["p99_ms"])}' for c in r['cameras'])
            ratios = f'{ratio:.2f}x ({cpu_ratio:.2f}x)' if setup == 'batched' else ''
            print(f'| {n} | {setup} | {_fmt(r["fps"])} (runs {", ".join(map(_fmt, r["fps_runs"]))}) | '
                  f'{r["frames_per_cpu_s"]:.2f} | {lat} | {r["rss_mb"]:.0f} | {ratios} | '
                  f'{r["rss_mb"] / one_node_rss:.2f}x |')
    largest = counts[-1]
    alone = {1: model_alone({**base, 'cameras': 1}, 1, 5), largest: model_alone({**base, 'cameras': largest}, largest, 5)}
    stages = rows[largest]['batched']['stages_ms']
    print(f'\nwhere the time goes: model alone {alone[1]:.1f} ms per image at batch 1, {alone[largest]:.1f} ms per '
          f'image at batch {largest} ({alone[1] / alone[largest]:.2f}x); batched worker at N={largest}, per batch p50: '
          + ', '.join(f'{k.removesuffix("_p50_ms")} {v} ms' for k, v in stages.items() if k.endswith('_p50_ms'))
          + f'; mean batch {stages.get("mean_batch")}, {stages.get("batching")}')
    return {'rows': {str(n): row for n, row in rows.items()}, 'model_alone_ms_per_image': alone,
            'throughput_ratio': {str(n): row['batched']['fps'] / row['separate']['fps'] for n, row in rows.items()},
            'per_cpu_second_ratio': {str(n): row['batched']['frames_per_cpu_s'] / row['separate']['frames_per_cpu_s']
                                     for n, row in rows.items()},
            'rss_ratio': {str(n): row['batched']['rss_mb'] / one_node_rss for n, row in rows.items()}}


if __name__ == '__main__':
    main()
