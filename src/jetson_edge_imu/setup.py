from setuptools import find_packages, setup

package_name = 'jetson_edge_imu'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools', 'pyserial', 'smbus2'],
    zip_safe=True,
    maintainer='jetson_edge developers',
    maintainer_email='dev@jetson-edge.org',
    description='IMU driver: MPU-6050/9250 and BNO055 protocols, calibration, orientation filter, emulator.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'jetson_edge.parameter_schemas': [
            'imu_node = jetson_edge_imu.params:IMU_NODE',
        ],
        'jetson_edge.nodes': [
            'imu_node = jetson_edge_imu.node:ImuNode',
        ],
        'console_scripts': [
            'imu_node = jetson_edge_imu.node:main',
        ],
    },
)
