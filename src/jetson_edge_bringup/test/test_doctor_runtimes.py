"""`jetson-edge doctor` and the perception backends see the same runtimes, whatever this
machine has (both come from jetson_edge_common.runtimes)."""

from jetson_edge_bringup.doctor import check_runtimes
from jetson_edge_perception.backends import availability


def test_availability_agrees_with_jetson_edge_doctor():
    """Whatever this machine has: the backends and `jetson-edge doctor` see the same runtimes."""
    doctor = {check.name: check.ok for check in check_runtimes()}
    table = availability()
    assert table['tensorrt'][0] == (doctor['TensorRT'] and doctor['CUDA from Python'])
    assert table['onnxruntime'][0] == doctor['ONNX Runtime']
    assert table['opencv_dnn'][0] == doctor['OpenCV DNN']
    assert table['jetson_inference'][0] == doctor['jetson-inference']
