"""Camera source and perception node: detection and segmentation on TensorRT, ONNX Runtime, OpenCV DNN, jetson-inference."""
