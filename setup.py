import setuptools; setuptools.setup(pbr=True)  # noqa: E702  (metadata in setup.cfg)
