/* Hot loops of the wire formats, in C: LEB128 varints, Feast Value list payloads, Avro records to columns.
 *
 * The implementations in schemas/ragged.py, feature_store/online/value_decoding.py and schemas/columnar_decode.py are
 * the reference; parity tests run both. Everything here works on plain buffers and returns bytes objects that numpy views without copying.
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

/* A growable byte buffer: one per output column of decode_records. */
typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buffer;

static int buffer_reserve(Buffer *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (data == NULL) return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static int buffer_put(Buffer *b, const void *src, Py_ssize_t n) {
    if (buffer_reserve(b, n) < 0) return -1;
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

static PyObject *buffer_bytes(Buffer *b) { return PyBytes_FromStringAndSize(b->data ? b->data : "", b->len); }

/* Reads one zigzag varint (Avro long or int). */
static int read_long(const uint8_t *buf, Py_ssize_t len, Py_ssize_t *pos, int64_t *value) {
    uint64_t x;
    if (read_varint(buf, len, pos, &x) < 0) return -1;
    *value = (int64_t)(x >> 1) ^ -(int64_t)(x & 1);
    return 0;
}

/* Appends one scalar of kind l (long: int64), i (int: int32), f (float), d (double) read at *pos to out. */
static const char *read_scalar(char kind, const uint8_t *buf, Py_ssize_t len, Py_ssize_t *pos, Buffer *out) {
    if (kind == 'f' || kind == 'd') {
        Py_ssize_t width = kind == 'f' ? 4 : 8;
        if (*pos + width > len) return "truncated";
        if (buffer_put(out, buf + *pos, width) < 0) return NULL;
        *pos += width;
        return "";
    }
    int64_t v;
    if (read_long(buf, len, pos, &v) < 0) return "truncated or overlong varint";
    if (kind == 'i') {
        if (v < INT32_MIN || v > INT32_MAX) return "int out of range";
        int32_t v32 = (int32_t)v;
        return buffer_put(out, &v32, 4) < 0 ? NULL : "";
    }
    return buffer_put(out, &v, 8) < 0 ? NULL : "";
}

/* decode_records(values: list[bytes], header: bytes, program: bytes) -> list[(data: bytes, offsets: bytes | None)]
 * Each value is `header` then one Avro record whose fields, nested records flattened, are the program's kinds in
 * order: l long, i int, f float, d double (raw little-endian values out), s string or bytes (data and int32 offsets
 * out), L I F D array of long, int, float, double (values and int32 offsets out). Raises ValueError naming the first
 * value that does not decode (or has bytes left over). */
static PyObject *decode_records(PyObject *self, PyObject *args) {
    PyObject *values;
    const char *header, *program;
    Py_ssize_t header_len, ops;
    if (!PyArg_ParseTuple(args, "O!y#y#", &PyList_Type, &values, &header, &header_len, &program, &ops)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(values);
    Buffer *data = PyMem_Calloc(ops ? ops : 1, sizeof(Buffer));
    Buffer *offsets = PyMem_Calloc(ops ? ops : 1, sizeof(Buffer));
    PyObject *result = NULL;
    if (data == NULL || offsets == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < ops; k++) {
        int32_t zero = 0;
        if (strchr("sLIFD", program[k]) != NULL && buffer_put(&offsets[k], &zero, 4) < 0) goto nomem;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        if (!PyBytes_Check(value)) {
            PyErr_Format(PyExc_TypeError, "value %zd is not bytes", i);
            goto done;
        }
        const uint8_t *buf = (const uint8_t *)PyBytes_AS_STRING(value);
        Py_ssize_t len = PyBytes_GET_SIZE(value), pos = header_len;
        const char *why = "";
        if (len < header_len || memcmp(buf, header, header_len) != 0) {
            why = "not this schema's single-object header";
            goto bad;
        }
        for (Py_ssize_t k = 0; k < ops; k++) {
            char kind = program[k];
            if (kind == 's') {
                int64_t size;
                if (read_long(buf, len, &pos, &size) < 0) why = "truncated string length";
                else if (size < 0 || size > len - pos) why = "string longer than the message";
                else if (buffer_put(&data[k], buf + pos, size) < 0) goto nomem;
                if (*why) goto bad;
                pos += size;
            } else if (kind == 'L' || kind == 'I' || kind == 'F' || kind == 'D') {
                char item = (char)(kind - 'A' + 'a');
                for (;;) {
                    int64_t count, skip;
                    if (read_long(buf, len, &pos, &count) < 0) {
                        why = "truncated array block";
                        goto bad;
                    }
                    if (count == 0) break;
                    if (count < 0) { /* a block with its byte size: the size is not needed */
                        count = -count;
                        if (read_long(buf, len, &pos, &skip) < 0) {
                            why = "truncated array block size";
                            goto bad;
                        }
                    }
                    if (count > len - pos) {
                        why = "array longer than the message";
                        goto bad;
                    }
                    for (int64_t j = 0; j < count; j++) {
                        why = read_scalar(item, buf, len, &pos, &data[k]);
                        if (why == NULL) goto nomem;
                        if (*why) goto bad;
                    }
                }
            } else {
                why = read_scalar(kind, buf, len, &pos, &data[k]);
                if (why == NULL) goto nomem;
                if (*why) goto bad;
            }
            if (strchr("sLIFD", kind) != NULL) {
                Py_ssize_t width = kind == 's' ? 1 : (kind == 'I' || kind == 'F') ? 4 : 8;
                Py_ssize_t end = data[k].len / width;
                if (end > INT32_MAX) {
                    why = "column over 2^31 values";
                    goto bad;
                }
                int32_t end32 = (int32_t)end;
                if (buffer_put(&offsets[k], &end32, 4) < 0) goto nomem;
            }
        }
        if (pos != len) {
            why = "bytes left over after the record";
            goto bad;
        }
        continue;
    bad:
        PyErr_Format(PyExc_ValueError, "value %zd: %s (byte %zd of %zd)", i, why, pos, len);
        goto done;
    }
    result = PyList_New(ops);
    if (result == NULL) goto done;
    for (Py_ssize_t k = 0; k < ops; k++) {
        PyObject *pair = strchr("sLIFD", program[k]) != NULL
            ? Py_BuildValue("(NN)", buffer_bytes(&data[k]), buffer_bytes(&offsets[k]))
            : Py_BuildValue("(NO)", buffer_bytes(&data[k]), Py_None);
        if (pair == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, k, pair);
    }
    goto done;
nomem:
    PyErr_NoMemory();
done:
    for (Py_ssize_t k = 0; data != NULL && offsets != NULL && k < ops; k++) {
        PyMem_Free(data[k].data);
        PyMem_Free(offsets[k].data);
    }
    PyMem_Free(data);
    PyMem_Free(offsets);
    return result;
}

static PyMethodDef methods[] = {
    {"encode_varints", encode_varints, METH_O, "Unsigned LEB128 of each int64: (data, sizes as int64 bytes)."},
    {"decode_value_lists", decode_value_lists, METH_VARARGS, "Packed list payloads of feast Values: (values, counts)."},
    {"decode_records", decode_records, METH_VARARGS, "Avro single-object records to columns: [(data, offsets)]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_wire", "Wire-format hot loops.", -1, methods};

PyMODINIT_FUNC PyInit__wire(void) { return PyModule_Create(&module); }
