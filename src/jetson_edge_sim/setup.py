from setuptools import find_packages, setup

package_name = 'jetson_edge_sim'

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
    description='Stand-ins for hardware: virtual Velodyne, IMU emulators, Jetson thermal model '
                'and emulated nvpmodel/jetson_clocks (development machines only).',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'jetson_edge.parameter_schemas': [
            'virtual_velodyne = jetson_edge_sim.params:VIRTUAL_VELODYNE',
            'imu_emulator = jetson_edge_sim.params:IMU_EMULATOR',
            'thermal_model_node = jetson_edge_sim.params:THERMAL_MODEL',
        ],
        'jetson_edge.nodes': [
            'virtual_velodyne = jetson_edge_sim.lidar.virtual_node:VirtualVelodyneNode',
            'imu_emulator = jetson_edge_sim.imu.emulator_main:ImuEmulatorNode',
            'thermal_model_node = jetson_edge_sim.power.thermal_model_node:ThermalModelNode',
        ],
        'console_scripts': [
            'virtual_velodyne = jetson_edge_sim.lidar.virtual_node:main',
            'imu_emulator = jetson_edge_sim.imu.emulator_main:main',
            'thermal_model_node = jetson_edge_sim.power.thermal_model_node:main',
            'sim_tools = jetson_edge_sim.power.sim_tools:main',
        ],
        'jetson_edge_power.tool_backends': [
            'sim = jetson_edge_sim.power.sim_tools:BACKEND',
        ],
        'jetson_edge_imu.spi_backends': [
            'sim = jetson_edge_sim.imu.spi_emulator:open_emulated_spi',
        ],
    },
)
