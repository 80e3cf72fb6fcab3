/* HMAC-SHA256 of many short values at once: the loader's hot loop in C.
 *
 * Python's hmac/hashlib cost about 1 us per NIK, nearly all of it interpreter
 * overhead around two SHA-256 block compressions. This module runs the same
 * RFC 2104 construction over a run of fixed-width values, without the GIL, on
 * OpenSSL's SHA-256 (the library hashlib itself uses; it picks the CPU's SHA
 * instructions). It is optional: cakupan.pseudonymise falls back to hashlib when
 * it is not built, and tests/unit/test_pseudonymise.py checks both give the same
 * tokens as Python's hmac module.
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co: the cheapest per-value API */
#include <Python.h>
#include <openssl/sha.h>
#include <string.h>

/* packed_hex(key_block: 64 bytes, packed: bytes, width: int) -> bytes of 64-char tokens.
 * key_block is the HMAC key, hashed first if longer than 64 bytes, zero-padded to 64. */
static PyObject *packed_hex(PyObject *self, PyObject *args) {
    Py_buffer key, packed;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*y*n", &key, &packed, &width)) return NULL;
    PyObject *result = NULL;
    if (key.len != 64) {
        PyErr_SetString(PyExc_ValueError, "key block must be 64 bytes");
        goto done;
    }
    if (width < 1 || packed.len % width != 0) {
        PyErr_SetString(PyExc_ValueError, "values must be of `width` bytes, packed end to end");
        goto done;
    }
    Py_ssize_t count = packed.len / width;
    result = PyBytes_FromStringAndSize(NULL, count * 64);
    if (result == NULL) goto done;
    char *out = PyBytes_AS_STRING(result);
    const unsigned char *data = packed.buf;
    const unsigned char *k = key.buf;
    unsigned char pad[64];
    SHA256_CTX inner0, outer0;
    /* The hash states after the key block are the same for every value. */
    SHA256_Init(&inner0);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    SHA256_Update(&inner0, pad, 64);
    SHA256_Init(&outer0);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    SHA256_Update(&outer0, pad, 64);
    static const char hex[] = "0123456789abcdef";
    Py_BEGIN_ALLOW_THREADS
    SHA256_CTX ctx;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    for (Py_ssize_t n = 0; n < count; n++) {
        ctx = inner0;
        SHA256_Update(&ctx, data + n * width, (size_t)width);
        SHA256_Final(digest, &ctx);
        ctx = outer0;
        SHA256_Update(&ctx, digest, sizeof digest);
        SHA256_Final(digest, &ctx);
        char *o = out + n * 64;
        for (int i = 0; i < 32; i++) {
            o[2 * i] = hex[digest[i] >> 4];
            o[2 * i + 1] = hex[digest[i] & 15];
        }
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&packed);
    return result;
}

static PyMethodDef methods[] = {
    {"packed_hex", packed_hex, METH_VARARGS,
     "HMAC-SHA256 hex tokens of fixed-width values packed end to end."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_hmac_sha256", NULL, -1, methods};

PyMODINIT_FUNC PyInit__hmac_sha256(void) { return PyModule_Create(&module); }
