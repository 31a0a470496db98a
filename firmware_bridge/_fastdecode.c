/* firmware_bridge._fastdecode: the stream decoder (c/vnb_rx.c) as a CPython extension.
 *
 * Decoder.feed() does every check and counter of the Python reference (decoder.py,
 * _PyDecoder) in C and returns the very objects the reference returns: decoder.Frame
 * NamedTuples holding a frame.Header, a message dataclass (or Opaque), FrameStatus, the
 * signing timestamp and the problem, all built in feed(). The classes are handed over once
 * by decoder.py through bind(), which checks their layout; the objects are then made the
 * way their constructors would make them, without the Python calls: a NamedTuple is its
 * tuple filled in, a message (a frozen slots dataclass with no __post_init__) is an
 * object.__new__ whose slots are set. Optional: without a compiler the package runs the
 * reference.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <structmember.h>

#include "vnb_rx.h"

#define MAX_KEPT_REJECTS 256 /* limits.MAX_KEPT_REJECTS */
#define N_MESSAGES 8         /* [0] Opaque, [t] the class of message type t (SPEC §4) */
#define MAX_MSG_FIELDS 4

/* The fields C fills, in order: bind() checks each class has exactly these. */
static const char *const FRAME_FIELDS[] = {"raw",    "header",  "message",
                                           "status", "sign_ts", "problem", NULL};
static const char *const HEADER_FIELDS[] = {"version", "type", "flags",
                                            "board_id", "seq", "mcu_us", NULL};
static const char *const REJECTED_FIELDS[] = {"reason", "data", NULL};
static const char *const MSG_FIELDS[N_MESSAGES][MAX_MSG_FIELDS + 1] = {
    {"type", "payload", NULL},                                           /* Opaque */
    {"fw_version", "fw_image_sha256", "capabilities", NULL},             /* Hello */
    {"status", "tx_dropped", NULL},                                      /* Heartbeat */
    {"accel", "gyro", "accel_scale_nano", "gyro_scale_nano", NULL},      /* ImuSample */
    {"raw", NULL},                                                       /* GnssSentence */
    {"sensor_id", "mantissa", "exponent", "unit", NULL},                 /* SensorReading */
    {"source", "mcu_us", "utc_ns", NULL},                                /* TimeSync */
    {"level", "code", "text", NULL},                                     /* LogEvent */
};

/* ---- Classes from decoder.py (bind) ------------------------------------------------------- */
static struct {
    PyTypeObject *frame;    /* decoder.Frame (a NamedTuple) */
    PyTypeObject *header;   /* frame.Header (a NamedTuple) */
    PyTypeObject *rejected; /* decoder.Rejected (a NamedTuple) */
    PyObject *status[3];    /* FrameStatus.OK, UNAUTHENTICATED, REPLAYED */
    PyObject *reason[7];    /* [0] None, then BridgeReason by enum vnb_reason */
    PyTypeObject *message[N_MESSAGES];
    Py_ssize_t slot[N_MESSAGES][MAX_MSG_FIELDS]; /* byte offset of each field's slot */
    PyObject *source[4];                         /* [1..3] TimeSource members; [0] unused */
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

/* 1 if obj.<attr> == (names...), 0 if not, -1 on error. */
static int attr_is_names(PyObject *obj, const char *attr, const char *const *names)
{
    PyObject *got = PyObject_GetAttrString(obj, attr), *want;
    Py_ssize_t n = 0, i;
    int eq = -1;
    if (got == NULL) {
        return -1;
    }
    while (names[n] != NULL) {
        n++;
    }
    want = PyTuple_New(n);
    for (i = 0; want != NULL && i < n; i++) {
        PyObject *s = PyUnicode_FromString(names[i]);
        if (s == NULL) {
            Py_CLEAR(want);
            break;
        }
        PyTuple_SET_ITEM(want, i, s);
    }
    if (want != NULL) {
        eq = PyObject_RichCompareBool(got, want, Py_EQ);
    }
    Py_DECREF(got);
    Py_XDECREF(want);
    return eq;
}

/* A NamedTuple with exactly these fields, no __dict__: C fills its tuple directly. */
static int named_tuple(PyObject *obj, const char *const *names, const char *what)
{
    PyTypeObject *tp = (PyTypeObject *)obj;
    int eq;
    if (!PyType_Check(obj) || !PyType_IsSubtype(tp, &PyTuple_Type) || tp->tp_dictoffset != 0 ||
        tp->tp_basicsize != PyTuple_Type.tp_basicsize) {
        PyErr_Format(PyExc_TypeError, "bind: %s must be a NamedTuple", what);
        return -1;
    }
    eq = attr_is_names(obj, "_fields", names);
    if (eq == 0) {
        PyErr_Format(PyExc_TypeError, "bind: %s has other fields than the C decoder fills", what);
    }
    return eq == 1 ? 0 : -1;
}

/* A frozen slots dataclass with exactly these fields, made by object.__new__ and nothing
 * after __init__'s assignments (no __post_init__, no __dict__, no other slot): C allocates
 * it and sets the slots, which is all its __init__ does. Fills offsets. */
static int slots_dataclass(PyObject *obj, const char *const *names, Py_ssize_t *offsets)
{
    PyTypeObject *tp = (PyTypeObject *)obj;
    Py_ssize_t n = 0;
    int eq;
    if (!PyType_Check(obj) || tp->tp_new != PyBaseObject_Type.tp_new || tp->tp_dictoffset != 0 ||
        tp->tp_itemsize != 0 || PyObject_HasAttrString(obj, "__post_init__") ||
        !PyObject_HasAttrString(obj, "__dataclass_fields__")) {
        PyErr_Format(PyExc_TypeError, "bind: %R must be a slots dataclass without __post_init__",
                     obj);
        return -1;
    }
    eq = attr_is_names(obj, "__match_args__", names);
    if (eq < 0) {
        return -1;
    }
    for (; eq == 1 && names[n] != NULL; n++) {
        PyObject *d = PyDict_GetItemString(tp->tp_dict, names[n]); /* borrowed */
        PyMemberDef *m;
        if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type)) {
            eq = 0;
            break;
        }
        m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY)) {
            eq = 0;
            break;
        }
        offsets[n] = m->offset;
    }
    if (eq != 1 || tp->tp_basicsize != (Py_ssize_t)(sizeof(PyObject) + n * sizeof(PyObject *))) {
        PyErr_Format(PyExc_TypeError, "bind: %R has other fields than the C decoder fills", obj);
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
    PyObject *frame, *header, *rejected, *status, *reason, *message, *time_source, *names;
    PyObject *source[4] = {NULL, NULL, NULL, NULL};
    Py_ssize_t i, slot[N_MESSAGES][MAX_MSG_FIELDS];
    (void)module;
    if (!PyArg_ParseTuple(args, "OOOOOOOO:bind", &frame, &header, &rejected, &status, &reason,
                          &message, &time_source, &names)) {
        return NULL;
    }
    if (named_tuple(frame, FRAME_FIELDS, "frame") < 0 ||
        named_tuple(header, HEADER_FIELDS, "header") < 0 ||
        named_tuple(rejected, REJECTED_FIELDS, "rejected") < 0 ||
        tuple_of(status, 3, "status") < 0 || tuple_of(reason, 7, "reason") < 0 ||
        tuple_of(message, N_MESSAGES, "message") < 0 ||
        tuple_of(names, VNB_RX_N_COUNTERS, "counter names") < 0) {
        return NULL;
    }
    for (i = 0; i < N_MESSAGES; i++) {
        if (slots_dataclass(PyTuple_GET_ITEM(message, i), MSG_FIELDS[i], slot[i]) < 0) {
            return NULL;
        }
    }
    for (i = 0; i < (Py_ssize_t)VNB_RX_N_COUNTERS; i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(names, i))) {
            PyErr_SetString(PyExc_TypeError, "bind: counter names must be str");
            return NULL;
        }
    }
    for (i = 1; i <= 3; i++) { /* TimeSource(1..3): the sources the decoder lets through */
        source[i] = PyObject_CallFunction(time_source, "n", i);
        if (source[i] == NULL) {
            Py_XDECREF(source[1]);
            Py_XDECREF(source[2]);
            return NULL;
        }
    }
    set_ref((PyObject **)&cls.frame, frame);
    set_ref((PyObject **)&cls.header, header);
    set_ref((PyObject **)&cls.rejected, rejected);
    for (i = 0; i < 3; i++) {
        set_ref(&cls.status[i], PyTuple_GET_ITEM(status, i));
    }
    for (i = 0; i < 7; i++) {
        set_ref(&cls.reason[i], PyTuple_GET_ITEM(reason, i));
    }
    for (i = 0; i < N_MESSAGES; i++) {
        set_ref((PyObject **)&cls.message[i], PyTuple_GET_ITEM(message, i));
    }
    memcpy(cls.slot, slot, sizeof slot);
    for (i = 1; i <= 3; i++) {
        set_ref(&cls.source[i], source[i]);
        Py_DECREF(source[i]);
    }
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

/* ---- Objects ------------------------------------------------------------------------------
 *
 * Made untracked by the cyclic GC. An object needs tracking only if it can be part of a
 * garbage cycle, and these cannot: a Header holds ints; a message holds ints, bytes, str,
 * tuples of ints and a TimeSource member; a Frame holds bytes, those, None and enum
 * members. Enum members live as long as their module, so no cycle through them is ever
 * garbage. (CPython untracks tuples of atomic items the same way, at their first
 * collection.) Tracked, three objects a frame made the GC the largest single cost of
 * feed(): ~150 ns a frame in the bench, from collections run every ~230 frames. The one
 * way to make such a cycle is object.__setattr__ on a frozen message; it would leak.
 */

/* What tuple.__new__(tp, items) makes (a NamedTuple's __new__ does no more), consuming the
 * new references in items; any of them NULL: an error is set, NULL returned. */
static PyObject *fill_tuple(PyTypeObject *tp, PyObject **items, Py_ssize_t n)
{
    PyObject *t = NULL;
    Py_ssize_t i;
    int ok = 1;
    for (i = 0; i < n; i++) {
        ok &= items[i] != NULL;
    }
    if (ok && tp == &PyTuple_Type) {
        t = PyTuple_New(n);
        if (t != NULL) {
            PyObject_GC_UnTrack(t);
        }
    } else if (ok) {
        t = (PyObject *)PyObject_GC_NewVar(PyTupleObject, tp, n); /* untracked, unfilled */
    }
    for (i = 0; i < n; i++) {
        if (t == NULL) {
            Py_XDECREF(items[i]);
        } else {
            PyTuple_SET_ITEM(t, i, items[i]);
        }
    }
    return t;
}

/* What cls.message[k](*items) makes: object.__new__, then __init__'s one assignment per
 * field (the dataclass is frozen only against later assignment; bind checked its layout:
 * these are all its slots). Consumes items as fill_tuple does. */
static PyObject *fill_message(int k, PyObject **items)
{
    PyObject *o = NULL;
    Py_ssize_t i, n = 0;
    int ok = 1;
    while (MSG_FIELDS[k][n] != NULL) {
        ok &= items[n] != NULL;
        n++;
    }
    if (ok) {
        o = PyObject_GC_New(PyObject, cls.message[k]); /* untracked, slots unset */
    }
    for (i = 0; i < n; i++) {
        if (o == NULL) {
            Py_XDECREF(items[i]);
        } else {
            *(PyObject **)((char *)o + cls.slot[k][i]) = items[i];
        }
    }
    return o;
}

static PyObject *build_header(const uint8_t *p)
{
    PyObject *items[6];
    items[0] = PyLong_FromLong(p[0]);
    items[1] = PyLong_FromLong(p[1]);
    items[2] = PyLong_FromLong(p[2]);
    items[3] = u64(le(p + 3, 4));
    items[4] = u64(le(p + 7, 4));
    items[5] = u64(le(p + 11, 8));
    return fill_tuple(cls.header, items, 6);
}

/* The message of a frame the decoder returned (its payload checked, SPEC §4, messages.py). */
static PyObject *build_message(const uint8_t *f, size_t n, int problem)
{
    uint8_t type = f[1];
    const uint8_t *p = f + VNB_HEADER_SIZE;
    size_t len = vnb_payload_len(f, n);
    PyObject *it[MAX_MSG_FIELDS], *sub[3];
    if (problem != VNB_R_NONE || type < VNB_HELLO || type > VNB_LOG) {
        it[0] = PyLong_FromLong(type);
        it[1] = PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)len);
        return fill_message(0, it);
    }
    switch (type) {
    case VNB_HELLO:
        sub[0] = PyLong_FromLong(p[0]);
        sub[1] = PyLong_FromLong(p[1]);
        sub[2] = u64(le(p + 2, 2));
        it[0] = fill_tuple(&PyTuple_Type, sub, 3);
        it[1] = PyBytes_FromStringAndSize((const char *)p + 4, 32);
        it[2] = u64(le(p + 36, 4));
        break;
    case VNB_HEARTBEAT:
        it[0] = u64(le(p, 4));
        it[1] = u64(le(p + 4, 4));
        break;
    case VNB_IMU:
        sub[0] = i_le(p, 4);
        sub[1] = i_le(p + 4, 4);
        sub[2] = i_le(p + 8, 4);
        it[0] = fill_tuple(&PyTuple_Type, sub, 3);
        sub[0] = i_le(p + 12, 4);
        sub[1] = i_le(p + 16, 4);
        sub[2] = i_le(p + 20, 4);
        it[1] = fill_tuple(&PyTuple_Type, sub, 3);
        it[2] = u64(le(p + 24, 4));
        it[3] = u64(le(p + 28, 4));
        break;
    case VNB_GNSS:
        it[0] = PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)len);
        break;
    case VNB_SENSOR:
        it[0] = u64(le(p, 2));
        it[1] = i_le(p + 3, 8);
        it[2] = i_le(p + 2, 1);
        it[3] = PyUnicode_DecodeASCII((const char *)p + 11, (Py_ssize_t)(len - 11), "strict");
        break;
    case VNB_TIME_SYNC: /* source is 1..3: payload_ok */
        it[0] = Py_NewRef(cls.source[p[0]]);
        it[1] = u64(le(p + 1, 8));
        it[2] = i_le(p + 9, 8);
        break;
    default: /* VNB_LOG */
        it[0] = PyLong_FromLong(p[0]);
        it[1] = u64(le(p + 1, 2));
        it[2] = PyUnicode_DecodeUTF8((const char *)p + 3, (Py_ssize_t)(len - 3), "strict");
        break;
    }
    return fill_message(type, it);
}

/* decoder.Frame(raw, header, message, status, sign_ts, problem) of a FRAME event. */
static PyObject *build_frame(const vnb_rx_event *ev)
{
    const uint8_t *f = ev->data;
    size_t n = ev->len;
    PyObject *items[6];
    items[0] = PyBytes_FromStringAndSize((const char *)f, (Py_ssize_t)n);
    items[1] = build_header(f);
    items[2] = build_message(f, n, ev->reason);
    items[3] = Py_NewRef(cls.status[ev->status]);
    items[4] = (f[2] & VNB_FLAG_SIGNED) ? u64(le(f + n - VNB_CRC_SIZE - VNB_SIG_SIZE, 6))
                                        : Py_NewRef(Py_None);
    items[5] = Py_NewRef(cls.reason[ev->reason]);
    return fill_tuple(cls.frame, items, 6);
}

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
            frame = build_frame(&ev);
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
static PyObject *crc_of(PyObject *data, uint32_t (*crc)(const uint8_t *, size_t))
{
    Py_buffer view;
    uint32_t got;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    got = crc((const uint8_t *)view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(got);
}

static PyObject *crc32c(PyObject *module, PyObject *data)
{
    (void)module;
    return crc_of(data, vnb_crc32c_fast);
}

static PyObject *crc32c_slice8(PyObject *module, PyObject *data)
{
    (void)module;
    return crc_of(data, vnb_crc32c_slice8);
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
    {"crc32c", crc32c, METH_O, "CRC-32C of a buffer, as the decoder computes it (for the tests)"},
    {"crc32c_slice8", crc32c_slice8, METH_O, "CRC-32C of a buffer, portable C (for the tests)"},
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
    PyObject *m;
    vnb_rx_tables_init();
    if (PyType_Ready(&DecoderType) < 0) {
        return NULL;
    }
    m = PyModule_Create(&module_def);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Decoder", (PyObject *)&DecoderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
