from glob import glob

from setuptools import find_packages, setup

package_name = 'jetson_edge_perception'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/models', glob('../../config/models/*.yaml')),
        ('share/' + package_name + '/models/labels', glob('../../config/models/labels/*.txt')),
        ('share/' + package_name + '/dds', glob('../../config/dds/*.xml')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='jetson_edge developers',
    maintainer_email='dev@jetson-edge.org',
    description='Camera source and perception node: detection and segmentation on TensorRT, ONNX Runtime, OpenCV DNN, jetson-inference.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'jetson_edge.parameter_schemas': [
            'camera_source_node = jetson_edge_perception.params:CAMERA_SOURCE',
            'perception_node = jetson_edge_perception.params:PERCEPTION',
        ],
        'jetson_edge.nodes': [
            'camera_source_node = jetson_edge_perception.camera_node:CameraSourceNode',
        ],
        'console_scripts': [
            'perception_node = jetson_edge_perception.node:main',
            'camera_source_node = jetson_edge_perception.camera_node:main',
        ],
        'jetson_edge.cli': [
            'assets = jetson_edge_perception.cli:register_assets',
            'engine = jetson_edge_perception.cli:register_engine',
            'model = jetson_edge_perception.cli:register_model',
        ],
        'jetson_edge.doctor': ['perception = jetson_edge_perception.cli:doctor_checks'],
    },
)
