/* Hot loops of the wire encoders, in C: LEB128 varints and Feast Value list payloads.
 *
 * The numpy implementations in schemas/ragged.py and feature_store/online/value_decoding.py are the reference; parity
 * tests run both. Everything here works on plain buffers and returns bytes objects that numpy views without copying.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* encode_varints(int64 buffer) -> (data: bytes, sizes: bytes of int64), unsigned LEB128 of each 64-bit pattern */
static PyObject *encode_varints(PyObject *self, PyObject *arg) {
    Py_buffer in;
    if (PyObject_GetBuffer(arg, &in, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    Py_ssize_t n = in.len / 8;
    PyObject *data = PyBytes_FromStringAndSize(NULL, n * 10);
    PyObject *sizes = PyBytes_FromStringAndSize(NULL, n * 8);
    if (data == NULL || sizes == NULL) {
        Py_XDECREF(data);
        Py_XDECREF(sizes);
        PyBuffer_Release(&in);
        return NULL;
    }
    const char *src = (const char *)in.buf;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(data);
    char *size_out = PyBytes_AS_STRING(sizes);
    Py_ssize_t pos = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t x;
        memcpy(&x, src + 8 * i, 8);
        Py_ssize_t start = pos;
        while (x >= 0x80) {
            out[pos++] = (uint8_t)(x | 0x80);
            x >>= 7;
        }
        out[pos++] = (uint8_t)x;
        int64_t size = pos - start;
        memcpy(size_out + 8 * i, &size, 8);
    }
    PyBuffer_Release(&in);
    if (_PyBytes_Resize(&data, pos) < 0) {
        Py_DECREF(sizes);
        return NULL;
    }
    return Py_BuildValue("(NN)", data, sizes);
}

/* Reads one varint at *pos of buf[0:len]; returns -1 on truncation or overflow. */
static int read_varint(const uint8_t *buf, Py_ssize_t len, Py_ssize_t *pos, uint64_t *value) {
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*pos >= len) return -1;
        uint8_t b = buf[(*pos)++];
        x |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80) {
            *value = x;
            return 0;
        }
    }
    return -1;
}

/* decode_value_lists(blobs: list[bytes | None], key_len: int, fixed32: bool) -> (values: bytes, counts: bytes)
 * Each blob is a serialized feast Value holding a packed int64/int32 list (values out as int64) or a float list
 * (fixed32: values out as raw float32). None or b"" decodes as an empty list. */
static PyObject *decode_value_lists(PyObject *self, PyObject *args) {
    PyObject *blobs;
    Py_ssize_t key_len;
    int fixed32;
    if (!PyArg_ParseTuple(args, "O!np", &PyList_Type, &blobs, &key_len, &fixed32)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(blobs), total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *blob = PyList_GET_ITEM(blobs, i);
        if (blob == Py_None) continue;
        if (!PyBytes_Check(blob)) {
            PyErr_SetString(PyExc_TypeError, "blobs must be bytes or None");
            return NULL;
        }
        total += PyBytes_GET_SIZE(blob);
    }
    PyObject *values = PyBytes_FromStringAndSize(NULL, fixed32 ? total : 8 * total);
    PyObject *counts = PyBytes_FromStringAndSize(NULL, 8 * n);
    if (values == NULL || counts == NULL) goto fail;
    char *vout = PyBytes_AS_STRING(values);
    char *cout = PyBytes_AS_STRING(counts);
    Py_ssize_t written = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *blob = PyList_GET_ITEM(blobs, i);
        int64_t count = 0;
        Py_ssize_t len = blob == Py_None ? 0 : PyBytes_GET_SIZE(blob);
        if (len > 0) {
            const uint8_t *buf = (const uint8_t *)PyBytes_AS_STRING(blob);
            Py_ssize_t pos = key_len;
            uint64_t inner, payload_len;
            if (read_varint(buf, len, &pos, &inner) < 0) goto malformed;
            if (inner > 0) {
                if (pos >= len || buf[pos] != 0x0A) goto malformed;
                pos++;
                if (read_varint(buf, len, &pos, &payload_len) < 0 || pos + (Py_ssize_t)payload_len > len) goto malformed;
                Py_ssize_t end = pos + (Py_ssize_t)payload_len;
                if (fixed32) {
                    memcpy(vout + written, buf + pos, payload_len);
                    written += payload_len;
                    count = payload_len / 4;
                } else {
                    while (pos < end) {
                        uint64_t x;
                        if (read_varint(buf, end, &pos, &x) < 0) goto malformed;
                        memcpy(vout + written, &x, 8);
                        written += 8;
                        count++;
                    }
                }
            }
        }
        memcpy(cout + 8 * i, &count, 8);
    }
    if (_PyBytes_Resize(&values, written) < 0) {
        Py_DECREF(counts);
        return NULL;
    }
    return Py_BuildValue("(NN)", values, counts);
malformed:
    PyErr_SetString(PyExc_ValueError, "malformed feast Value list");
fail:
    Py_XDECREF(values);
    Py_XDECREF(counts);
    return NULL;
}

static PyMethodDef methods[] = {
    {"encode_varints", encode_varints, METH_O, "Unsigned LEB128 of each int64: (data, sizes as int64 bytes)."},
    {"decode_value_lists", decode_value_lists, METH_VARARGS, "Packed list payloads of feast Values: (values, counts)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_wire", "Wire-format hot loops.", -1, methods};

PyMODINIT_FUNC PyInit__wire(void) { return PyModule_Create(&module); }
