/* Named tuples made from C, for the compiled dissectors (_tls.c and _dns.c). */
#ifndef LOGINLENS_NAMED_H
#define LOGINLENS_NAMED_H

#include <Python.h>

/* ``cls(*items)`` for a named tuple class ``cls``, made as ``tuple.__new__(cls, items)``
 * makes it, without the class's Python ``__new__``. Steals ``items`` (NULL: an error is set
 * already). */
static PyObject *make(PyObject *cls, PyObject *items)
{
    if (items == NULL)
        return NULL;
    PyObject *args = PyTuple_Pack(1, items);
    Py_DECREF(items);
    if (args == NULL)
        return NULL;
    PyObject *made = PyTuple_Type.tp_new((PyTypeObject *)cls, args, NULL);
    Py_DECREF(args);
    return made;
}

/* 1 if each of the ``count`` objects is a class of tuples; else 0 with TypeError set. */
static int tuple_classes(PyObject *const *types, int count)
{
    for (int i = 0; i < count; i++)
        if (!PyType_Check(types[i]) ||
            !PyType_IsSubtype((PyTypeObject *)types[i], &PyTuple_Type)) {
            PyErr_SetString(PyExc_TypeError, "bind: the message types must be named tuples");
            return 0;
        }
    return 1;
}

#endif
