from setuptools import find_packages, setup

package_name = 'jetson_edge_ota'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools', 'tuf', 'securesystemslib', 'cryptography', 'urllib3'],
    zip_safe=True,
    maintainer='jetson_edge developers',
    maintainer_email='dev@jetson-edge.org',
    description='Signed over-the-air updates: TUF-verified releases, A/B install, health-gated commit, rollback.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [],
        'jetson_edge.cli': ['ota = jetson_edge_ota.cli:register'],
    },
)
