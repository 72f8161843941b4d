from setuptools import find_packages, setup

package_name = 'jetson_edge_power'

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
    description='Power and thermal manager: sysfs and tegrastats readers, nvpmodel/clocks/fan actuators, thermal policy.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'jetson_edge.parameter_schemas': [
            'power_manager_node = jetson_edge_power.params:MANAGER_SPECS',
        ],
        'jetson_edge.nodes': [
            'power_manager_node = jetson_edge_power.node:PowerManagerNode',
        ],
        'console_scripts': [
            'power_manager_node = jetson_edge_power.node:main',
        ],
    },
)
