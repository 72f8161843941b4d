from setuptools import find_packages, setup

package_name = 'jetson_edge_lidar'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools', 'numpy', 'dpkt'],
    zip_safe=True,
    maintainer='jetson_edge developers',
    maintainer_email='dev@jetson-edge.org',
    description='Velodyne LiDAR driver: packet decoder, scan assembly, UDP and pcap sources, virtual sensor.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'jetson_edge.parameter_schemas': [
            'velodyne_node = jetson_edge_lidar.params:VELODYNE_NODE',
        ],
        'jetson_edge.nodes': [
            'velodyne_node = jetson_edge_lidar.node:VelodyneNode',
        ],
        'console_scripts': [
            'velodyne_node = jetson_edge_lidar.node:main',
        ],
    },
)
