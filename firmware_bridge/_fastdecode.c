/* firmware_bridge._fastdecode: the stream decoder (c/vnb_rx.c) as a CPython extension.
 *
 * Decoder.feed() does every check and counter of the Python reference (decoder.py,
 * _PyDecoder) in C and returns Frame objects that hold the decoded bytes, the status and
 * the problem; a Frame builds its header, message and signing timestamp from those bytes
 * on first access (and keeps them). The Python classes it builds (Header, the messages,
 * FrameStatus, BridgeReason, Rejected) are handed over once by decoder.py through bind(),
 * so the objects are the very ones the reference returns. Optional: without a compiler
 * the package runs the reference.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vnb_rx.h"

#define N_FIELDS 6
#define MAX_KEPT_REJECTS 256 /* limits.MAX_KEPT_REJECTS */
enum { F_RAW = 0, F_HEADER, F_MESSAGE, F_STATUS, F_SIGN_TS, F_PROBLEM };

static const char *const FIELD_NAMES[N_FIELDS] = {"raw",    "header",  "message",
                                                  "status", "sign_ts", "problem"};

/* ---- Classes from decoder.py (bind) ------------------------------------------------------- */
static struct {
    PyTypeObject *header;    /* frame.Header (a tuple subclass) */
    PyTypeObject *rejected;  /* decoder.Rejected (a tuple subclass) */
    PyObject *status[3];     /* FrameStatus.OK, UNAUTHENTICATED, REPLAYED */
    PyObject *reason[7];     /* [0] None, then BridgeReason by enum vnb_reason */
    PyObject *message[8];    /* [0] Opaque, [t] the class of message type t */
    PyObject *time_source;   /* messages.TimeSource */
    PyObject *counter_names[VNB_RX_N_COUNTERS];
    int bound;
} cls;

static const size_t COUNTER_OFFSET[VNB_RX_N_COUNTERS] = {
    offsetof(vnb_rx_counters, frames),          offsetof(vnb_rx_counters, crc_failures),
    offsetof(vnb_rx_counters, cobs_errors),     offsetof(vnb_rx_counters, short_frames),
    offsetof(vnb_rx_counters, oversize_frames), offsetof(vnb_rx_counters, unsupported_version),
    offsetof(vnb_rx_counters, bad_payloads),    offsetof(vnb_rx_counters, unknown_types),
    offsetof(vnb_rx_counters, unauthenticated), offsetof(vnb_rx_counters, replays),
    offsetof(vnb_rx_counters, seq_gaps),        offsetof(vnb_rx_counters, seq_resets),
    offsetof(vnb_rx_counters, resyncs),         offsetof(vnb_rx_counters, bytes_discarded),
    offsetof(vnb_rx_counters, rejects_evicted),
};

static int tuple_of(PyObject *obj, Py_ssize_t n, const char *what)
{
    if (!PyTuple_Check(obj) || PyTuple_GET_SIZE(obj) != n) {
        PyErr_Format(PyExc_TypeError, "bind: %s must be a tuple of %zd", what, n);
        return -1;
    }
    return 0;
}

static int tuple_class(PyObject *obj, const char *what)
{
    if (!PyType_Check(obj) || !PyType_IsSubtype((PyTypeObject *)obj, &PyTuple_Type)) {
        PyErr_Format(PyExc_TypeError, "bind: %s must be a tuple subclass", what);
        return -1;
    }
    return 0;
}

static void set_ref(PyObject **slot, PyObject *value)
{
    PyObject *old = *slot;
    Py_INCREF(value);
    *slot = value;
    Py_XDECREF(old);
}

static PyObject *bind(PyObject *module, PyObject *args)
{
    PyObject *header, *rejected, *status, *reason, *message, *time_source, *names;
    Py_ssize_t i;
    (void)module;
    if (!PyArg_ParseTuple(args, "OOOOOOO:bind", &header, &rejected, &status, &reason, &message,
                          &time_source, &names)) {
        return NULL;
    }
    if (tuple_class(header, "header") < 0 || tuple_class(rejected, "rejected") < 0 ||
        tuple_of(status, 3, "status") < 0 || tuple_of(reason, 7, "reason") < 0 ||
        tuple_of(message, 8, "message") < 0 ||
        tuple_of(names, VNB_RX_N_COUNTERS, "counter names") < 0) {
        return NULL;
    }
    for (i = 0; i < (Py_ssize_t)VNB_RX_N_COUNTERS; i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(names, i))) {
            PyErr_SetString(PyExc_TypeError, "bind: counter names must be str");
            return NULL;
        }
    }
    set_ref((PyObject **)&cls.header, header);
    set_ref((PyObject **)&cls.rejected, rejected);
    for (i = 0; i < 3; i++) {
        set_ref(&cls.status[i], PyTuple_GET_ITEM(status, i));
    }
    for (i = 0; i < 7; i++) {
        set_ref(&cls.reason[i], PyTuple_GET_ITEM(reason, i));
    }
    for (i = 0; i < 8; i++) {
        set_ref(&cls.message[i], PyTuple_GET_ITEM(message, i));
    }
    set_ref(&cls.time_source, time_source);
    for (i = 0; i < (Py_ssize_t)VNB_RX_N_COUNTERS; i++) {
        set_ref(&cls.counter_names[i], PyTuple_GET_ITEM(names, i));
    }
    cls.bound = 1;
    Py_RETURN_NONE;
}

static int check_bound(void)
{
    if (!cls.bound) {
        PyErr_SetString(PyExc_RuntimeError, "firmware_bridge._fastdecode: bind() not called");
        return -1;
    }
    return 0;
}

/* ---- Little-endian fields --------------------------------------------------------------- */
static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    int i;
    for (i = n - 1; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static PyObject *u64(uint64_t v) { return PyLong_FromUnsignedLongLong(v); }

/* Two's complement of an n-byte field, without implementation-defined conversions. */
static PyObject *i_le(const uint8_t *p, int n)
{
    uint64_t u = le(p, n), sign = (uint64_t)1 << (8 * n - 1);
    if (n < 8) {
        return PyLong_FromLongLong((long long)(u & (sign - 1u)) - ((u & sign) ? (long long)sign : 0));
    }
    if (u < sign) {
        return PyLong_FromLongLong((long long)u);
    }
    return PyLong_FromLongLong(-(long long)(~u) - 1);
}

/* cls(*items), consuming the new references in items (any of them NULL: an error is set). */
static PyObject *make(PyObject *callable, PyObject **items, size_t n)
{
    PyObject *out = NULL;
    size_t i;
    int ok = 1;
    for (i = 0; i < n; i++) {
        ok &= items[i] != NULL;
    }
    if (ok) {
        out = PyObject_Vectorcall(callable, items, n, NULL);
    }
    for (i = 0; i < n; i++) {
        Py_XDECREF(items[i]);
    }
    return out;
}

static PyObject *make_tuple(PyObject **items, Py_ssize_t n)
{
    PyObject *t = PyTuple_New(n);
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        if (t == NULL || items[i] == NULL) {
            Py_XDECREF(items[i]);
            Py_CLEAR(t);
            continue;
        }
        PyTuple_SET_ITEM(t, i, items[i]);
    }
    return t;
}

/* ---- Frame ---------------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD
    PyObject *f[N_FIELDS]; /* NULL: built from f[F_RAW] on first access */
} FrameObject;

static PyTypeObject FrameType;

/* The decoded bytes of a frame the decoder made (checked again: a Frame may outlive bind). */
static int frame_bytes(FrameObject *self, const uint8_t **p, size_t *n)
{
    PyObject *raw = self->f[F_RAW];
    if (check_bound() < 0) {
        return -1;
    }
    if (raw == NULL || !PyBytes_Check(raw) || PyBytes_GET_SIZE(raw) < (Py_ssize_t)VNB_MIN_FRAME ||
        PyBytes_GET_SIZE(raw) > (Py_ssize_t)VNB_MAX_FRAME) {
        PyErr_SetString(PyExc_RuntimeError, "Frame: no decoded frame to read fields from");
        return -1;
    }
    *p = (const uint8_t *)PyBytes_AS_STRING(raw);
    *n = (size_t)PyBytes_GET_SIZE(raw);
    if (((*p)[2] & VNB_FLAG_SIGNED) && *n < VNB_MIN_FRAME + VNB_SIG_SIZE) {
        PyErr_SetString(PyExc_RuntimeError, "Frame: signed frame without a signature");
        return -1;
    }
    return 0;
}

static PyObject *build_header(FrameObject *self)
{
    const uint8_t *p;
    size_t n;
    PyObject *items[6], *h;
    Py_ssize_t i;
    if (frame_bytes(self, &p, &n) < 0) {
        return NULL;
    }
    items[0] = PyLong_FromLong(p[0]);
    items[1] = PyLong_FromLong(p[1]);
    items[2] = PyLong_FromLong(p[2]);
    items[3] = u64(le(p + 3, 4));
    items[4] = u64(le(p + 7, 4));
    items[5] = u64(le(p + 11, 8));
    /* What tuple.__new__(Header, items) does, without the argument parsing. */
    h = cls.header->tp_alloc(cls.header, 6);
    for (i = 0; i < 6; i++) {
        if (h == NULL || items[i] == NULL) {
            Py_XDECREF(items[i]);
            Py_CLEAR(h);
            continue;
        }
        PyTuple_SET_ITEM(h, i, items[i]);
    }
    return h;
}

static PyObject *build_message(FrameObject *self)
{
    const uint8_t *f, *p;
    size_t n, len;
    uint8_t type;
    PyObject *it[4], *sub[3];
    if (frame_bytes(self, &f, &n) < 0) {
        return NULL;
    }
    type = f[1];
    p = f + VNB_HEADER_SIZE;
    len = vnb_payload_len(f, n);
    if (self->f[F_PROBLEM] != Py_None || type < VNB_HELLO || type > VNB_LOG) {
        it[0] = PyLong_FromLong(type);
        it[1] = PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)len);
        return make(cls.message[0], it, 2);
    }
    switch (type) { /* the layouts the decoder checked (SPEC §4, messages.py) */
    case VNB_HELLO:
        sub[0] = PyLong_FromLong(p[0]);
        sub[1] = PyLong_FromLong(p[1]);
        sub[2] = u64(le(p + 2, 2));
        it[0] = make_tuple(sub, 3);
        it[1] = PyBytes_FromStringAndSize((const char *)p + 4, 32);
        it[2] = u64(le(p + 36, 4));
        return make(cls.message[type], it, 3);
    case VNB_HEARTBEAT:
        it[0] = u64(le(p, 4));
        it[1] = u64(le(p + 4, 4));
        return make(cls.message[type], it, 2);
    case VNB_IMU:
        sub[0] = i_le(p, 4);
        sub[1] = i_le(p + 4, 4);
        sub[2] = i_le(p + 8, 4);
        it[0] = make_tuple(sub, 3);
        sub[0] = i_le(p + 12, 4);
        sub[1] = i_le(p + 16, 4);
        sub[2] = i_le(p + 20, 4);
        it[1] = make_tuple(sub, 3);
        it[2] = u64(le(p + 24, 4));
        it[3] = u64(le(p + 28, 4));
        return make(cls.message[type], it, 4);
    case VNB_GNSS:
        it[0] = PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)len);
        return make(cls.message[type], it, 1);
    case VNB_SENSOR:
        it[0] = u64(le(p, 2));
        it[1] = i_le(p + 3, 8);
        it[2] = i_le(p + 2, 1);
        it[3] = PyUnicode_DecodeASCII((const char *)p + 11, (Py_ssize_t)(len - 11), "strict");
        return make(cls.message[type], it, 4);
    case VNB_TIME_SYNC:
        it[0] = PyObject_CallFunction(cls.time_source, "i", (int)p[0]);
        it[1] = u64(le(p + 1, 8));
        it[2] = i_le(p + 9, 8);
        return make(cls.message[type], it, 3);
    default: /* VNB_LOG */
        it[0] = PyLong_FromLong(p[0]);
        it[1] = u64(le(p + 1, 2));
        it[2] = PyUnicode_DecodeUTF8((const char *)p + 3, (Py_ssize_t)(len - 3), "strict");
        return make(cls.message[type], it, 3);
    }
}

static PyObject *build_sign_ts(FrameObject *self)
{
    const uint8_t *f;
    size_t n;
    if (frame_bytes(self, &f, &n) < 0) {
        return NULL;
    }
    if (!(f[2] & VNB_FLAG_SIGNED)) {
        Py_RETURN_NONE;
    }
    return u64(le(f + n - VNB_CRC_SIZE - VNB_SIG_SIZE, 6));
}

static PyObject *frame_field(FrameObject *self, Py_ssize_t i)
{
    PyObject *v = self->f[i];
    if (v == NULL) {
        switch (i) {
        case F_HEADER:
            v = build_header(self);
            break;
        case F_MESSAGE:
            v = build_message(self);
            break;
        case F_SIGN_TS:
            v = build_sign_ts(self);
            break;
        default:
            PyErr_Format(PyExc_AttributeError, "Frame.%s is not set", FIELD_NAMES[i]);
            break;
        }
        if (v == NULL) {
            return NULL;
        }
        if (self->f[i] == NULL) { /* (building ran Python code: keep the first one made) */
            self->f[i] = v;
        } else {
            Py_SETREF(v, Py_NewRef(self->f[i]));
            return v;
        }
    }
    return Py_NewRef(v);
}

static PyObject *frame_get(PyObject *self, void *closure)
{
    return frame_field((FrameObject *)self, (Py_ssize_t)(intptr_t)closure);
}

static PyObject *frame_as_tuple(FrameObject *self)
{
    PyObject *items[N_FIELDS];
    Py_ssize_t i;
    for (i = 0; i < N_FIELDS; i++) {
        items[i] = frame_field(self, i);
    }
    return make_tuple(items, N_FIELDS);
}

/* From the decoder: raw bytes, status and problem; the rest is built when first read. */
static PyObject *frame_new_decoded(const vnb_rx_event *ev)
{
    PyObject *raw = PyBytes_FromStringAndSize((const char *)ev->data, (Py_ssize_t)ev->len);
    FrameObject *self;
    if (raw == NULL) {
        return NULL;
    }
    self = PyObject_GC_New(FrameObject, &FrameType);
    if (self == NULL) {
        Py_DECREF(raw);
        return NULL;
    }
    self->f[F_RAW] = raw;
    self->f[F_HEADER] = NULL;
    self->f[F_MESSAGE] = NULL;
    self->f[F_STATUS] = Py_NewRef(cls.status[ev->status]);
    self->f[F_SIGN_TS] = NULL;
    self->f[F_PROBLEM] = Py_NewRef(cls.reason[ev->reason]);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyObject *frame_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"raw", "header", "message", "status", "sign_ts", "problem", NULL};
    PyObject *v[N_FIELDS];
    FrameObject *self;
    Py_ssize_t i;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOO:Frame", kwlist, &v[0], &v[1], &v[2],
                                     &v[3], &v[4], &v[5])) {
        return NULL;
    }
    self = PyObject_GC_New(FrameObject, type);
    if (self == NULL) {
        return NULL;
    }
    for (i = 0; i < N_FIELDS; i++) {
        self->f[i] = Py_NewRef(v[i]);
    }
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int frame_traverse(FrameObject *self, visitproc visit, void *arg)
{
    Py_ssize_t i;
    for (i = 0; i < N_FIELDS; i++) {
        Py_VISIT(self->f[i]);
    }
    return 0;
}

static int frame_clear(FrameObject *self)
{
    Py_ssize_t i;
    for (i = 0; i < N_FIELDS; i++) {
        Py_CLEAR(self->f[i]);
    }
    return 0;
}

static void frame_dealloc(FrameObject *self)
{
    PyObject_GC_UnTrack(self);
    frame_clear(self);
    PyObject_GC_Del(self);
}

static Py_ssize_t frame_len(PyObject *self)
{
    (void)self;
    return N_FIELDS;
}

static PyObject *frame_item(PyObject *self, Py_ssize_t i)
{
    if (i < 0 || i >= N_FIELDS) {
        PyErr_SetString(PyExc_IndexError, "Frame index out of range");
        return NULL;
    }
    return frame_field((FrameObject *)self, i);
}

static PyObject *frame_subscript(PyObject *self, PyObject *key)
{
    PyObject *t, *out;
    if (PyIndex_Check(key)) {
        Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
        if (i == -1 && PyErr_Occurred()) {
            return NULL;
        }
        return frame_item(self, i < 0 ? i + N_FIELDS : i);
    }
    t = frame_as_tuple((FrameObject *)self);
    if (t == NULL) {
        return NULL;
    }
    out = PyObject_GetItem(t, key);
    Py_DECREF(t);
    return out;
}

/* Compares and hashes as the 6-tuple, as the NamedTuple it replaces. */
static PyObject *frame_richcompare(PyObject *self, PyObject *other, int op)
{
    PyObject *a, *b, *out;
    if (!PyTuple_Check(other) && !PyObject_TypeCheck(other, &FrameType)) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    a = frame_as_tuple((FrameObject *)self);
    if (a == NULL) {
        return NULL;
    }
    b = PyTuple_Check(other) ? Py_NewRef(other) : frame_as_tuple((FrameObject *)other);
    if (b == NULL) {
        Py_DECREF(a);
        return NULL;
    }
    out = PyObject_RichCompare(a, b, op);
    Py_DECREF(a);
    Py_DECREF(b);
    return out;
}

static Py_hash_t frame_hash(PyObject *self)
{
    PyObject *t = frame_as_tuple((FrameObject *)self);
    Py_hash_t h;
    if (t == NULL) {
        return -1;
    }
    h = PyObject_Hash(t);
    Py_DECREF(t);
    return h;
}

static PyObject *frame_repr(PyObject *self)
{
    PyObject *t = frame_as_tuple((FrameObject *)self), *out;
    if (t == NULL) {
        return NULL;
    }
    out = PyUnicode_FromFormat("Frame(raw=%R, header=%R, message=%R, status=%R, sign_ts=%R, "
                               "problem=%R)",
                               PyTuple_GET_ITEM(t, 0), PyTuple_GET_ITEM(t, 1),
                               PyTuple_GET_ITEM(t, 2), PyTuple_GET_ITEM(t, 3),
                               PyTuple_GET_ITEM(t, 4), PyTuple_GET_ITEM(t, 5));
    Py_DECREF(t);
    return out;
}

static PyObject *frame_asdict(PyObject *self, PyObject *unused)
{
    PyObject *d = PyDict_New(), *v;
    Py_ssize_t i;
    (void)unused;
    for (i = 0; d != NULL && i < N_FIELDS; i++) {
        v = frame_field((FrameObject *)self, i);
        if (v == NULL || PyDict_SetItemString(d, FIELD_NAMES[i], v) < 0) {
            Py_CLEAR(d);
        }
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *frame_replace(PyObject *self, PyObject *args, PyObject *kwds)
{
    PyObject *d, *t = NULL, *out = NULL;
    Py_ssize_t i;
    if (PyTuple_GET_SIZE(args) != 0) {
        PyErr_SetString(PyExc_TypeError, "_replace() takes keyword arguments only");
        return NULL;
    }
    d = frame_asdict(self, NULL);
    if (d == NULL || (kwds != NULL && PyDict_Merge(d, kwds, 1) < 0)) {
        Py_XDECREF(d);
        return NULL;
    }
    if (PyDict_GET_SIZE(d) != N_FIELDS) {
        PyErr_Format(PyExc_ValueError, "Got unexpected field names: %R", kwds);
        Py_DECREF(d);
        return NULL;
    }
    t = PyTuple_New(N_FIELDS);
    for (i = 0; t != NULL && i < N_FIELDS; i++) {
        PyObject *v = PyDict_GetItemString(d, FIELD_NAMES[i]);
        PyTuple_SET_ITEM(t, i, Py_NewRef(v));
    }
    if (t != NULL) {
        out = frame_new(Py_TYPE(self), t, NULL);
    }
    Py_XDECREF(t);
    Py_DECREF(d);
    return out;
}

static PyObject *frame_reduce(PyObject *self, PyObject *unused)
{
    PyObject *t = frame_as_tuple((FrameObject *)self);
    (void)unused;
    if (t == NULL) {
        return NULL;
    }
    return Py_BuildValue("(ON)", (PyObject *)Py_TYPE(self), t);
}

static PyGetSetDef frame_getset[] = {
    {"raw", frame_get, NULL, "the decoded frame, CRC included: the evidence bytes", (void *)F_RAW},
    {"header", frame_get, NULL, "frame.Header (built on first access)", (void *)F_HEADER},
    {"message", frame_get, NULL, "the message, or Opaque (built on first access)",
     (void *)F_MESSAGE},
    {"status", frame_get, NULL, "FrameStatus", (void *)F_STATUS},
    {"sign_ts", frame_get, NULL, "signing timestamp, None when unsigned", (void *)F_SIGN_TS},
    {"problem", frame_get, NULL, "BridgeReason.BAD_PAYLOAD or None", (void *)F_PROBLEM},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef frame_methods[] = {
    {"_asdict", frame_asdict, METH_NOARGS, "the fields as a dict"},
    {"_replace", (PyCFunction)(void (*)(void))frame_replace, METH_VARARGS | METH_KEYWORDS,
     "a copy with some fields replaced"},
    {"__reduce__", frame_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods frame_as_sequence = {
    .sq_length = frame_len,
    .sq_item = frame_item,
};

static PyMappingMethods frame_as_mapping = {
    .mp_length = frame_len,
    .mp_subscript = frame_subscript,
};

static PyTypeObject FrameType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "firmware_bridge.decoder.Frame",
    .tp_doc = "One intact frame. `raw` is the decoded frame, CRC included: the evidence bytes.",
    .tp_basicsize = sizeof(FrameObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = frame_new,
    .tp_dealloc = (destructor)frame_dealloc,
    .tp_traverse = (traverseproc)frame_traverse,
    .tp_clear = (inquiry)frame_clear,
    .tp_getset = frame_getset,
    .tp_methods = frame_methods,
    .tp_as_sequence = &frame_as_sequence,
    .tp_as_mapping = &frame_as_mapping,
    .tp_richcompare = frame_richcompare,
    .tp_hash = frame_hash,
    .tp_repr = frame_repr,
};

/* ---- Decoder ---------------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD
    vnb_rx rx;
    vnb_rx_key *keys;
    PyObject *counters;                 /* decoder.Counters, written after every call */
    uint64_t shown[VNB_RX_N_COUNTERS]; /* the values last written there */
    PyObject *kept[MAX_KEPT_REJECTS];   /* Rejected, a ring, oldest at kept_head */
    size_t kept_head, kept_n;
    int busy; /* a feed is running: refuse re-entry (a finalizer run by the GC, say) */
} DecoderObject;

static PyTypeObject DecoderType;

static int key_order(const void *a, const void *b)
{
    uint32_t x = ((const vnb_rx_key *)a)->board_id, y = ((const vnb_rx_key *)b)->board_id;
    return (x > y) - (x < y);
}

static int load_keys(DecoderObject *self, PyObject *keys)
{
    Py_ssize_t pos = 0, n, i = 0;
    PyObject *board, *key;
    if (!PyDict_Check(keys)) {
        PyErr_SetString(PyExc_TypeError, "keys must be a dict of board id -> 32-byte key");
        return -1;
    }
    n = PyDict_GET_SIZE(keys);
    self->keys = PyMem_Calloc((size_t)(n > 0 ? n : 1), sizeof(vnb_rx_key));
    if (self->keys == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    while (PyDict_Next(keys, &pos, &board, &key)) {
        Py_buffer view;
        unsigned long long id;
        if (!PyLong_Check(board)) {
            PyErr_SetString(PyExc_TypeError, "a board id must be an int");
            return -1;
        }
        id = PyLong_AsUnsignedLongLong(board);
        if ((id == (unsigned long long)-1 && PyErr_Occurred()) || id > 0xFFFFFFFFull) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "a board id must be a u32");
            return -1;
        }
        if (PyObject_GetBuffer(key, &view, PyBUF_SIMPLE) < 0) {
            return -1;
        }
        if (view.len != (Py_ssize_t)VNB_KEY_SIZE) {
            PyBuffer_Release(&view);
            PyErr_SetString(PyExc_ValueError, "a signing key must be 32 bytes");
            return -1;
        }
        self->keys[i].board_id = (uint32_t)id;
        vnb_hmac_sha256_prepare(&self->keys[i].key, (const uint8_t *)view.buf, VNB_KEY_SIZE);
        PyBuffer_Release(&view);
        i++;
    }
    qsort(self->keys, (size_t)i, sizeof(vnb_rx_key), key_order);
    vnb_rx_init(&self->rx, self->keys, (size_t)i, 0);
    return 0;
}

static PyObject *decoder_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"keys", "require_signed", "counters", NULL};
    PyObject *keys, *counters;
    int require_signed;
    DecoderObject *self;
    if (check_bound() < 0 ||
        !PyArg_ParseTupleAndKeywords(args, kwds, "OpO:Decoder", kwlist, &keys, &require_signed,
                                     &counters)) {
        return NULL;
    }
    self = (DecoderObject *)type->tp_alloc(type, 0); /* zeroed */
    if (self == NULL) {
        return NULL;
    }
    self->counters = Py_NewRef(counters);
    if (load_keys(self, keys) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->rx.require_signed = require_signed;
    return (PyObject *)self;
}

static int decoder_traverse(DecoderObject *self, visitproc visit, void *arg)
{
    size_t i;
    Py_VISIT(self->counters);
    for (i = 0; i < self->kept_n; i++) {
        Py_VISIT(self->kept[(self->kept_head + i) % MAX_KEPT_REJECTS]);
    }
    return 0;
}

static int decoder_clear(DecoderObject *self)
{
    size_t i, n = self->kept_n;
    self->kept_n = 0;
    for (i = 0; i < n; i++) {
        Py_CLEAR(self->kept[(self->kept_head + i) % MAX_KEPT_REJECTS]);
    }
    Py_CLEAR(self->counters);
    return 0;
}

static void decoder_dealloc(DecoderObject *self)
{
    PyObject_GC_UnTrack(self);
    decoder_clear(self);
    PyMem_Free(self->keys);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Keep a dropped segment for quarantine: at most MAX_KEPT_REJECTS, oldest evicted first. */
static int keep_reject(DecoderObject *self, const vnb_rx_event *ev)
{
    PyObject *data, *r;
    size_t slot;
    data = PyBytes_FromStringAndSize((const char *)ev->data, (Py_ssize_t)ev->len);
    if (data == NULL) {
        return -1;
    }
    r = cls.rejected->tp_alloc(cls.rejected, 2);
    if (r == NULL) {
        Py_DECREF(data);
        return -1;
    }
    PyTuple_SET_ITEM(r, 0, Py_NewRef(cls.reason[ev->reason]));
    PyTuple_SET_ITEM(r, 1, data);
    if (self->kept_n == MAX_KEPT_REJECTS) {
        Py_CLEAR(self->kept[self->kept_head]);
        self->kept_head = (self->kept_head + 1) % MAX_KEPT_REJECTS;
        self->kept_n--;
        self->rx.c.rejects_evicted++;
    }
    slot = (self->kept_head + self->kept_n) % MAX_KEPT_REJECTS;
    self->kept[slot] = r;
    self->kept_n++;
    return 0;
}

static int sync_counters(DecoderObject *self)
{
    size_t i;
    for (i = 0; i < VNB_RX_N_COUNTERS; i++) {
        uint64_t v;
        PyObject *num;
        int rc;
        memcpy(&v, (const char *)&self->rx.c + COUNTER_OFFSET[i], sizeof v);
        if (v == self->shown[i]) {
            continue;
        }
        num = PyLong_FromUnsignedLongLong(v);
        if (num == NULL) {
            return -1;
        }
        rc = PyObject_SetAttr(self->counters, cls.counter_names[i], num);
        Py_DECREF(num);
        if (rc < 0) {
            return -1;
        }
        self->shown[i] = v;
    }
    return 0;
}

static int enter(DecoderObject *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "StreamDecoder is not re-entrant");
        return -1;
    }
    if (self->counters == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "StreamDecoder was cleared");
        return -1;
    }
    self->busy = 1;
    return 0;
}

static PyObject *decoder_feed(PyObject *op, PyObject *data)
{
    static const uint8_t nothing[1] = {0};
    DecoderObject *self = (DecoderObject *)op;
    Py_buffer view;
    vnb_rx_event ev;
    PyObject *out, *frame;
    if (enter(self) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        self->busy = 0;
        return NULL;
    }
    out = PyList_New(0);
    if (out == NULL) {
        goto fail;
    }
    vnb_rx_begin(&self->rx, view.len > 0 ? (const uint8_t *)view.buf : nothing,
                 (size_t)view.len);
    while (vnb_rx_next(&self->rx, &ev)) {
        if (ev.kind == VNB_EV_FRAME) {
            frame = frame_new_decoded(&ev);
            if (frame == NULL || PyList_Append(out, frame) < 0) {
                Py_XDECREF(frame);
                goto fail;
            }
            Py_DECREF(frame);
        } else if (keep_reject(self, &ev) < 0) {
            goto fail;
        }
    }
    if (sync_counters(self) < 0) {
        goto fail;
    }
    PyBuffer_Release(&view);
    self->busy = 0;
    return out;
fail: /* MemoryError: the rest of the chunk is discarded (and counted); frames are lost */
    vnb_rx_abort(&self->rx);
    Py_XDECREF(out);
    PyBuffer_Release(&view);
    self->busy = 0;
    return NULL;
}

static PyObject *decoder_drop_partial(PyObject *op, PyObject *unused)
{
    DecoderObject *self = (DecoderObject *)op;
    vnb_rx_event ev;
    int rc = 0;
    (void)unused;
    if (enter(self) < 0) {
        return NULL;
    }
    if (vnb_rx_drop_partial(&self->rx, &ev)) {
        rc = keep_reject(self, &ev);
    }
    if (rc == 0) {
        rc = sync_counters(self);
    }
    self->busy = 0;
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *decoder_take_rejected(PyObject *op, PyObject *unused)
{
    DecoderObject *self = (DecoderObject *)op;
    PyObject *out = PyList_New((Py_ssize_t)self->kept_n);
    size_t i;
    (void)unused;
    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i < self->kept_n; i++) { /* the list takes over the ring's references */
        size_t slot = (self->kept_head + i) % MAX_KEPT_REJECTS;
        PyList_SET_ITEM(out, (Py_ssize_t)i, self->kept[slot]);
        self->kept[slot] = NULL;
    }
    self->kept_head = 0;
    self->kept_n = 0;
    return out;
}

static PyObject *decoder_pending(PyObject *op, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(((DecoderObject *)op)->rx.pend_len);
}

static PyMethodDef decoder_methods[] = {
    {"feed", decoder_feed, METH_O, "add bytes from the link; return the frames they complete"},
    {"drop_partial", decoder_drop_partial, METH_NOARGS, "forget a half-received frame"},
    {"take_rejected", decoder_take_rejected, METH_NOARGS, "the rejected segments kept"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef decoder_getset[] = {
    {"pending", decoder_pending, NULL, "bytes buffered after the last delimiter", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "firmware_bridge._fastdecode.Decoder",
    .tp_doc = "Decoder(keys, require_signed, counters): the stream decoder state machine.",
    .tp_basicsize = sizeof(DecoderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = decoder_new,
    .tp_dealloc = (destructor)decoder_dealloc,
    .tp_traverse = (traverseproc)decoder_traverse,
    .tp_clear = (inquiry)decoder_clear,
    .tp_methods = decoder_methods,
    .tp_getset = decoder_getset,
};

/* ---- Module -------------------------------------------------------------------------------- */
static PyObject *crc32c(PyObject *module, PyObject *data)
{
    Py_buffer view;
    uint32_t crc;
    (void)module;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    crc = vnb_crc32c_fast((const uint8_t *)view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(crc);
}

static PyObject *utf8_valid(PyObject *module, PyObject *data)
{
    Py_buffer view;
    int ok;
    (void)module;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    ok = vnb_utf8_valid((const uint8_t *)view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return PyBool_FromLong(ok);
}

static PyMethodDef module_methods[] = {
    {"bind", bind, METH_VARARGS, "hand over the classes the decoder builds (once, decoder.py)"},
    {"crc32c", crc32c, METH_O, "CRC-32C of a buffer (slice-by-8; for the tests)"},
    {"utf8_valid", utf8_valid, METH_O, "the UTF-8 check of log text (for the tests)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "firmware_bridge._fastdecode",
    "The firmware bridge stream decoder in C (see decoder.py).", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastdecode(void)
{
    PyObject *m, *fields;
    Py_ssize_t i;
    vnb_rx_tables_init();
    if (PyType_Ready(&FrameType) < 0 || PyType_Ready(&DecoderType) < 0) {
        return NULL;
    }
    fields = PyTuple_New(N_FIELDS);
    if (fields == NULL) {
        return NULL;
    }
    for (i = 0; i < N_FIELDS; i++) {
        PyObject *name = PyUnicode_InternFromString(FIELD_NAMES[i]);
        if (name == NULL) {
            Py_DECREF(fields);
            return NULL;
        }
        PyTuple_SET_ITEM(fields, i, name);
    }
    if (PyDict_SetItemString(FrameType.tp_dict, "_fields", fields) < 0 ||
        PyDict_SetItemString(FrameType.tp_dict, "__match_args__", fields) < 0) {
        Py_DECREF(fields);
        return NULL;
    }
    Py_DECREF(fields);
    PyType_Modified(&FrameType);
    m = PyModule_Create(&module_def);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Frame", (PyObject *)&FrameType) < 0 ||
        PyModule_AddObjectRef(m, "Decoder", (PyObject *)&DecoderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
