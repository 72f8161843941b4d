"""``jetson-edge bench ota``: bundle size and install time against a plain tar extract.

Builds a synthetic release (compressible workspace files plus incompressible model and
engine bytes), publishes it into a fresh TUF repository, serves it on loopback and
installs it on a fresh robot state directory with a trivial health check. The reference,
measured in the same run on the same bundle, is Python's ``tarfile.extractall`` (with the
``data`` filter) and, where present, GNU ``tar -xf``. Absolute times depend on the
machine; the ratios are the claim.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from jetson_edge_ota.bundle import BundleSources, build_bundle
from jetson_edge_ota.health import HealthResult
from jetson_edge_ota.repository import RepositoryWriter
from jetson_edge_ota.robot import Robot


def _make_release(base: Path, *, mib: int, files: int) -> BundleSources:
    """Roughly a quarter source-like text, three quarters model/engine bytes."""
    ws = base / 'workspace'
    text_bytes = (mib << 20) // 4
    line = b'def node_callback(msg):  # jetson_edge synthetic workspace line\n'
    per_file = max(text_bytes // files, len(line))
    for i in range(files):
        path = ws / 'lib' / f'pkg{i % 20}' / f'module_{i}.py'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(line * (per_file // len(line)))
    models = base / 'models'
    models.mkdir()
    (models / 'detector.onnx').write_bytes(os.urandom((mib << 20) // 4))
    engines = base / 'engines'
    engines.mkdir()
    (engines / 'detector.fp16.engine').write_bytes(os.urandom((mib << 20) // 2))
    config = base / 'config'
    config.mkdir()
    (config / 'orin_nano.yaml').write_text('perception:\n  precision: fp16\n')
    return BundleSources(workspace=ws, config=config, models=models,
                         engines={'orin_nano': engines})


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:  # noqa: ANN002
        pass


def _naive_update(url: str, bundle: Path, dest: Path) -> None:
    """The updater the issue replaces: GET, compare a sha256, extract in place."""
    import hashlib
    import urllib.request
    with urllib.request.urlopen(url) as response:
        data = response.read()
    hashlib.sha256(data).hexdigest()
    download = dest.with_suffix('.tar.gz')
    download.write_bytes(data)
    with tarfile.open(download) as tar:
        tar.extractall(dest, filter='data')


def _serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05},
                     daemon=True).start()
    return server, f'http://127.0.0.1:{server.server_address[1]}'


def _timed(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench ota', description=__doc__)
    parser.add_argument('--mib', type=int, default=48, help='release size in MiB')
    parser.add_argument('--files', type=int, default=400, help='workspace file count')
    parser.add_argument('--repeat', type=int, default=3, help='runs; the median is reported')
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix='ota-bench-') as tmp_name:
        tmp = Path(tmp_name)
        sources = _make_release(tmp / 'src', mib=args.mib, files=args.files)
        raw = sum(p.stat().st_size for p in (tmp / 'src').rglob('*') if p.is_file())
        writer = RepositoryWriter(tmp / 'repo', tmp / 'keys')
        writer.init()
        bundles = {}
        publish_s = _timed(lambda: bundles.update(
            gz=build_bundle(tmp / 'b' / 'orin_nano.tar.gz', version='1.0.0',
                            jetson_model='orin_nano', sources=sources)))
        bundles['tar'] = build_bundle(tmp / 'b2' / 'orin_nano.tar', version='1.0.0',
                                      jetson_model='orin_nano', sources=sources, compress=False)
        publish_s += _timed(lambda: writer.publish([bundles['gz']]))
        server, url = _serve(tmp / 'repo')

        def ok(slot: Path, _timeout: float) -> HealthResult:
            return HealthResult(True, 'bench')

        installs, py_extracts, tar_extracts, naives = [], [], [], []
        stored = next((tmp / 'repo' / 'targets').rglob('*.orin_nano.tar.gz'))
        stored_url = f'{url}/{stored.relative_to(tmp / "repo").as_posix()}'
        gnu_tar = shutil.which('tar')
        try:
            for run in range(args.repeat):
                robot = Robot(tmp / f'robot{run}')
                robot.enroll(repo_url=url, jetson_model='orin_nano', health_check='none',
                             trusted_root=(writer.metadata_dir / 'root.json').read_bytes())
                installs.append(_timed(lambda: robot.install(health_check=ok)))
                dest = tmp / f'plain{run}'
                dest.mkdir()

                def py_extract(dest: Path = dest) -> None:
                    with tarfile.open(bundles['gz'].path) as tar:
                        tar.extractall(dest, filter='data')
                py_extracts.append(_timed(py_extract))
                if gnu_tar:
                    dest2 = tmp / f'gnu{run}'
                    dest2.mkdir()
                    tar_extracts.append(_timed(lambda dest2=dest2: subprocess.run(
                        [gnu_tar, '-xzf', str(bundles['gz'].path), '-C', str(dest2)],
                        check=True)))
                naive = tmp / f'naive{run}'
                naive.mkdir()
                naives.append(_timed(lambda naive=naive: _naive_update(stored_url, stored, naive)))
                for path in (robot.layout.root, dest, naive):
                    shutil.rmtree(path)
        finally:
            server.shutdown()
            server.server_close()

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2] if values else float('nan')

    result = {
        'release_bytes': raw,
        'bundle_gz_bytes': bundles['gz'].length,
        'bundle_tar_bytes': bundles['tar'].length,
        'compression_ratio': bundles['gz'].length / raw,
        'files': bundles['gz'].files,
        'publish_s': publish_s,
        'install_s': median(installs),
        'python_extract_s': median(py_extracts),
        'gnu_tar_extract_s': median(tar_extracts),
        'naive_update_s': median(naives),
        'install_vs_python_extract': median(installs) / median(py_extracts),
        'install_vs_naive_update': median(installs) / median(naives),
        'install_vs_gnu_tar': median(installs) / median(tar_extracts) if tar_extracts
        else float('nan'),
        'repeat': args.repeat,
    }
    mib = 1 << 20
    print(f'OTA bench: {args.mib} MiB release, {result["files"]} files, '
          f'median of {args.repeat} (loopback HTTP)')
    print(f'  {"release (raw)":34s} {raw / mib:8.1f} MiB')
    print(f'  {"bundle .tar.gz":34s} {result["bundle_gz_bytes"] / mib:8.1f} MiB '
          f'({result["compression_ratio"]:.0%} of raw)')
    print(f'  {"bundle .tar":34s} {result["bundle_tar_bytes"] / mib:8.1f} MiB')
    print(f'  {"publish (bundle + sign)":34s} {publish_s:8.2f} s')
    print(f'  {"install (verified, A/B, synced)":34s} {result["install_s"]:8.2f} s')
    print(f'  {"reference: tarfile.extractall":34s} {result["python_extract_s"]:8.2f} s   '
          f'install = {result["install_vs_python_extract"]:.2f}x')
    print(f'  {"reference: naive GET+sha256+extract":34s} {result["naive_update_s"]:8.2f} s   '
          f'install = {result["install_vs_naive_update"]:.2f}x')
    if tar_extracts:
        print(f'  {"reference: GNU tar -xzf":34s} {result["gnu_tar_extract_s"]:8.2f} s   '
              f'install = {result["install_vs_gnu_tar"]:.2f}x')
    return result


if __name__ == '__main__':
    main()
