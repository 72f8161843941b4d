from setuptools import find_packages, setup

package_name = 'jetson_edge_bench'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='jetson_edge developers',
    maintainer_email='dev@jetson-edge.org',
    description='Benchmarks of the jetson_edge packages (jetson-edge bench NAME).',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'jetson_edge.benchmarks': [
            'imu = jetson_edge_bench.imu:main',
            'lidar = jetson_edge_bench.lidar:main',
            'ota = jetson_edge_bench.ota:main',
            'perception = jetson_edge_bench.perception:main',
            'perception-gpu = jetson_edge_bench.perception_gpu:main',
            'perception-multi = jetson_edge_bench.perception_multi:main',
            'power = jetson_edge_bench.power:main',
            'record = jetson_edge_bench.record:main',
            'rt = jetson_edge_bench.rt:main',
            'viewer = jetson_edge_bench.viewer:main',
        ],
    },
)
