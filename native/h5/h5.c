/*
 * strata_h5: a small N-API binding of the HDF5 C library (libhdf5).
 *
 * Handles (files, groups, datasets) are HDF5 hid_t values passed to JS as
 * numbers. Datatypes are described by JS descriptors:
 *   'u8' 'u16' 'u32' 'u64' 'i8' 'i16' 'i32' 'i64' 'f32' 'f64'
 *   'vbytes'               variable-length sequence of 1-byte opaque (hvl_t)
 *   'vstr'                 variable-length UTF-8 string
 *   {opaque: n}            opaque of n bytes
 *   {str: n}               fixed string of n bytes, NUL-terminated
 *   {compound: [[name, desc], ...]}   packed compound, members in order
 * Values: integers of 8 bytes are BigInt (Numbers accepted on input), other
 * numbers are Numbers, strings are strings, opaque and vbytes are Buffers,
 * compounds are objects keyed by member name.
 *
 * Every failing HDF5 call throws a JS Error whose message names the
 * operation and the innermost HDF5 error description. HDF5's own error
 * printing is turned off. The library is not thread-safe: call it from one
 * thread per process.
 */
#define _GNU_SOURCE /* dladdr */
#include <node_api.h>
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>
#include <dlfcn.h>

#if H5_VERSION_GE(1, 12, 0)
#define RECLAIM(t, s, b) H5Treclaim((t), (s), H5P_DEFAULT, (b))
#define SENCODE(id, buf, n) H5Sencode2((id), (buf), (n), H5P_DEFAULT)
#else
#define RECLAIM(t, s, b) H5Dvlen_reclaim((t), (s), H5P_DEFAULT, (b))
#define SENCODE(id, buf, n) H5Sencode((id), (buf), (n))
#endif

#define MAXDIMS 32

/* ---------- errors ---------- */

static char g_h5msg[512];

/*
 * The innermost error of the stack. A failed write of the sec2 driver
 * describes itself over several lines (time, file name, buffer, offsets): keep
 * its system error ("file write failed: No space left on device (errno 28)")
 * so the message stays one line.
 */
static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
  if (n == 0) {
    const char *d = e->desc ? e->desc : "";
    const char *em = strstr(d, "error message = '");
    const char *en = strstr(d, "errno = ");
    if (em) {
      em += strlen("error message = '");
      const char *end = strchr(em, '\'');
      int len = end ? (int)(end - em) : (int)strlen(em);
      const char *colon = strchr(d, ':');
      int head = colon ? (int)(colon - d) : 0;
      snprintf(g_h5msg, sizeof g_h5msg, "%.*s%s%.*s (errno %d)", head, d, head ? ": " : "", len, em, en ? atoi(en + 8) : 0);
    } else {
      snprintf(g_h5msg, sizeof g_h5msg, "%s%s%s", d, e->func_name ? " in " : "", e->func_name ? e->func_name : "");
    }
    for (char *c = g_h5msg; *c; c++) if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
  }
  return 0;
}

/*
 * Files (and datasets) whose dirty data could not be written (a full disk):
 * libhdf5 1.10 frees a file whose H5Fclose fails to flush but keeps its id,
 * and H5close at exit then walks into the freed file (SIGSEGV). Such objects
 * are flushed first and, when that fails, never closed: their ids stay valid,
 * the process keeps them until it ends, and the library is not shut down at
 * exit (it would try to flush them again).
 */
static int g_unclosable = 0;

/* Called by HDF5 when an API call fails, before anything else can clear the stack. */
static herr_t on_error(hid_t stack, void *data) {
  g_h5msg[0] = 0;
  H5Ewalk2(stack, H5E_WALK_UPWARD, walk_cb, NULL);
  return 0;
}

static napi_value throw_h5(napi_env env, const char *what) {
  char msg[1500];
  snprintf(msg, sizeof msg, "%s: %s", what, g_h5msg[0] ? g_h5msg : "HDF5 error");
  g_h5msg[0] = 0;
  napi_throw_error(env, "EHDF5", msg);
  return NULL;
}

static napi_value throw_msg(napi_env env, const char *msg) {
  napi_throw_error(env, "EINVAL", msg);
  return NULL;
}

#define CHECK_NAPI(call)                                   \
  do {                                                     \
    if ((call) != napi_ok) {                               \
      bool pending = false;                                \
      napi_is_exception_pending(env, &pending);            \
      if (!pending) napi_throw_error(env, NULL, #call);    \
      goto fail;                                           \
    }                                                      \
  } while (0)

/* ---------- argument helpers ---------- */

static int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  for (size_t i = argc; i < n; i++) napi_get_undefined(env, &argv[i]);
  return (int)argc;
}

/* An export's arguments: argv[0..n-1], those not given undefined. */
#define ARGS(n)       \
  napi_value argv[n]; \
  get_args(env, info, (n), argv)

/*
 * An export on (handle, name, ...): its arguments (ARGS), the handle `h` and
 * `name` (malloc'd: the export frees it). A name that is not a string throws
 * "<fn>: name must be a string".
 */
#define HANDLE_NAME_ARGS(n, fn, h)       \
  ARGS(n);                               \
  hid_t h = get_hid(env, argv[0]);       \
  char *name = get_string(env, argv[1]); \
  if (!name) return throw_msg(env, fn ": name must be a string")

/*
 * An export on (dataset, start, count, ...): its arguments (ARGS), the dataset
 * `ds` and the selection select_slab or select_raw makes of it: fs and ms (the
 * export closes both), n elements. A bad selection has thrown already.
 */
#define SELECTION_ARGS(argn, select)                                    \
  ARGS(argn);                                                           \
  hid_t ds = get_hid(env, argv[0]);                                     \
  hid_t fs, ms;                                                         \
  hsize_t n;                                                            \
  if (select(env, ds, argv[1], argv[2], &fs, &ms, &n)) return NULL

static int get_i64(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) return napi_get_value_int64(env, v, out) == napi_ok ? 0 : -1;
  if (t == napi_bigint) {
    bool lossless;
    return napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok ? 0 : -1;
  }
  return -1;
}

static int get_u64(napi_env env, napi_value v, uint64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) {
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok || d < 0) return -1;
    *out = (uint64_t)d;
    return 0;
  }
  if (t == napi_bigint) {
    bool lossless;
    return napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok ? 0 : -1;
  }
  return -1;
}

static char *get_string(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static int get_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  napi_is_buffer(env, v, &is);
  if (is) return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type tt;
    size_t n, off;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &tt, &n, data, &ab, &off) != napi_ok) return -1;
    if (tt != napi_uint8_array && tt != napi_int8_array && tt != napi_uint8_clamped_array) return -1;
    *len = n;
    return 0;
  }
  return -1;
}

/* Reads a JS array of numbers into hsize_t[]; returns its length or -1. */
static int get_dims(napi_env env, napi_value v, hsize_t *dims, int unlimited_ok) {
  bool is;
  napi_is_array(env, v, &is);
  if (!is) return -1;
  uint32_t n;
  napi_get_array_length(env, v, &n);
  if (n > MAXDIMS) return -1;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    int64_t x;
    if (get_i64(env, e, &x)) return -1;
    if (x < 0) {
      if (!unlimited_ok) return -1;
      dims[i] = H5S_UNLIMITED;
    } else {
      dims[i] = (hsize_t)x;
    }
  }
  return (int)n;
}

static napi_value dims_to_js(napi_env env, const hsize_t *d, int n) {
  napi_value a;
  napi_create_array_with_length(env, n, &a);
  for (int i = 0; i < n; i++) {
    napi_value x;
    napi_create_double(env, d[i] == H5S_UNLIMITED ? -1.0 : (double)d[i], &x);
    napi_set_element(env, a, i, x);
  }
  return a;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static napi_value undef(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* hid_t values use all 64 bits (more than a JS Number holds): JS gets a slot number in this table. */
static hid_t *g_handles;
static size_t g_nhandles;

static napi_value handle_js(napi_env env, hid_t h) {
  size_t i;
  for (i = 1; i < g_nhandles; i++)
    if (g_handles[i] < 0) break;
  if (i >= g_nhandles) {
    size_t n = g_nhandles ? g_nhandles * 2 : 64;
    g_handles = realloc(g_handles, n * sizeof(hid_t));
    for (size_t k = g_nhandles; k < n; k++) g_handles[k] = -1;
    if (g_nhandles == 0) i = 1;
    g_nhandles = n;
  }
  g_handles[i] = h;
  return num(env, (double)i);
}

static hid_t get_hid(napi_env env, napi_value v) {
  int64_t x;
  if (get_i64(env, v, &x) || x <= 0 || (size_t)x >= g_nhandles) return -1;
  return g_handles[x];
}

static void release_handle(napi_env env, napi_value v) {
  int64_t x;
  if (get_i64(env, v, &x) || x <= 0 || (size_t)x >= g_nhandles) return;
  g_handles[x] = -1;
}

/* ---------- datatypes ---------- */

static hid_t type_from_desc(napi_env env, napi_value d);

static hid_t simple_type(const char *s) {
  if (!strcmp(s, "u8")) return H5Tcopy(H5T_NATIVE_UINT8);
  if (!strcmp(s, "u16")) return H5Tcopy(H5T_NATIVE_UINT16);
  if (!strcmp(s, "u32")) return H5Tcopy(H5T_NATIVE_UINT32);
  if (!strcmp(s, "u64")) return H5Tcopy(H5T_NATIVE_UINT64);
  if (!strcmp(s, "i8")) return H5Tcopy(H5T_NATIVE_INT8);
  if (!strcmp(s, "i16")) return H5Tcopy(H5T_NATIVE_INT16);
  if (!strcmp(s, "i32")) return H5Tcopy(H5T_NATIVE_INT32);
  if (!strcmp(s, "i64")) return H5Tcopy(H5T_NATIVE_INT64);
  if (!strcmp(s, "f32")) return H5Tcopy(H5T_NATIVE_FLOAT);
  if (!strcmp(s, "f64")) return H5Tcopy(H5T_NATIVE_DOUBLE);
  if (!strcmp(s, "vbytes")) return H5Tvlen_create(H5T_NATIVE_OPAQUE);
  if (!strcmp(s, "vstr")) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
  }
  return -1;
}

static hid_t type_from_desc(napi_env env, napi_value d) {
  napi_valuetype t;
  napi_typeof(env, d, &t);
  if (t == napi_string) {
    char buf[32];
    size_t len;
    napi_get_value_string_utf8(env, d, buf, sizeof buf, &len);
    return simple_type(buf);
  }
  if (t != napi_object) return -1;
  bool has;
  napi_value v;
  napi_has_named_property(env, d, "opaque", &has);
  if (has) {
    napi_get_named_property(env, d, "opaque", &v);
    int64_t n;
    if (get_i64(env, v, &n) || n <= 0) return -1;
    return H5Tcreate(H5T_OPAQUE, (size_t)n);
  }
  napi_has_named_property(env, d, "str", &has);
  if (has) {
    napi_get_named_property(env, d, "str", &v);
    int64_t n;
    if (get_i64(env, v, &n) || n <= 0) return -1;
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, (size_t)n);
    H5Tset_strpad(s, H5T_STR_NULLTERM);
    return s;
  }
  napi_has_named_property(env, d, "compound", &has);
  if (has) {
    napi_get_named_property(env, d, "compound", &v);
    uint32_t n;
    if (napi_get_array_length(env, v, &n) != napi_ok || n == 0) return -1;
    hid_t mt[256];
    char *names[256];
    if (n > 256) return -1;
    size_t size = 0;
    uint32_t i;
    for (i = 0; i < n; i++) {
      napi_value m, mn, md;
      napi_get_element(env, v, i, &m);
      napi_get_element(env, m, 0, &mn);
      napi_get_element(env, m, 1, &md);
      names[i] = get_string(env, mn);
      mt[i] = type_from_desc(env, md);
      if (!names[i] || mt[i] < 0) { i++; goto bad; }
      size += H5Tget_size(mt[i]);
    }
    hid_t c = H5Tcreate(H5T_COMPOUND, size);
    size_t off = 0;
    for (i = 0; i < n; i++) {
      H5Tinsert(c, names[i], off, mt[i]);
      off += H5Tget_size(mt[i]);
      H5Tclose(mt[i]);
      free(names[i]);
    }
    return c;
  bad:
    for (uint32_t j = 0; j < i; j++) {
      if (mt[j] >= 0) H5Tclose(mt[j]);
      free(names[j]);
    }
    return -1;
  }
  return -1;
}

/* Describes a (file) datatype for JS: {class, size, signed?, variable?, base?, members?}. */
static napi_value describe_type(napi_env env, hid_t t) {
  napi_value o;
  napi_create_object(env, &o);
  H5T_class_t c = H5Tget_class(t);
  const char *cls = "other";
  switch (c) {
    case H5T_INTEGER: cls = "integer"; break;
    case H5T_FLOAT: cls = "float"; break;
    case H5T_STRING: cls = "string"; break;
    case H5T_OPAQUE: cls = "opaque"; break;
    case H5T_COMPOUND: cls = "compound"; break;
    case H5T_VLEN: cls = "vlen"; break;
    case H5T_ARRAY: cls = "array"; break;
    case H5T_ENUM: cls = "enum"; break;
    case H5T_REFERENCE: cls = "reference"; break;
    case H5T_BITFIELD: cls = "bitfield"; break;
    case H5T_TIME: cls = "time"; break;
    default: break;
  }
  napi_value s;
  napi_create_string_utf8(env, cls, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, o, "class", s);
  napi_set_named_property(env, o, "size", num(env, (double)H5Tget_size(t)));
  if (c == H5T_INTEGER) {
    napi_value b;
    napi_get_boolean(env, H5Tget_sign(t) == H5T_SGN_2, &b);
    napi_set_named_property(env, o, "signed", b);
  }
  if (c == H5T_STRING) {
    napi_value b;
    napi_get_boolean(env, H5Tis_variable_str(t) > 0, &b);
    napi_set_named_property(env, o, "variable", b);
  }
  if (c == H5T_VLEN || c == H5T_ARRAY) {
    hid_t b = H5Tget_super(t);
    napi_set_named_property(env, o, "base", describe_type(env, b));
    H5Tclose(b);
  }
  if (c == H5T_COMPOUND) {
    int n = H5Tget_nmembers(t);
    napi_value arr;
    napi_create_array_with_length(env, n > 0 ? n : 0, &arr);
    for (int i = 0; i < n; i++) {
      napi_value m, nm;
      napi_create_object(env, &m);
      char *name = H5Tget_member_name(t, (unsigned)i);
      napi_create_string_utf8(env, name ? name : "", NAPI_AUTO_LENGTH, &nm);
      if (name) H5free_memory(name);
      napi_set_named_property(env, m, "name", nm);
      hid_t mt = H5Tget_member_type(t, (unsigned)i);
      napi_set_named_property(env, m, "type", describe_type(env, mt));
      H5Tclose(mt);
      napi_set_element(env, arr, i, m);
    }
    napi_set_named_property(env, o, "members", arr);
  }
  return o;
}

/* ---------- value conversion (memory types built by type_from_desc or H5Tget_native_type) ---------- */

typedef struct {
  void **ptrs;
  size_t n, cap;
} cleanup_t;

static void cleanup_add(cleanup_t *c, void *p) {
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 64;
    c->ptrs = realloc(c->ptrs, c->cap * sizeof(void *));
  }
  c->ptrs[c->n++] = p;
}

static void cleanup_free(cleanup_t *c) {
  for (size_t i = 0; i < c->n; i++) free(c->ptrs[i]);
  free(c->ptrs);
  c->ptrs = NULL;
  c->n = c->cap = 0;
}

/* Writes JS value v as memory type t at p. Returns 0 or -1 (with a JS exception set). */
static int from_js(napi_env env, hid_t t, napi_value v, unsigned char *p, cleanup_t *cl) {
  H5T_class_t c = H5Tget_class(t);
  size_t sz = H5Tget_size(t);
  switch (c) {
    case H5T_INTEGER: {
      if (sz == 8) {
        if (H5Tget_sign(t) == H5T_SGN_2) {
          int64_t x;
          if (get_i64(env, v, &x)) goto bad;
          memcpy(p, &x, 8);
        } else {
          uint64_t x;
          if (get_u64(env, v, &x)) goto bad;
          memcpy(p, &x, 8);
        }
      } else {
        int64_t x;
        if (get_i64(env, v, &x)) goto bad;
        if (sz == 1) { uint8_t y = (uint8_t)x; memcpy(p, &y, 1); }
        else if (sz == 2) { uint16_t y = (uint16_t)x; memcpy(p, &y, 2); }
        else { uint32_t y = (uint32_t)x; memcpy(p, &y, 4); }
      }
      return 0;
    }
    case H5T_FLOAT: {
      double d;
      if (napi_get_value_double(env, v, &d) != napi_ok) goto bad;
      if (sz == 4) { float f = (float)d; memcpy(p, &f, 4); } else memcpy(p, &d, 8);
      return 0;
    }
    case H5T_STRING: {
      char *s = get_string(env, v);
      if (!s) goto bad;
      if (H5Tis_variable_str(t) > 0) {
        cleanup_add(cl, s);
        memcpy(p, &s, sizeof(char *));
      } else {
        memset(p, 0, sz);
        size_t l = strlen(s);
        memcpy(p, s, l < sz ? l : sz);
        free(s);
      }
      return 0;
    }
    case H5T_OPAQUE: {
      void *data;
      size_t len;
      if (get_bytes(env, v, &data, &len)) goto bad;
      memset(p, 0, sz);
      memcpy(p, data, len < sz ? len : sz);
      return 0;
    }
    case H5T_VLEN: {
      hid_t b = H5Tget_super(t);
      size_t bsz = H5Tget_size(b);
      H5T_class_t bc = H5Tget_class(b);
      hvl_t h = {0, NULL};
      if ((bc == H5T_OPAQUE || bc == H5T_INTEGER) && bsz == 1) {
        void *data;
        size_t len;
        if (get_bytes(env, v, &data, &len)) { H5Tclose(b); goto bad; }
        h.len = len;
        h.p = data; /* points into the JS buffer, alive for the call */
      } else {
        uint32_t n;
        if (napi_get_array_length(env, v, &n) != napi_ok) { H5Tclose(b); goto bad; }
        unsigned char *buf = calloc(n ? n : 1, bsz);
        cleanup_add(cl, buf);
        for (uint32_t i = 0; i < n; i++) {
          napi_value e;
          napi_get_element(env, v, i, &e);
          if (from_js(env, b, e, buf + i * bsz, cl)) { H5Tclose(b); return -1; }
        }
        h.len = n;
        h.p = buf;
      }
      H5Tclose(b);
      memcpy(p, &h, sizeof h);
      return 0;
    }
    case H5T_COMPOUND: {
      int n = H5Tget_nmembers(t);
      for (int i = 0; i < n; i++) {
        char *name = H5Tget_member_name(t, (unsigned)i);
        size_t off = H5Tget_member_offset(t, (unsigned)i);
        hid_t mt = H5Tget_member_type(t, (unsigned)i);
        napi_value e;
        bool has = false;
        napi_has_named_property(env, v, name, &has);
        if (!has) {
          char msg[300];
          snprintf(msg, sizeof msg, "compound value lacks member '%s'", name);
          H5free_memory(name);
          H5Tclose(mt);
          napi_throw_error(env, "EINVAL", msg);
          return -1;
        }
        napi_get_named_property(env, v, name, &e);
        H5free_memory(name);
        int r = from_js(env, mt, e, p + off, cl);
        H5Tclose(mt);
        if (r) return -1;
      }
      return 0;
    }
    default:
      napi_throw_error(env, "ENOTSUP", "unsupported datatype class for writing");
      return -1;
  }
bad: {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "EINVAL", "value does not match the datatype");
    return -1;
  }
}

static napi_value to_js(napi_env env, hid_t t, const unsigned char *p) {
  H5T_class_t c = H5Tget_class(t);
  size_t sz = H5Tget_size(t);
  napi_value v = NULL;
  switch (c) {
    case H5T_INTEGER: {
      int sgn = H5Tget_sign(t) == H5T_SGN_2;
      if (sz == 8) {
        if (sgn) { int64_t x; memcpy(&x, p, 8); napi_create_bigint_int64(env, x, &v); }
        else { uint64_t x; memcpy(&x, p, 8); napi_create_bigint_uint64(env, x, &v); }
      } else if (sz == 4) {
        if (sgn) { int32_t x; memcpy(&x, p, 4); v = num(env, x); } else { uint32_t x; memcpy(&x, p, 4); v = num(env, x); }
      } else if (sz == 2) {
        if (sgn) { int16_t x; memcpy(&x, p, 2); v = num(env, x); } else { uint16_t x; memcpy(&x, p, 2); v = num(env, x); }
      } else {
        if (sgn) { int8_t x; memcpy(&x, p, 1); v = num(env, x); } else { v = num(env, p[0]); }
      }
      return v;
    }
    case H5T_FLOAT: {
      if (sz == 4) { float f; memcpy(&f, p, 4); return num(env, f); }
      double d; memcpy(&d, p, 8); return num(env, d);
    }
    case H5T_STRING: {
      if (H5Tis_variable_str(t) > 0) {
        char *s;
        memcpy(&s, p, sizeof s);
        napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v);
      } else {
        size_t l = 0;
        while (l < sz && p[l]) l++;
        napi_create_string_utf8(env, (const char *)p, l, &v);
      }
      return v;
    }
    case H5T_OPAQUE: {
      void *d;
      napi_create_buffer_copy(env, sz, p, &d, &v);
      return v;
    }
    case H5T_VLEN: {
      hvl_t h;
      memcpy(&h, p, sizeof h);
      hid_t b = H5Tget_super(t);
      size_t bsz = H5Tget_size(b);
      H5T_class_t bc = H5Tget_class(b);
      if ((bc == H5T_OPAQUE || bc == H5T_INTEGER) && bsz == 1) {
        void *d;
        napi_create_buffer_copy(env, h.len, h.len ? h.p : (void *)"", &d, &v);
      } else {
        napi_create_array_with_length(env, h.len, &v);
        for (size_t i = 0; i < h.len; i++) napi_set_element(env, v, (uint32_t)i, to_js(env, b, (unsigned char *)h.p + i * bsz));
      }
      H5Tclose(b);
      return v;
    }
    case H5T_COMPOUND: {
      napi_create_object(env, &v);
      int n = H5Tget_nmembers(t);
      for (int i = 0; i < n; i++) {
        char *name = H5Tget_member_name(t, (unsigned)i);
        size_t off = H5Tget_member_offset(t, (unsigned)i);
        hid_t mt = H5Tget_member_type(t, (unsigned)i);
        napi_set_named_property(env, v, name, to_js(env, mt, p + off));
        H5free_memory(name);
        H5Tclose(mt);
      }
      return v;
    }
    case H5T_ARRAY: {
      hid_t b = H5Tget_super(t);
      size_t bsz = H5Tget_size(b);
      size_t n = bsz ? sz / bsz : 0;
      napi_create_array_with_length(env, n, &v);
      for (size_t i = 0; i < n; i++) napi_set_element(env, v, (uint32_t)i, to_js(env, b, p + i * bsz));
      H5Tclose(b);
      return v;
    }
    default: {
      void *d;
      napi_create_buffer_copy(env, sz, p, &d, &v);
      return v;
    }
  }
}

/* ---------- files ---------- */

static int order_set(napi_env env, napi_value o, hid_t plist, int links);

/* open(path, mode 'r'|'rw'|'w'|'x', {userblock?}) -> file id */
static napi_value js_open(napi_env env, napi_callback_info info) {
  ARGS(3);
  char *path = get_string(env, argv[0]);
  char mode[8] = "r";
  size_t ml;
  napi_get_value_string_utf8(env, argv[1], mode, sizeof mode, &ml);
  if (!path) return throw_msg(env, "open: path must be a string");
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  hid_t f;
  if (!strcmp(mode, "w") || !strcmp(mode, "x")) {
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    napi_valuetype ot;
    napi_typeof(env, argv[2], &ot);
    if (ot == napi_object) {
      napi_value ub;
      bool has;
      napi_has_named_property(env, argv[2], "userblock", &has);
      if (has) {
        napi_get_named_property(env, argv[2], "userblock", &ub);
        int64_t n;
        if (!get_i64(env, ub, &n) && n > 0) H5Pset_userblock(fcpl, (hsize_t)n);
      }
    }
    order_set(env, argv[2], fcpl, 1);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    f = H5Fcreate(path, !strcmp(mode, "w") ? H5F_ACC_TRUNC : H5F_ACC_EXCL, fcpl, fapl);
    H5Pclose(fcpl);
  } else {
    f = H5Fopen(path, !strcmp(mode, "rw") ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  }
  H5Pclose(fapl);
  if (f < 0) {
    char what[600];
    snprintf(what, sizeof what, "cannot open as HDF5");
    free(path);
    return throw_h5(env, what);
  }
  free(path);
  return handle_js(env, f);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  hid_t id = get_hid(env, argv[0]);
  herr_t r;
  H5I_type_t t = H5Iget_type(id);
  if ((t == H5I_FILE && H5Fflush(id, H5F_SCOPE_LOCAL) < 0) || (t == H5I_DATASET && H5Dflush(id) < 0)) {
    g_unclosable++;
    release_handle(env, argv[0]);
    return throw_h5(env, "close");
  }
  switch (t) {
    case H5I_FILE: r = H5Fclose(id); if (r < 0) g_unclosable++; break;
    case H5I_GROUP: r = H5Gclose(id); break;
    case H5I_DATASET: r = H5Dclose(id); break;
    case H5I_ATTR: r = H5Aclose(id); break;
    case H5I_DATATYPE: r = H5Tclose(id); break;
    default: return throw_msg(env, "close: not an open HDF5 handle");
  }
  release_handle(env, argv[0]);
  if (r < 0) return throw_h5(env, "close");
  return undef(env);
}

static napi_value js_flush(napi_env env, napi_callback_info info) {
  ARGS(1);
  if (H5Fflush(get_hid(env, argv[0]), H5F_SCOPE_LOCAL) < 0) return throw_h5(env, "flush");
  return undef(env);
}

/* ---------- groups and links ---------- */

static napi_value js_create_group(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(2, "createGroup", loc);
  hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  free(name);
  if (g < 0) return throw_h5(env, "create group");
  return handle_js(env, g);
}

static napi_value js_open_group(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(2, "openGroup", loc);
  hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
  free(name);
  if (g < 0) return throw_h5(env, "open group");
  return handle_js(env, g);
}

static napi_value js_exists(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(2, "exists", loc);
  htri_t r = H5Lexists(loc, name, H5P_DEFAULT);
  free(name);
  if (r < 0) return throw_h5(env, "link exists");
  napi_value b;
  napi_get_boolean(env, r > 0, &b);
  return b;
}

/*
 * Names of links and attributes are gathered with H5_ITER_NATIVE and sorted
 * here (strcmp, HDF5's own name order). Increasing name order over dense
 * (fractal heap) storage makes libhdf5 1.10 build a table of the links first,
 * and when that fails on a damaged heap it frees the table's uninitialised
 * entries (SIGSEGV in H5G__link_release_table). Native order walks the name
 * index directly and fails cleanly. Nothing is done inside the callbacks but
 * copying: lookups run after the iteration has ended.
 */
typedef struct { char *name; int type; size_t val_size; } entry_t;
typedef struct { entry_t *v; size_t n, cap; int oom; } entries_t;

static int entries_add(entries_t *e, const char *name, int type, size_t val_size) {
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 16;
    entry_t *v = realloc(e->v, cap * sizeof *v);
    if (!v) { e->oom = 1; return -1; }
    e->v = v;
    e->cap = cap;
  }
  char *n = strdup(name ? name : "");
  if (!n) { e->oom = 1; return -1; }
  e->v[e->n].name = n;
  e->v[e->n].type = type;
  e->v[e->n].val_size = val_size;
  e->n++;
  return 0;
}

static void entries_free(entries_t *e) {
  for (size_t i = 0; i < e->n; i++) free(e->v[i].name);
  free(e->v);
  e->v = NULL;
  e->n = e->cap = 0;
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const entry_t *)a)->name, ((const entry_t *)b)->name);
}

/* The names of e as a JS array of strings; frees e. */
static napi_value names_array(napi_env env, entries_t *e) {
  napi_value arr;
  napi_create_array_with_length(env, e->n, &arr);
  for (size_t i = 0; i < e->n; i++) {
    napi_value s;
    napi_create_string_utf8(env, e->v[i].name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, (uint32_t)i, s);
  }
  entries_free(e);
  return arr;
}

static herr_t gather_link_cb(hid_t g, const char *name, const H5L_info_t *li, void *d) {
  return entries_add(d, name, (int)li->type, li->type == H5L_TYPE_HARD ? 0 : li->u.val_size) < 0 ? -1 : 0;
}

static herr_t gather_attr_cb(hid_t loc, const char *name, const H5A_info_t *ai, void *d) {
  return entries_add(d, name, 0, 0) < 0 ? -1 : 0;
}

/* Links of a group in name order; 0, or -1 with a JS exception thrown. */
static int gather_links(napi_env env, hid_t loc, entries_t *e) {
  hsize_t idx = 0;
  herr_t r;
#if H5_VERSION_GE(1, 12, 0)
  r = H5Literate1(loc, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, gather_link_cb, e);
#else
  r = H5Literate(loc, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, gather_link_cb, e);
#endif
  if (r < 0 || e->oom) {
    int oom = e->oom;
    entries_free(e);
    if (oom) throw_msg(env, "list links: out of memory"); else throw_h5(env, "list links");
    return -1;
  }
  qsort(e->v, e->n, sizeof *e->v, entry_cmp);
  for (size_t i = 0; i < e->n; i++) {
    const char *n = e->v[i].name;
    /* A name HDF5 would never create: following it as a path would reach some other object. */
    if (!n[0] || strchr(n, '/') || !strcmp(n, ".")) {
      char msg[400];
      snprintf(msg, sizeof msg, "list links: link name '%.300s' is not a valid name (corrupt file?)", n);
      entries_free(e);
      throw_msg(env, msg);
      return -1;
    }
  }
  return 0;
}

static napi_value js_list_links(napi_env env, napi_callback_info info) {
  ARGS(1);
  entries_t e = {0};
  if (gather_links(env, get_hid(env, argv[0]), &e)) return NULL;
  return names_array(env, &e);
}

/* ---------- datasets ---------- */

/* createDataset(loc, name, desc, {dims, maxdims?, chunk?, fillNever?}) -> dataset id */
static napi_value js_create_dataset(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(4, "createDataset", loc);
  hid_t t = type_from_desc(env, argv[2]);
  if (t < 0) { free(name); return throw_msg(env, "createDataset: bad datatype descriptor"); }
  hsize_t dims[MAXDIMS], maxdims[MAXDIMS], chunk[MAXDIMS];
  napi_value v;
  bool has;
  int nd = -1, nm = -1, nc = -1;
  napi_get_named_property(env, argv[3], "dims", &v);
  nd = get_dims(env, v, dims, 0);
  napi_has_named_property(env, argv[3], "maxdims", &has);
  if (has) { napi_get_named_property(env, argv[3], "maxdims", &v); nm = get_dims(env, v, maxdims, 1); }
  napi_has_named_property(env, argv[3], "chunk", &has);
  if (has) { napi_get_named_property(env, argv[3], "chunk", &v); nc = get_dims(env, v, chunk, 0); }
  if (nd < 1 || (nm >= 0 && nm != nd) || (nc >= 0 && nc != nd)) {
    free(name);
    H5Tclose(t);
    return throw_msg(env, "createDataset: bad dims/maxdims/chunk");
  }
  hid_t space = H5Screate_simple(nd, dims, nm >= 0 ? maxdims : NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (nc >= 0) H5Pset_chunk(dcpl, nc, chunk);
  napi_has_named_property(env, argv[3], "fillNever", &has);
  if (has) H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  hid_t ds = H5Dcreate2(loc, name, t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Tclose(t);
  if (ds < 0) {
    char what[400];
    snprintf(what, sizeof what, "create dataset '%.300s'", name);
    free(name);
    return throw_h5(env, what);
  }
  free(name);
  return handle_js(env, ds);
}

static napi_value js_open_dataset(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(2, "openDataset", loc);
  hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
  if (ds < 0) {
    char what[400];
    snprintf(what, sizeof what, "open dataset '%.300s'", name);
    free(name);
    return throw_h5(env, what);
  }
  free(name);
  return handle_js(env, ds);
}

/* info(ds) -> {dims, maxdims, chunk?, type} */
static napi_value js_dataset_info(napi_env env, napi_callback_info info) {
  ARGS(1);
  hid_t ds = get_hid(env, argv[0]);
  hid_t space = H5Dget_space(ds);
  if (space < 0) return throw_h5(env, "dataset space");
  int nd = H5Sget_simple_extent_ndims(space);
  if (nd < 0 || nd > MAXDIMS) { H5Sclose(space); return throw_msg(env, "dataset has an unsupported dataspace"); }
  hsize_t dims[MAXDIMS], maxdims[MAXDIMS];
  H5Sget_simple_extent_dims(space, dims, maxdims);
  H5Sclose(space);
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "dims", dims_to_js(env, dims, nd));
  napi_set_named_property(env, o, "maxdims", dims_to_js(env, maxdims, nd));
  hid_t dcpl = H5Dget_create_plist(ds);
  if (dcpl >= 0) {
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
      hsize_t ch[MAXDIMS];
      int nc = H5Pget_chunk(dcpl, MAXDIMS, ch);
      if (nc > 0) napi_set_named_property(env, o, "chunk", dims_to_js(env, ch, nc));
    }
    H5Pclose(dcpl);
  }
  hid_t t = H5Dget_type(ds);
  if (t < 0) return throw_h5(env, "dataset type");
  napi_set_named_property(env, o, "type", describe_type(env, t));
  H5Tclose(t);
  return o;
}

static napi_value js_set_extent(napi_env env, napi_callback_info info) {
  ARGS(2);
  hsize_t dims[MAXDIMS];
  if (get_dims(env, argv[1], dims, 0) < 1) return throw_msg(env, "setExtent: bad dims");
  if (H5Dset_extent(get_hid(env, argv[0]), dims) < 0) return throw_h5(env, "extend dataset");
  return undef(env);
}

/* Selects start/count on the dataset's space; returns file space and mem space (or -1 with exception). */
static int select_slab(napi_env env, hid_t ds, napi_value jstart, napi_value jcount, hid_t *fspace, hid_t *mspace, hsize_t *nelem) {
  hsize_t start[MAXDIMS], count[MAXDIMS];
  int ns = get_dims(env, jstart, start, 0), nc = get_dims(env, jcount, count, 0);
  *fspace = H5Dget_space(ds);
  if (*fspace < 0) { throw_h5(env, "dataset space"); return -1; }
  int nd = H5Sget_simple_extent_ndims(*fspace);
  if (ns != nd || nc != nd) { H5Sclose(*fspace); throw_msg(env, "start/count do not match the dataset's rank"); return -1; }
  hsize_t dims[MAXDIMS];
  H5Sget_simple_extent_dims(*fspace, dims, NULL);
  hsize_t n = 1;
  for (int i = 0; i < nd; i++) {
    if (start[i] + count[i] > dims[i] || start[i] + count[i] < start[i]) {
      H5Sclose(*fspace);
      throw_msg(env, "selection is outside the dataset's extent");
      return -1;
    }
    n *= count[i];
  }
  *nelem = n;
  if (n == 0) { H5Sselect_none(*fspace); } else if (H5Sselect_hyperslab(*fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0) {
    H5Sclose(*fspace); throw_h5(env, "select hyperslab"); return -1;
  }
  hsize_t m = n;
  *mspace = H5Screate_simple(1, &m, NULL);
  if (n == 0) H5Sselect_none(*mspace);
  return 0;
}

/* writeSlab(ds, start[], count[], buffer): raw write in the dataset's own type. */
static napi_value js_write_slab(napi_env env, napi_callback_info info) {
  ARGS(4);
  hid_t ds = get_hid(env, argv[0]);
  void *data;
  size_t len;
  if (get_bytes(env, argv[3], &data, &len)) return throw_msg(env, "writeSlab: data must be a Buffer");
  hid_t fs, ms;
  hsize_t n;
  if (select_slab(env, ds, argv[1], argv[2], &fs, &ms, &n)) return NULL;
  hid_t t = H5Dget_type(ds);
  size_t sz = H5Tget_size(t);
  H5T_class_t c = H5Tget_class(t);
  if (c == H5T_VLEN || c == H5T_COMPOUND || (c == H5T_STRING && H5Tis_variable_str(t) > 0) || n * sz != len) {
    H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
    { char m[200]; snprintf(m, sizeof m, "writeSlab: data size (%zu bytes) does not match the selection (%llu x %zu bytes), or the type is not fixed-size", len, (unsigned long long)n, sz); return throw_msg(env, m); }
  }
  herr_t r = n ? H5Dwrite(ds, t, ms, fs, H5P_DEFAULT, data) : 0;
  H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
  if (r < 0) return throw_h5(env, "write dataset");
  return undef(env);
}

/* readSlab(ds, start[], count[]) -> Buffer (raw, dataset's own type). */
static napi_value js_read_slab(napi_env env, napi_callback_info info) {
  SELECTION_ARGS(3, select_slab);
  hid_t t = H5Dget_type(ds);
  size_t sz = H5Tget_size(t);
  H5T_class_t c = H5Tget_class(t);
  if (c == H5T_VLEN || c == H5T_COMPOUND || (c == H5T_STRING && H5Tis_variable_str(t) > 0)) {
    H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
    return throw_msg(env, "readSlab: the dataset's type is not fixed-size");
  }
  napi_value buf;
  void *data;
  if (napi_create_buffer(env, n * sz, &data, &buf) != napi_ok) {
    H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
    return throw_msg(env, "readSlab: out of memory");
  }
  herr_t r = n ? H5Dread(ds, t, ms, fs, H5P_DEFAULT, data) : 0;
  H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
  if (r < 0) return throw_h5(env, "read dataset");
  return buf;
}

/* writeRows(ds, desc, start, rows[]) on a 1-D dataset; values converted from JS. */
static napi_value js_write_rows(napi_env env, napi_callback_info info) {
  ARGS(4);
  hid_t ds = get_hid(env, argv[0]);
  hid_t mt = type_from_desc(env, argv[1]);
  if (mt < 0) return throw_msg(env, "writeRows: bad datatype descriptor");
  uint32_t n;
  if (napi_get_array_length(env, argv[3], &n) != napi_ok) { H5Tclose(mt); return throw_msg(env, "writeRows: rows must be an array"); }
  napi_value jc;
  napi_create_array_with_length(env, 1, &jc);
  napi_set_element(env, jc, 0, num(env, n));
  napi_value js;
  napi_create_array_with_length(env, 1, &js);
  napi_set_element(env, js, 0, argv[2]);
  hid_t fs, ms;
  hsize_t cnt;
  if (select_slab(env, ds, js, jc, &fs, &ms, &cnt)) { H5Tclose(mt); return NULL; }
  size_t sz = H5Tget_size(mt);
  unsigned char *buf = calloc(n ? n : 1, sz);
  cleanup_t cl = {0};
  herr_t r = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value row;
    napi_get_element(env, argv[3], i, &row);
    if (from_js(env, mt, row, buf + (size_t)i * sz, &cl)) { r = -2; break; }
  }
  if (r == 0 && n) r = H5Dwrite(ds, mt, ms, fs, H5P_DEFAULT, buf);
  free(buf);
  cleanup_free(&cl);
  H5Tclose(mt); H5Sclose(fs); H5Sclose(ms);
  if (r == -2) return NULL;
  if (r < 0) return throw_h5(env, "write rows");
  return undef(env);
}

/* readRows(ds, start, count) on a 1-D dataset -> values (native form of the file type). */
static napi_value js_read_rows(napi_env env, napi_callback_info info) {
  ARGS(3);
  hid_t ds = get_hid(env, argv[0]);
  napi_value js, jc;
  napi_create_array_with_length(env, 1, &js);
  napi_set_element(env, js, 0, argv[1]);
  napi_create_array_with_length(env, 1, &jc);
  napi_set_element(env, jc, 0, argv[2]);
  hid_t fs, ms;
  hsize_t n;
  if (select_slab(env, ds, js, jc, &fs, &ms, &n)) return NULL;
  hid_t ft = H5Dget_type(ds);
  hid_t mt = H5Tget_native_type(ft, H5T_DIR_ASCEND);
  H5Tclose(ft);
  if (mt < 0) { H5Sclose(fs); H5Sclose(ms); return throw_h5(env, "native type"); }
  size_t sz = H5Tget_size(mt);
  unsigned char *buf = calloc(n ? n : 1, sz);
  herr_t r = n ? H5Dread(ds, mt, ms, fs, H5P_DEFAULT, buf) : 0;
  if (r < 0) {
    free(buf); H5Tclose(mt); H5Sclose(fs); H5Sclose(ms);
    return throw_h5(env, "read rows");
  }
  napi_value arr;
  napi_create_array_with_length(env, n, &arr);
  for (hsize_t i = 0; i < n; i++) napi_set_element(env, arr, (uint32_t)i, to_js(env, mt, buf + i * sz));
  if (n) RECLAIM(mt, ms, buf);
  free(buf);
  H5Tclose(mt); H5Sclose(fs); H5Sclose(ms);
  return arr;
}

/* ---------- attributes ---------- */

/* Writes attribute `name` of loc anew (an existing one is deleted first): type t, dataspace sp, n elements from buf. */
static herr_t replace_attr(hid_t loc, const char *name, hid_t t, hid_t sp, hssize_t n, const void *buf) {
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  herr_t r = a < 0 ? -1 : n ? H5Awrite(a, t, buf) : 0;
  if (a >= 0) H5Aclose(a);
  return r;
}

/* writeAttr(loc, name, desc, values[], {scalar?}) — replaces an existing attribute. */
static napi_value js_write_attr(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(5, "writeAttr", loc);
  hid_t t = type_from_desc(env, argv[2]);
  if (t < 0) { free(name); return throw_msg(env, "writeAttr: bad datatype descriptor"); }
  uint32_t n;
  if (napi_get_array_length(env, argv[3], &n) != napi_ok) { free(name); H5Tclose(t); return throw_msg(env, "writeAttr: values must be an array"); }
  bool scalar = false;
  napi_valuetype ot;
  napi_typeof(env, argv[4], &ot);
  if (ot == napi_object) {
    bool has;
    napi_has_named_property(env, argv[4], "scalar", &has);
    if (has) { napi_value sv; napi_get_named_property(env, argv[4], "scalar", &sv); napi_get_value_bool(env, sv, &scalar); }
  }
  if (scalar && n != 1) { free(name); H5Tclose(t); return throw_msg(env, "writeAttr: a scalar attribute takes one value"); }
  size_t sz = H5Tget_size(t);
  unsigned char *buf = calloc(n ? n : 1, sz);
  cleanup_t cl = {0};
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, argv[3], i, &e);
    if (from_js(env, t, e, buf + (size_t)i * sz, &cl)) { free(buf); cleanup_free(&cl); free(name); H5Tclose(t); return NULL; }
  }
  hsize_t d = n;
  hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &d, NULL);
  herr_t r = replace_attr(loc, name, t, space, n, buf);
  H5Sclose(space);
  H5Tclose(t);
  free(buf);
  cleanup_free(&cl);
  if (r < 0) {
    char what[400];
    snprintf(what, sizeof what, "write attribute '%.300s'", name);
    free(name);
    return throw_h5(env, what);
  }
  free(name);
  return undef(env);
}

/*
 * Opens attribute `name` of loc to read it (and frees name): its handle, file
 * type, dataspace and element count (0 for a null dataspace); `what` (400
 * bytes) names it in errors. 0, or -1 with the JS error thrown and nothing
 * left open.
 */
static int open_attr_read(napi_env env, hid_t loc, char *name, char *what, hid_t *a, hid_t *t, hid_t *sp, hssize_t *n) {
  snprintf(what, 400, "read attribute '%.300s'", name);
  *a = H5Aopen(loc, name, H5P_DEFAULT);
  free(name);
  if (*a < 0) { throw_h5(env, what); return -1; }
  *t = H5Aget_type(*a);
  *sp = H5Aget_space(*a);
  *n = *sp < 0 ? -1 : H5Sget_simple_extent_type(*sp) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(*sp);
  if (*t < 0 || *sp < 0 || *n < 0) {
    if (*t >= 0) H5Tclose(*t);
    if (*sp >= 0) H5Sclose(*sp);
    H5Aclose(*a);
    throw_h5(env, what);
    return -1;
  }
  return 0;
}

/*
 * An export reading attribute (loc, name): HANDLE_NAME_ARGS, then the
 * attribute opened (open_attr_read): a, its type t, dataspace sp, n elements
 * and `what` for errors; the export closes a, t and sp.
 */
#define ATTR_READ_ARGS(fn)      \
  HANDLE_NAME_ARGS(2, fn, loc); \
  char what[400];               \
  hid_t a, t, sp;               \
  hssize_t n;                   \
  if (open_attr_read(env, loc, name, what, &a, &t, &sp, &n)) return NULL

/* readAttr(loc, name) -> {type, dims, values[]} */
static napi_value js_read_attr(napi_env env, napi_callback_info info) {
  ATTR_READ_ARGS("readAttr");
  hid_t mt = H5Tget_native_type(t, H5T_DIR_ASCEND);
  int nd = H5Sget_simple_extent_ndims(sp);
  if (mt < 0 || nd < 0 || nd > MAXDIMS) {
    if (mt >= 0) H5Tclose(mt);
    H5Tclose(t); H5Sclose(sp); H5Aclose(a);
    return throw_h5(env, what);
  }
  size_t sz = H5Tget_size(mt);
  if ((double)n * (double)sz > 256.0 * 1024 * 1024) {
    H5Tclose(mt); H5Tclose(t); H5Sclose(sp); H5Aclose(a);
    return throw_msg(env, "attribute is too large");
  }
  unsigned char *buf = calloc(n ? (size_t)n : 1, sz);
  herr_t r = H5Aread(a, mt, buf);
  napi_value o = NULL;
  if (r >= 0) {
    napi_create_object(env, &o);
    napi_set_named_property(env, o, "type", describe_type(env, t));
    hsize_t dims[MAXDIMS];
    H5Sget_simple_extent_dims(sp, dims, NULL);
    napi_set_named_property(env, o, "dims", dims_to_js(env, dims, nd));
    napi_value arr;
    napi_create_array_with_length(env, (size_t)n, &arr);
    for (hssize_t i = 0; i < n; i++) napi_set_element(env, arr, (uint32_t)i, to_js(env, mt, buf + (size_t)i * sz));
    napi_set_named_property(env, o, "values", arr);
    RECLAIM(mt, sp, buf);
  }
  free(buf);
  H5Tclose(mt); H5Tclose(t); H5Sclose(sp); H5Aclose(a);
  if (r < 0) return throw_h5(env, what);
  return o;
}

static napi_value js_attr_names(napi_env env, napi_callback_info info) {
  ARGS(1);
  entries_t e = {0};
  hsize_t idx = 0;
  /* Native order, then sorted: see gather_links. */
  if (H5Aiterate2(get_hid(env, argv[0]), H5_INDEX_NAME, H5_ITER_NATIVE, &idx, gather_attr_cb, &e) < 0 || e.oom) {
    int oom = e.oom;
    entries_free(&e);
    return oom ? throw_msg(env, "list attributes: out of memory") : throw_h5(env, "list attributes");
  }
  qsort(e.v, e.n, sizeof *e.v, entry_cmp);
  return names_array(env, &e);
}

/* ---------- selections ---------- */

/* encodeSelection(ds, start[], count[]) -> Buffer: H5Sencode of the dataset's space with that hyperslab selected. */
static napi_value js_encode_selection(napi_env env, napi_callback_info info) {
  ARGS(3);
  hid_t fs, ms;
  hsize_t n;
  if (select_slab(env, get_hid(env, argv[0]), argv[1], argv[2], &fs, &ms, &n)) return NULL;
  H5Sclose(ms);
  size_t nalloc = 0;
  if (SENCODE(fs, NULL, &nalloc) < 0) { H5Sclose(fs); return throw_h5(env, "encode selection"); }
  napi_value buf;
  void *data;
  napi_create_buffer(env, nalloc, &data, &buf);
  herr_t r = SENCODE(fs, data, &nalloc);
  H5Sclose(fs);
  if (r < 0) return throw_h5(env, "encode selection");
  return buf;
}

/* decodeSelection(buffer) -> {dims, blocks: [[start[], count[]], ...]} */
static napi_value js_decode_selection(napi_env env, napi_callback_info info) {
  ARGS(1);
  void *data;
  size_t len;
  if (get_bytes(env, argv[0], &data, &len) || len < 8) return throw_msg(env, "decodeSelection: not an encoded selection");
  /* H5Sdecode takes no length: decode from a zero-padded copy so a short buffer cannot be over-read. */
  unsigned char *copy = calloc(len + 4096, 1);
  memcpy(copy, data, len);
  hid_t s = H5Sdecode(copy);
  free(copy);
  if (s < 0) return throw_h5(env, "decode selection");
  int nd = H5Sget_simple_extent_ndims(s);
  if (nd < 0 || nd > MAXDIMS) { H5Sclose(s); return throw_msg(env, "decodeSelection: bad rank"); }
  hsize_t dims[MAXDIMS];
  H5Sget_simple_extent_dims(s, dims, NULL);
  napi_value o, blocks;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "dims", dims_to_js(env, dims, nd));
  napi_create_array(env, &blocks);
  H5S_sel_type st = H5Sget_select_type(s);
  if (st == H5S_SEL_ALL) {
    hsize_t zero[MAXDIMS] = {0};
    napi_value b;
    napi_create_array_with_length(env, 2, &b);
    napi_set_element(env, b, 0, dims_to_js(env, zero, nd));
    napi_set_element(env, b, 1, dims_to_js(env, dims, nd));
    napi_set_element(env, blocks, 0, b);
  } else if (st == H5S_SEL_HYPERSLABS) {
    hssize_t nb = H5Sget_select_hyper_nblocks(s);
    if (nb < 0 || nb > 1000000) { H5Sclose(s); return throw_msg(env, "decodeSelection: bad block count"); }
    hsize_t *bl = malloc((size_t)(nb ? nb : 1) * 2 * nd * sizeof(hsize_t));
    if (nb && H5Sget_select_hyper_blocklist(s, 0, (hsize_t)nb, bl) < 0) { free(bl); H5Sclose(s); return throw_h5(env, "decode selection"); }
    for (hssize_t i = 0; i < nb; i++) {
      hsize_t st2[MAXDIMS], cnt[MAXDIMS];
      for (int k = 0; k < nd; k++) {
        st2[k] = bl[i * 2 * nd + k];
        cnt[k] = bl[i * 2 * nd + nd + k] - st2[k] + 1;
      }
      napi_value b;
      napi_create_array_with_length(env, 2, &b);
      napi_set_element(env, b, 0, dims_to_js(env, st2, nd));
      napi_set_element(env, b, 1, dims_to_js(env, cnt, nd));
      napi_set_element(env, blocks, (uint32_t)i, b);
    }
    free(bl);
  } else if (st != H5S_SEL_NONE) {
    H5Sclose(s);
    return throw_msg(env, "decodeSelection: unsupported selection kind (points)");
  }
  H5Sclose(s);
  napi_set_named_property(env, o, "blocks", blocks);
  return o;
}

/* ---------- extended API: rich datatypes, raw I/O, links, dataset creation properties ---------- */
/*
 * Rich type descriptors (JSON objects), used by the HDF5-container layer:
 *   {class:'integer', size, signed, order:'le'|'be'}
 *   {class:'float', size, order}
 *   {class:'bitfield', size, order}
 *   {class:'string', size, variable, cset:'ascii'|'utf8', pad:'nullterm'|'nullpad'|'spacepad'}
 *   {class:'opaque', size, tag}
 *   {class:'compound', size, members:[{name, offset, type}]}
 *   {class:'enum', size, base, members:[{name, value}]}
 *   {class:'array', size, dims, base}
 *   {class:'vlen', size, base}  {class:'reference'|'time'|'other', size}  (described only)
 */

static void set_str(napi_env env, napi_value o, const char *k, const char *v) {
  napi_value s;
  napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, o, k, s);
}
static void set_num(napi_env env, napi_value o, const char *k, double v) { napi_set_named_property(env, o, k, num(env, v)); }
static void set_bool(napi_env env, napi_value o, const char *k, int v) {
  napi_value b;
  napi_get_boolean(env, v, &b);
  napi_set_named_property(env, o, k, b);
}

/* ---------- custom floating-point layouts (float16, non-IEEE floats) ----------
 * A float that is not IEEE single/double is described bit by bit so that it
 * can be rebuilt exactly: {fields:[signPos, expPos, expSize, mantPos, mantSize],
 * ebias, norm:'implied'|'msbset'|'none', inpad, lsb, msb:'zero'|'one'|'background'}
 * (with precision/offset as for any atomic type).
 */
static const char *pad_name(H5T_pad_t p) { return p == H5T_PAD_ONE ? "one" : p == H5T_PAD_BACKGROUND ? "background" : "zero"; }
static H5T_pad_t pad_of(const char *s) { return !strcmp(s, "one") ? H5T_PAD_ONE : !strcmp(s, "background") ? H5T_PAD_BACKGROUND : H5T_PAD_ZERO; }

static void float_layout_js(napi_env env, napi_value o, hid_t t) {
  size_t f[5];
  H5Tget_fields(t, &f[0], &f[1], &f[2], &f[3], &f[4]);
  napi_value a;
  napi_create_array_with_length(env, 5, &a);
  for (uint32_t i = 0; i < 5; i++) napi_set_element(env, a, i, num(env, (double)f[i]));
  napi_set_named_property(env, o, "fields", a);
  set_num(env, o, "ebias", (double)H5Tget_ebias(t));
  H5T_norm_t n = H5Tget_norm(t);
  set_str(env, o, "norm", n == H5T_NORM_MSBSET ? "msbset" : n == H5T_NORM_NONE ? "none" : "implied");
  set_str(env, o, "inpad", pad_name(H5Tget_inpad(t)));
  H5T_pad_t lsb, msb;
  H5Tget_pad(t, &lsb, &msb);
  set_str(env, o, "lsb", pad_name(lsb));
  set_str(env, o, "msb", pad_name(msb));
}

static int prop_str(napi_env env, napi_value o, const char *k, char *buf, size_t n);
static int prop_i64(napi_env env, napi_value o, const char *k, int64_t *out);

/*
 * Builds a custom float. libhdf5 checks every step against the current
 * layout (fields inside the precision, offset + precision inside the size),
 * so the order matters: grow first, then set the fields, then shrink.
 */
static hid_t float_from_rich(napi_env env, napi_value d, int64_t size, int be) {
  napi_value fv;
  int64_t f[5], prec = size * 8, off = 0, ebias = 0;
  if (size < 1 || size > 64) return -1;
  if (napi_get_named_property(env, d, "fields", &fv) != napi_ok) return -1;
  for (uint32_t i = 0; i < 5; i++) {
    napi_value e;
    if (napi_get_element(env, fv, i, &e) != napi_ok || get_i64(env, e, &f[i]) || f[i] < 0) return -1;
  }
  prop_i64(env, d, "precision", &prec);
  prop_i64(env, d, "offset", &off);
  if (prop_i64(env, d, "ebias", &ebias) || prec < 1 || off < 0 || off + prec > size * 8) return -1;
  hid_t t = H5Tcopy(size <= 4 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE);
  herr_t r = 0;
  if ((size_t)size > H5Tget_size(t)) r |= H5Tset_size(t, (size_t)size);
  if ((size_t)prec > H5Tget_precision(t)) r |= H5Tset_precision(t, (size_t)prec);
  r |= H5Tset_fields(t, (size_t)f[0], (size_t)f[1], (size_t)f[2], (size_t)f[3], (size_t)f[4]);
  if ((size_t)prec < H5Tget_precision(t)) r |= H5Tset_precision(t, (size_t)prec);
  r |= H5Tset_offset(t, (size_t)off);
  if ((size_t)size < H5Tget_size(t)) r |= H5Tset_size(t, (size_t)size);
  r |= H5Tset_ebias(t, (size_t)ebias);
  char s[32];
  if (!prop_str(env, d, "norm", s, sizeof s)) r |= H5Tset_norm(t, !strcmp(s, "msbset") ? H5T_NORM_MSBSET : !strcmp(s, "none") ? H5T_NORM_NONE : H5T_NORM_IMPLIED);
  if (!prop_str(env, d, "inpad", s, sizeof s)) r |= H5Tset_inpad(t, pad_of(s));
  char l[32] = "zero", m[32] = "zero";
  prop_str(env, d, "lsb", l, sizeof l);
  prop_str(env, d, "msb", m, sizeof m);
  r |= H5Tset_pad(t, pad_of(l), pad_of(m));
  if (be) r |= H5Tset_order(t, H5T_ORDER_BE);
  if (r < 0) { H5Tclose(t); return -1; }
  return t;
}

/* ---------- named (committed) datatypes ----------
 * A committed type is described with its address in the file (identity:
 * two datasets share a type when the addresses match). A descriptor with
 * {hid: <handle of a committed type>} stands for that type itself, so a
 * dataset or attribute made from it shares the named type instead of
 * holding a copy.
 */
static napi_value rich_type(napi_env env, hid_t t);
static hid_t type_from_rich(napi_env env, napi_value d);
static void ref_kind_js(napi_env env, napi_value o, hid_t t);
static hid_t ref_type_from_rich(napi_env env, napi_value d);

static void committed_addr_js(napi_env env, napi_value o, hid_t t) {
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t oi;
  if (H5Oget_info3(t, &oi, H5O_INFO_BASIC) < 0) { g_h5msg[0] = 0; return; }
  char *tok = NULL;
  H5Otoken_to_str(t, &oi.token, &tok);
  set_str(env, o, "addr", tok ? tok : "");
  if (tok) H5free_memory(tok);
#else
  H5O_info_t oi;
  if (H5Oget_info2(t, &oi, H5O_INFO_BASIC) < 0) { g_h5msg[0] = 0; return; }
  char a[32];
  snprintf(a, sizeof a, "%llu", (unsigned long long)oi.addr);
  set_str(env, o, "addr", a);
#endif
}

/* 0: not a {hid} descriptor; the committed type (its reference count raised: the caller closes it); -1: a bad handle. */
static hid_t committed_from_rich(napi_env env, napi_value d) {
  bool has = false;
  napi_valuetype vt;
  if (napi_typeof(env, d, &vt) != napi_ok || vt != napi_object) return 0;
  napi_has_named_property(env, d, "hid", &has);
  if (!has) return 0;
  napi_value v;
  napi_get_named_property(env, d, "hid", &v);
  hid_t t = get_hid(env, v);
  if (t < 0 || H5Iget_type(t) != H5I_DATATYPE || H5Tcommitted(t) <= 0) return -1;
  H5Iinc_ref(t);
  return t;
}

/* openType(loc, name) -> handle of a named datatype */
static napi_value js_open_type(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(2, "openType", loc);
  hid_t t = H5Topen2(loc, name, H5P_DEFAULT);
  char what[400];
  snprintf(what, sizeof what, "open named datatype '%.300s'", name);
  free(name);
  if (t < 0) return throw_h5(env, what);
  return handle_js(env, t);
}

/* typeOf(handle) -> rich description of a (named) datatype */
static napi_value js_type_of(napi_env env, napi_callback_info info) {
  ARGS(1);
  hid_t t = get_hid(env, argv[0]);
  if (t < 0 || H5Iget_type(t) != H5I_DATATYPE) return throw_msg(env, "typeOf: not a datatype handle");
  return rich_type(env, t);
}

/* commitType(loc, name | null, richType) -> handle: a named datatype (anonymous with a null name, linked later with linkObject). */
static napi_value js_commit_type(napi_env env, napi_callback_info info) {
  ARGS(3);
  hid_t loc = get_hid(env, argv[0]);
  napi_valuetype nt;
  napi_typeof(env, argv[1], &nt);
  char *name = nt == napi_string ? get_string(env, argv[1]) : NULL;
  hid_t t = type_from_rich(env, argv[2]);
  if (t < 0) { free(name); return throw_msg(env, "commitType: bad datatype descriptor"); }
  herr_t r = name ? H5Tcommit2(loc, name, t, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : H5Tcommit_anon(loc, t, H5P_DEFAULT, H5P_DEFAULT);
  char what[400];
  snprintf(what, sizeof what, "commit datatype '%.300s'", name ? name : "(anonymous)");
  free(name);
  if (r < 0) { H5Tclose(t); return throw_h5(env, what); }
  return handle_js(env, t);
}

/* linkObject(handle, loc, name): a hard link to an open object (an anonymous named datatype gets its first name). */
static napi_value js_link_object(napi_env env, napi_callback_info info) {
  ARGS(3);
  char *name = get_string(env, argv[2]);
  if (!name) return throw_msg(env, "linkObject: name must be a string");
  herr_t r = H5Olink(get_hid(env, argv[0]), get_hid(env, argv[1]), name, H5P_DEFAULT, H5P_DEFAULT);
  char what[400];
  snprintf(what, sizeof what, "link '%.300s'", name);
  free(name);
  if (r < 0) return throw_h5(env, what);
  return undef(env);
}

static napi_value rich_type(napi_env env, hid_t t) {
  napi_value o;
  napi_create_object(env, &o);
  H5T_class_t c = H5Tget_class(t);
  size_t sz = H5Tget_size(t);
  set_num(env, o, "size", (double)sz);
  switch (c) {
    case H5T_INTEGER:
    case H5T_FLOAT:
    case H5T_BITFIELD: {
      set_str(env, o, "class", c == H5T_INTEGER ? "integer" : c == H5T_FLOAT ? "float" : "bitfield");
      set_str(env, o, "order", H5Tget_order(t) == H5T_ORDER_BE ? "be" : "le");
      if (c == H5T_INTEGER) set_bool(env, o, "signed", H5Tget_sign(t) == H5T_SGN_2);
      size_t prec = H5Tget_precision(t);
      if (prec != sz * 8) set_num(env, o, "precision", (double)prec);
      int off = H5Tget_offset(t);
      if (off != 0) set_num(env, o, "offset", off);
      if (c == H5T_FLOAT) {
        /* Flag floats that are not IEEE single/double. */
        int ieee = 0;
        hid_t ref = sz == 4 ? H5T_IEEE_F32LE : sz == 8 ? H5T_IEEE_F64LE : -1;
        if (ref >= 0) {
          size_t sp, ep, esz, mp, msz, rsp, rep, resz, rmp, rmsz;
          H5Tget_fields(t, &sp, &ep, &esz, &mp, &msz);
          H5Tget_fields(ref, &rsp, &rep, &resz, &rmp, &rmsz);
          ieee = sp == rsp && ep == rep && esz == resz && mp == rmp && msz == rmsz && H5Tget_ebias(t) == H5Tget_ebias(ref);
        }
        if (!ieee) { set_bool(env, o, "custom", 1); float_layout_js(env, o, t); }
      }
      break;
    }
    case H5T_STRING: {
      set_str(env, o, "class", "string");
      int var = H5Tis_variable_str(t) > 0;
      set_bool(env, o, "variable", var);
      set_str(env, o, "cset", H5Tget_cset(t) == H5T_CSET_UTF8 ? "utf8" : "ascii");
      H5T_str_t pad = H5Tget_strpad(t);
      set_str(env, o, "pad", pad == H5T_STR_NULLPAD ? "nullpad" : pad == H5T_STR_SPACEPAD ? "spacepad" : "nullterm");
      break;
    }
    case H5T_OPAQUE: {
      set_str(env, o, "class", "opaque");
      char *tag = H5Tget_tag(t);
      set_str(env, o, "tag", tag ? tag : "");
      if (tag) H5free_memory(tag);
      break;
    }
    case H5T_COMPOUND: {
      set_str(env, o, "class", "compound");
      int n = H5Tget_nmembers(t);
      napi_value arr;
      napi_create_array_with_length(env, n > 0 ? n : 0, &arr);
      for (int i = 0; i < n; i++) {
        napi_value m;
        napi_create_object(env, &m);
        char *name = H5Tget_member_name(t, (unsigned)i);
        set_str(env, m, "name", name ? name : "");
        if (name) H5free_memory(name);
        set_num(env, m, "offset", (double)H5Tget_member_offset(t, (unsigned)i));
        hid_t mt = H5Tget_member_type(t, (unsigned)i);
        napi_set_named_property(env, m, "type", rich_type(env, mt));
        H5Tclose(mt);
        napi_set_element(env, arr, i, m);
      }
      napi_set_named_property(env, o, "members", arr);
      break;
    }
    case H5T_ENUM: {
      set_str(env, o, "class", "enum");
      hid_t b = H5Tget_super(t);
      napi_set_named_property(env, o, "base", rich_type(env, b));
      int n = H5Tget_nmembers(t);
      napi_value arr;
      napi_create_array_with_length(env, n > 0 ? n : 0, &arr);
      hid_t nt = H5Tget_native_type(b, H5T_DIR_ASCEND);
      int sgn = H5Tget_sign(b) == H5T_SGN_2;
      for (int i = 0; i < n; i++) {
        napi_value m;
        napi_create_object(env, &m);
        char *name = H5Tget_member_name(t, (unsigned)i);
        set_str(env, m, "name", name ? name : "");
        if (name) H5free_memory(name);
        unsigned char raw[16] = {0}, conv[16] = {0};
        H5Tget_member_value(t, (unsigned)i, raw);
        /* Member values are in the base type; convert to a native 64-bit integer. */
        hid_t to = sgn ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
        memcpy(conv, raw, H5Tget_size(b));
        H5Tconvert(b, to, 1, conv, NULL, H5P_DEFAULT);
        double v;
        if (sgn) { int64_t x; memcpy(&x, conv, 8); v = (double)x; } else { uint64_t x; memcpy(&x, conv, 8); v = (double)x; }
        set_num(env, m, "value", v);
        napi_set_element(env, arr, i, m);
      }
      if (nt >= 0) H5Tclose(nt);
      H5Tclose(b);
      napi_set_named_property(env, o, "members", arr);
      break;
    }
    case H5T_ARRAY: {
      set_str(env, o, "class", "array");
      int nd = H5Tget_array_ndims(t);
      hsize_t d[MAXDIMS];
      if (nd > 0 && nd <= MAXDIMS) H5Tget_array_dims2(t, d); else nd = 0;
      napi_set_named_property(env, o, "dims", dims_to_js(env, d, nd));
      hid_t b = H5Tget_super(t);
      napi_set_named_property(env, o, "base", rich_type(env, b));
      H5Tclose(b);
      break;
    }
    case H5T_VLEN: {
      set_str(env, o, "class", "vlen");
      hid_t b = H5Tget_super(t);
      napi_set_named_property(env, o, "base", rich_type(env, b));
      H5Tclose(b);
      break;
    }
    case H5T_REFERENCE: set_str(env, o, "class", "reference"); ref_kind_js(env, o, t); break;
    case H5T_TIME: set_str(env, o, "class", "time"); break;
    default: set_str(env, o, "class", "other"); break;
  }
  if (H5Tcommitted(t) > 0) { set_bool(env, o, "committed", 1); committed_addr_js(env, o, t); }
  return o;
}

static int prop_str(napi_env env, napi_value o, const char *k, char *buf, size_t n) {
  bool has = false;
  buf[0] = 0;
  napi_has_named_property(env, o, k, &has);
  if (!has) return -1;
  napi_value v;
  size_t l;
  napi_get_named_property(env, o, k, &v);
  if (napi_get_value_string_utf8(env, v, buf, n, &l) != napi_ok) return -1;
  return 0;
}
static int prop_i64(napi_env env, napi_value o, const char *k, int64_t *out) {
  bool has = false;
  napi_has_named_property(env, o, k, &has);
  if (!has) return -1;
  napi_value v;
  napi_get_named_property(env, o, k, &v);
  return get_i64(env, v, out);
}
static int prop_bool(napi_env env, napi_value o, const char *k) {
  bool has = false, b = false;
  napi_has_named_property(env, o, k, &has);
  if (!has) return 0;
  napi_value v;
  napi_get_named_property(env, o, k, &v);
  napi_get_value_bool(env, v, &b);
  return b;
}

static hid_t type_from_rich(napi_env env, napi_value d) {
  char cls[32], s[64];
  int64_t size = 0;
  hid_t named = committed_from_rich(env, d);
  if (named != 0) return named;
  if (prop_str(env, d, "class", cls, sizeof cls)) return -1;
  prop_i64(env, d, "size", &size);
  if (!strcmp(cls, "integer") || !strcmp(cls, "float") || !strcmp(cls, "bitfield")) {
    hid_t base;
    int be = !prop_str(env, d, "order", s, sizeof s) && !strcmp(s, "be");
    if (!strcmp(cls, "integer")) {
      int sgn = prop_bool(env, d, "signed");
      switch (size) {
        case 1: base = sgn ? H5T_STD_I8LE : H5T_STD_U8LE; break;
        case 2: base = sgn ? H5T_STD_I16LE : H5T_STD_U16LE; break;
        case 4: base = sgn ? H5T_STD_I32LE : H5T_STD_U32LE; break;
        case 8: base = sgn ? H5T_STD_I64LE : H5T_STD_U64LE; break;
        default: return -1;
      }
    } else if (!strcmp(cls, "float")) {
      if (prop_bool(env, d, "custom")) return float_from_rich(env, d, size, be);
      if (size == 4) base = H5T_IEEE_F32LE; else if (size == 8) base = H5T_IEEE_F64LE; else return -1;
    } else {
      switch (size) {
        case 1: base = H5T_STD_B8LE; break;
        case 2: base = H5T_STD_B16LE; break;
        case 4: base = H5T_STD_B32LE; break;
        case 8: base = H5T_STD_B64LE; break;
        default: return -1;
      }
    }
    hid_t t = H5Tcopy(base);
    if (be) H5Tset_order(t, H5T_ORDER_BE);
    int64_t prec, off;
    if (!prop_i64(env, d, "offset", &off)) H5Tset_offset(t, (size_t)off);
    if (!prop_i64(env, d, "precision", &prec)) H5Tset_precision(t, (size_t)prec);
    return t;
  }
  if (!strcmp(cls, "string")) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (prop_bool(env, d, "variable")) H5Tset_size(t, H5T_VARIABLE);
    else if (size > 0) H5Tset_size(t, (size_t)size);
    else { H5Tclose(t); return -1; }
    if (!prop_str(env, d, "cset", s, sizeof s) && !strcmp(s, "utf8")) H5Tset_cset(t, H5T_CSET_UTF8);
    if (!prop_str(env, d, "pad", s, sizeof s)) {
      H5Tset_strpad(t, !strcmp(s, "nullpad") ? H5T_STR_NULLPAD : !strcmp(s, "spacepad") ? H5T_STR_SPACEPAD : H5T_STR_NULLTERM);
    }
    return t;
  }
  if (!strcmp(cls, "opaque")) {
    if (size <= 0) return -1;
    hid_t t = H5Tcreate(H5T_OPAQUE, (size_t)size);
    char tag[300];
    if (!prop_str(env, d, "tag", tag, sizeof tag) && tag[0]) H5Tset_tag(t, tag);
    return t;
  }
  if (!strcmp(cls, "compound")) {
    napi_value ms;
    uint32_t n;
    if (size <= 0) return -1;
    napi_get_named_property(env, d, "members", &ms);
    if (napi_get_array_length(env, ms, &n) != napi_ok) return -1;
    hid_t t = H5Tcreate(H5T_COMPOUND, (size_t)size);
    for (uint32_t i = 0; i < n; i++) {
      napi_value m, mt;
      napi_get_element(env, ms, i, &m);
      napi_get_named_property(env, m, "type", &mt);
      char name[1024];
      int64_t off;
      if (prop_str(env, m, "name", name, sizeof name) || prop_i64(env, m, "offset", &off)) { H5Tclose(t); return -1; }
      hid_t x = type_from_rich(env, mt);
      if (x < 0) { H5Tclose(t); return -1; }
      herr_t r = H5Tinsert(t, name, (size_t)off, x);
      H5Tclose(x);
      if (r < 0) { H5Tclose(t); return -1; }
    }
    return t;
  }
  if (!strcmp(cls, "enum")) {
    napi_value bv, ms;
    napi_get_named_property(env, d, "base", &bv);
    hid_t b = type_from_rich(env, bv);
    if (b < 0) return -1;
    hid_t t = H5Tenum_create(b);
    int sgn = H5Tget_sign(b) == H5T_SGN_2;
    uint32_t n;
    napi_get_named_property(env, d, "members", &ms);
    if (napi_get_array_length(env, ms, &n) != napi_ok) n = 0;
    for (uint32_t i = 0; i < n; i++) {
      napi_value m;
      napi_get_element(env, ms, i, &m);
      char name[1024];
      int64_t v;
      if (prop_str(env, m, "name", name, sizeof name) || prop_i64(env, m, "value", &v)) { H5Tclose(t); H5Tclose(b); return -1; }
      unsigned char buf[16] = {0};
      memcpy(buf, &v, 8);
      H5Tconvert(sgn ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64, b, 1, buf, NULL, H5P_DEFAULT);
      if (H5Tenum_insert(t, name, buf) < 0) { H5Tclose(t); H5Tclose(b); return -1; }
    }
    H5Tclose(b);
    return t;
  }
  if (!strcmp(cls, "array")) {
    napi_value bv, dv;
    hsize_t dims[MAXDIMS];
    napi_get_named_property(env, d, "dims", &dv);
    int nd = get_dims(env, dv, dims, 0);
    if (nd < 1) return -1;
    napi_get_named_property(env, d, "base", &bv);
    hid_t b = type_from_rich(env, bv);
    if (b < 0) return -1;
    hid_t t = H5Tarray_create2(b, (unsigned)nd, dims);
    H5Tclose(b);
    return t;
  }
  if (!strcmp(cls, "vlen")) {
    napi_value bv;
    napi_get_named_property(env, d, "base", &bv);
    hid_t b = type_from_rich(env, bv);
    if (b < 0) return -1;
    hid_t t = H5Tvlen_create(b);
    H5Tclose(b);
    return t;
  }
  if (!strcmp(cls, "reference")) return ref_type_from_rich(env, d);
  return -1;
}

/* Does the type hold variable-length data anywhere (vlen, variable strings)? */
static int has_var(hid_t t) {
  H5T_class_t c = H5Tget_class(t);
  if (c == H5T_VLEN) return 1;
  if (c == H5T_STRING) return H5Tis_variable_str(t) > 0;
  if (c == H5T_REFERENCE) return 1;
  if (c == H5T_ARRAY || c == H5T_ENUM) {
    hid_t b = H5Tget_super(t);
    int r = has_var(b);
    H5Tclose(b);
    return r;
  }
  if (c == H5T_COMPOUND) {
    int n = H5Tget_nmembers(t);
    for (int i = 0; i < n; i++) {
      hid_t m = H5Tget_member_type(t, (unsigned)i);
      int r = has_var(m);
      H5Tclose(m);
      if (r) return 1;
    }
  }
  return 0;
}

static napi_value space_js(napi_env env, hid_t space) {
  napi_value o;
  napi_create_object(env, &o);
  H5S_class_t sc = H5Sget_simple_extent_type(space);
  set_str(env, o, "kind", sc == H5S_SCALAR ? "scalar" : sc == H5S_NULL ? "null" : "simple");
  int nd = sc == H5S_SIMPLE ? H5Sget_simple_extent_ndims(space) : 0;
  hsize_t dims[MAXDIMS], maxdims[MAXDIMS];
  if (nd > 0) H5Sget_simple_extent_dims(space, dims, maxdims);
  napi_set_named_property(env, o, "dims", dims_to_js(env, dims, nd));
  napi_set_named_property(env, o, "maxdims", dims_to_js(env, maxdims, nd));
  return o;
}

/* space from {kind, dims, maxdims?} */
static hid_t space_from_js(napi_env env, napi_value o) {
  char kind[16];
  if (prop_str(env, o, "kind", kind, sizeof kind)) strcpy(kind, "simple");
  if (!strcmp(kind, "scalar")) return H5Screate(H5S_SCALAR);
  if (!strcmp(kind, "null")) return H5Screate(H5S_NULL);
  hsize_t dims[MAXDIMS], maxdims[MAXDIMS];
  napi_value v;
  bool has;
  napi_get_named_property(env, o, "dims", &v);
  int nd = get_dims(env, v, dims, 0), nm = -1;
  napi_has_named_property(env, o, "maxdims", &has);
  if (has) { napi_get_named_property(env, o, "maxdims", &v); nm = get_dims(env, v, maxdims, 1); }
  if (nd < 1 || (nm >= 0 && nm != nd)) return -1;
  return H5Screate_simple(nd, dims, nm >= 0 ? maxdims : NULL);
}

/* typeInfo(rich) round trip check: returns the rich description of the type built from it. */
static napi_value js_check_type(napi_env env, napi_callback_info info) {
  ARGS(1);
  hid_t t = type_from_rich(env, argv[0]);
  if (t < 0) return throw_msg(env, "bad type descriptor");
  napi_value o = rich_type(env, t);
  H5Tclose(t);
  return o;
}

/* ---------- fill values of variable-length strings ----------
 * {fill: {string}}: a user fill value of a variable-length string dataset
 * (netCDF-4 gives string variables ""), read and set through a char *.
 */
static void vstr_fill_js(napi_env env, napi_value fo, hid_t dcpl, hid_t t) {
  if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) <= 0) return;
  hid_t m = H5Tcopy(H5T_C_S1);
  H5Tset_size(m, H5T_VARIABLE);
  H5Tset_cset(m, H5Tget_cset(t));
  char *v = NULL;
  if (H5Pget_fill_value(dcpl, m, &v) >= 0) set_str(env, fo, "string", v ? v : "");
  else g_h5msg[0] = 0;
  free(v);
  H5Tclose(m);
}

static int vstr_fill_set(napi_env env, napi_value fo, hid_t dcpl, hid_t t) {
  bool has = false;
  napi_has_named_property(env, fo, "string", &has);
  if (!has || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) <= 0) return 0;
  napi_value v;
  napi_get_named_property(env, fo, "string", &v);
  char *str = get_string(env, v);
  if (!str) return -1;
  hid_t m = H5Tcopy(H5T_C_S1);
  H5Tset_size(m, H5T_VARIABLE);
  H5Tset_cset(m, H5Tget_cset(t));
  herr_t r = H5Pset_fill_value(dcpl, m, &str);
  H5Tclose(m);
  free(str);
  return r < 0 ? -1 : 0;
}

/* datasetMeta(ds) -> {type, space, layout, chunk?, filters[], fill{status, value?, allocTime, fillTime}} */
static napi_value js_dataset_meta(napi_env env, napi_callback_info info) {
  ARGS(1);
  hid_t ds = get_hid(env, argv[0]);
  hid_t t = H5Dget_type(ds), space = H5Dget_space(ds), dcpl = H5Dget_create_plist(ds);
  if (t < 0 || space < 0 || dcpl < 0) {
    if (t >= 0) H5Tclose(t);
    if (space >= 0) H5Sclose(space);
    if (dcpl >= 0) H5Pclose(dcpl);
    return throw_h5(env, "dataset metadata");
  }
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "type", rich_type(env, t));
  napi_set_named_property(env, o, "space", space_js(env, space));
  H5D_layout_t lay = H5Pget_layout(dcpl);
  set_str(env, o, "layout", lay == H5D_CHUNKED ? "chunked" : lay == H5D_COMPACT ? "compact" : lay == H5D_VIRTUAL ? "virtual" : "contiguous");
  if (lay == H5D_CHUNKED) {
    hsize_t ch[MAXDIMS];
    int nc = H5Pget_chunk(dcpl, MAXDIMS, ch);
    if (nc > 0) napi_set_named_property(env, o, "chunk", dims_to_js(env, ch, nc));
  }
  if (H5Pget_external_count(dcpl) > 0) set_bool(env, o, "external", 1);
  int nf = H5Pget_nfilters(dcpl);
  napi_value fl;
  napi_create_array(env, &fl);
  for (int i = 0; i < nf; i++) {
    unsigned flags = 0, cfg = 0;
    size_t ncd = 32;
    unsigned cd[32];
    char fname[256] = "";
    H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof fname, fname, &cfg);
    napi_value f;
    napi_create_object(env, &f);
    set_num(env, f, "id", (double)id);
    set_str(env, f, "name", fname);
    set_num(env, f, "flags", flags);
    napi_value cdv;
    napi_create_array_with_length(env, ncd, &cdv);
    for (size_t k = 0; k < ncd && k < 32; k++) napi_set_element(env, cdv, (uint32_t)k, num(env, cd[k]));
    napi_set_named_property(env, f, "cd", cdv);
    set_bool(env, f, "available", H5Zfilter_avail(id) > 0);
    napi_set_element(env, fl, (uint32_t)i, f);
  }
  napi_set_named_property(env, o, "filters", fl);
  napi_value fo;
  napi_create_object(env, &fo);
  H5D_fill_value_t fs;
  H5Pfill_value_defined(dcpl, &fs);
  set_str(env, fo, "status", fs == H5D_FILL_VALUE_USER_DEFINED ? "user" : fs == H5D_FILL_VALUE_DEFAULT ? "default" : "undefined");
  if (fs == H5D_FILL_VALUE_USER_DEFINED) vstr_fill_js(env, fo, dcpl, t);
  if (fs == H5D_FILL_VALUE_USER_DEFINED && !has_var(t)) {
    size_t sz = H5Tget_size(t);
    napi_value buf;
    void *data;
    napi_create_buffer(env, sz, &data, &buf);
    memset(data, 0, sz);
    if (H5Pget_fill_value(dcpl, t, data) >= 0) napi_set_named_property(env, fo, "value", buf);
  }
  H5D_alloc_time_t at;
  H5Pget_alloc_time(dcpl, &at);
  set_str(env, fo, "allocTime", at == H5D_ALLOC_TIME_EARLY ? "early" : at == H5D_ALLOC_TIME_LATE ? "late" : at == H5D_ALLOC_TIME_INCR ? "incr" : "default");
  H5D_fill_time_t ft;
  H5Pget_fill_time(dcpl, &ft);
  set_str(env, fo, "fillTime", ft == H5D_FILL_TIME_ALLOC ? "alloc" : ft == H5D_FILL_TIME_NEVER ? "never" : "ifset");
  napi_set_named_property(env, o, "fill", fo);
  H5Tclose(t);
  H5Sclose(space);
  H5Pclose(dcpl);
  return o;
}

/* createDatasetEx(loc, name, richType, {space, layout, chunk?, filters?, fill?}) -> dataset id */
static napi_value js_create_dataset_ex(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(4, "createDatasetEx", loc);
  hid_t t = type_from_rich(env, argv[2]);
  if (t < 0) { free(name); return throw_msg(env, "createDatasetEx: bad datatype descriptor"); }
  napi_value o = argv[3], v;
  bool has;
  napi_get_named_property(env, o, "space", &v);
  hid_t space = space_from_js(env, v);
  if (space < 0) { free(name); H5Tclose(t); return throw_msg(env, "createDatasetEx: bad dataspace"); }
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  char s[32];
  herr_t bad = 0;
  if (!prop_str(env, o, "layout", s, sizeof s)) {
    if (!strcmp(s, "chunked")) {
      hsize_t ch[MAXDIMS];
      napi_get_named_property(env, o, "chunk", &v);
      int nc = get_dims(env, v, ch, 0);
      if (nc < 1 || H5Pset_chunk(dcpl, nc, ch) < 0) bad = -1;
    } else if (!strcmp(s, "compact")) {
      H5Pset_layout(dcpl, H5D_COMPACT);
    }
  }
  napi_has_named_property(env, o, "filters", &has);
  if (has && !bad) {
    napi_get_named_property(env, o, "filters", &v);
    uint32_t n = 0;
    napi_get_array_length(env, v, &n);
    for (uint32_t i = 0; i < n && !bad; i++) {
      napi_value f, cdv;
      napi_get_element(env, v, i, &f);
      int64_t id = 0, flags = 0;
      prop_i64(env, f, "id", &id);
      prop_i64(env, f, "flags", &flags);
      unsigned cd[32];
      uint32_t ncd = 0;
      napi_get_named_property(env, f, "cd", &cdv);
      napi_get_array_length(env, cdv, &ncd);
      if (ncd > 32) ncd = 32;
      for (uint32_t k = 0; k < ncd; k++) {
        napi_value e;
        int64_t x = 0;
        napi_get_element(env, cdv, k, &e);
        get_i64(env, e, &x);
        cd[k] = (unsigned)x;
      }
      if (H5Pset_filter(dcpl, (H5Z_filter_t)id, (unsigned)flags, ncd, cd) < 0) bad = -1;
    }
  }
  napi_has_named_property(env, o, "fill", &has);
  if (has && !bad) {
    napi_value fo;
    napi_get_named_property(env, o, "fill", &fo);
    if (!prop_str(env, fo, "allocTime", s, sizeof s)) {
      if (!strcmp(s, "early")) H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
      else if (!strcmp(s, "late")) H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
      else if (!strcmp(s, "incr")) H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_INCR);
    }
    if (!prop_str(env, fo, "fillTime", s, sizeof s)) {
      H5Pset_fill_time(dcpl, !strcmp(s, "alloc") ? H5D_FILL_TIME_ALLOC : !strcmp(s, "never") ? H5D_FILL_TIME_NEVER : H5D_FILL_TIME_IFSET);
    }
    napi_value fv;
    bool hv;
    napi_has_named_property(env, fo, "value", &hv);
    if (!prop_str(env, fo, "status", s, sizeof s) && !strcmp(s, "user") && hv) {
      void *data;
      size_t len;
      napi_get_named_property(env, fo, "value", &fv);
      if (get_bytes(env, fv, &data, &len) || len != H5Tget_size(t)) bad = -1;
      else if (H5Pset_fill_value(dcpl, t, data) < 0) bad = -1;
    } else if (!prop_str(env, fo, "status", s, sizeof s) && !strcmp(s, "undefined")) {
      H5Pset_fill_value(dcpl, t, NULL);
    }
    if (!bad) bad = vstr_fill_set(env, fo, dcpl, t);
  }
  if (!bad) bad = order_set(env, o, dcpl, 0);
  hid_t ds = bad ? -1 : H5Dcreate2(loc, name, t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Tclose(t);
  if (ds < 0) {
    char what[400];
    snprintf(what, sizeof what, "create dataset '%.300s'", name);
    free(name);
    return throw_h5(env, what);
  }
  free(name);
  return handle_js(env, ds);
}

/* Selection for raw I/O: rank-0 (scalar) datasets take start=[] count=[] (the one element). */
static int select_raw(napi_env env, hid_t ds, napi_value jstart, napi_value jcount, hid_t *fspace, hid_t *mspace, hsize_t *nelem) {
  hid_t sp = H5Dget_space(ds);
  if (sp < 0) { throw_h5(env, "dataset space"); return -1; }
  H5S_class_t sc = H5Sget_simple_extent_type(sp);
  if (sc == H5S_SCALAR) {
    *fspace = sp;
    *mspace = H5Screate(H5S_SCALAR);
    *nelem = 1;
    return 0;
  }
  if (sc == H5S_NULL) { H5Sclose(sp); throw_msg(env, "the dataset has a null dataspace (no elements)"); return -1; }
  H5Sclose(sp);
  return select_slab(env, ds, jstart, jcount, fspace, mspace, nelem);
}

/* readRaw(ds, start, count) -> Buffer of elements in the dataset's file type (any fixed-size type). */
static napi_value js_read_raw(napi_env env, napi_callback_info info) {
  SELECTION_ARGS(3, select_raw);
  hid_t t = H5Dget_type(ds);
  if (has_var(t)) { H5Tclose(t); H5Sclose(fs); H5Sclose(ms); return throw_msg(env, "readRaw: the dataset's type is not fixed-size"); }
  size_t sz = H5Tget_size(t);
  napi_value buf;
  void *data;
  if (napi_create_buffer(env, (size_t)(n * sz), &data, &buf) != napi_ok) { H5Tclose(t); H5Sclose(fs); H5Sclose(ms); return throw_msg(env, "readRaw: out of memory"); }
  herr_t r = n ? H5Dread(ds, t, ms, fs, H5P_DEFAULT, data) : 0;
  H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
  if (r < 0) return throw_h5(env, "read dataset");
  return buf;
}

/* writeRaw(ds, start, count, buffer): elements in the dataset's file type. */
static napi_value js_write_raw(napi_env env, napi_callback_info info) {
  ARGS(4);
  hid_t ds = get_hid(env, argv[0]);
  void *data;
  size_t len;
  if (get_bytes(env, argv[3], &data, &len)) return throw_msg(env, "writeRaw: data must be a Buffer");
  hid_t fs, ms;
  hsize_t n;
  if (select_raw(env, ds, argv[1], argv[2], &fs, &ms, &n)) return NULL;
  hid_t t = H5Dget_type(ds);
  size_t sz = H5Tget_size(t);
  if (has_var(t) || n * sz != len) {
    H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
    return throw_msg(env, "writeRaw: data size does not match the selection, or the type is not fixed-size");
  }
  herr_t r = n ? H5Dwrite(ds, t, ms, fs, H5P_DEFAULT, data) : 0;
  H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
  if (r < 0) return throw_h5(env, "write dataset");
  return undef(env);
}

static hid_t vstr_mem(hid_t ft) {
  hid_t m = H5Tcopy(H5T_C_S1);
  H5Tset_size(m, H5T_VARIABLE);
  H5Tset_cset(m, H5Tget_cset(ft));
  return m;
}

/* readStrings(ds, start, count) -> string[] (variable-length string datasets). */
static napi_value js_read_strings(napi_env env, napi_callback_info info) {
  SELECTION_ARGS(3, select_raw);
  hid_t ft = H5Dget_type(ds);
  if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) <= 0) { H5Tclose(ft); H5Sclose(fs); H5Sclose(ms); return throw_msg(env, "readStrings: not a variable-length string dataset"); }
  hid_t mt = vstr_mem(ft);
  H5Tclose(ft);
  char **p = calloc(n ? n : 1, sizeof(char *));
  herr_t r = n ? H5Dread(ds, mt, ms, fs, H5P_DEFAULT, p) : 0;
  napi_value arr = NULL;
  if (r >= 0) {
    napi_create_array_with_length(env, n, &arr);
    for (hsize_t i = 0; i < n; i++) {
      napi_value s;
      napi_create_string_utf8(env, p[i] ? p[i] : "", NAPI_AUTO_LENGTH, &s);
      napi_set_element(env, arr, (uint32_t)i, s);
    }
    if (n) RECLAIM(mt, ms, p);
  }
  free(p);
  H5Tclose(mt); H5Sclose(fs); H5Sclose(ms);
  if (r < 0) return throw_h5(env, "read strings");
  return arr;
}

/* writeStrings(ds, start, count, string[]) */
static napi_value js_write_strings(napi_env env, napi_callback_info info) {
  SELECTION_ARGS(4, select_raw);
  uint32_t len = 0;
  napi_get_array_length(env, argv[3], &len);
  hid_t ft = H5Dget_type(ds);
  if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) <= 0 || len != n) {
    H5Tclose(ft); H5Sclose(fs); H5Sclose(ms);
    return throw_msg(env, "writeStrings: not a variable-length string dataset, or the count does not match");
  }
  hid_t mt = vstr_mem(ft);
  H5Tclose(ft);
  char **p = calloc(n ? n : 1, sizeof(char *));
  for (uint32_t i = 0; i < len; i++) {
    napi_value e;
    napi_get_element(env, argv[3], i, &e);
    p[i] = get_string(env, e);
    if (!p[i]) p[i] = strdup("");
  }
  herr_t r = n ? H5Dwrite(ds, mt, ms, fs, H5P_DEFAULT, p) : 0;
  for (uint32_t i = 0; i < len; i++) free(p[i]);
  free(p);
  H5Tclose(mt); H5Sclose(fs); H5Sclose(ms);
  if (r < 0) return throw_h5(env, "write strings");
  return undef(env);
}

/* readAttrRaw(loc, name) -> {type (rich), space, raw?: Buffer, strings?: string[]} */
static napi_value js_read_attr_raw(napi_env env, napi_callback_info info) {
  ATTR_READ_ARGS("readAttrRaw");
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "type", rich_type(env, t));
  napi_set_named_property(env, o, "space", space_js(env, sp));
  herr_t r = 0;
  if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0) {
    hid_t mt = vstr_mem(t);
    char **p = calloc(n > 0 ? (size_t)n : 1, sizeof(char *));
    r = n > 0 ? H5Aread(a, mt, p) : 0;
    if (r >= 0) {
      napi_value arr;
      napi_create_array_with_length(env, (size_t)(n > 0 ? n : 0), &arr);
      for (hssize_t i = 0; i < n; i++) {
        napi_value s;
        napi_create_string_utf8(env, p[i] ? p[i] : "", NAPI_AUTO_LENGTH, &s);
        napi_set_element(env, arr, (uint32_t)i, s);
      }
      napi_set_named_property(env, o, "strings", arr);
      if (n > 0) RECLAIM(mt, sp, p);
    }
    free(p);
    H5Tclose(mt);
  } else if (!has_var(t)) {
    size_t sz = H5Tget_size(t);
    napi_value buf;
    void *data;
    size_t tot = (size_t)(n > 0 ? n : 0) * sz;
    napi_create_buffer(env, tot, &data, &buf);
    if (tot) r = H5Aread(a, t, data);
    napi_set_named_property(env, o, "raw", buf);
  }
  H5Tclose(t); H5Sclose(sp); H5Aclose(a);
  if (r < 0) return throw_h5(env, what);
  return o;
}

/* writeAttrRaw(loc, name, richType, space, Buffer | string[]) — replaces an existing attribute. */
static napi_value js_write_attr_raw(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(5, "writeAttrRaw", loc);
  hid_t t = type_from_rich(env, argv[2]);
  if (t < 0) { free(name); return throw_msg(env, "writeAttrRaw: bad datatype descriptor"); }
  hid_t sp = space_from_js(env, argv[3]);
  if (sp < 0) { free(name); H5Tclose(t); return throw_msg(env, "writeAttrRaw: bad dataspace"); }
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  if (H5Sget_simple_extent_type(sp) == H5S_NULL) n = 0;
  char what[400];
  snprintf(what, sizeof what, "write attribute '%.300s'", name);
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  free(name);
  herr_t r = a < 0 ? -1 : 0;
  bool isarr = false;
  napi_is_array(env, argv[4], &isarr);
  if (r >= 0 && n > 0) {
    if (isarr) {
      uint32_t len = 0;
      napi_get_array_length(env, argv[4], &len);
      if (len != (uint32_t)n || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) <= 0) r = -2;
      else {
        char **p = calloc((size_t)n, sizeof(char *));
        for (uint32_t i = 0; i < len; i++) {
          napi_value e;
          napi_get_element(env, argv[4], i, &e);
          p[i] = get_string(env, e);
          if (!p[i]) p[i] = strdup("");
        }
        hid_t mt = vstr_mem(t);
        r = H5Awrite(a, mt, p);
        H5Tclose(mt);
        for (uint32_t i = 0; i < len; i++) free(p[i]);
        free(p);
      }
    } else {
      void *data;
      size_t len;
      if (get_bytes(env, argv[4], &data, &len) || len != (size_t)n * H5Tget_size(t) || has_var(t)) r = -2;
      else r = H5Awrite(a, t, data);
    }
  }
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
  if (r == -2) return throw_msg(env, "writeAttrRaw: value does not match the type and dataspace");
  if (r < 0) return throw_h5(env, what);
  return undef(env);
}

/* ---------- variable-length data of any type (sequences, strings inside compounds and arrays) ----------
 *
 * Elements are read in the dataset's memory type (H5Dget_type: the file's
 * atoms and byte order, pointers where the file has heap references) and
 * handed to JS as a fixed part, one element after the other in that layout,
 * plus a heap. Every pointer slot of the fixed part (and of heap data) is
 * replaced by a reference into the heap, numbers big-endian:
 *   sequence (hvl_t, 16 bytes): element count, offset of the elements
 *     (count × base size bytes, themselves in this form; 0 when empty)
 *   string (char *, 8 bytes): 0 for NULL, else offset + 1 of a u64 length
 *     followed by the bytes
 * Offsets count from `base` (the heap's position in the caller's store).
 * Reading them back checks every reference against the heap given.
 */
typedef struct { unsigned char *p; size_t n, cap; } vheap_t;

static void put_be64(unsigned char *p, uint64_t v) { for (int i = 7; i >= 0; i--) { p[i] = (unsigned char)(v & 0xff); v >>= 8; } }
static uint64_t get_be64(const unsigned char *p) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = (v << 8) | p[i]; return v; }

static int vheap_reserve(vheap_t *h, size_t n, size_t *at) {
  if (n > ((size_t)1 << 40) || h->n + n > ((size_t)1 << 40)) return -1;
  if (h->n + n > h->cap) {
    size_t c = h->cap ? h->cap : 4096;
    while (c < h->n + n) c *= 2;
    unsigned char *q = realloc(h->p, c);
    if (!q) return -1;
    h->p = q;
    h->cap = c;
  }
  *at = h->n;
  memset(h->p + h->n, 0, n);
  h->n += n;
  return 0;
}

/*
 * Object references inside other types pass through unchanged: with
 * libhdf5 1.10 an object reference is the object's file address
 * (hobj_ref_t), which the caller maps to and from its own identity
 * (objectAddr gives the address of a path). Region references there, and
 * any reference with the 1.12 API, are refused.
 */
static int vl_ref_ok(hid_t t) {
#if H5_VERSION_GE(1, 12, 0)
  (void)t;
  return 0;
#else
  return H5Tequal(t, H5T_STD_REF_OBJ) > 0;
#endif
}

/* Error codes of the walkers below. */
#define VL_NOMEM -1
#define VL_REF -2     /* a reference inside variable-length data: not carried */
#define VL_BOUNDS -3  /* a reference outside the heap given */

/* Rewrites the pointer slots of one element (memory type t, pointers read at src) at (*dbuf + doff). */
static int vl_flatten(hid_t t, const unsigned char *src, unsigned char **dbuf, size_t doff, vheap_t *h, uint64_t base) {
  H5T_class_t c = H5Tget_class(t);
  int r = 0;
  if (c == H5T_STRING && H5Tis_variable_str(t) > 0) {
    const char *s;
    memcpy(&s, src, sizeof s);
    uint64_t v = 0;
    if (s) {
      size_t len = strlen(s), at;
      if (vheap_reserve(h, 8 + len, &at)) return VL_NOMEM;
      put_be64(h->p + at, len);
      memcpy(h->p + at + 8, s, len);
      v = base + at + 1;
    }
    put_be64(*dbuf + doff, v);
  } else if (c == H5T_VLEN) {
    hvl_t v;
    memcpy(&v, src, sizeof v);
    hid_t b = H5Tget_super(t);
    size_t bs = H5Tget_size(b), at = 0;
    if (v.len && (v.len > ((size_t)1 << 40) / (bs ? bs : 1) || vheap_reserve(h, v.len * bs, &at))) r = VL_NOMEM;
    if (!r && v.len) memcpy(h->p + at, v.p, v.len * bs);
    if (!r && has_var(b))
      for (size_t i = 0; !r && i < v.len; i++) r = vl_flatten(b, (const unsigned char *)v.p + i * bs, &h->p, at + i * bs, h, base);
    H5Tclose(b);
    put_be64(*dbuf + doff, v.len);
    put_be64(*dbuf + doff + 8, v.len ? base + at : 0);
  } else if (c == H5T_COMPOUND) {
    int n = H5Tget_nmembers(t);
    for (int i = 0; !r && i < n; i++) {
      hid_t m = H5Tget_member_type(t, (unsigned)i);
      size_t off = H5Tget_member_offset(t, (unsigned)i);
      if (has_var(m)) r = vl_flatten(m, src + off, dbuf, doff + off, h, base);
      H5Tclose(m);
    }
  } else if (c == H5T_ARRAY) {
    hid_t b = H5Tget_super(t);
    size_t bs = H5Tget_size(b), n = bs ? H5Tget_size(t) / bs : 0;
    if (has_var(b))
      for (size_t i = 0; !r && i < n; i++) r = vl_flatten(b, src + i * bs, dbuf, doff + i * bs, h, base);
    H5Tclose(b);
  } else if (c == H5T_REFERENCE) {
    r = vl_ref_ok(t) ? 0 : VL_REF;
  }
  return r;
}

/* Sets every pointer slot of one element to NULL (so that vl_free is safe on a partly built element). */
static void vl_zero(hid_t t, unsigned char *p) {
  H5T_class_t c = H5Tget_class(t);
  if (c == H5T_STRING && H5Tis_variable_str(t) > 0) memset(p, 0, sizeof(char *));
  else if (c == H5T_VLEN) memset(p, 0, sizeof(hvl_t));
  else if (c == H5T_COMPOUND) {
    int n = H5Tget_nmembers(t);
    for (int i = 0; i < n; i++) {
      hid_t m = H5Tget_member_type(t, (unsigned)i);
      if (has_var(m)) vl_zero(m, p + H5Tget_member_offset(t, (unsigned)i));
      H5Tclose(m);
    }
  } else if (c == H5T_ARRAY) {
    hid_t b = H5Tget_super(t);
    size_t bs = H5Tget_size(b), n = bs ? H5Tget_size(t) / bs : 0;
    if (has_var(b)) for (size_t i = 0; i < n; i++) vl_zero(b, p + i * bs);
    H5Tclose(b);
  }
}

static void vl_free(hid_t t, unsigned char *p) {
  H5T_class_t c = H5Tget_class(t);
  if (c == H5T_STRING && H5Tis_variable_str(t) > 0) {
    char *s;
    memcpy(&s, p, sizeof s);
    free(s);
  } else if (c == H5T_VLEN) {
    hvl_t v;
    memcpy(&v, p, sizeof v);
    hid_t b = H5Tget_super(t);
    size_t bs = H5Tget_size(b);
    if (v.p && has_var(b)) for (size_t i = 0; i < v.len; i++) vl_free(b, (unsigned char *)v.p + i * bs);
    H5Tclose(b);
    free(v.p);
  } else if (c == H5T_COMPOUND) {
    int n = H5Tget_nmembers(t);
    for (int i = 0; i < n; i++) {
      hid_t m = H5Tget_member_type(t, (unsigned)i);
      if (has_var(m)) vl_free(m, p + H5Tget_member_offset(t, (unsigned)i));
      H5Tclose(m);
    }
  } else if (c == H5T_ARRAY) {
    hid_t b = H5Tget_super(t);
    size_t bs = H5Tget_size(b), n = bs ? H5Tget_size(t) / bs : 0;
    if (has_var(b)) for (size_t i = 0; i < n; i++) vl_free(b, p + i * bs);
    H5Tclose(b);
  }
}

typedef struct { const unsigned char *p; size_t n; uint64_t base; } vheap_in_t;

/* Builds one element in memory (dst) from its stored form (src): allocates sequences and strings (malloc). */
static int vl_unflatten(hid_t t, unsigned char *dst, const unsigned char *src, const vheap_in_t *h) {
  H5T_class_t c = H5Tget_class(t);
  int r = 0;
  if (c == H5T_STRING && H5Tis_variable_str(t) > 0) {
    uint64_t v = get_be64(src);
    char *s = NULL;
    if (v) {
      if (v - 1 < h->base || v - 1 - h->base > h->n || h->n - (v - 1 - h->base) < 8) return VL_BOUNDS;
      const unsigned char *q = h->p + (v - 1 - h->base);
      uint64_t len = get_be64(q);
      if (len > h->n - (size_t)(q + 8 - h->p)) return VL_BOUNDS;
      if (!(s = malloc((size_t)len + 1))) return VL_NOMEM;
      memcpy(s, q + 8, (size_t)len);
      s[len] = 0;
    }
    memcpy(dst, &s, sizeof s);
  } else if (c == H5T_VLEN) {
    uint64_t cnt = get_be64(src), off = get_be64(src + 8);
    hvl_t v = {0, NULL};
    if (cnt) {
      hid_t b = H5Tget_super(t);
      size_t bs = H5Tget_size(b);
      if (!bs || cnt > h->n / bs || off < h->base || off - h->base > h->n || cnt * bs > h->n - (off - h->base)) r = VL_BOUNDS;
      else if (!(v.p = malloc((size_t)(cnt * bs)))) r = VL_NOMEM;
      else {
        const unsigned char *q = h->p + (off - h->base);
        v.len = (size_t)cnt;
        memcpy(v.p, q, v.len * bs);
        if (has_var(b)) {
          for (size_t i = 0; i < v.len; i++) vl_zero(b, (unsigned char *)v.p + i * bs);
          for (size_t i = 0; !r && i < v.len; i++) r = vl_unflatten(b, (unsigned char *)v.p + i * bs, q + i * bs, h);
        }
      }
      H5Tclose(b);
    }
    memcpy(dst, &v, sizeof v);
  } else if (c == H5T_COMPOUND) {
    int n = H5Tget_nmembers(t);
    for (int i = 0; !r && i < n; i++) {
      hid_t m = H5Tget_member_type(t, (unsigned)i);
      size_t off = H5Tget_member_offset(t, (unsigned)i);
      if (has_var(m)) r = vl_unflatten(m, dst + off, src + off, h);
      H5Tclose(m);
    }
  } else if (c == H5T_ARRAY) {
    hid_t b = H5Tget_super(t);
    size_t bs = H5Tget_size(b), n = bs ? H5Tget_size(t) / bs : 0;
    if (has_var(b)) for (size_t i = 0; !r && i < n; i++) r = vl_unflatten(b, dst + i * bs, src + i * bs, h);
    H5Tclose(b);
  } else if (c == H5T_REFERENCE) {
    r = vl_ref_ok(t) ? 0 : VL_REF;
  }
  return r;
}

static const char *vl_error(int r) {
  return r == VL_REF ? "region references inside other types are not supported"
       : r == VL_BOUNDS ? "a variable-length element points outside its heap (corrupt data)"
       : "out of memory";
}

/* {fixed, heap} of n elements in memory type t at mem (pointers), offsets from base. */
static napi_value vl_result(napi_env env, hid_t t, const unsigned char *mem, size_t n, uint64_t base, int *err) {
  size_t sz = H5Tget_size(t);
  unsigned char *fixed = malloc(n * sz > 0 ? n * sz : 1);
  vheap_t h = {0};
  *err = fixed ? 0 : VL_NOMEM;
  if (fixed) memcpy(fixed, mem, n * sz);
  for (size_t i = 0; !*err && i < n; i++) *err = vl_flatten(t, mem + i * sz, &fixed, i * sz, &h, base);
  napi_value o = NULL;
  if (!*err) {
    napi_value fb, hb;
    void *d;
    napi_create_object(env, &o);
    napi_create_buffer_copy(env, n * sz, fixed, &d, &fb);
    napi_create_buffer_copy(env, h.n, h.p ? h.p : (unsigned char *)"", &d, &hb);
    napi_set_named_property(env, o, "fixed", fb);
    napi_set_named_property(env, o, "heap", hb);
  }
  free(fixed);
  free(h.p);
  return o;
}

/* n elements of memory type t built from fixed + heap into a new buffer (free with vl_build_free). */
static unsigned char *vl_build(hid_t t, size_t n, const unsigned char *fixed, const vheap_in_t *h, int *err) {
  size_t sz = H5Tget_size(t);
  unsigned char *mem = calloc(n ? n : 1, sz);
  *err = mem ? 0 : VL_NOMEM;
  if (!mem) return NULL;
  memcpy(mem, fixed, n * sz);
  for (size_t i = 0; i < n; i++) vl_zero(t, mem + i * sz);
  for (size_t i = 0; !*err && i < n; i++) *err = vl_unflatten(t, mem + i * sz, fixed + i * sz, h);
  return mem;
}

static void vl_build_free(hid_t t, unsigned char *mem, size_t n) {
  size_t sz = H5Tget_size(t);
  for (size_t i = 0; mem && i < n; i++) vl_free(t, mem + i * sz);
  free(mem);
}

static int get_heap_arg(napi_env env, napi_value hv, napi_value bv, vheap_in_t *h) {
  void *p;
  size_t n;
  int64_t base = 0;
  if (get_bytes(env, hv, &p, &n)) return -1;
  napi_valuetype bt = napi_undefined;
  if (bv) napi_typeof(env, bv, &bt);
  if (bt != napi_undefined && (get_i64(env, bv, &base) || base < 0)) return -1;
  h->p = p; h->n = n; h->base = (uint64_t)base;
  return 0;
}

/* readVlen(ds, start, count, base?) -> {fixed, heap}: elements of a type holding variable-length data. */
static napi_value js_read_vlen(napi_env env, napi_callback_info info) {
  ARGS(4);
  hid_t ds = get_hid(env, argv[0]);
  int64_t base = 0;
  napi_valuetype bt;
  napi_typeof(env, argv[3], &bt);
  if (bt != napi_undefined && (get_i64(env, argv[3], &base) || base < 0)) return throw_msg(env, "readVlen: bad heap base");
  hid_t fs, ms;
  hsize_t n;
  if (select_raw(env, ds, argv[1], argv[2], &fs, &ms, &n)) return NULL;
  hid_t t = H5Dget_type(ds);
  size_t sz = H5Tget_size(t);
  unsigned char *mem = calloc(n ? (size_t)n : 1, sz);
  herr_t r = mem ? (n ? H5Dread(ds, t, ms, fs, H5P_DEFAULT, mem) : 0) : -1;
  napi_value o = NULL;
  int err = 0;
  if (r >= 0) {
    o = vl_result(env, t, mem, (size_t)n, (uint64_t)base, &err);
    if (n) RECLAIM(t, ms, mem);
  }
  free(mem);
  H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
  if (r < 0) return throw_h5(env, "read variable-length data");
  if (err) return throw_msg(env, vl_error(err));
  return o;
}

/* writeVlen(ds, start, count, fixed, heap, base?) */
static napi_value js_write_vlen(napi_env env, napi_callback_info info) {
  ARGS(6);
  hid_t ds = get_hid(env, argv[0]);
  void *fixed;
  size_t flen;
  vheap_in_t h;
  if (get_bytes(env, argv[3], &fixed, &flen) || get_heap_arg(env, argv[4], argv[5], &h)) return throw_msg(env, "writeVlen: fixed and heap must be Buffers");
  hid_t fs, ms;
  hsize_t n;
  if (select_raw(env, ds, argv[1], argv[2], &fs, &ms, &n)) return NULL;
  hid_t t = H5Dget_type(ds);
  size_t sz = H5Tget_size(t);
  if (n * sz != flen) { H5Tclose(t); H5Sclose(fs); H5Sclose(ms); return throw_msg(env, "writeVlen: data size does not match the selection"); }
  int err = 0;
  unsigned char *mem = vl_build(t, (size_t)n, fixed, &h, &err);
  herr_t r = !err && n ? H5Dwrite(ds, t, ms, fs, H5P_DEFAULT, mem) : 0;
  vl_build_free(t, mem, (size_t)n);
  H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
  if (err) return throw_msg(env, vl_error(err));
  if (r < 0) return throw_h5(env, "write variable-length data");
  return undef(env);
}

/* readAttrVlen(loc, name) -> {type, space, fixed, heap} (heap offsets from 0). */
static napi_value js_read_attr_vlen(napi_env env, napi_callback_info info) {
  ATTR_READ_ARGS("readAttrVlen");
  size_t sz = H5Tget_size(t);
  unsigned char *mem = calloc(n ? (size_t)n : 1, sz);
  herr_t r = mem ? (n ? H5Aread(a, t, mem) : 0) : -1;
  napi_value o = NULL;
  int err = 0;
  if (r >= 0) {
    o = vl_result(env, t, mem, (size_t)n, 0, &err);
    if (o) {
      napi_set_named_property(env, o, "type", rich_type(env, t));
      napi_set_named_property(env, o, "space", space_js(env, sp));
    }
    if (n) RECLAIM(t, sp, mem);
  }
  free(mem);
  H5Tclose(t); H5Sclose(sp); H5Aclose(a);
  if (r < 0) return throw_h5(env, what);
  if (err) return throw_msg(env, vl_error(err));
  return o;
}

/* writeAttrVlen(loc, name, richType, space, fixed, heap) — replaces an existing attribute. */
static napi_value js_write_attr_vlen(napi_env env, napi_callback_info info) {
  ARGS(6);
  hid_t loc = get_hid(env, argv[0]);
  void *fixed;
  size_t flen;
  vheap_in_t h;
  if (get_bytes(env, argv[4], &fixed, &flen) || get_heap_arg(env, argv[5], NULL, &h)) return throw_msg(env, "writeAttrVlen: fixed and heap must be Buffers");
  char *name = get_string(env, argv[1]);
  if (!name) return throw_msg(env, "writeAttrVlen: name must be a string");
  hid_t t = type_from_rich(env, argv[2]);
  if (t < 0) { free(name); return throw_msg(env, "writeAttrVlen: bad datatype descriptor"); }
  hid_t sp = space_from_js(env, argv[3]);
  if (sp < 0) { free(name); H5Tclose(t); return throw_msg(env, "writeAttrVlen: bad dataspace"); }
  hssize_t n = H5Sget_simple_extent_type(sp) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(sp);
  char what[400];
  snprintf(what, sizeof what, "write attribute '%.300s'", name);
  size_t sz = H5Tget_size(t);
  if ((size_t)n * sz != flen) { free(name); H5Tclose(t); H5Sclose(sp); return throw_msg(env, "writeAttrVlen: data size does not match the dataspace"); }
  int err = 0;
  unsigned char *mem = vl_build(t, (size_t)n, fixed, &h, &err);
  herr_t r = err ? 0 : replace_attr(loc, name, t, sp, n, mem);
  vl_build_free(t, mem, (size_t)n);
  free(name);
  H5Tclose(t); H5Sclose(sp);
  if (err) return throw_msg(env, vl_error(err));
  if (r < 0) return throw_h5(env, what);
  return undef(env);
}

/* ---------- filtered chunks copied raw (the filter may not be available here) ----------
 * A chunk is read and written as the filter pipeline left it (direct chunk
 * I/O), with its filter mask (bit i set: filter i was skipped for it), so a
 * dataset compressed with a filter this library lacks still copies bit for
 * bit. A file is created with such a pipeline through a stand-in filter
 * registered under the missing filter's id and name: libhdf5 refuses to
 * create a dataset with a mandatory filter it cannot find, and the stand-in
 * fails any attempt to really filter data through it.
 */
static size_t standin_filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes, size_t *buf_size, void **buf) {
  (void)flags; (void)cd_nelmts; (void)cd_values; (void)nbytes; (void)buf_size; (void)buf;
  return 0; /* never filters: only raw chunks are written through a stand-in */
}

/* standInFilter(id, name) -> true when a stand-in was registered (the real filter is not available). */
static napi_value js_stand_in_filter(napi_env env, napi_callback_info info) {
  ARGS(2);
  int64_t id;
  if (get_i64(env, argv[0], &id) || id < 0 || id > 65535) return throw_msg(env, "standInFilter: bad filter id");
  napi_value b;
  htri_t avail = H5Zfilter_avail((H5Z_filter_t)id);
  g_h5msg[0] = 0;
  if (avail > 0) { napi_get_boolean(env, false, &b); return b; }
  char *name = get_string(env, argv[1]);
  H5Z_class2_t c;
  memset(&c, 0, sizeof c);
  c.version = H5Z_CLASS_T_VERS;
  c.id = (H5Z_filter_t)id;
  c.encoder_present = 1;
  c.decoder_present = 1;
  c.name = name && name[0] ? name : strdup("(filter not available)"); /* kept: the class refers to it while registered */
  c.filter = standin_filter;
  if (name && !name[0]) free(name);
  if (H5Zregister(&c) < 0) return throw_h5(env, "register a stand-in filter");
  napi_get_boolean(env, true, &b);
  return b;
}

/* readChunkRaw(ds, offset[]) -> {mask, data} | null (chunk not allocated); offset in elements. */
static napi_value js_read_chunk_raw(napi_env env, napi_callback_info info) {
  ARGS(2);
  hid_t ds = get_hid(env, argv[0]);
  hsize_t off[MAXDIMS];
  if (get_dims(env, argv[1], off, 0) < 0) return throw_msg(env, "readChunkRaw: bad chunk offset");
  hsize_t size = 0;
  haddr_t addr = HADDR_UNDEF;
  unsigned fmask = 0;
  if (H5Dget_chunk_info_by_coord(ds, off, &fmask, &addr, &size) < 0) return throw_h5(env, "chunk info");
  napi_value o;
  if (addr == HADDR_UNDEF || size == 0) { napi_get_null(env, &o); return o; }
  if (size > ((hsize_t)1 << 32)) return throw_msg(env, "readChunkRaw: chunk larger than 4 GiB (corrupt?)");
  napi_value buf;
  void *data;
  if (napi_create_buffer(env, (size_t)size, &data, &buf) != napi_ok) return throw_msg(env, "readChunkRaw: out of memory");
  uint32_t mask = 0;
  if (H5Dread_chunk(ds, H5P_DEFAULT, off, &mask, data) < 0) return throw_h5(env, "read chunk");
  napi_create_object(env, &o);
  set_num(env, o, "mask", mask);
  napi_set_named_property(env, o, "data", buf);
  return o;
}

/* writeChunkRaw(ds, offset[], mask, data): a chunk as the filter pipeline leaves it. */
static napi_value js_write_chunk_raw(napi_env env, napi_callback_info info) {
  ARGS(4);
  hid_t ds = get_hid(env, argv[0]);
  hsize_t off[MAXDIMS];
  int64_t mask;
  void *data;
  size_t len;
  if (get_dims(env, argv[1], off, 0) < 0 || get_i64(env, argv[2], &mask) || mask < 0 || mask > 0xffffffffLL || get_bytes(env, argv[3], &data, &len))
    return throw_msg(env, "writeChunkRaw: bad arguments");
  if (H5Dwrite_chunk(ds, H5P_DEFAULT, (uint32_t)mask, off, len, data) < 0) return throw_h5(env, "write chunk");
  return undef(env);
}

/* ---------- object and region references ----------
 * References are handed to JS as what they point at: null (a null
 * reference) or {addr, region?}: the address of the object in the file (as
 * links() gives it) and, for a region reference, the H5Sencode of the
 * selected region. They are written back from {path, region?}.
 */
static void ref_kind_js(napi_env env, napi_value o, hid_t t) {
  if (H5Tequal(t, H5T_STD_REF_OBJ) > 0) set_str(env, o, "ref", "object");
  else if (H5Tequal(t, H5T_STD_REF_DSETREG) > 0) set_str(env, o, "ref", "region");
}

static hid_t ref_type_from_rich(napi_env env, napi_value d) {
  char k[16];
  if (prop_str(env, d, "ref", k, sizeof k)) return -1;
  if (!strcmp(k, "object")) return H5Tcopy(H5T_STD_REF_OBJ);
  if (!strcmp(k, "region")) return H5Tcopy(H5T_STD_REF_DSETREG);
  return -1;
}

static int obj_addr_str(hid_t obj, char *buf, size_t n) {
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t oi;
  if (H5Oget_info3(obj, &oi, H5O_INFO_BASIC) < 0) return -1;
  char *tok = NULL;
  H5Otoken_to_str(obj, &oi.token, &tok);
  snprintf(buf, n, "%s", tok ? tok : "");
  if (tok) H5free_memory(tok);
#else
  H5O_info_t oi;
  if (H5Oget_info2(obj, &oi, H5O_INFO_BASIC) < 0) return -1;
  snprintf(buf, n, "%llu", (unsigned long long)oi.addr);
#endif
  return 0;
}

static int all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) if (p[i]) return 0;
  return 1;
}

/* n references of type t at buf (dereferenced from loc) as a JS array; NULL with an exception on a dangling one. */
static napi_value refs_to_js(napi_env env, hid_t loc, hid_t t, const unsigned char *buf, size_t n) {
  int region = H5Tequal(t, H5T_STD_REF_DSETREG) > 0;
  if (!region && H5Tequal(t, H5T_STD_REF_OBJ) <= 0) { throw_msg(env, "unknown reference type"); return NULL; }
  size_t sz = H5Tget_size(t);
  napi_value arr;
  napi_create_array_with_length(env, n, &arr);
  for (size_t i = 0; i < n; i++) {
    const unsigned char *r = buf + i * sz;
    napi_value e;
    if (all_zero(r, sz)) { napi_get_null(env, &e); napi_set_element(env, arr, (uint32_t)i, e); continue; }
    hid_t obj = H5Rdereference2(loc, H5P_DEFAULT, region ? H5R_DATASET_REGION : H5R_OBJECT, r);
    char addr[64];
    if (obj < 0 || obj_addr_str(obj, addr, sizeof addr) < 0) {
      if (obj >= 0) H5Oclose(obj);
      char what[96];
      snprintf(what, sizeof what, "element %zu: a reference to an object that does not exist", i);
      throw_h5(env, what);
      return NULL;
    }
    H5Oclose(obj);
    napi_create_object(env, &e);
    set_str(env, e, "addr", addr);
    if (region) {
      hid_t sp = H5Rget_region(loc, H5R_DATASET_REGION, r);
      size_t len = 0;
      if (sp < 0 || SENCODE(sp, NULL, &len) < 0) { if (sp >= 0) H5Sclose(sp); throw_h5(env, "reference region"); return NULL; }
      napi_value b;
      void *d;
      napi_create_buffer(env, len, &d, &b);
      SENCODE(sp, d, &len);
      H5Sclose(sp);
      napi_set_named_property(env, e, "region", b);
    }
    napi_set_element(env, arr, (uint32_t)i, e);
  }
  return arr;
}

/* n references of type t built into buf from JS [{path, region?} | null]; -1 with an exception. */
static int refs_from_js(napi_env env, hid_t loc, hid_t t, napi_value arr, unsigned char *buf, size_t n) {
  int region = H5Tequal(t, H5T_STD_REF_DSETREG) > 0;
  size_t sz = H5Tget_size(t);
  uint32_t len = 0;
  if (napi_get_array_length(env, arr, &len) != napi_ok || len != n) { throw_msg(env, "references: the count does not match"); return -1; }
  hid_t f = H5Iget_file_id(loc);
  for (uint32_t i = 0; i < len; i++) {
    napi_value e, pv;
    napi_valuetype vt;
    napi_get_element(env, arr, i, &e);
    napi_typeof(env, e, &vt);
    memset(buf + i * sz, 0, sz);
    if (vt == napi_null || vt == napi_undefined) continue;
    napi_get_named_property(env, e, "path", &pv);
    char *path = get_string(env, pv);
    herr_t r = -1;
    if (path && !region) r = H5Rcreate(buf + i * sz, f, path, H5R_OBJECT, -1);
    else if (path) {
      napi_value rv;
      void *rd;
      size_t rl;
      napi_get_named_property(env, e, "region", &rv);
      hid_t sp = get_bytes(env, rv, &rd, &rl) ? -1 : H5Sdecode(rd);
      if (sp >= 0) { r = H5Rcreate(buf + i * sz, f, path, H5R_DATASET_REGION, sp); H5Sclose(sp); }
    }
    if (r < 0) {
      char what[400];
      snprintf(what, sizeof what, "reference to '%.300s'", path ? path : "?");
      free(path);
      H5Fclose(f);
      throw_h5(env, what);
      return -1;
    }
    free(path);
  }
  H5Fclose(f);
  return 0;
}

/* objectAddr(loc, path) -> the object's address in the file (as links() gives it): what a nested object reference holds. */
static napi_value js_object_addr(napi_env env, napi_callback_info info) {
  ARGS(2);
  char *path = get_string(env, argv[1]);
  if (!path) return throw_msg(env, "objectAddr: path must be a string");
  hid_t o = H5Oopen(get_hid(env, argv[0]), path, H5P_DEFAULT);
  char addr[64], what[400];
  snprintf(what, sizeof what, "open object '%.300s'", path);
  free(path);
  if (o < 0) return throw_h5(env, what);
  int r = obj_addr_str(o, addr, sizeof addr);
  H5Oclose(o);
  if (r < 0) return throw_h5(env, what);
  napi_value s;
  napi_create_string_utf8(env, addr, NAPI_AUTO_LENGTH, &s);
  return s;
}

/* readRefs(ds, start, count) -> [{addr, region?} | null] */
static napi_value js_read_refs(napi_env env, napi_callback_info info) {
  SELECTION_ARGS(3, select_raw);
  hid_t t = H5Dget_type(ds);
  size_t sz = H5Tget_size(t);
  unsigned char *buf = calloc(n ? (size_t)n : 1, sz);
  herr_t r = buf ? (n ? H5Dread(ds, t, ms, fs, H5P_DEFAULT, buf) : 0) : -1;
  napi_value out = r >= 0 ? refs_to_js(env, ds, t, buf, (size_t)n) : NULL;
  free(buf);
  H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
  if (r < 0) return throw_h5(env, "read references");
  return out;
}

/* writeRefs(ds, start, count, refs) */
static napi_value js_write_refs(napi_env env, napi_callback_info info) {
  SELECTION_ARGS(4, select_raw);
  hid_t t = H5Dget_type(ds);
  size_t sz = H5Tget_size(t);
  unsigned char *buf = calloc(n ? (size_t)n : 1, sz);
  int bad = !buf || refs_from_js(env, ds, t, argv[3], buf, (size_t)n);
  herr_t r = bad ? 0 : n ? H5Dwrite(ds, t, ms, fs, H5P_DEFAULT, buf) : 0;
  free(buf);
  H5Tclose(t); H5Sclose(fs); H5Sclose(ms);
  if (bad) return NULL;
  if (r < 0) return throw_h5(env, "write references");
  return undef(env);
}

/* readAttrRefs(loc, name) -> {type, space, refs} */
static napi_value js_read_attr_refs(napi_env env, napi_callback_info info) {
  ATTR_READ_ARGS("readAttrRefs");
  size_t sz = H5Tget_size(t);
  unsigned char *buf = calloc(n ? (size_t)n : 1, sz ? sz : 1);
  herr_t r = buf ? (n ? H5Aread(a, t, buf) : 0) : -1;
  napi_value o = NULL;
  if (r >= 0) {
    napi_value refs = refs_to_js(env, loc, t, buf, (size_t)n);
    if (refs) {
      napi_create_object(env, &o);
      napi_set_named_property(env, o, "type", rich_type(env, t));
      napi_set_named_property(env, o, "space", space_js(env, sp));
      napi_set_named_property(env, o, "refs", refs);
    }
  }
  free(buf);
  H5Tclose(t); H5Sclose(sp); H5Aclose(a);
  if (r < 0) return throw_h5(env, what);
  return o;
}

/* writeAttrRefs(loc, name, richType, space, refs) — replaces an existing attribute. */
static napi_value js_write_attr_refs(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(5, "writeAttrRefs", loc);
  hid_t t = type_from_rich(env, argv[2]);
  hid_t sp = t >= 0 ? space_from_js(env, argv[3]) : -1;
  if (t < 0 || sp < 0) { free(name); if (t >= 0) H5Tclose(t); return throw_msg(env, "writeAttrRefs: bad datatype or dataspace"); }
  hssize_t n = H5Sget_simple_extent_type(sp) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(sp);
  size_t sz = H5Tget_size(t);
  unsigned char *buf = calloc(n ? (size_t)n : 1, sz);
  int bad = !buf || refs_from_js(env, loc, t, argv[4], buf, (size_t)n);
  herr_t r = 0;
  char what[400];
  snprintf(what, sizeof what, "write attribute '%.300s'", name);
  if (!bad) r = replace_attr(loc, name, t, sp, n, buf);
  free(buf);
  free(name);
  H5Tclose(t); H5Sclose(sp);
  if (bad) return NULL;
  if (r < 0) return throw_h5(env, what);
  return undef(env);
}

/* ---------- user block ---------- */

/* userBlockSize(file) -> bytes reserved for a user block at the start of the file (0: none) */
static napi_value js_user_block_size(napi_env env, napi_callback_info info) {
  ARGS(1);
  hid_t fcpl = H5Fget_create_plist(get_hid(env, argv[0]));
  if (fcpl < 0) return throw_h5(env, "file creation properties");
  hsize_t n = 0;
  herr_t r = H5Pget_userblock(fcpl, &n);
  H5Pclose(fcpl);
  if (r < 0) return throw_h5(env, "user block size");
  return num(env, (double)n);
}

/* ---------- link and attribute creation order ----------
 * Order flags as libhdf5 has them (1 tracked, 3 tracked and indexed):
 * {links, attrs} of a file's root group, a group, a dataset or a named
 * datatype; each link's and attribute's creation order number.
 */
static void order_flags_js(napi_env env, napi_value o, hid_t plist, int links) {
  unsigned f = 0;
  if (links && H5Pget_link_creation_order(plist, &f) >= 0) set_num(env, o, "links", f);
  f = 0;
  if (H5Pget_attr_creation_order(plist, &f) >= 0) set_num(env, o, "attrs", f);
}

/* Sets {linkOrder?, attrOrder?} of a JS options object on a creation property list. */
static int order_set(napi_env env, napi_value o, hid_t plist, int links) {
  napi_valuetype t;
  if (napi_typeof(env, o, &t) != napi_ok || t != napi_object) return 0;
  int64_t f;
  herr_t r = 0;
  if (links && !prop_i64(env, o, "linkOrder", &f) && f > 0) r |= H5Pset_link_creation_order(plist, (unsigned)f);
  if (!prop_i64(env, o, "attrOrder", &f) && f > 0) r |= H5Pset_attr_creation_order(plist, (unsigned)f);
  return r < 0 ? -1 : 0;
}

/* orderInfo(obj) -> {links?, attrs} */
static napi_value js_order_info(napi_env env, napi_callback_info info) {
  ARGS(1);
  hid_t id = get_hid(env, argv[0]);
  H5I_type_t k = H5Iget_type(id);
  /* a file: its root group's (the file creation properties do not report them back) */
  hid_t root = k == H5I_FILE ? H5Gopen2(id, "/", H5P_DEFAULT) : -1;
  hid_t pl = k == H5I_FILE ? (root >= 0 ? H5Gget_create_plist(root) : -1) : k == H5I_GROUP ? H5Gget_create_plist(id) : k == H5I_DATASET ? H5Dget_create_plist(id) : k == H5I_DATATYPE ? H5Tget_create_plist(id) : -1;
  if (root >= 0) H5Gclose(root);
  if (pl < 0) return throw_h5(env, "creation properties");
  napi_value o;
  napi_create_object(env, &o);
  order_flags_js(env, o, pl, k == H5I_FILE || k == H5I_GROUP);
  H5Pclose(pl);
  g_h5msg[0] = 0;
  return o;
}

/* corders(loc, names[], 'links' | 'attrs') -> creation order numbers (-1: not tracked) */
static napi_value js_corders(napi_env env, napi_callback_info info) {
  ARGS(3);
  hid_t loc = get_hid(env, argv[0]);
  char kind[8];
  size_t kl;
  napi_get_value_string_utf8(env, argv[2], kind, sizeof kind, &kl);
  uint32_t n = 0;
  napi_get_array_length(env, argv[1], &n);
  napi_value arr;
  napi_create_array_with_length(env, n, &arr);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, argv[1], i, &e);
    char *name = get_string(env, e);
    double v = -1;
    if (name && !strcmp(kind, "links")) {
      H5L_info_t li;
      if (H5Lget_info(loc, name, &li, H5P_DEFAULT) >= 0 && li.corder_valid) v = (double)li.corder;
    } else if (name) {
      H5A_info_t ai;
      if (H5Aget_info_by_name(loc, ".", name, &ai, H5P_DEFAULT) >= 0 && ai.corder_valid) v = (double)ai.corder;
    }
    free(name);
    napi_set_element(env, arr, i, num(env, v));
  }
  g_h5msg[0] = 0;
  return arr;
}

/* createGroupEx(loc, name, {linkOrder?, attrOrder?}) -> group */
static napi_value js_create_group_ex(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(3, "createGroupEx", loc);
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  hid_t g = order_set(env, argv[2], gcpl, 1) ? -1 : H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
  H5Pclose(gcpl);
  char what[400];
  snprintf(what, sizeof what, "create group '%.300s'", name);
  free(name);
  if (g < 0) return throw_h5(env, what);
  return handle_js(env, g);
}

/* links(loc) -> [{name, type:'hard'|'soft'|'external'|'other', target?, file?, object?:'group'|'dataset'|'datatype'|'other', addr?}] */
static napi_value js_links(napi_env env, napi_callback_info info) {
  ARGS(1);
  hid_t g = get_hid(env, argv[0]);
  entries_t e = {0};
  if (gather_links(env, g, &e)) return NULL;
  napi_value arr;
  napi_create_array_with_length(env, e.n, &arr);
  char what[400];
  const char *bad_name = "";
  for (size_t i = 0; i < e.n; i++) {
    const char *name = bad_name = e.v[i].name;
    int type = e.v[i].type;
    napi_value o;
    napi_create_object(env, &o);
    set_str(env, o, "name", name);
    if (type == H5L_TYPE_HARD) {
      set_str(env, o, "type", "hard");
#if H5_VERSION_GE(1, 12, 0)
      H5O_info2_t oi;
      if (H5Oget_info_by_name3(g, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) goto bad_object;
      char *tok = NULL;
      H5Otoken_to_str(g, &oi.token, &tok);
      set_str(env, o, "addr", tok ? tok : "");
      if (tok) H5free_memory(tok);
#else
      H5O_info_t oi;
      if (H5Oget_info_by_name2(g, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) goto bad_object;
      char a[32];
      snprintf(a, sizeof a, "%llu", (unsigned long long)oi.addr);
      set_str(env, o, "addr", a);
#endif
      set_str(env, o, "object", oi.type == H5O_TYPE_GROUP ? "group" : oi.type == H5O_TYPE_DATASET ? "dataset" : oi.type == H5O_TYPE_NAMED_DATATYPE ? "datatype" : "other");
      set_num(env, o, "rc", oi.rc);
    } else if (type == H5L_TYPE_SOFT || type == H5L_TYPE_EXTERNAL) {
      set_str(env, o, "type", type == H5L_TYPE_SOFT ? "soft" : "external");
      size_t sz = e.v[i].val_size;
      char *buf = sz < ((size_t)1 << 30) ? calloc(sz + 1, 1) : NULL;
      if (!buf || H5Lget_val(g, name, buf, sz + 1, H5P_DEFAULT) < 0) { free(buf); goto bad_value; }
      if (type == H5L_TYPE_SOFT) set_str(env, o, "target", buf);
      else {
        const char *file = NULL, *obj = NULL;
        unsigned fl;
        if (H5Lunpack_elink_val(buf, sz, &fl, &file, &obj) < 0) { free(buf); goto bad_value; }
        set_str(env, o, "file", file ? file : "");
        set_str(env, o, "target", obj ? obj : "");
      }
      free(buf);
    } else {
      set_str(env, o, "type", "other");
    }
    napi_set_element(env, arr, (uint32_t)i, o);
  }
  entries_free(&e);
  return arr;
bad_object:
  snprintf(what, sizeof what, "link '%.300s': cannot read the object it points to", bad_name);
  goto fail;
bad_value:
  snprintf(what, sizeof what, "link '%.300s': cannot read its value", bad_name);
fail:
  entries_free(&e);
  return throw_h5(env, what);
}

/* createLink(loc, name, {type:'soft'|'hard'|'external', target, file?}); hard targets are paths from the file root. */
static napi_value js_create_link(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(3, "createLink", loc);
  char type[16];
  prop_str(env, argv[2], "type", type, sizeof type);
  napi_value tv;
  napi_get_named_property(env, argv[2], "target", &tv);
  char *target = get_string(env, tv);
  herr_t r = -1;
  if (target) {
    if (!strcmp(type, "soft")) r = H5Lcreate_soft(target, loc, name, H5P_DEFAULT, H5P_DEFAULT);
    else if (!strcmp(type, "hard")) {
      hid_t f = H5Iget_file_id(loc);
      r = H5Lcreate_hard(f, target, loc, name, H5P_DEFAULT, H5P_DEFAULT);
      H5Fclose(f);
    } else if (!strcmp(type, "external")) {
      napi_value fv;
      napi_get_named_property(env, argv[2], "file", &fv);
      char *file = get_string(env, fv);
      if (file) r = H5Lcreate_external(file, target, loc, name, H5P_DEFAULT, H5P_DEFAULT);
      free(file);
    }
  }
  char what[400];
  snprintf(what, sizeof what, "create link '%.300s'", name);
  free(name);
  free(target);
  if (r < 0) return throw_h5(env, what);
  return undef(env);
}

/* objectKind(loc, name) -> 'group'|'dataset'|'datatype'|'other'|'' (dangling) */
static napi_value js_object_kind(napi_env env, napi_callback_info info) {
  HANDLE_NAME_ARGS(2, "objectKind", loc);
  const char *k = "";
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t oi;
  if (H5Oget_info_by_name3(loc, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) >= 0)
#else
  H5O_info_t oi;
  if (H5Oget_info_by_name2(loc, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) >= 0)
#endif
    k = oi.type == H5O_TYPE_GROUP ? "group" : oi.type == H5O_TYPE_DATASET ? "dataset" : oi.type == H5O_TYPE_NAMED_DATATYPE ? "datatype" : "other";
  g_h5msg[0] = 0;
  free(name);
  napi_value s;
  napi_create_string_utf8(env, k, NAPI_AUTO_LENGTH, &s);
  return s;
}

/* ---------- extended attributes of byte paths ----------
 *
 * Not HDF5: the data mover's xattr calls for paths and attribute names that
 * are not valid UTF-8 (a JS string cannot hold them; @napi-rs/xattr takes
 * strings). Paths and names are Buffers; the l* calls never follow a final
 * symlink. A failure throws an Error whose code is the errno name
 * (ENOTSUP, ENODATA, EACCES, ...), with `errno` set.
 */

static napi_value throw_errno(napi_env env, int err) {
  const char *code;
  switch (err) {
    case ENOTSUP: code = "ENOTSUP"; break;
    case ENODATA: code = "ENODATA"; break;
    case EACCES: code = "EACCES"; break;
    case EPERM: code = "EPERM"; break;
    case ENOENT: code = "ENOENT"; break;
    case ENOTDIR: code = "ENOTDIR"; break;
    case ENOSPC: code = "ENOSPC"; break;
    case EDQUOT: code = "EDQUOT"; break;
    case EROFS: code = "EROFS"; break;
    case E2BIG: code = "E2BIG"; break;
    case ERANGE: code = "ERANGE"; break;
    case EINVAL: code = "EINVAL"; break;
    case ENAMETOOLONG: code = "ENAMETOOLONG"; break;
    case ELOOP: code = "ELOOP"; break;
    case EEXIST: code = "EEXIST"; break;
    case EWOULDBLOCK: code = "EWOULDBLOCK"; break;
    case EBADF: code = "EBADF"; break;
    default: code = "EIO";
  }
  /* The message is the reason alone: the caller says which call on which path. */
  napi_value jcode, jmsg, e, no;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode);
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &jmsg);
  napi_create_error(env, jcode, jmsg, &e);
  napi_create_int32(env, err, &no);
  napi_set_named_property(env, e, "errno", no);
  napi_throw(env, e);
  return NULL;
}

/* A NUL-terminated copy of a Buffer argument (malloc'ed); NULL after throwing. */
static char *cstr_arg(napi_env env, napi_value v, const char *what) {
  void *data; size_t len; bool isbuf = false;
  napi_is_buffer(env, v, &isbuf);
  if (!isbuf) { throw_msg(env, what); return NULL; }
  napi_get_buffer_info(env, v, &data, &len);
  if (memchr(data, 0, len)) { throw_msg(env, what); return NULL; }
  char *s = malloc(len + 1);
  if (!s) { throw_errno(env, ENOMEM); return NULL; }
  memcpy(s, data, len);
  s[len] = 0;
  return s;
}

/* The path and attribute name arguments of xattrGet/Set/Remove (both malloc'ed); false after throwing. */
static bool path_and_name(napi_env env, napi_value pv, napi_value nv, const char *fn, char **p, char **name) {
  char what[96];
  snprintf(what, sizeof what, "%s: path must be a Buffer without NUL", fn);
  *p = cstr_arg(env, pv, what);
  if (!*p) return false;
  snprintf(what, sizeof what, "%s: name must be a Buffer without NUL", fn);
  *name = cstr_arg(env, nv, what);
  if (!*name) { free(*p); return false; }
  return true;
}

/* xattrList(path: Buffer): Buffer[] — the names, as bytes. */
static napi_value js_xattr_list(napi_env env, napi_callback_info info) {
  ARGS(1);
  char *p = cstr_arg(env, argv[0], "xattrList: path must be a Buffer without NUL");
  if (!p) return NULL;
  char *buf = NULL;
  ssize_t n;
  for (;;) {
    n = llistxattr(p, NULL, 0);
    if (n < 0) { int err = errno; free(p); return throw_errno(env, err); }
    if (n == 0) break;
    buf = malloc((size_t)n);
    if (!buf) { free(p); return throw_errno(env, ENOMEM); }
    ssize_t m = llistxattr(p, buf, (size_t)n);
    if (m >= 0) { n = m; break; }
    int err = errno;
    free(buf); buf = NULL;
    if (err != ERANGE) { free(p); return throw_errno(env, err); }
    /* grew in between: ask again */
  }
  free(p);
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t k = 0;
  for (ssize_t i = 0; i < n;) {
    size_t len = strnlen(buf + i, (size_t)(n - i));
    napi_value b;
    void *dst;
    napi_create_buffer_copy(env, len, buf + i, &dst, &b);
    napi_set_element(env, arr, k++, b);
    i += (ssize_t)len + 1;
  }
  free(buf);
  return arr;
}

/* xattrGet(path: Buffer, name: Buffer): Buffer | null (null: no such attribute). */
static napi_value js_xattr_get(napi_env env, napi_callback_info info) {
  ARGS(2);
  char *p, *name;
  if (!path_and_name(env, argv[0], argv[1], "xattrGet", &p, &name)) return NULL;
  napi_value out = NULL;
  for (;;) {
    ssize_t n = lgetxattr(p, name, NULL, 0);
    if (n < 0) {
      int err = errno;
      if (err == ENODATA) napi_get_null(env, &out); else throw_errno(env, err);
      break;
    }
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) { throw_errno(env, ENOMEM); break; }
    ssize_t m = lgetxattr(p, name, buf, (size_t)n);
    if (m >= 0) {
      void *dst;
      napi_create_buffer_copy(env, (size_t)m, buf, &dst, &out);
      free(buf);
      break;
    }
    int err = errno;
    free(buf);
    if (err == ENODATA) { napi_get_null(env, &out); break; }
    if (err != ERANGE) { throw_errno(env, err); break; }
  }
  free(p); free(name);
  return out;
}

/* xattrSet(path: Buffer, name: Buffer, value: Buffer): void */
static napi_value js_xattr_set(napi_env env, napi_callback_info info) {
  ARGS(3);
  void *val; size_t vlen; bool isbuf = false;
  napi_is_buffer(env, argv[2], &isbuf);
  if (!isbuf) return throw_msg(env, "xattrSet: value must be a Buffer");
  napi_get_buffer_info(env, argv[2], &val, &vlen);
  char *p, *name;
  if (!path_and_name(env, argv[0], argv[1], "xattrSet", &p, &name)) return NULL;
  int rc = lsetxattr(p, name, val, vlen, 0);
  int err = errno;
  free(p); free(name);
  if (rc < 0) return throw_errno(env, err);
  return NULL;
}

/* xattrRemove(path: Buffer, name: Buffer): void */
static napi_value js_xattr_remove(napi_env env, napi_callback_info info) {
  ARGS(2);
  char *p, *name;
  if (!path_and_name(env, argv[0], argv[1], "xattrRemove", &p, &name)) return NULL;
  int rc = lremovexattr(p, name);
  int err = errno;
  free(p); free(name);
  if (rc < 0) return throw_errno(env, err);
  return NULL;
}

/* ---------- special files of byte paths ----------
 *
 * Not HDF5 either: the data mover recreates FIFOs, devices and sockets with
 * mknod(2), which Node does not offer. mknod(path: Buffer, mode: number,
 * major: number, minor: number): void — mode carries the type bits
 * (S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK) and the permission bits (the umask
 * applies, as to any create); a failure throws as the xattr calls do.
 */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) < 4) return throw_msg(env, "mknod: needs path, mode, major, minor");
  uint32_t mode, major, minor;
  if (napi_get_value_uint32(env, argv[1], &mode) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &major) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &minor) != napi_ok) return throw_msg(env, "mknod: mode, major and minor must be numbers");
  char *p = cstr_arg(env, argv[0], "mknod: path must be a Buffer without NUL");
  if (!p) return NULL;
  int rc = mknod(p, (mode_t)mode, makedev(major, minor));
  int err = errno;
  free(p);
  if (rc < 0) return throw_errno(env, err);
  return NULL;
}

/* A time in nanoseconds since the epoch (a BigInt) as a timespec (tv_nsec in 0..999999999, before 1970 too); false if not a BigInt. */
static bool get_timespec(napi_env env, napi_value v, struct timespec *ts) {
  int64_t ns;
  bool lossless;
  if (napi_get_value_bigint_int64(env, v, &ns, &lossless) != napi_ok || !lossless) return false;
  int64_t sec = ns / 1000000000, rem = ns % 1000000000;
  if (rem < 0) { rem += 1000000000; sec -= 1; }
  ts->tv_sec = (time_t)sec;
  ts->tv_nsec = (long)rem;
  return true;
}

/*
 * utimensat(2)/futimens(2): Node takes times as a double of seconds, which
 * loses the nanoseconds that cp -a keeps. utimens(target: number | Buffer,
 * atimeNs: bigint, mtimeNs: bigint, nofollow: boolean): void — a number is
 * a descriptor (futimens); a Buffer a path, a final symlink itself when
 * nofollow (AT_SYMLINK_NOFOLLOW). A failure throws as the xattr calls do.
 */
static napi_value js_utimens(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) < 4) return throw_msg(env, "utimens: needs target, atimeNs, mtimeNs, nofollow");
  struct timespec ts[2];
  if (!get_timespec(env, argv[1], &ts[0]) || !get_timespec(env, argv[2], &ts[1])) return throw_msg(env, "utimens: times must be BigInt nanoseconds");
  bool nofollow = false;
  napi_get_value_bool(env, argv[3], &nofollow);
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  int rc, err;
  if (t == napi_number) {
    int32_t fd;
    if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_msg(env, "utimens: fd must be a descriptor");
    rc = futimens(fd, ts);
    err = errno;
  } else {
    char *p = cstr_arg(env, argv[0], "utimens: target must be a descriptor or a Buffer path without NUL");
    if (!p) return NULL;
    rc = utimensat(AT_FDCWD, p, ts, nofollow ? AT_SYMLINK_NOFOLLOW : 0);
    err = errno;
    free(p);
  }
  if (rc < 0) return throw_errno(env, err);
  return NULL;
}

/* ---------- file locks ----------
 *
 * Not HDF5 either: flock(2), which Node does not offer, for the engine's
 * proof that an extent file's writer is alive or gone
 * (src/engine/writer-lock.ts). A flock belongs to an open file description:
 * the kernel drops it when the last descriptor of that description closes,
 * which a process's death does.
 */

/*
 * flockHold(fd: number): number — a close-on-exec duplicate of fd (the same
 * open file description, so fd's own close does not drop the lock) holding
 * its exclusive lock, taken without waiting. Closing the duplicate (and fd)
 * releases it. Close-on-exec: a program the holder starts must not keep the
 * lock alive after the holder dies. A failure throws as the xattr calls do
 * (EWOULDBLOCK: another description holds it).
 */
static napi_value js_flock_hold(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_msg(env, "flockHold: fd must be a descriptor");
  int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return throw_errno(env, errno);
  if (flock(dup, LOCK_EX | LOCK_NB) < 0) {
    int err = errno;
    close(dup);
    return throw_errno(env, err);
  }
  return num(env, dup);
}

/*
 * flockFree(path: Buffer): boolean | null — whether the exclusive lock of an
 * existing file can be taken now (it is released at once by the close): true,
 * nobody holds it; false, someone does (this process too, through another
 * open of the file); null, the file cannot be opened (missing, a symlink) or
 * the lock cannot be tried. Opened without O_CREAT: a check never makes a file.
 */
static napi_value js_flock_free(napi_env env, napi_callback_info info) {
  ARGS(1);
  char *p = cstr_arg(env, argv[0], "flockFree: path must be a Buffer without NUL");
  if (!p) return NULL;
  /* O_NONBLOCK: a FIFO put at the path must not block the check. */
  const int flags = O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  int fd = open(p, O_RDONLY | flags);
  int rc = fd < 0 ? -1 : flock(fd, LOCK_EX | LOCK_NB);
  if (rc < 0 && fd >= 0 && errno == EBADF) {
    /* NFS maps flock to a whole-file byte-range lock, whose exclusive form
     * needs a descriptor open for writing (as util-linux's flock does). */
    close(fd);
    fd = open(p, O_RDWR | flags);
    rc = fd < 0 ? -1 : flock(fd, LOCK_EX | LOCK_NB);
  }
  int err = errno;
  if (fd >= 0) close(fd);
  free(p);
  napi_value v;
  if (rc == 0) napi_get_boolean(env, true, &v);
  else if (err == EWOULDBLOCK) napi_get_boolean(env, false, &v);
  else napi_get_null(env, &v);
  return v;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  unsigned maj, min, rel;
  H5get_libversion(&maj, &min, &rel);
  char s[64];
  snprintf(s, sizeof s, "%u.%u.%u", maj, min, rel);
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

#define EXPORT(name, fn)                                             \
  do {                                                               \
    napi_value f;                                                    \
    napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f); \
    napi_set_named_property(env, exports, name, f);                  \
  } while (0)

/*
 * libhdf5 shuts itself down at exit and, while its automatic error handler is
 * set, prints "HDF5: infinite loop closing library" and a list of interfaces
 * when it cannot: after reading a damaged object header, libhdf5 1.10 leaks
 * blocks of its own free lists (no handle is left open), so that message came
 * after every such error. Shut it down ourselves with the handler removed.
 */
static void at_exit(void) {
  if (g_unclosable) return; /* see g_unclosable */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  H5close();
}

/*
 * Keep this module, and libhdf5 with it, loaded until the process ends. Node
 * unloads an addon when the worker thread that alone loaded it exits; but
 * libhdf5 (a thread-safe build) has given that thread's keys destructors in
 * its own code, which run as the thread ends: after the unload, a jump into
 * unmapped memory (SIGSEGV). at_exit, registered from here, would also run
 * at the unload, shutting the library down under other threads.
 */
static void stay_loaded(void) {
  Dl_info self;
  if (dladdr((void *)&stay_loaded, &self) && self.dli_fname) dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

static napi_value init(napi_env env, napi_value exports) {
  static int once = 0;
  if (!once) {
    once = 1;
    stay_loaded();
    H5dont_atexit(); /* before the library initialises itself */
    atexit(at_exit);
  }
  H5Eset_auto2(H5E_DEFAULT, on_error, NULL);
  EXPORT("version", js_version);
  EXPORT("open", js_open);
  EXPORT("close", js_close);
  EXPORT("flush", js_flush);
  EXPORT("createGroup", js_create_group);
  EXPORT("openGroup", js_open_group);
  EXPORT("exists", js_exists);
  EXPORT("listLinks", js_list_links);
  EXPORT("createDataset", js_create_dataset);
  EXPORT("openDataset", js_open_dataset);
  EXPORT("datasetInfo", js_dataset_info);
  EXPORT("setExtent", js_set_extent);
  EXPORT("writeSlab", js_write_slab);
  EXPORT("readSlab", js_read_slab);
  EXPORT("writeRows", js_write_rows);
  EXPORT("readRows", js_read_rows);
  EXPORT("writeAttr", js_write_attr);
  EXPORT("readAttr", js_read_attr);
  EXPORT("attrNames", js_attr_names);
  EXPORT("encodeSelection", js_encode_selection);
  EXPORT("decodeSelection", js_decode_selection);
  EXPORT("checkType", js_check_type);
  EXPORT("datasetMeta", js_dataset_meta);
  EXPORT("createDatasetEx", js_create_dataset_ex);
  EXPORT("readRaw", js_read_raw);
  EXPORT("writeRaw", js_write_raw);
  EXPORT("readStrings", js_read_strings);
  EXPORT("writeStrings", js_write_strings);
  EXPORT("readAttrRaw", js_read_attr_raw);
  EXPORT("writeAttrRaw", js_write_attr_raw);
  EXPORT("readVlen", js_read_vlen);
  EXPORT("writeVlen", js_write_vlen);
  EXPORT("readAttrVlen", js_read_attr_vlen);
  EXPORT("writeAttrVlen", js_write_attr_vlen);
  EXPORT("openType", js_open_type);
  EXPORT("typeOf", js_type_of);
  EXPORT("commitType", js_commit_type);
  EXPORT("linkObject", js_link_object);
  EXPORT("standInFilter", js_stand_in_filter);
  EXPORT("readChunkRaw", js_read_chunk_raw);
  EXPORT("writeChunkRaw", js_write_chunk_raw);
  EXPORT("objectAddr", js_object_addr);
  EXPORT("readRefs", js_read_refs);
  EXPORT("writeRefs", js_write_refs);
  EXPORT("readAttrRefs", js_read_attr_refs);
  EXPORT("writeAttrRefs", js_write_attr_refs);
  EXPORT("userBlockSize", js_user_block_size);
  EXPORT("orderInfo", js_order_info);
  EXPORT("corders", js_corders);
  EXPORT("createGroupEx", js_create_group_ex);
  EXPORT("links", js_links);
  EXPORT("createLink", js_create_link);
  EXPORT("objectKind", js_object_kind);
  EXPORT("xattrList", js_xattr_list);
  EXPORT("xattrGet", js_xattr_get);
  EXPORT("xattrSet", js_xattr_set);
  EXPORT("xattrRemove", js_xattr_remove);
  EXPORT("mknod", js_mknod);
  EXPORT("utimens", js_utimens);
  EXPORT("flockHold", js_flock_hold);
  EXPORT("flockFree", js_flock_free);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
