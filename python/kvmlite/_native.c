/*
 * kvmlite._native: the CPython extension over libkvmlite, built with the
 * library's own sources (python/setup.py). The Python layer
 * (kvmlite/vm.py) gives the documented API; this file holds one VM
 * handle, keeps its console output for expect and reports, and releases
 * the GIL whenever the library may block.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvmlite.h"
#include "parse.h"

/* Console output kept per VM: the tail of at most this much. */
#define OUTPUT_MAX (8u << 20)

static PyObject *native_error; /* kvmlite.Error */

/*
 * The output the guest printed, appended by the console callback (on a
 * vCPU or console thread: it never blocks and never touches Python).
 * Offsets count every byte since boot; data holds [base, base + len).
 */
struct output {
	pthread_mutex_t lock;
	char *data;
	size_t len, cap;
	uint64_t base;
	uint64_t lost; /* bytes that could not be kept (out of memory) */
	unsigned int waiters;
	int evfd; /* written when output arrives while someone waits */
};

typedef struct {
	PyObject_HEAD struct kvmlite_vm *vm;
	struct output out;
	/* Calls in flight without the GIL; close() waits for them. */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned int users;
	bool closing;
} Machine;

static void output_append(void *opaque, const char *buf, size_t len)
{
	struct output *o = opaque;

	pthread_mutex_lock(&o->lock);
	/* Keep at most OUTPUT_MAX: then the newer half of it. */
	if (len > OUTPUT_MAX / 2) {
		size_t skip = len - OUTPUT_MAX / 2;

		o->base += o->len + skip;
		o->len = 0;
		buf += skip;
		len -= skip;
	}
	if (o->len + len > OUTPUT_MAX) {
		size_t drop = o->len + len - OUTPUT_MAX / 2;

		memmove(o->data, o->data + drop, o->len - drop);
		o->len -= drop;
		o->base += drop;
	}
	if (o->len + len > o->cap) {
		size_t cap = o->cap ? o->cap : 65536;
		char *p;

		while (cap < o->len + len)
			cap *= 2;
		if (cap > OUTPUT_MAX)
			cap = OUTPUT_MAX;
		p = realloc(o->data, cap);
		if (!p) {
			o->lost += len;
			o->base += len; /* offsets stay true to the guest's */
			goto out;
		}
		o->data = p;
		o->cap = cap;
	}
	memcpy(o->data + o->len, buf, len);
	o->len += len;
out:
	if (o->waiters)
		(void)eventfd_write(o->evfd, 1);
	pthread_mutex_unlock(&o->lock);
}

static PyObject *raise_errno(int err, const char *msg)
{
	PyObject *e = PyObject_CallFunction(native_error, "s",
					    msg && *msg ? msg : strerror(err));

	if (!e)
		return NULL;
	if (PyObject_SetAttrString(e, "errno", PyLong_FromLong(err)) == 0)
		PyErr_SetObject(native_error, e);
	Py_DECREF(e);
	return NULL;
}

/* Begin a call on the VM: fails once it is closed or closing. */
static int enter(Machine *m)
{
	int ok;

	pthread_mutex_lock(&m->lock);
	ok = m->vm && !m->closing;
	if (ok)
		m->users++;
	pthread_mutex_unlock(&m->lock);
	if (!ok)
		raise_errno(EBADF, "the VM is closed");
	return ok ? 0 : -1;
}

static void leave(Machine *m)
{
	pthread_mutex_lock(&m->lock);
	if (--m->users == 0)
		pthread_cond_broadcast(&m->idle);
	pthread_mutex_unlock(&m->lock);
}

/* Strings and arrays of a config live until kvmlite_vm_create returns. */
struct build {
	struct kvmlite_disk disks[KVMLITE_MAX_DISKS];
	struct kvmlite_net nets[KVMLITE_MAX_NETS];
};

static int parse_disks(PyObject *seq, struct kvmlite_config *cfg,
		       struct build *b)
{
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);

	if (n > KVMLITE_MAX_DISKS) {
		raise_errno(EINVAL, "too many disks");
		return -1;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *t = PySequence_Fast_GET_ITEM(seq, i);
		const char *path, *serial = NULL;
		int ro;

		if (!PyArg_ParseTuple(t, "spz", &path, &ro, &serial))
			return -1;
		b->disks[i].path = path;
		b->disks[i].read_only = ro;
		b->disks[i].serial = serial;
	}
	cfg->disks = b->disks;
	cfg->nr_disks = (unsigned int)n;
	return 0;
}

static int parse_nets(PyObject *seq, struct kvmlite_config *cfg,
		      struct build *b)
{
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);

	if (n > KVMLITE_MAX_NETS) {
		raise_errno(EINVAL, "too many networks");
		return -1;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *t = PySequence_Fast_GET_ITEM(seq, i);
		const char *tap, *mac = NULL;

		if (!PyArg_ParseTuple(t, "sz", &tap, &mac))
			return -1;
		b->nets[i].tap = tap;
		b->nets[i].mac = mac;
	}
	cfg->nets = b->nets;
	cfg->nr_nets = (unsigned int)n;
	return 0;
}

static int Machine_init(Machine *m, PyObject *args, PyObject *kw)
{
	static char *names[] = { "kernel",  "initrd",	  "cmdline",  "cpus",
				 "memory",  "disks",	  "nets",     "name",
				 "seccomp", "console_fd", "start_ns", NULL };
	const char *kernel, *initrd = NULL, *cmdline = NULL, *name = NULL;
	unsigned int cpus = 1;
	unsigned long long memory = 256ULL << 20, start_ns = 0;
	PyObject *disks = NULL, *nets = NULL, *dseq = NULL, *nseq = NULL;
	int seccomp = 1, console_fd = -1, ret = -1, rc;
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm = NULL;
	struct build *b = NULL;
	char err[512] = "";

	if (m->vm || m->closing) {
		raise_errno(EALREADY, "the VM exists already");
		return -1;
	}
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zzIKOOzpiK", names,
					 &kernel, &initrd, &cmdline, &cpus,
					 &memory, &disks, &nets, &name,
					 &seccomp, &console_fd, &start_ns))
		return -1;
	/* Not given: none. */
	dseq = disks ? PySequence_Fast(disks, "disks must be a sequence")
		     : PyTuple_New(0);
	nseq = !dseq  ? NULL
	       : nets ? PySequence_Fast(nets, "nets must be a sequence")
		      : PyTuple_New(0);
	b = calloc(1, sizeof(*b));
	if (!nseq || !b) {
		if (!b)
			PyErr_NoMemory();
		goto out;
	}
	kvmlite_config_init(&cfg);
	cfg.kernel_path = kernel;
	cfg.initrd_path = initrd;
	cfg.cmdline = cmdline;
	cfg.cpus = cpus;
	cfg.memory = memory;
	cfg.name = name;
	cfg.seccomp = seccomp;
	cfg.console_out_fd = console_fd;
	cfg.console_cb = output_append;
	cfg.console_opaque = &m->out;
	cfg.process_start_ns = start_ns;
	if (parse_disks(dseq, &cfg, b) || parse_nets(nseq, &cfg, b))
		goto out;
	PyThreadState *ts = PyEval_SaveThread();
	rc = kvmlite_vm_create(&cfg, &vm, err, sizeof(err));
	PyEval_RestoreThread(ts);
	if (rc) {
		raise_errno(-rc, err);
		goto out;
	}
	m->vm = vm;
	ret = 0;
out:
	free(b);
	Py_XDECREF(dseq);
	Py_XDECREF(nseq);
	return ret;
}

static PyObject *Machine_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	Machine *m = (Machine *)type->tp_alloc(type, 0);

	if (!m)
		return NULL;
	pthread_mutex_init(&m->out.lock, NULL);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->idle, NULL);
	m->out.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->out.evfd < 0) {
		PyErr_SetFromErrno(PyExc_OSError);
		Py_DECREF(m);
		return NULL;
	}
	return (PyObject *)m;
}

/* Stop, wait for the calls in flight, destroy. Idempotent. */
static void machine_close(Machine *m)
{
	struct kvmlite_vm *vm;

	pthread_mutex_lock(&m->lock);
	vm = m->closing ? NULL : m->vm;
	m->closing = true;
	pthread_mutex_unlock(&m->lock);
	if (!vm)
		return;
	PyThreadState *ts = PyEval_SaveThread();
	kvmlite_vm_stop(vm);
	pthread_mutex_lock(&m->lock);
	while (m->users)
		pthread_cond_wait(&m->idle, &m->lock);
	m->vm = NULL;
	pthread_mutex_unlock(&m->lock);
	kvmlite_vm_destroy(vm);
	PyEval_RestoreThread(ts);
}

static void Machine_dealloc(Machine *m)
{
	machine_close(m);
	if (m->out.evfd >= 0)
		close(m->out.evfd);
	pthread_mutex_destroy(&m->out.lock);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->idle);
	free(m->out.data);
	Py_TYPE(m)->tp_free((PyObject *)m);
}

static PyObject *Machine_close(Machine *m, PyObject *unused)
{
	machine_close(m);
	Py_RETURN_NONE;
}

static PyObject *Machine_start(Machine *m, PyObject *unused)
{
	int rc;

	if (enter(m))
		return NULL;
	PyThreadState *ts = PyEval_SaveThread();
	rc = kvmlite_vm_start(m->vm);
	PyEval_RestoreThread(ts);
	leave(m);
	if (rc)
		return raise_errno(-rc, kvmlite_vm_last_error(m->vm));
	Py_RETURN_NONE;
}

/* wait(timeout_ms) -> True once stopped, False on timeout. */
static PyObject *Machine_wait(Machine *m, PyObject *args)
{
	int timeout_ms, rc;

	if (!PyArg_ParseTuple(args, "i", &timeout_ms) || enter(m))
		return NULL;
	PyThreadState *ts = PyEval_SaveThread();
	rc = kvmlite_vm_wait(m->vm, timeout_ms);
	PyEval_RestoreThread(ts);
	leave(m);
	return PyBool_FromLong(rc == 0);
}

static PyObject *Machine_stop(Machine *m, PyObject *unused)
{
	if (enter(m))
		return NULL;
	kvmlite_vm_stop(m->vm); /* does not block */
	leave(m);
	Py_RETURN_NONE;
}

static PyObject *Machine_shutdown(Machine *m, PyObject *unused)
{
	int rc;

	if (enter(m))
		return NULL;
	rc = kvmlite_vm_shutdown(m->vm);
	leave(m);
	if (rc == -ESRCH)
		return raise_errno(ESRCH, "the VM is not running");
	if (rc)
		return raise_errno(-rc, "power button");
	Py_RETURN_NONE;
}

static PyObject *Machine_pause(Machine *m, PyObject *unused)
{
	int rc;

	if (enter(m))
		return NULL;
	PyThreadState *ts = PyEval_SaveThread();
	rc = kvmlite_vm_pause(m->vm);
	PyEval_RestoreThread(ts);
	leave(m);
	if (rc)
		return raise_errno(-rc, "the VM is not running");
	Py_RETURN_NONE;
}

static PyObject *Machine_resume(Machine *m, PyObject *unused)
{
	int rc;

	if (enter(m))
		return NULL;
	rc = kvmlite_vm_resume(m->vm);
	leave(m);
	if (rc)
		return raise_errno(-rc, "the VM is not paused");
	Py_RETURN_NONE;
}

static PyObject *Machine_console_write(Machine *m, PyObject *args)
{
	Py_buffer buf;
	size_t n;

	if (!PyArg_ParseTuple(args, "y*", &buf))
		return NULL;
	if (enter(m)) {
		PyBuffer_Release(&buf);
		return NULL;
	}
	n = kvmlite_vm_console_write(m->vm, buf.buf, (size_t)buf.len);
	leave(m);
	PyBuffer_Release(&buf);
	return PyLong_FromSize_t(n);
}

/* output(offset) -> (first offset returned, bytes from there, lost). */
static PyObject *Machine_output(Machine *m, PyObject *args)
{
	unsigned long long from;
	struct output *o = &m->out;
	PyObject *r;
	uint64_t start;
	size_t skip;

	if (!PyArg_ParseTuple(args, "K", &from))
		return NULL;
	pthread_mutex_lock(&o->lock);
	start = from > o->base ? from : o->base;
	if (start > o->base + o->len)
		start = o->base + o->len;
	skip = (size_t)(start - o->base);
	r = Py_BuildValue("Ky#K", (unsigned long long)start,
			  o->data ? o->data + skip : "",
			  (Py_ssize_t)(o->len - skip),
			  (unsigned long long)o->lost);
	pthread_mutex_unlock(&o->lock);
	return r;
}

/*
 * wait_output(offset, timeout_ms): wait until there is output past
 * @offset or the VM has stopped. True when there is output past it.
 */
static PyObject *Machine_wait_output(Machine *m, PyObject *args)
{
	unsigned long long from;
	struct output *o = &m->out;
	int timeout_ms;
	bool have;

	if (!PyArg_ParseTuple(args, "Ki", &from, &timeout_ms) || enter(m))
		return NULL;
	PyThreadState *ts = PyEval_SaveThread();
	pthread_mutex_lock(&o->lock);
	have = o->base + o->len > from;
	if (!have)
		o->waiters++;
	pthread_mutex_unlock(&o->lock);
	if (!have) {
		struct pollfd p[2] = { { o->evfd, POLLIN, 0 },
				       { kvmlite_vm_exit_fd(m->vm), POLLIN,
					 0 } };
		eventfd_t v;

		while (poll(p, 2, timeout_ms) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&o->lock);
		o->waiters--;
		have = o->base + o->len > from;
		(void)eventfd_read(o->evfd, &v);
		pthread_mutex_unlock(&o->lock);
	}
	PyEval_RestoreThread(ts);
	leave(m);
	return PyBool_FromLong(have);
}

/* exit_info() -> (reason, test-exit value, status, detail). */
static PyObject *Machine_exit_info(Machine *m, PyObject *unused)
{
	struct kvmlite_exit e;

	if (enter(m))
		return NULL;
	kvmlite_vm_exit_info(m->vm, &e);
	leave(m);
	return Py_BuildValue("iiis", (int)e.reason, e.test_exit_value,
			     kvmlite_exit_status(&e), e.detail);
}

static PyObject *Machine_timings(Machine *m, PyObject *unused)
{
	struct kvmlite_timings t;

	if (enter(m))
		return NULL;
	kvmlite_vm_timings(m->vm, &t);
	leave(m);
	return Py_BuildValue(
		"KKKKKK", (unsigned long long)t.process_start,
		(unsigned long long)t.loaded, (unsigned long long)t.vm_created,
		(unsigned long long)t.first_run,
		(unsigned long long)t.guest_marker, (unsigned long long)t.exit);
}

static PyObject *Machine_console_stats(Machine *m, PyObject *unused)
{
	struct kvmlite_console_stats s;

	if (enter(m))
		return NULL;
	kvmlite_vm_console_stats(m->vm, &s);
	leave(m);
	return Py_BuildValue("KKKKi", (unsigned long long)s.written,
			     (unsigned long long)s.dropped,
			     (unsigned long long)s.stalls,
			     (unsigned long long)s.queued, s.out_error);
}

/* snapshot(dir): kvmlite_vm_snapshot(). */
static PyObject *Machine_snapshot(Machine *m, PyObject *args)
{
	const char *dir;
	PyObject *r = NULL;
	int rc;

	if (!PyArg_ParseTuple(args, "s", &dir))
		return NULL;
	if (!*dir)
		return raise_errno(EINVAL, "snapshot: no directory given");
	if (enter(m))
		return NULL;
	PyThreadState *ts = PyEval_SaveThread();
	rc = kvmlite_vm_snapshot(m->vm, dir);
	PyEval_RestoreThread(ts);
	/* The message before leave(): a close may free the VM after it. */
	if (rc) {
		raise_errno(-rc, kvmlite_vm_last_error(m->vm));
	} else {
		Py_INCREF(Py_None);
		r = Py_None;
	}
	leave(m);
	return r;
}

/* reset(): kvmlite_vm_reset(). */
static PyObject *Machine_reset(Machine *m, PyObject *unused)
{
	PyObject *r = NULL;
	struct kvmlite_exit e;
	int rc;

	if (enter(m))
		return NULL;
	PyThreadState *ts = PyEval_SaveThread();
	rc = kvmlite_vm_reset(m->vm);
	PyEval_RestoreThread(ts);
	if (rc == -ENOENT) {
		raise_errno(ENOENT, "reset: the VM has taken or been restored "
				    "from no snapshot");
	} else if (rc == -EINVAL) {
		raise_errno(EINVAL, "reset: the VM is not running");
	} else if (rc) {
		/* The VM stopped; the exit's detail says why. */
		kvmlite_vm_exit_info(m->vm, &e);
		raise_errno(-rc, e.detail);
	} else {
		Py_INCREF(Py_None);
		r = Py_None;
	}
	leave(m);
	return r;
}

/*
 * Machine.restore(dir, name, seccomp, console_fd, start_ns): a Machine
 * made by kvmlite_vm_restore() from the snapshot in @dir, with the
 * console (and the rest a restore takes from a config) as Machine()'s.
 */
static PyObject *Machine_restore(PyTypeObject *type, PyObject *args,
				 PyObject *kw)
{
	static char *names[] = { "dir",	       "name",	   "seccomp",
				 "console_fd", "start_ns", NULL };
	const char *dir, *name = NULL;
	unsigned long long start_ns = 0;
	int seccomp = 1, console_fd = -1, rc;
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm = NULL;
	char err[512] = "";
	Machine *m;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zpiK", names, &dir,
					 &name, &seccomp, &console_fd,
					 &start_ns))
		return NULL;
	m = (Machine *)type->tp_new(type, NULL, NULL);
	if (!m)
		return NULL;
	kvmlite_config_init(&cfg);
	cfg.name = name;
	cfg.seccomp = seccomp;
	cfg.console_out_fd = console_fd;
	cfg.console_cb = output_append;
	cfg.console_opaque = &m->out;
	cfg.process_start_ns = start_ns;
	PyThreadState *ts = PyEval_SaveThread();
	rc = kvmlite_vm_restore(dir, &cfg, &vm, err, sizeof(err));
	PyEval_RestoreThread(ts);
	if (rc) {
		Py_DECREF(m);
		return raise_errno(-rc, err);
	}
	m->vm = vm;
	return (PyObject *)m;
}

/* The text of a snprintf-style library call (dump, counters). */
static PyObject *text_of(Machine *m,
			 int (*fn)(struct kvmlite_vm *, char *, size_t))
{
	size_t len = 65536;
	PyObject *r = NULL;
	char *buf;
	int n;

	if (enter(m))
		return NULL;
	for (;;) {
		buf = malloc(len);
		if (!buf) {
			PyErr_NoMemory();
			break;
		}
		PyThreadState *ts = PyEval_SaveThread();
		n = fn(m->vm, buf, len);
		PyEval_RestoreThread(ts);
		if (n < 0) {
			raise_errno(-n, NULL);
			break;
		}
		if ((size_t)n < len) {
			r = PyUnicode_DecodeUTF8(buf, n, "replace");
			break;
		}
		free(buf);
		len = (size_t)n + 1;
	}
	free(buf);
	leave(m);
	return r;
}

static PyObject *Machine_dump(Machine *m, PyObject *unused)
{
	return text_of(m, kvmlite_vm_dump);
}

static PyObject *Machine_counters(Machine *m, PyObject *unused)
{
	return text_of(m, kvmlite_vm_counters);
}

static PyObject *Machine_last_error(Machine *m, PyObject *unused)
{
	PyObject *r;

	if (enter(m))
		return NULL;
	r = PyUnicode_DecodeUTF8(
		kvmlite_vm_last_error(m->vm),
		(Py_ssize_t)strlen(kvmlite_vm_last_error(m->vm)), "replace");
	leave(m);
	return r;
}

static PyObject *Machine_warning(Machine *m, PyObject *unused)
{
	const char *w;

	if (enter(m))
		return NULL;
	w = kvmlite_vm_warning(m->vm);
	leave(m);
	if (!w)
		Py_RETURN_NONE;
	return PyUnicode_FromString(w);
}

static PyMethodDef Machine_methods[] = {
	{ "start", (PyCFunction)Machine_start, METH_NOARGS, NULL },
	{ "wait", (PyCFunction)Machine_wait, METH_VARARGS, NULL },
	{ "stop", (PyCFunction)Machine_stop, METH_NOARGS, NULL },
	{ "shutdown", (PyCFunction)Machine_shutdown, METH_NOARGS, NULL },
	{ "pause", (PyCFunction)Machine_pause, METH_NOARGS, NULL },
	{ "resume", (PyCFunction)Machine_resume, METH_NOARGS, NULL },
	{ "console_write", (PyCFunction)Machine_console_write, METH_VARARGS,
	  NULL },
	{ "output", (PyCFunction)Machine_output, METH_VARARGS, NULL },
	{ "wait_output", (PyCFunction)Machine_wait_output, METH_VARARGS, NULL },
	{ "exit_info", (PyCFunction)Machine_exit_info, METH_NOARGS, NULL },
	{ "timings", (PyCFunction)Machine_timings, METH_NOARGS, NULL },
	{ "console_stats", (PyCFunction)Machine_console_stats, METH_NOARGS,
	  NULL },
	{ "dump", (PyCFunction)Machine_dump, METH_NOARGS, NULL },
	{ "counters", (PyCFunction)Machine_counters, METH_NOARGS, NULL },
	{ "last_error", (PyCFunction)Machine_last_error, METH_NOARGS, NULL },
	{ "warning", (PyCFunction)Machine_warning, METH_NOARGS, NULL },
	{ "snapshot", (PyCFunction)Machine_snapshot, METH_VARARGS, NULL },
	{ "reset", (PyCFunction)Machine_reset, METH_NOARGS, NULL },
	{ "restore", (PyCFunction)(void (*)(void))Machine_restore,
	  METH_VARARGS | METH_KEYWORDS | METH_CLASS, NULL },
	{ "close", (PyCFunction)Machine_close, METH_NOARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyTypeObject MachineType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kvmlite._native.Machine",
	.tp_doc = "One libkvmlite VM (see kvmlite.VM).",
	.tp_basicsize = sizeof(Machine),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_new = Machine_new,
	.tp_init = (initproc)Machine_init,
	.tp_dealloc = (destructor)Machine_dealloc,
	.tp_methods = Machine_methods,
};

/* parse_size(text) -> bytes, as --memory reads it. */
static PyObject *native_parse_size(PyObject *self, PyObject *args)
{
	const char *s;
	uint64_t v;
	int rc;

	if (!PyArg_ParseTuple(args, "s", &s))
		return NULL;
	rc = parse_size(s, &v);
	if (rc)
		return raise_errno(-rc, rc == -ERANGE ? "size too large"
						      : "not a size (e.g. "
							"512M, 2G)");
	return PyLong_FromUnsignedLongLong(v);
}

static PyObject *native_version(PyObject *self, PyObject *unused)
{
	return PyUnicode_FromString(kvmlite_version_string());
}

static PyMethodDef native_methods[] = {
	{ "parse_size", native_parse_size, METH_VARARGS, NULL },
	{ "version", native_version, METH_NOARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef native_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "kvmlite._native",
	.m_doc = "libkvmlite, built into the kvmlite package.",
	.m_size = -1,
	.m_methods = native_methods,
};

PyMODINIT_FUNC PyInit__native(void)
{
	PyObject *mod;

	if (PyType_Ready(&MachineType) < 0)
		return NULL;
	mod = PyModule_Create(&native_module);
	if (!mod)
		return NULL;
	native_error = PyErr_NewExceptionWithDoc(
		"kvmlite.Error",
		"An error from libkvmlite: str() is its one-line message, "
		".errno the errno value.",
		NULL, NULL);
	/* .errno of an error raised without one (the Python layer's). */
	if (!native_error ||
	    PyObject_SetAttrString(native_error, "errno", PyLong_FromLong(0)) ||
	    PyModule_AddObject(mod, "Error", native_error) ||
	    PyModule_AddIntConstant(mod, "STATUS_STOPPED",
				    KVMLITE_STATUS_STOPPED)) {
		Py_DECREF(mod);
		return NULL;
	}
	Py_INCREF(native_error);
	Py_INCREF(&MachineType);
	if (PyModule_AddObject(mod, "Machine", (PyObject *)&MachineType)) {
		Py_DECREF(&MachineType);
		Py_DECREF(mod);
		return NULL;
	}
	return mod;
}
