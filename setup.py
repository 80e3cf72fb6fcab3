"""Only for the optional C accelerator of NIK pseudonymisation; the rest is in pyproject.toml.

optional=True: without a C compiler or OpenSSL's headers the install still succeeds,
and the loader uses hashlib instead (slower, same tokens).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "cakupan._hmac_sha256",
            ["include/cakupan/_hmac_sha256.c"],
            libraries=["crypto"],  # OpenSSL's SHA-256 (Debian: libssl-dev)
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
