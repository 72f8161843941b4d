from glob import glob

from setuptools import find_packages, setup

package_name = 'jetson_edge_viewer'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/layouts', glob('layouts/*.json')),
    ],
    install_requires=['setuptools', 'numpy', 'foxglove-sdk'],
    zip_safe=True,
    maintainer='jetson_edge developers',
    maintainer_email='dev@jetson-edge.org',
    description='Live viewer: the suite\'s topics over the Foxglove WebSocket protocol.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'jetson_edge.parameter_schemas': [
            'viewer_node = jetson_edge_viewer.params:VIEWER',
        ],
        'jetson_edge.nodes': [
            'viewer_node = jetson_edge_viewer.node:ViewerNode',
        ],
        'console_scripts': [
            'viewer_node = jetson_edge_viewer.node:main',
        ],
    },
)
