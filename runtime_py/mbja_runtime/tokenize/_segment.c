/*
 * Optional C accelerator of the segmenter: MeCab's lattice and Viterbi over the memory-mapped
 * compiled dictionary, every rule of docs/dictionary-format.md ("Segmentation rules", 1-6, the
 * look-ahead window included), in the same sequential walk as pure_python.py (its pure-Python twin)
 * and the Kotlin Segmenter.kt: positions in order, each node's best predecessor found when the
 * node is created. Plain CPython C API, no dependencies.
 *
 *     seg = _segment.Segmenter(base=..., check=..., ...)   # buffers: the mapped NumPy views
 *     seg.spans(text) -> [(start, end), ...]
 *
 * The text is cut at its first NUL (MeCab reads a C string); the caller has already refused
 * lone surrogates. Where MeCab's window would cut a character in half (the reference tokenizer
 * then fails on invalid UTF-8) ``spans`` raises ``_segment.Unsupported`` (a ValueError).
 *
 * Safety: the tables are held through the buffer protocol (nothing is copied; the exporters
 * stay alive until the object dies) and their sizes are checked against the counts at
 * construction; every index derived from the text or from a table value is bounds-checked
 * before use, and a corrupt table raises ValueError instead of reading out of range. The GIL
 * is held for the whole call and all per-call state is local, so one object can be shared
 * between threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------ the object */

enum {
    B_BASE, B_CHECK, B_CODE_BMP, B_ASTRAL_CP, B_ASTRAL_CODE,
    B_CLASS_OF_BMP, B_CLASS_MASK, B_CLASS_CATEGORY, B_CLASS_LENGTH, B_CLASS_GROUP, B_CLASS_INVOKE,
    B_UNKNOWN_OFFSETS, B_UNK_LEFT, B_UNK_RIGHT, B_UNK_COST,
    B_LEFT, B_RIGHT, B_COST, B_HIGH, B_LOW,
    N_BUFFERS
};

static const char *buffer_names[N_BUFFERS] = {
    "base", "check", "code_bmp", "astral_cp", "astral_code",
    "class_of_bmp", "class_mask", "class_category", "class_length", "class_group", "class_invoke",
    "unknown_offsets", "unk_left", "unk_right", "unk_cost",
    "left", "right", "cost", "high", "low",
};

static const Py_ssize_t buffer_itemsize[N_BUFFERS] = {
    4, 4, 2, 4, 2,
    1, 4, 1, 1, 1, 1,
    4, 2, 2, 2,
    2, 2, 2, 1, 1,
};

typedef struct {
    PyObject_HEAD
    Py_buffer views[N_BUFFERS];
    int n_views;                     /* views[0 .. n_views-1] are held and must be released */
    int ready;                       /* __init__ succeeded: the pointers and counts below are valid */
    /* typed pointers into the views */
    const int32_t *base, *check;
    const uint16_t *code_bmp, *astral_code;
    const uint32_t *astral_cp;
    const uint8_t *class_of_bmp, *class_category, *class_length, *class_group, *class_invoke;
    const uint32_t *class_mask, *unknown_offsets;
    const uint16_t *unk_left, *unk_right, *left, *right;
    const int16_t *unk_cost, *cost;
    const int8_t *high;
    const uint8_t *low;
    /* counts */
    Py_ssize_t n_slots, n_astral, n_classes, n_categories, n_unknown, n_entries;
    int64_t n_left, n_right;
    int64_t max_group, max_lookup_bytes, bos_col, eos_row_off;
    uint32_t space_mask, nul_mask;
} SegObject;

static PyObject *Unsupported;        /* _segment.Unsupported: a text whose segmentation MeCab cannot give */

static const char CUT[] =
    "MeCab's 65,535-byte look-ahead (reached after a very long run of whitespace) cuts a character in half "
    "here and the reference tokenizer fails on it (invalid UTF-8)";

static void
Seg_dealloc(SegObject *self)
{
    for (int i = 0; i < self->n_views; i++)
        PyBuffer_Release(&self->views[i]);
    self->n_views = 0;
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
corrupt(const char *what)
{
    PyErr_Format(PyExc_ValueError, "mbja dictionary tables are inconsistent: %s", what);
    return -1;
}

static int
Seg_init(SegObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {
        "base", "check", "code_bmp", "astral_cp", "astral_code",
        "class_of_bmp", "class_mask", "class_category", "class_length", "class_group", "class_invoke",
        "unknown_offsets", "unk_left", "unk_right", "unk_cost",
        "left", "right", "cost", "high", "low",
        "n_left", "n_right", "max_grouping_size", "max_lookup_bytes", "bos_right", "eos_left", NULL};
    PyObject *objs[N_BUFFERS];
    long long n_left, n_right, max_group, max_lookup, bos_right, eos_left;

    if (self->n_views) {
        PyErr_SetString(PyExc_TypeError, "Segmenter is already initialised");
        return -1;
    }
    {   /* a runtime check: the mapped arrays are little-endian */
        uint16_t one = 1;
        if (*(uint8_t *)&one != 1) {
            PyErr_SetString(PyExc_NotImplementedError, "the C segmenter needs a little-endian machine");
            return -1;
        }
    }
    if (!PyArg_ParseTupleAndKeywords(
            args, kwds, "$OOOOOOOOOOOOOOOOOOOOLLLLLL", kwlist,
            &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5], &objs[6], &objs[7], &objs[8],
            &objs[9], &objs[10], &objs[11], &objs[12], &objs[13], &objs[14], &objs[15], &objs[16],
            &objs[17], &objs[18], &objs[19],
            &n_left, &n_right, &max_group, &max_lookup, &bos_right, &eos_left))
        return -1;

    for (int i = 0; i < N_BUFFERS; i++) {
        Py_buffer *v = &self->views[i];
        if (PyObject_GetBuffer(objs[i], v, PyBUF_C_CONTIGUOUS) < 0)
            return -1;
        self->n_views = i + 1;
        if (v->len % buffer_itemsize[i] != 0 || ((uintptr_t)v->buf % (uintptr_t)buffer_itemsize[i]) != 0) {
            PyErr_Format(PyExc_ValueError, "table %s: size or alignment does not fit %zd-byte items",
                         buffer_names[i], buffer_itemsize[i]);
            return -1;
        }
    }
#define COUNT(i) (self->views[i].len / buffer_itemsize[i])
#define PTR(i, T) ((const T *)self->views[i].buf)
    self->base = PTR(B_BASE, int32_t);
    self->check = PTR(B_CHECK, int32_t);
    self->code_bmp = PTR(B_CODE_BMP, uint16_t);
    self->astral_cp = PTR(B_ASTRAL_CP, uint32_t);
    self->astral_code = PTR(B_ASTRAL_CODE, uint16_t);
    self->class_of_bmp = PTR(B_CLASS_OF_BMP, uint8_t);
    self->class_mask = PTR(B_CLASS_MASK, uint32_t);
    self->class_category = PTR(B_CLASS_CATEGORY, uint8_t);
    self->class_length = PTR(B_CLASS_LENGTH, uint8_t);
    self->class_group = PTR(B_CLASS_GROUP, uint8_t);
    self->class_invoke = PTR(B_CLASS_INVOKE, uint8_t);
    self->unknown_offsets = PTR(B_UNKNOWN_OFFSETS, uint32_t);
    self->unk_left = PTR(B_UNK_LEFT, uint16_t);
    self->unk_right = PTR(B_UNK_RIGHT, uint16_t);
    self->unk_cost = PTR(B_UNK_COST, int16_t);
    self->left = PTR(B_LEFT, uint16_t);
    self->right = PTR(B_RIGHT, uint16_t);
    self->cost = PTR(B_COST, int16_t);
    self->high = PTR(B_HIGH, int8_t);
    self->low = PTR(B_LOW, uint8_t);

    self->n_slots = COUNT(B_BASE);
    self->n_astral = COUNT(B_ASTRAL_CP);
    self->n_classes = COUNT(B_CLASS_MASK);
    self->n_categories = COUNT(B_UNKNOWN_OFFSETS) - 1;
    self->n_unknown = COUNT(B_UNK_LEFT);
    self->n_entries = COUNT(B_LEFT);
    self->n_left = n_left;
    self->n_right = n_right;
    self->max_group = max_group;
    self->max_lookup_bytes = max_lookup;

    /* sizes and every index that does not depend on the text */
    if (self->n_slots < 1 || COUNT(B_CHECK) != self->n_slots)
        return corrupt("double array sizes");
    if (COUNT(B_CODE_BMP) != 0x10000 || COUNT(B_CLASS_OF_BMP) != 0x10000)
        return corrupt("per-code-point tables must have 65,536 entries");
    if (COUNT(B_ASTRAL_CODE) != self->n_astral)
        return corrupt("astral code map sizes");
    for (Py_ssize_t i = 1; i < self->n_astral; i++)
        if (self->astral_cp[i] <= self->astral_cp[i - 1])
            return corrupt("astral code points not ascending");
    if (self->n_classes < 1 || COUNT(B_CLASS_CATEGORY) != self->n_classes || COUNT(B_CLASS_LENGTH) != self->n_classes
        || COUNT(B_CLASS_GROUP) != self->n_classes || COUNT(B_CLASS_INVOKE) != self->n_classes)
        return corrupt("class table sizes");
    for (Py_ssize_t i = 0; i < 0x10000; i++)
        if (self->class_of_bmp[i] >= self->n_classes)
            return corrupt("character class out of range");
    if (self->n_categories < 1)
        return corrupt("no categories");
    for (Py_ssize_t i = 0; i < self->n_classes; i++)
        if (self->class_category[i] >= self->n_categories)
            return corrupt("class category out of range");
    if (self->unknown_offsets[0] != 0 || self->unknown_offsets[self->n_categories] != (uint64_t)self->n_unknown)
        return corrupt("unknown-word offsets");
    for (Py_ssize_t i = 0; i < self->n_categories; i++)
        if (self->unknown_offsets[i + 1] < self->unknown_offsets[i])
            return corrupt("unknown-word offsets not ascending");
    if (COUNT(B_UNK_RIGHT) != self->n_unknown || COUNT(B_UNK_COST) != self->n_unknown)
        return corrupt("unknown-word entry sizes");
    if (COUNT(B_RIGHT) != self->n_entries || COUNT(B_COST) != self->n_entries)
        return corrupt("lexicon sizes");
    if (n_left < 1 || n_right < 1 || n_left > 0xFFFF + 1 || n_right > 0xFFFF + 1
        || COUNT(B_HIGH) != n_left * n_right || COUNT(B_LOW) != n_left * n_right)
        return corrupt("matrix sizes");
    for (Py_ssize_t i = 0; i < self->n_unknown; i++)
        if (self->unk_left[i] >= n_left || self->unk_right[i] >= n_right)
            return corrupt("unknown-word context classes outside the matrix");
    if (bos_right < 0 || bos_right >= n_right || eos_left < 0 || eos_left >= n_left)
        return corrupt("BOS/EOS context classes outside the matrix");
    if (max_group < 0 || max_lookup < 1)
        return corrupt("settings");
    self->bos_col = bos_right;
    self->eos_row_off = eos_left * n_right;
    self->space_mask = self->class_mask[self->class_of_bmp[0x20]];
    self->nul_mask = self->class_mask[self->class_of_bmp[0]];   /* what a character cut by the window reads as */
    self->ready = 1;
#undef COUNT
#undef PTR
    return 0;
}

/* ------------------------------------------------------------------ per-call state */

typedef struct {
    int32_t beg, end;     /* surface span (characters) */
    int32_t at;           /* the position whose end list it joins: end, or for MeCab's wrapped node its lookup
                           * position (it joins no list then; only EOS may follow it) */
    int32_t row;          /* left context class (matrix row) */
    int32_t col;          /* right context class (matrix column) */
    int32_t prev;         /* best predecessor */
    int32_t enext;        /* next node in the end list of `at` (scan order), -1 at the end */
    int64_t cost;         /* cumulative path cost */
    int32_t w;            /* word cost */
} Node;

typedef struct {
    Node *nodes;
    Py_ssize_t n_nodes, cap_nodes;
    int64_t *pcost;       /* predecessors of the current lookup position, scan order */
    int32_t *pcol, *pid;
    Py_ssize_t cap_pred;
} Work;

static int
grow_nodes(Work *w, Py_ssize_t need)
{
    if (need <= w->cap_nodes)
        return 0;
    if (need > (Py_ssize_t)INT32_MAX) {
        PyErr_SetString(PyExc_MemoryError, "lattice too large");
        return -1;
    }
    Py_ssize_t cap = w->cap_nodes ? w->cap_nodes : 256;
    while (cap < need)
        cap = cap > (Py_ssize_t)INT32_MAX / 2 ? (Py_ssize_t)INT32_MAX : cap * 2;
    Node *p = PyMem_Realloc(w->nodes, (size_t)cap * sizeof(Node));
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    w->nodes = p;
    w->cap_nodes = cap;
    return 0;
}

static int
grow_pred(Work *w, Py_ssize_t need)
{
    if (need <= w->cap_pred)
        return 0;
    Py_ssize_t cap = w->cap_pred ? w->cap_pred : 64;
    while (cap < need)
        cap *= 2;
    int64_t *a = PyMem_Realloc(w->pcost, (size_t)cap * sizeof(int64_t));
    if (!a) { PyErr_NoMemory(); return -1; }
    w->pcost = a;
    int32_t *b = PyMem_Realloc(w->pcol, (size_t)cap * sizeof(int32_t));
    if (!b) { PyErr_NoMemory(); return -1; }
    w->pcol = b;
    int32_t *c = PyMem_Realloc(w->pid, (size_t)cap * sizeof(int32_t));
    if (!c) { PyErr_NoMemory(); return -1; }
    w->pid = c;
    w->cap_pred = cap;
    return 0;
}

/* Append `count` nodes (entries first.. of the given tables) spanning beg..end. */
static int
add_nodes(Work *w, int32_t beg, int32_t end, int32_t at, const uint16_t *left, const uint16_t *right, const int16_t *cost,
          Py_ssize_t first, Py_ssize_t count)
{
    if (grow_nodes(w, w->n_nodes + count) < 0)
        return -1;
    Node *nd = w->nodes + w->n_nodes;
    for (Py_ssize_t k = 0; k < count; k++) {
        nd[k].beg = beg;
        nd[k].end = end;
        nd[k].at = at;
        nd[k].row = left[first + k];
        nd[k].col = right[first + k];
        nd[k].w = cost[first + k];
    }
    w->n_nodes += count;
    return 0;
}

static inline int64_t
cell(const SegObject *s, int64_t i)
{
    return (int64_t)s->high[i] * 256 + (int64_t)s->low[i];
}

static inline uint16_t
astral_code(const SegObject *s, uint32_t cp)
{
    Py_ssize_t lo = 0, hi = s->n_astral;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (s->astral_cp[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < s->n_astral && s->astral_cp[lo] == cp) ? s->astral_code[lo] : 0;
}

/* ------------------------------------------------------------------ spans */

#define ROW_CACHE 64

static PyObject *
Seg_spans(SegObject *self, PyObject *text)
{
    if (!self->ready) {
        PyErr_SetString(PyExc_ValueError, "Segmenter is not initialised");
        return NULL;
    }
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "text must be a str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0)
        return NULL;
#endif
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);

    /* MeCab's C string: cut at the first NUL */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyUnicode_READ(kind, data, i) == 0) {
            n = i;
            break;
        }
    }
    if (n == 0)
        return PyList_New(0);
    if (n >= (Py_ssize_t)INT32_MAX / 2 || (size_t)n >= ((size_t)PY_SSIZE_T_MAX - 64) / 48) {
        /* int32 spans and node indices, and the block size below, stay safe */
        PyErr_SetString(PyExc_ValueError, "text too long");
        return NULL;
    }

    PyObject *result = NULL;
    Work w = {0};
    char *block = NULL;
    /* one block for the per-character arrays: byte offsets, seven int32 arrays of n + 1, then codes
     * and classes */
    const size_t n1 = (size_t)n + 1;
    block = PyMem_Malloc(n1 * sizeof(int64_t) + 7 * n1 * sizeof(int32_t) + n1 * sizeof(uint16_t) + n1);
    if (!block) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *boff = (int64_t *)block;       /* UTF-8 byte offset of each character (boff[n]: the length) */
    int32_t *run_end = (int32_t *)(boff + n1);
    int32_t *end_head = run_end + n1;       /* first node of each end list (-1: none; not visited) */
    int32_t *sub_head = end_head + n1;      /* this lookup's nodes ending at e: head, tail, and ... */
    int32_t *sub_tail = sub_head + n1;
    int32_t *stamp = sub_tail + n1;         /* ... the lookup that last set them */
    int32_t *touched = stamp + n1;          /* ends that got nodes in this lookup */
    uint32_t *mask = (uint32_t *)(touched + n1);
    uint16_t *code = (uint16_t *)(mask + n1);
    uint8_t *cls = (uint8_t *)(code + n1);
    int64_t nbytes = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        boff[i] = nbytes;
        nbytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (c <= 0xFFFF) {
            code[i] = self->code_bmp[c];
            cls[i] = self->class_of_bmp[c];
        } else {                    /* MeCab reads a 4-byte UTF-8 character's class as U+0000's */
            code[i] = astral_code(self, (uint32_t)c);
            cls[i] = self->class_of_bmp[0];
        }
        mask[i] = self->class_mask[cls[i]];
    }
    boff[n] = nbytes;
    /* run_end[k]: first j >= k where the chained compatibility test fails (or the text ends) */
    run_end[n] = (int32_t)n;
    for (Py_ssize_t k = n - 1; k >= 1; k--)
        run_end[k] = (mask[k - 1] & mask[k]) ? run_end[k + 1] : (int32_t)k;
    run_end[0] = (int32_t)n;
    for (Py_ssize_t i = 0; i <= n; i++) {
        end_head[i] = -1;
        stamp[i] = -1;
    }

    /* BOS */
    if (grow_nodes(&w, 1) < 0)
        goto done;
    w.nodes[0] = (Node){0, 0, 0, 0, (int32_t)self->bos_col, -1, -1, 0, 0};
    w.n_nodes = 1;
    end_head[0] = 0;
    int32_t last = 0;              /* the largest `at` of any node */
    int wrapped = 0;               /* MeCab's wrapped node was made */
    Py_ssize_t window = 0;         /* last character boundary inside the look-ahead window (moves forward) */

    const int32_t *base = self->base, *check = self->check;
    const int64_t n_slots = self->n_slots;
    const int64_t nr = self->n_right;
    const int64_t max_group = self->max_group;

    for (Py_ssize_t p = 0; p < n; p++) {
        if (end_head[p] < 0)       /* not visited: no node ends here */
            continue;
        /* rule 6: a lookup sees at most max_lookup_bytes bytes; e is the last character boundary
         * inside, cut the bytes of the character the window cuts */
        Py_ssize_t e = n;
        int64_t cut = 0;
        const int capped = nbytes - boff[p] > self->max_lookup_bytes;
        if (capped) {
            const int64_t limit = boff[p] + self->max_lookup_bytes;
            if (window < p)
                window = p;
            while (boff[window + 1] <= limit)
                window++;
            e = window;
            cut = limit - boff[e];
        }
        Py_ssize_t b2 = p;
        if (mask[p] & self->space_mask) {
            b2 = run_end[p + 1] < e ? run_end[p + 1] : e;
            if (b2 >= n)
                continue;
        }
        if (b2 == e && cut > 0) {
            PyErr_SetString(Unsupported, CUT);
            goto done;
        }
        const Py_ssize_t first_node = w.n_nodes;

        if (b2 == e) {
            /* the whitespace skip reached the window's end: MeCab's 16-bit wrap, a 1-byte node of the
             * last skipped character's category whose span wraps back to p (at = p): it joins no end
             * list, only EOS may follow it */
            const uint8_t cat = self->class_category[cls[e - 1]];
            const Py_ssize_t ufirst = self->unknown_offsets[cat];
            if ((Py_ssize_t)self->unknown_offsets[cat + 1] - ufirst != 1) {
                PyErr_SetString(Unsupported, "65,535+ bytes of whitespace with a dictionary that has several SPACE "
                                             "unknown-word entries is not supported");
                goto done;
            }
            if (boff[e] - boff[e - 1] != 1 || (e < n && boff[e + 1] - boff[e] != 1)) {
                PyErr_SetString(Unsupported, "text has a run of 65,535+ bytes of whitespace next to a multi-byte "
                                             "character; MeCab would cut that character in half and the reference "
                                             "tokenizer fails on it");
                goto done;
            }
            if (add_nodes(&w, (int32_t)e, (int32_t)(e + 1), (int32_t)p, self->unk_left, self->unk_right,
                          self->unk_cost, ufirst, 1) < 0)
                goto done;
            wrapped = 1;
        } else {
            /* dictionary words: common-prefix search from b2, shortest first */
            int64_t s = 0;
            for (Py_ssize_t j = b2; j < e; ) {
                int64_t c = code[j];
                if (!c)
                    break;
                int64_t b = base[s];
                if (b < 0)
                    break;
                int64_t t = b + c;
                if (t >= n_slots || check[t] != s)
                    break;
                s = t;
                j++;
                b = base[s];
                int64_t v;
                if (b < 0) {
                    v = -b - 1;
                } else if (b > 0 && b < n_slots && check[b] == s) {
                    v = -(int64_t)base[b] - 1;
                    if (v < 0) {
                        corrupt("an end-of-key slot without a value");
                        goto done;
                    }
                } else {
                    continue;
                }
                int64_t firste = v >> 8, cnt = v & 0xFF;
                if (firste + cnt > self->n_entries) {
                    corrupt("a key points past the end of the lexicon");
                    goto done;
                }
                if (add_nodes(&w, (int32_t)b2, (int32_t)j, (int32_t)j, self->left, self->right, self->cost,
                              firste, cnt) < 0)
                    goto done;
                if (base[s] < 0)
                    break;
            }

            /* unknown words */
            const int found = w.n_nodes > first_node;
            const uint8_t c0 = cls[b2];
            if (!found || self->class_invoke[c0]) {
                const uint8_t cat = self->class_category[c0];
                const Py_ssize_t ufirst = self->unknown_offsets[cat];
                const Py_ssize_t ucount = (Py_ssize_t)self->unknown_offsets[cat + 1] - ufirst;
                const uint32_t m0 = mask[b2];
                int any = 0;
                Py_ssize_t gend = -1;
                if (self->class_group[c0]) {
                    const Py_ssize_t q = run_end[b2 + 1] < e ? run_end[b2 + 1] : e;
                    if (cut > 0 && q == e && (mask[e - 1] & self->nul_mask)) {
                        /* the run reads on into the cut character's bytes: MeCab would group half of it */
                        if (e - b2 - 1 + cut <= max_group) {
                            PyErr_SetString(Unsupported, CUT);
                            goto done;
                        }
                    } else {
                        if (q - b2 - 1 <= max_group) {
                            if (add_nodes(&w, (int32_t)b2, (int32_t)q, (int32_t)q, self->unk_left, self->unk_right,
                                          self->unk_cost, ufirst, ucount) < 0)
                                goto done;
                            any = 1;
                        }
                        gend = q;
                    }
                }
                Py_ssize_t b3 = b2 + 1;
                for (int i = 1; i <= self->class_length[c0]; i++) {
                    if (b3 == gend)
                        break;
                    if (add_nodes(&w, (int32_t)b2, (int32_t)b3, (int32_t)b3, self->unk_left, self->unk_right,
                                  self->unk_cost, ufirst, ucount) < 0)
                        goto done;
                    any = 1;
                    if (b3 >= e) {
                        if (cut > 0 && (m0 & self->nul_mask) && i < self->class_length[c0]) {
                            PyErr_SetString(Unsupported, CUT);
                            goto done;
                        }
                        break;
                    }
                    if (!(m0 & mask[b3]))
                        break;
                    b3++;
                }
                if (!found && !any) {
                    if (add_nodes(&w, (int32_t)b2, (int32_t)(b2 + 1), (int32_t)(b2 + 1), self->unk_left,
                                  self->unk_right, self->unk_cost, ufirst, ucount) < 0)
                        goto done;
                }
            }
        }
        const Py_ssize_t end_node = w.n_nodes;
        if (end_node == first_node)
            continue;

        /* this position's predecessors, in MeCab's scan order */
        Py_ssize_t np_ = 0;
        for (int32_t q = end_head[p]; q >= 0; q = w.nodes[q].enext)
            np_++;
        if (grow_pred(&w, np_) < 0)
            goto done;
        np_ = 0;
        for (int32_t q = end_head[p]; q >= 0; q = w.nodes[q].enext) {
            w.pcost[np_] = w.nodes[q].cost;
            w.pcol[np_] = w.nodes[q].col;
            w.pid[np_] = q;
            np_++;
        }
        /* the search: nodes with one matrix row share their best predecessor (the first minimum),
         * remembered for up to ROW_CACHE distinct rows of this lookup */
        const int32_t lookup_id = (int32_t)p;
        Py_ssize_t n_touched = 0;
        int32_t rc_row[ROW_CACHE], rc_arg[ROW_CACHE];
        int64_t rc_best[ROW_CACHE];
        int rc_n = 0;
        for (Py_ssize_t k = first_node; k < end_node; k++) {
            Node *nd = &w.nodes[k];
            if (nd->row >= self->n_left || nd->col >= nr) {
                corrupt("context classes outside the matrix");
                goto done;
            }
            int64_t best;
            int32_t arg;
            int r = 0;
            while (r < rc_n && rc_row[r] != nd->row)
                r++;
            if (r < rc_n) {
                best = rc_best[r];
                arg = rc_arg[r];
            } else {
                const int64_t off = (int64_t)nd->row * nr;
                const int8_t *hi = self->high + off;
                const uint8_t *lo = self->low + off;
                best = w.pcost[0] + (int64_t)hi[w.pcol[0]] * 256 + lo[w.pcol[0]];
                Py_ssize_t bi = 0;
                for (Py_ssize_t i = 1; i < np_; i++) {
                    int64_t c = w.pcost[i] + (int64_t)hi[w.pcol[i]] * 256 + lo[w.pcol[i]];
                    if (c < best) {
                        best = c;
                        bi = i;
                    }
                }
                arg = w.pid[bi];
                if (rc_n < ROW_CACHE) {
                    rc_row[rc_n] = nd->row;
                    rc_best[rc_n] = best;
                    rc_arg[rc_n] = arg;
                    rc_n++;
                }
            }
            nd->cost = best + nd->w;
            nd->prev = arg;
            nd->enext = -1;
            const int32_t at = nd->at;
            if (at > last)
                last = at;
            if (at != nd->end)     /* the wrapped node joins no end list */
                continue;
            /* join the end list of `at`: this lookup's nodes in generation order */
            if (stamp[at] != lookup_id) {
                stamp[at] = lookup_id;
                sub_head[at] = sub_tail[at] = (int32_t)k;
                touched[n_touched++] = at;
            } else {
                w.nodes[sub_tail[at]].enext = (int32_t)k;
                sub_tail[at] = (int32_t)k;
            }
        }
        /* ... in front of the nodes of earlier lookups (newest first) */
        for (Py_ssize_t i = 0; i < n_touched; i++) {
            const int32_t at = touched[i];
            w.nodes[sub_tail[at]].enext = end_head[at];
            end_head[at] = sub_head[at];
        }
    }

    /* EOS joins the last position that has nodes; first minimum in scan order: a wrapped node there
     * (made by the latest lookup) first, then the end list */
    int64_t best = INT64_MAX;
    int32_t node = 0;
    if (wrapped) {
        for (Py_ssize_t k = 1; k < w.n_nodes; k++) {
            const Node *nd = &w.nodes[k];
            if (nd->at == last && nd->at != nd->end) {
                int64_t c = nd->cost + cell(self, self->eos_row_off + nd->col);
                if (c < best) {
                    best = c;
                    node = (int32_t)k;
                }
            }
        }
    }
    for (int32_t q = end_head[last]; q >= 0; q = w.nodes[q].enext) {
        int64_t c = w.nodes[q].cost + cell(self, self->eos_row_off + w.nodes[q].col);
        if (c < best) {
            best = c;
            node = q;
        }
    }
    Py_ssize_t len = 0;
    for (int32_t k = node; k > 0; k = w.nodes[k].prev)
        len++;
    result = PyList_New(len);
    if (!result)
        goto done;
    for (int32_t k = node; k > 0; k = w.nodes[k].prev) {
        PyObject *span = PyTuple_New(2);
        if (!span) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, --len, span);
        PyObject *a = PyLong_FromLong(w.nodes[k].beg), *b = PyLong_FromLong(w.nodes[k].end);
        if (!a || !b) {
            Py_XDECREF(a);
            Py_XDECREF(b);
            Py_CLEAR(result);
            goto done;
        }
        PyTuple_SET_ITEM(span, 0, a);
        PyTuple_SET_ITEM(span, 1, b);
    }

done:
    PyMem_Free(block);
    PyMem_Free(w.nodes);
    PyMem_Free(w.pcost);
    PyMem_Free(w.pcol);
    PyMem_Free(w.pid);
    return result;
}

static PyMethodDef Seg_methods[] = {
    {"spans", (PyCFunction)Seg_spans, METH_O,
     "spans(text) -> list of (start, end) of MeCab's best path. The text is cut at its first NUL; where "
     "MeCab's look-ahead window would cut a character in half, Unsupported is raised."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SegType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mbja_runtime.tokenize._segment.Segmenter",
    .tp_basicsize = sizeof(SegObject),
    .tp_itemsize = 0,
    .tp_dealloc = (destructor)Seg_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "MeCab-compatible segmenter over a compiled mbja dictionary's mapped tables (keyword arguments).",
    .tp_methods = Seg_methods,
    .tp_init = (initproc)Seg_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef segment_module = {
    PyModuleDef_HEAD_INIT, "_segment",
    "Optional C accelerator of mbja_runtime's segmenter (see pure_python.py and docs/dictionary-format.md).",
    -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__segment(void)
{
    if (PyType_Ready(&SegType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&segment_module);
    if (!m)
        return NULL;
    Py_INCREF(&SegType);
    if (PyModule_AddObject(m, "Segmenter", (PyObject *)&SegType) < 0) {
        Py_DECREF(&SegType);
        Py_DECREF(m);
        return NULL;
    }
    Unsupported = PyErr_NewExceptionWithDoc(
        "mbja_runtime.tokenize._segment.Unsupported",
        "A text MeCab cannot segment: its look-ahead window would cut a character in half.", PyExc_ValueError, NULL);
    if (!Unsupported || PyModule_AddObject(m, "Unsupported", Unsupported) < 0) {
        Py_XDECREF(Unsupported);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(Unsupported);     /* the module's reference was stolen; keep ours for PyErr_SetString */
    return m;
}
