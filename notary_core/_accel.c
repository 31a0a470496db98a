/* notary_core._accel: the evidence verifier's per-record loop, in C.
 *
 * (Also disclosed_rows(), which turns a bundle's decoded rows of disclosed records into
 * tuples after checking their types, the parser's own per-record loop.)
 *
 * One function, check_batch(), confirms the happy path of one batch of disclosed records:
 * every record's canonical prefix, the fast CAN layout that records.scan() accepts without
 * building objects, per-stream sequence order, the salted leaf hashes and the multiproof up
 * to the signed root. It never decides a failure: on anything it does not positively
 * confirm it returns None and the caller re-runs the batch in pure Python, which names the
 * first fault with its reason code. So this module can only make a valid bundle faster; a
 * property test holds it to the Python path on valid and corrupted batches alike.
 *
 * Hashing is OpenSSL's SHA-256 (the library Python's hashlib uses).
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED
#include <Python.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

/* Record prefix: u8 version, u8 kind, u8 clock, u64 seq, u64 mono_ns, i64 utc_ns, u8 slen. */
#define PREFIX_SIZE 28
/* CAN body: u32 can_id, u8 flags, u8 dlc, then the data. */
#define CAN_HEAD 6
#define HASH 32
#define MAX_STREAMS 32
#define MAX_DEPTH 70 /* a tree of at most 2^63 - 1 leaves is at most 63 levels deep */

typedef struct {
    long record_version;
    long kind_can;
    unsigned long long clocks_mask; /* bit c set: clock source c is valid */
    Py_ssize_t max_record_size;
    Py_ssize_t max_multiproof_nodes;
    long long max_tree_size;
} params_t;

typedef struct {
    const uint8_t *name;
    uint8_t len;
    uint64_t last_seq;
} stream_t;

typedef struct {
    const uint8_t (*leaves)[HASH]; /* leaf hashes, in index order */
    const long long *index;         /* their leaf indices, strictly increasing */
    PyObject *proof;                /* tuple of 32-byte nodes, consumed depth-first */
    Py_ssize_t next_node;
    int failed;
} walk_t;

static uint64_t be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void hash_children(const uint8_t *left, const uint8_t *right, uint8_t *out) {
    /* Not the one-shot SHA256(): OpenSSL 3 looks the algorithm up on every call there,
     * which measured four times slower than the context functions for 65 bytes. */
    static const uint8_t node_prefix = 0x01;
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, &node_prefix, 1);
    SHA256_Update(&ctx, left, HASH);
    SHA256_Update(&ctx, right, HASH);
    SHA256_Final(out, &ctx);
}

/* The largest power of two smaller than n (n > 1), as merkle._split. */
static long long split_point(long long n) {
    unsigned long long m = (unsigned long long)(n - 1);
    unsigned long long p = 1;
    while (m >>= 1) {
        p <<= 1;
    }
    return (long long)p;
}

/* First position in index[a:b] holding a value >= mid (bisect_left). */
static Py_ssize_t bisect(const long long *index, Py_ssize_t a, Py_ssize_t b, long long mid) {
    while (a < b) {
        Py_ssize_t m = a + (b - a) / 2;
        if (index[m] < mid) {
            a = m + 1;
        } else {
            b = m;
        }
    }
    return a;
}

/* merkle.root_from_multiproof's walk: wanted leaves index[a:b] under the subtree of leaves
 * lo..hi; a subtree without wanted leaves is the next proof node. */
static void walk(walk_t *w, Py_ssize_t a, Py_ssize_t b, long long lo, long long hi, int depth,
                 uint8_t *out) {
    if (w->failed) {
        return;
    }
    if (depth > MAX_DEPTH) {
        w->failed = 1;
        return;
    }
    if (a == b) {
        if (w->next_node >= PyTuple_GET_SIZE(w->proof)) {
            w->failed = 1; /* multiproof too short */
            return;
        }
        memcpy(out, PyBytes_AS_STRING(PyTuple_GET_ITEM(w->proof, w->next_node)), HASH);
        w->next_node++;
        return;
    }
    if (hi - lo == 1) {
        memcpy(out, w->leaves[a], HASH); /* a == index of lo: the only wanted leaf */
        return;
    }
    long long mid = lo + split_point(hi - lo);
    Py_ssize_t c = bisect(w->index, a, b, mid);
    uint8_t left[HASH], right[HASH];
    walk(w, a, c, lo, mid, depth + 1, left);
    walk(w, c, b, mid, hi, depth + 1, right);
    if (!w->failed) {
        hash_children(left, right, out);
    }
}

static int parse_params(PyObject *obj, params_t *p) {
    return PyArg_ParseTuple(obj, "llKnnL;params: (version, kind_can, clocks_mask, "
                                 "max_record, max_multiproof_nodes, max_tree_size)",
                            &p->record_version, &p->kind_can, &p->clocks_mask,
                            &p->max_record_size, &p->max_multiproof_nodes, &p->max_tree_size);
}

/* Count one more record of (stream, can_id) in `counts` (protocol v2 per-item counts). */
static int count_key(PyObject *counts, const uint8_t *name, uint8_t len, unsigned long can_id) {
    PyObject *key = Py_BuildValue("(y#k)", (const char *)name, (Py_ssize_t)len, can_id);
    if (key == NULL) {
        return -1;
    }
    PyObject *old = PyDict_GetItemWithError(counts, key); /* borrowed */
    long long n = 0;
    if (old == NULL && PyErr_Occurred()) {
        Py_DECREF(key);
        return -1;
    }
    if (old != NULL) {
        n = PyLong_AsLongLong(old);
    }
    PyObject *value = PyLong_FromLongLong(n + 1);
    int rc = value == NULL ? -1 : PyDict_SetItem(counts, key, value);
    Py_XDECREF(value);
    Py_DECREF(key);
    return rc;
}

/* Add (stream, can_id) to the distinct keys unless it is there already. */
static int add_key(PyObject *keys, PyObject *seen, const uint8_t *name, uint8_t len,
                   unsigned long can_id) {
    PyObject *key = Py_BuildValue("(y#k)", (const char *)name, (Py_ssize_t)len, can_id);
    if (key == NULL) {
        return -1;
    }
    int found = PySet_Contains(seen, key);
    if (found == 0) {
        found = PySet_Add(seen, key) < 0 || PyList_Append(keys, key) < 0 ? -1 : 0;
    }
    Py_DECREF(key);
    return found < 0 ? -1 : 0;
}

PyDoc_STRVAR(check_batch_doc,
             "check_batch(items, multiproof, size, root, params[, times]) -> tuple | None\n\n"
             "items: disclosed (leaf_index, record, salt) tuples. On success: the distinct\n"
             "(stream bytes, CAN id) of the records on the fast CAN layout, and the positions\n"
             "of the other records, which the caller must scan itself. None: not confirmed.\n"
             "With times = (lo, hi, start, end) (protocol v2): every record's utc_ns must lie\n"
             "in [lo, hi] (the batch's signed range), and the answer is (counts, others,\n"
             "outside): a dict (stream bytes, CAN id) -> records for the fast layout, and how\n"
             "many records lie outside [start, end] (the boundary records).");

static PyObject *check_batch(PyObject *self, PyObject *args) {
    PyObject *items, *proof, *params_obj, *times_obj = NULL;
    long long size;
    const char *root;
    Py_ssize_t root_len;
    params_t p;
    long long lo = 0, hi = 0, w_start = 0, w_end = 0, outside = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!O!Ly#O!|O!", &PyTuple_Type, &items, &PyTuple_Type, &proof,
                          &size, &root, &root_len, &PyTuple_Type, &params_obj, &PyTuple_Type,
                          &times_obj)) {
        return NULL;
    }
    if (!parse_params(params_obj, &p)) {
        return NULL;
    }
    int v2 = times_obj != NULL;
    if (v2 && !PyArg_ParseTuple(times_obj, "LLLL;times: (lo, hi, start, end)", &lo, &hi,
                                &w_start, &w_end)) {
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(items), nodes = PyTuple_GET_SIZE(proof);
    if (n == 0 || root_len != HASH || size <= 0 || size > p.max_tree_size ||
        nodes > p.max_multiproof_nodes) {
        Py_RETURN_NONE;
    }
    for (Py_ssize_t i = 0; i < nodes; i++) {
        PyObject *node = PyTuple_GET_ITEM(proof, i);
        if (!PyBytes_CheckExact(node) || PyBytes_GET_SIZE(node) != HASH) {
            Py_RETURN_NONE;
        }
    }
    uint8_t(*leaves)[HASH] = PyMem_Malloc((size_t)n * HASH);
    long long *index = PyMem_Malloc((size_t)n * sizeof *index);
    PyObject *keys = v2 ? PyDict_New() : PyList_New(0), *seen = PySet_New(NULL),
             *others = PyList_New(0);
    PyObject *result = NULL;
    stream_t streams[MAX_STREAMS];
    int nstreams = 0;
    if (leaves == NULL || index == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (keys == NULL || seen == NULL || others == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(items, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 3) {
            goto unconfirmed;
        }
        PyObject *idx = PyTuple_GET_ITEM(item, 0), *rec = PyTuple_GET_ITEM(item, 1),
                 *salt = PyTuple_GET_ITEM(item, 2);
        if (!PyLong_CheckExact(idx) || !PyBytes_CheckExact(rec) || !PyBytes_CheckExact(salt)) {
            goto unconfirmed;
        }
        int overflow = 0;
        long long li = PyLong_AsLongLongAndOverflow(idx, &overflow);
        if (overflow || li < 0 || li >= size || (i > 0 && li <= index[i - 1])) {
            goto unconfirmed; /* indices must rise strictly and stay inside the tree */
        }
        index[i] = li;
        const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(rec);
        Py_ssize_t len = PyBytes_GET_SIZE(rec);
        if (len < PREFIX_SIZE || len > p.max_record_size) {
            goto unconfirmed;
        }
        uint8_t slen = d[PREFIX_SIZE - 1];
        if (len < PREFIX_SIZE + slen) {
            goto unconfirmed;
        }
        const uint8_t *name = d + PREFIX_SIZE;
        uint64_t seq = be64(d + 3);
        if (v2) { /* i64 utc_ns at offset 19: inside the batch's signed range */
            long long utc = (long long)be64(d + 19);
            if (utc < lo || utc > hi) {
                goto unconfirmed;
            }
            outside += utc < w_start || utc > w_end;
        }
        /* Within a stream, sequence numbers rise with the leaf index. */
        int s = 0;
        while (s < nstreams && !(streams[s].len == slen && memcmp(streams[s].name, name, slen) == 0)) {
            s++;
        }
        if (s == nstreams) {
            if (nstreams == MAX_STREAMS) {
                goto unconfirmed;
            }
            streams[s].name = name;
            streams[s].len = slen;
            nstreams++;
        } else if (seq <= streams[s].last_seq) {
            goto unconfirmed;
        }
        streams[s].last_seq = seq;
        /* The fast CAN layout, exactly the conditions of records.scan's fast path. */
        Py_ssize_t layout = PREFIX_SIZE + slen + CAN_HEAD;
        int fast = d[0] == p.record_version && d[1] == p.kind_can && len >= layout && d[2] < 64 &&
                   ((p.clocks_mask >> d[2]) & 1);
        if (fast) {
            const uint8_t *can = d + PREFIX_SIZE + slen;
            unsigned long can_id = ((unsigned long)can[0] << 24) | ((unsigned long)can[1] << 16) |
                                   ((unsigned long)can[2] << 8) | can[3];
            uint8_t flags = can[4], dlc = can[5];
            fast = flags == 0 && can_id < 0x800 && dlc <= 8 && len - layout == dlc;
            if (fast && (v2 ? count_key(keys, name, slen, can_id)
                            : add_key(keys, seen, name, slen, can_id)) < 0) {
                goto done;
            }
        }
        if (!fast) {
            PyObject *pos = PyLong_FromSsize_t(i);
            if (pos == NULL || PyList_Append(others, pos) < 0) {
                Py_XDECREF(pos);
                goto done;
            }
            Py_DECREF(pos);
        }
        SHA256_CTX ctx;
        static const uint8_t leaf_prefix = 0x00;
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, &leaf_prefix, 1);
        SHA256_Update(&ctx, PyBytes_AS_STRING(salt), (size_t)PyBytes_GET_SIZE(salt));
        SHA256_Update(&ctx, d, (size_t)len);
        SHA256_Final(leaves[i], &ctx);
    }
    walk_t w = {(const uint8_t(*)[HASH])leaves, index, proof, 0, 0};
    uint8_t calculated[HASH];
    walk(&w, 0, n, 0, size, 0, calculated);
    if (w.failed || w.next_node != nodes || memcmp(calculated, root, HASH) != 0) {
        goto unconfirmed;
    }
    if (v2) {
        PyObject *n_out = PyLong_FromLongLong(outside);
        result = n_out == NULL ? NULL : PyTuple_Pack(3, keys, others, n_out);
        Py_XDECREF(n_out);
    } else {
        result = PyTuple_Pack(2, keys, others);
    }
    goto done;
unconfirmed:
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(leaves);
    PyMem_Free(index);
    Py_XDECREF(keys);
    Py_XDECREF(seen);
    Py_XDECREF(others);
    return result;
}

PyDoc_STRVAR(disclosed_rows_doc,
             "disclosed_rows(rows, cls, salt_size) -> list | None\n\n"
             "Each row of a bundle's disclosed list ([int, bytes, bytes of salt_size], as CBOR\n"
             "decoded it) made a `cls` (a 3-tuple subclass). None when any row is not exactly\n"
             "that: the caller then takes its pure-Python path, which says what is wrong.");

static PyObject *disclosed_rows(PyObject *self, PyObject *args) {
    PyObject *rows;
    PyTypeObject *cls;
    Py_ssize_t salt_size;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!O!n", &PyList_Type, &rows, &PyType_Type, &cls, &salt_size)) {
        return NULL;
    }
    if (!PyType_IsSubtype(cls, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "cls must be a tuple subclass");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(rows);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n && i < PyList_GET_SIZE(rows); i++) {
        /* Allocate first: an allocation may run a collection, and so arbitrary code. */
        PyObject *item = cls->tp_alloc(cls, 3);
        if (item == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyObject *row = PyList_GET_ITEM(rows, i);
        PyObject *const *f = NULL;
        if (PyList_CheckExact(row) && PyList_GET_SIZE(row) == 3) {
            f = ((PyListObject *)row)->ob_item;
        } else if (PyTuple_CheckExact(row) && PyTuple_GET_SIZE(row) == 3) {
            f = ((PyTupleObject *)row)->ob_item;
        }
        if (f == NULL || !PyLong_CheckExact(f[0]) || !PyBytes_CheckExact(f[1]) ||
            !PyBytes_CheckExact(f[2]) || PyBytes_GET_SIZE(f[2]) != salt_size) {
            Py_DECREF(item);
            Py_DECREF(out);
            Py_RETURN_NONE;
        }
        for (int k = 0; k < 3; k++) {
            PyTuple_SET_ITEM(item, k, Py_NewRef(f[k]));
        }
        PyList_SET_ITEM(out, i, item);
    }
    if (PyList_GET_SIZE(rows) != n) { /* changed under us: not confirmed */
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}

static PyMethodDef methods[] = {
    {"check_batch", check_batch, METH_VARARGS, check_batch_doc},
    {"disclosed_rows", disclosed_rows, METH_VARARGS, disclosed_rows_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "notary_core._accel",
    "The evidence verifier's per-record loop in C (confirms valid batches only).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__accel(void) { return PyModule_Create(&module); }
