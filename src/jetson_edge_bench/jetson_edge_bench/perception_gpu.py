"""`jetson-edge bench perception-gpu`: preprocessing on the GPU (CuPy) against the CPU (OpenCV), same run.

Per input spec (SSD 300x300 NHWC stretch, YOLO 640x640 NCHW letterbox) and camera size (VGA-ish
photo, 720p, 1080p) it times: CPU `Preprocessor`; GPU upload (host->device); the fused kernel;
GPU total (upload + kernel, tensor left on the GPU as TensorRT wants it); and GPU total plus the
download a CPU backend would need. It checks GPU against CPU output (max difference in grey levels)
and that the cuda-python device buffers used by the TensorRT backend round-trip data.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from jetson_edge_perception.model_card import InputSpec

SPECS = {
    'ssd300_nhwc': InputSpec(width=300, height=300, layout='NHWC', scale=1 / 255, mean=(0.5,) * 3, std=(0.5,) * 3),
    'yolo640_nchw_letterbox': InputSpec(width=640, height=640, layout='NCHW', resize='letterbox', scale=1 / 255),
}


def _sizes(base: np.ndarray) -> dict[str, np.ndarray]:
    """The photo plus 720p and 1080p frames made from it (nearest-neighbour upscale, no OpenCV needed)."""
    out = {f'{base.shape[1]}x{base.shape[0]}': base}
    for w, h in ((1280, 720), (1920, 1080)):
        ys = (np.arange(h) * base.shape[0] // h).astype(np.intp)
        xs = (np.arange(w) * base.shape[1] // w).astype(np.intp)
        out[f'{w}x{h}'] = np.ascontiguousarray(base[ys][:, xs])
    return out


def _p50(samples: list[float]) -> float:
    return float(np.percentile(np.asarray(samples) * 1e3, 50)) if samples else float('nan')


def _p99(samples: list[float]) -> float:
    return float(np.percentile(np.asarray(samples) * 1e3, 99)) if samples else float('nan')


def write_references(image_path: Path, out: Path) -> dict:
    """The CPU tensors (OpenCV path) for each spec and size, plus the photo as .npy, for a GPU host without OpenCV."""
    import cv2

    from jetson_edge_perception.preprocess import Preprocessor
    base = cv2.imread(str(image_path))
    np.save(out.with_suffix('.image.npy'), base)
    tensors = {}
    for spec_name, spec in SPECS.items():
        for size_name, image in _sizes(base).items():
            tensors[f'{spec_name}_{size_name}'] = Preprocessor(spec)(image, 'bgr8')[0].copy()
    np.savez_compressed(out, **tensors)
    return {'references': str(out)}


def cuda_buffer_roundtrip() -> str:
    """Exercise backends.cuda_memory (the TensorRT backend's device buffers) on real hardware."""
    from jetson_edge_perception.backends.cuda_memory import open_cuda
    cuda = open_cuda()
    host = np.arange(1 << 20, dtype=np.float32)
    back = np.empty_like(host)
    stream = cuda.stream()
    ptr = cuda.malloc(host.nbytes)
    cuda.htod(ptr, host, stream)
    cuda.dtoh(back, ptr, stream)
    cuda.synchronize(stream)
    cuda.free(ptr)
    identity = cuda.device_identity()
    cuda.close()
    return f'{cuda.library} on {identity}: ' + ('round trip ok' if np.array_equal(host, back) else 'MISMATCH')


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench perception-gpu', description=__doc__.split('\n\n')[0])
    parser.add_argument('--image', help='photo (.jpg/.png with OpenCV, or .npy HxWx3 uint8 BGR)')
    parser.add_argument('--iterations', type=int, default=200)
    parser.add_argument('--references', help='.npz of CPU tensors (from --write-references) for machines without OpenCV')
    parser.add_argument('--write-references', help='write the CPU tensors of every spec and size to this .npz and stop')
    args = parser.parse_args(argv or [])
    if args.write_references:
        return write_references(Path(args.image), Path(args.write_references))
    from jetson_edge_perception.gpu_preprocess import CupyPreprocessor, import_cupy
    cp = import_cupy()
    try:
        from jetson_edge_perception.preprocess import Preprocessor
    except ImportError:  # no OpenCV on this machine: GPU timings only
        Preprocessor = None
    path = Path(args.image) if args.image else Path(__file__).resolve().parents[3].parent / 'shared' / 'fixtures' / 'images' / 'dog.jpg'
    if path.suffix == '.npy':
        base = np.load(path)
    else:
        import cv2
        base = cv2.imread(str(path))
    references = dict(np.load(args.references)) if args.references else {}
    rows = []
    device = cp.cuda.runtime.getDeviceProperties(0)['name'].decode()
    for spec_name, spec in SPECS.items():
        gpu = CupyPreprocessor(spec)
        cpu = Preprocessor(spec) if Preprocessor else None
        for size_name, image in _sizes(base).items():
            pinned = cp.cuda.alloc_pinned_memory(image.nbytes)
            staged = np.frombuffer(pinned, np.uint8, image.size).reshape(image.shape)
            staged[...] = image
            stream = cp.cuda.get_current_stream()
            timings: dict[str, list[float]] = {'cpu': [], 'upload': [], 'kernel': [], 'gpu_total': [],
                                               'gpu_with_download': []}
            host_out = np.empty(gpu._out.shape, np.float32)
            for i in range(args.iterations + 10):
                t0 = time.perf_counter()
                if cpu is not None:
                    cpu_tensor, _ = cpu(image, 'bgr8')
                t1 = time.perf_counter()
                device_image = gpu.to_device(staged)
                stream.synchronize()
                t2 = time.perf_counter()
                tensor, _ = gpu(device_image, 'bgr8')
                stream.synchronize()
                t3 = time.perf_counter()
                tensor.get(out=host_out)
                t4 = time.perf_counter()
                if i >= 10:
                    if cpu is not None:
                        timings['cpu'].append(t1 - t0)
                    timings['upload'].append(t2 - t1)
                    timings['kernel'].append(t3 - t2)
                    timings['gpu_total'].append(t3 - t1)
                    timings['gpu_with_download'].append(t4 - t1)
            diff = float('nan')
            gain = spec.scale / spec.std[0]
            reference = references.get(f'{spec_name}_{size_name}')
            if cpu is not None:
                reference = cpu_tensor
            if reference is not None:
                diff = float(np.abs(host_out - reference).max() / gain)
            row = {'spec': spec_name, 'image': size_name, **{f'{k}_p50_ms': _p50(v) for k, v in timings.items()},
                   'gpu_total_p99_ms': _p99(timings['gpu_total']), 'max_diff_grey_levels': diff}
            row['cpu_over_gpu_total'] = row['cpu_p50_ms'] / row['gpu_total_p50_ms']
            rows.append(row)
    print(f'GPU preprocessing on {device} (CuPy {cp.__version__}) vs CPU (OpenCV), {args.iterations} iterations')
    header = (f'{"spec":<24} {"image":>9} {"cpu p50":>8} {"upload":>7} {"kernel":>7} {"gpu tot":>8} {"+dl":>7} '
              f'{"cpu/gpu":>8} {"max diff":>8}')
    print(header)
    print('-' * len(header))
    for r in rows:
        print(f'{r["spec"]:<24} {r["image"]:>9} {r["cpu_p50_ms"]:8.3f} {r["upload_p50_ms"]:7.3f} '
              f'{r["kernel_p50_ms"]:7.3f} {r["gpu_total_p50_ms"]:8.3f} {r["gpu_with_download_p50_ms"]:7.3f} '
              f'{r["cpu_over_gpu_total"]:8.2f} {r["max_diff_grey_levels"]:8.2f}')
    print('ms, p50; upload from pinned host memory; "gpu tot" leaves the tensor on the GPU (TensorRT input); '
          '"+dl" adds the download a CPU backend needs; max diff vs OpenCV in grey levels')
    try:
        roundtrip = cuda_buffer_roundtrip()
    except Exception as exc:  # reported, not fatal: the preprocessing numbers stand on their own
        roundtrip = f'failed: {exc}'
    print(f'TensorRT device buffers ({roundtrip})')
    return {'device': device, 'rows': rows, 'cuda_buffers': roundtrip}


if __name__ == '__main__':
    main(__import__('sys').argv[1:])
