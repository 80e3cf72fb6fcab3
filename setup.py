"""Only for the optional C accelerator of NIK pseudonymisation; the rest is in pyproject.toml.

optional=True: without a C compiler the install still succeeds and the loader uses
hashlib instead (slower, same tokens).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "cakupan._hmac_sha256",
            ["include/cakupan/_hmac_sha256.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
