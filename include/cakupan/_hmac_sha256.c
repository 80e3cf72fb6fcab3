/* HMAC-SHA256 of many short values at once: the loader's hot loop in C.
 *
 * Python's hmac/hashlib cost about 1 us per NIK, nearly all of it interpreter
 * overhead around two SHA-256 block compressions. This module does the same
 * arithmetic (FIPS 180-4, RFC 2104) for a run of fixed-width values without the
 * GIL. It is optional: cakupan.pseudonymise falls back to hashlib when it is not
 * built, and tests/unit/test_pseudonymise.py checks both give the same tokens.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static const uint32_t IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(uint32_t state[8], const uint8_t block[64]) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
               (uint32_t)block[4 * i + 2] << 8 | (uint32_t)block[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

/* The last block of a message whose first 64 bytes were the key block: `len`
 * bytes of data, the 0x80 marker, zeros, and the bit length of (64 + len). */
static void final_block(uint8_t block[64], const uint8_t *data, Py_ssize_t len) {
    memset(block, 0, 64);
    memcpy(block, data, (size_t)len);
    block[len] = 0x80;
    uint64_t bits = (uint64_t)(64 + len) * 8;
    for (int i = 0; i < 8; i++) block[63 - i] = (uint8_t)(bits >> (8 * i));
}

static void state_bytes(const uint32_t state[8], uint8_t out[32]) {
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(state[i] >> 24);
        out[4 * i + 1] = (uint8_t)(state[i] >> 16);
        out[4 * i + 2] = (uint8_t)(state[i] >> 8);
        out[4 * i + 3] = (uint8_t)state[i];
    }
}

/* packed_hex(key_block: 64 bytes, packed: bytes, width: int) -> bytes
 * key_block is the HMAC key already hashed if longer than 64 bytes and zero-padded. */
static PyObject *packed_hex(PyObject *self, PyObject *args) {
    Py_buffer key, packed;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*y*n", &key, &packed, &width)) return NULL;
    PyObject *result = NULL;
    if (key.len != 64) {
        PyErr_SetString(PyExc_ValueError, "key block must be 64 bytes");
        goto done;
    }
    if (width < 1 || width > 55 || packed.len % width != 0) {
        PyErr_SetString(PyExc_ValueError, "values must be 1 to 55 bytes, packed end to end");
        goto done;
    }
    Py_ssize_t count = packed.len / width;
    result = PyBytes_FromStringAndSize(NULL, count * 64);
    if (result == NULL) goto done;
    char *out = PyBytes_AS_STRING(result);
    const uint8_t *data = packed.buf;
    uint8_t pad[64];
    uint32_t inner0[8], outer0[8];
    const uint8_t *k = key.buf;
    memcpy(inner0, IV, sizeof IV);
    memcpy(outer0, IV, sizeof IV);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    compress(inner0, pad);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    compress(outer0, pad);
    static const char hex[] = "0123456789abcdef";
    Py_BEGIN_ALLOW_THREADS
    uint8_t block[64], digest[32];
    uint32_t state[8];
    for (Py_ssize_t n = 0; n < count; n++) {
        memcpy(state, inner0, sizeof state);
        final_block(block, data + n * width, width);
        compress(state, block);
        state_bytes(state, digest);
        memcpy(state, outer0, sizeof state);
        final_block(block, digest, 32);
        compress(state, block);
        state_bytes(state, digest);
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
