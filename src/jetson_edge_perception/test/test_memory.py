"""A burst of frame-sized buffers freed in several threads goes back to the system once the threshold is fixed."""

import subprocess
import sys

_BURST = '''
import threading
from jetson_edge_perception.memory import return_large_blocks_to_system

def rss_mb():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024

if FIX:
    assert return_large_blocks_to_system()[0]
before = rss_mb()
huge = bytearray(192 << 20)  # one 8000x8000 bgr8 frame: freeing it raises glibc's dynamic threshold
del huge
pins = []
# the threads hold their first frame together: each gets an arena of its own, as concurrent DDS
# reader threads do (run one after another, as on a loaded machine, they would share one arena)
together = threading.Barrier(4)

def frames():  # then 12 MB frames, each followed by a small long-lived block, as in a DDS reader thread
    for i in range(3):
        frame = bytearray(12 << 20)
        pins.append(bytearray(64 << 10))
        if i == 0:
            together.wait()
        del frame

threads = [threading.Thread(target=frames) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(rss_mb() - before)
'''


def _growth_mb(fix: bool) -> float:
    done = subprocess.run([sys.executable, '-c', f'FIX = {fix}\n' + _BURST], capture_output=True, text=True,
                          check=True)
    return float(done.stdout)


def test_fixed_threshold_returns_freed_frames_to_the_system():
    assert _growth_mb(True) < 10


def test_without_it_the_heaps_keep_them():  # the control: what the fix is for
    assert _growth_mb(False) > 30
