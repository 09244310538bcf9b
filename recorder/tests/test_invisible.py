"""The recorder shares the interpreter with the program and stays out of its
sight (issue 22): it takes a sys.monitoring tool id that profilers, debuggers
and coverage tools do not use, runs none of the program's code while it
encodes values, keeps no Python object the program could count, and
materialises no frame object where the interpreter would not.

Each program runs plainly and under `record`, in a subprocess, with this
interpreter (sys.monitoring on 3.12+, the C trace hook on 3.11); what it
prints, its exit status and its stderr must be the same, byte for byte."""

import sys
import textwrap

import pytest

from conftest import assert_same_behaviour, code_id, export_json, record, run_python, walk

MONITORING = sys.version_info >= (3, 12)
needs_monitoring = pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")


def same_as_plain(tmp_path, source, *options, name="program.py"):
    """Writes ``source`` to a script, runs it plainly and under ``record``
    with ``options``, checks both behave the same, and returns the plain run."""
    script = tmp_path / name
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    plain = run_python(script, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    recorded = record(tmp_path / "trace.tsieve", *options, script, cwd=tmp_path)
    assert_same_behaviour(plain, recorded)
    return plain


# --- 1. the sys.monitoring tool id ---------------------------------------------

PROFILERS = {
    "cprofile_enable": """\
        import cProfile, pstats

        def work(n):
            return sum(square(i) for i in range(n))

        def square(i):
            return i * i

        profiler = cProfile.Profile()
        profiler.enable()
        work(10)
        profiler.disable()
        stats = pstats.Stats(profiler).stats
        print(sorted((f[2], s[1]) for f, s in stats.items() if f[0] == __file__))
    """,
    "cprofile_run": """\
        import cProfile, os, pstats, sys

        def work(n):
            return [i * i for i in range(n)]

        out = os.path.join(os.path.dirname(__file__), "run.prof")
        cProfile.run("work(5)", out)
        stats = pstats.Stats(out).stats
        print(sorted((f[2], s[1]) for f, s in stats.items() if f[0] == __file__))
        # The context manager form (3.8+) too.
        with cProfile.Profile() as profiler:
            work(3)
        print(sorted((f[2], s[1]) for f, s in pstats.Stats(profiler).stats.items() if f[0] == __file__))
    """,
    "profile_runcall": """\
        import profile, pstats

        def work(n):
            return n + 1

        profiler = profile.Profile()
        print(profiler.runcall(work, 41))
        stats = pstats.Stats(profiler).stats
        print(sorted((f[2], s[1]) for f, s in stats.items() if f[0] == __file__))
    """,
}


@pytest.mark.parametrize("program", sorted(PROFILERS))
@pytest.mark.parametrize("values", ["none", "all"])
def test_profilers_work_under_record(tmp_path, program, values):
    plain = same_as_plain(tmp_path, PROFILERS[program], "--values", values)
    assert "work" in plain.stdout


@needs_monitoring
def test_tool_id_is_3_then_4_never_0_1_2_or_5(tmp_path):
    source = """\
        import sys
        import tracesieve

        mon = sys.monitoring
        def tools():
            return [mon.get_tool(i) for i in range(6)]

        tracesieve.start(sys.argv[1], discover=False)
        print("alone", tools())
        try:
            mon.use_tool_id(3, "mine")
            mon.free_tool_id(3)
            print("claiming 3: no error")
        except ValueError as error:
            print("claiming 3:", error)
        tracesieve.stop()
        print("after", tools())

        mon.use_tool_id(3, "mine")
        tracesieve.start(sys.argv[1], discover=False)
        print("3 taken", tools())
        tracesieve.stop()

        mon.use_tool_id(4, "theirs")
        try:
            tracesieve.start(sys.argv[1], discover=False)
        except RuntimeError as error:
            print("3 and 4 taken:", error)
        print("recording", tracesieve.is_recording())
    """
    script = tmp_path / "tools.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    result = run_python(script, tmp_path / "t.tsieve", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "alone [None, None, None, 'tracesieve', None, None]"
    # CPython's own message; the name is what sys.monitoring.get_tool(3) says.
    assert lines[1] == "claiming 3: tool 3 is already in use"
    assert lines[2] == "after [None, None, None, None, None, None]"
    assert lines[3] == "3 taken [None, None, None, 'mine', 'tracesieve', None]"
    assert lines[4].startswith("3 and 4 taken: tracesieve cannot record: sys.monitoring tool ids 3 and 4 are in use")
    assert "'mine'" in lines[4] and "'theirs'" in lines[4]
    assert lines[5] == "recording False"


# --- 2. recording values runs none of the program's code -------------------------

HOSTILE = """\
    import sys, types

    RAN = []
    WATCH = False

    def ran(what):
        if WATCH:
            RAN.append(what)

    class GetAttr:
        def __getattr__(self, name):
            ran(f"GetAttr.__getattr__({name})")
            raise AttributeError(name)

    class GetAttribute:
        def __init__(self):
            self.x = 1
        def __getattribute__(self, name):
            ran(f"GetAttribute.__getattribute__({name})")
            return object.__getattribute__(self, name)

    class Props:
        def __init__(self):
            self.plain = 2
        @property
        def prop(self):
            ran("Props.prop")
            return 3
        @property
        def __dict__(self):
            ran("Props.__dict__")
            return {}
        @property
        def __class__(self):
            ran("Props.__class__")
            return Props

    class MetaDict(type):
        @property
        def __dict__(cls):
            ran("MetaDict.__dict__")
            return {}
        @property
        def __module__(cls):
            ran("MetaDict.__module__")
            return "nowhere"
        @property
        def __mro__(cls):
            ran("MetaDict.__mro__")
            return (cls, object)
        def __getattribute__(cls, name):
            if name not in ("__prepare__",):
                ran(f"MetaDict.__getattribute__({name})")
            return type.__getattribute__(cls, name)
        def __subclasscheck__(cls, other):
            ran("MetaDict.__subclasscheck__")
            return False
        def __instancecheck__(cls, other):
            ran("MetaDict.__instancecheck__")
            return False

    class WithMeta(metaclass=MetaDict):
        __slots__ = ("a", "b")
        def __init__(self):
            self.a = 4

    class MetaQualname(type):
        def __getattribute__(cls, name):
            ran(f"MetaQualname.__getattribute__({name})")
            return type.__getattribute__(cls, name)
        @property
        def __name__(cls):
            ran("MetaQualname.__name__")
            return "N"

    class QualList(list, metaclass=MetaQualname):
        pass

    class List(list):
        def __len__(self):
            ran("List.__len__")
            return 0
        def __iter__(self):
            ran("List.__iter__")
            return iter(())
        def __getitem__(self, i):
            ran("List.__getitem__")
            return None
        def __eq__(self, other):
            ran("List.__eq__")
            return True
        __hash__ = None

    class Dict(dict):
        def keys(self):
            ran("Dict.keys")
            return []
        def items(self):
            ran("Dict.items")
            return []
        def values(self):
            ran("Dict.values")
            return []
        def __iter__(self):
            ran("Dict.__iter__")
            return iter(())
        def __len__(self):
            ran("Dict.__len__")
            return 0
        def __getitem__(self, key):
            ran("Dict.__getitem__")
            return None

    class Str(str):
        def __str__(self):
            ran("Str.__str__")
            return "s"
        def __len__(self):
            ran("Str.__len__")
            return 0
        def __eq__(self, other):
            ran("Str.__eq__")
            return False
        def __hash__(self):
            ran("Str.__hash__")
            return 0

    class Int(int):
        def __index__(self):
            ran("Int.__index__")
            return 0
        def __int__(self):
            ran("Int.__int__")
            return 0
        def __repr__(self):
            ran("Int.__repr__")
            return "0"

    class Eq:
        def __eq__(self, other):
            ran("Eq.__eq__")
            return False
        def __hash__(self):
            ran("Eq.__hash__")
            return 1

    class Descriptor:
        def __get__(self, obj, owner=None):
            ran("Descriptor.__get__")
            return 5
        def __set__(self, obj, value):
            ran("Descriptor.__set__")

    class HasDescriptor:
        d = Descriptor()
        def __init__(self):
            self.__dict__["d"] = 6

    class SlotList(list):
        def __iter__(self):
            ran("SlotList.__iter__")
            return iter(())

    class OddSlots:
        __slots__ = SlotList(["p"])
    SlotList.__iter__  # (the class statement above iterated it, unwatched)

    class Failure(Exception):
        def __getattr__(self, name):
            ran(f"Failure.__getattr__({name})")
            raise AttributeError(name)
        @property
        def args(self):
            ran("Failure.args")
            return ()
        def __str__(self):
            ran("Failure.__str__")
            return "failure"

    class Callable:
        def __call__(self, *args):
            return None
        def __getattr__(self, name):
            ran(f"Callable.__getattr__({name})")
            raise AttributeError(name)

    class HostileMapping:
        def __init__(self):
            self.data = {}
        def __setitem__(self, key, value):
            self.data[key] = value
        def __getitem__(self, key):
            return self.data[key]
        def __delitem__(self, key):
            del self.data[key]
        def keys(self):
            ran("HostileMapping.keys")
            return self.data.keys()
        def items(self):
            ran("HostileMapping.items")
            return self.data.items()
        def __iter__(self):
            ran("HostileMapping.__iter__")
            return iter(self.data)
        def __len__(self):
            ran("HostileMapping.__len__")
            return len(self.data)
        def __contains__(self, key):
            ran("HostileMapping.__contains__")
            return key in self.data

    class Prepared(type):
        @classmethod
        def __prepare__(mcls, name, bases):
            return HostileMapping()
        def __new__(mcls, name, bases, ns):
            return super().__new__(mcls, name, bases, dict(ns.data))

    module = types.ModuleType("hostile_module")
    del module.__name__
    def module_getattr(name):
        ran(f"module.__getattr__({name})")
        raise AttributeError(name)
    module.__getattr__ = module_getattr

    class Odd:
        pass

    def make():
        odd = Odd()
        odd.bad_method = types.MethodType(Callable(), odd)
        odd.qual_append = QualList().append
        odd.meta_class = WithMeta
        odd.failure = Failure("boom")
        return odd

    def use(getattr_, getattribute, props, with_meta, listy, dicty, stry, inty, eq, desc, odd_slots, odd, *rest, **kw):
        local_copy = [getattr_, getattribute, props, with_meta, listy, dicty, stry, inty, eq, desc, odd_slots, odd]
        nested = {"k": local_copy, "t": (local_copy, kw), "s": rest[-1]}
        return nested

    def raises(failure):
        try:
            raise failure
        except Failure as caught:
            kept = caught
        return kept

    def main():
        global WATCH
        objects = [
            GetAttr(), GetAttribute(), Props(), WithMeta(), List([1, 2]), Dict(a=1), Str("str"),
            Int(7), Eq(), HasDescriptor(), OddSlots(), make(),
        ]
        eq_set = {objects[8], Eq()}
        WATCH = True
        getattr_, getattribute, props, with_meta, listy, dicty, stry, inty, eq, desc, odd_slots, odd = objects
        classes = (GetAttr, Props, MetaDict, WithMeta, QualList, List, Dict, HostileMapping, Prepared)
        mod = module
        result = use(*objects, module, classes, eq_set, key=QualList([3]))
        failure = raises(odd.__dict__["failure"])

        class Body(metaclass=Prepared):
            first = 1
            second = [first, 2]

        done = True
        WATCH = False
        return result, failure, Body

    main()
    print("ran:", RAN)
"""


@pytest.mark.parametrize("values", ["all", "args"])
def test_recording_values_runs_none_of_the_programs_code(tmp_path, values):
    plain = same_as_plain(tmp_path, HOSTILE, "--values", values, "--max-depth", "6", "--max-nodes", "1000")
    assert plain.stdout == "ran: []\n"


def test_metaclass_dict_as_property(tmp_path):
    # test_inspect's test_metaclass_dict_as_property.
    source = """\
        class MetaWithDict(type):
            @property
            def __dict__(self):
                print("the metaclass __dict__ property ran")
                return {}

        class Thing(metaclass=MetaWithDict):
            pass

        def show(cls, instance):
            return cls, instance

        show(Thing, Thing())
        print("done")
    """
    same_as_plain(tmp_path, source, "--values", "all")


# --- 3. the program cannot count the recorder's objects --------------------------

COUNTED = """\
    import gc, sys

    class G:
        def __eq__(self, other):
            return True

    def count(rounds):
        g = G()
        before = len(gc.get_objects())
        for _ in range(rounds):
            g == g
        after = len(gc.get_objects())
        return after - before

    # test_descr's test_slots pattern: the first call of G.__eq__ happens
    # between the two counts.
    print("first", count(10))
    print("again", count(10))
"""


@pytest.mark.parametrize("values", ["none"])
def test_program_cannot_count_the_recorders_objects(tmp_path, values):
    plain = same_as_plain(tmp_path, COUNTED, "--values", values)
    assert plain.stdout == "first 0\nagain 0\n"


THREAD_OBJECTS = """\
    import gc, threading, weakref, _thread

    def work():
        return 1

    def run():
        thread = threading.Thread(target=work, name="worker")
        thread.start()
        thread.join()
        print("weakrefs to the thread:", weakref.getweakrefcount(thread))
        done = threading.Event()
        def foreign():
            work()
            done.set()
        _thread.start_new_thread(foreign, ())
        done.wait()
        print("threads:", sorted(t.name for t in threading.enumerate()))

    run()
"""


def test_threads_get_no_python_object_from_the_recorder(tmp_path):
    same_as_plain(tmp_path, THREAD_OBJECTS, "--values", "none")


# --- 4. no frame object materialised where the interpreter makes none ------------

SNEAKY_FRAME = """\
    import gc, sys

    # test_frame's TestIncompleteFrameAreInvisible.test_sneaky_frame_object
    def trace(frame, event, arg):
        pass

    def check():
        def callback(phase, info):
            nonlocal sneaky_frame_object
            sneaky_frame_object = sys._getframe().f_back.f_back
            gc.callbacks.remove(callback)

        def f():
            while True:
                yield

        old_threshold = gc.get_threshold()
        old_trace = sys.gettrace()
        try:
            gc.disable()
            g = f()
            next(g)
            gc.collect()
            gc.set_threshold(1, 0, 0)
            sys.settrace(trace)
            gc.callbacks.append(callback)
            sneaky_frame_object = None
            gc.enable()
            next(g)
            print("gi_frame is the sneaky frame:", g.gi_frame is sneaky_frame_object)
        finally:
            gc.set_threshold(*old_threshold)
            sys.settrace(old_trace)
            gc.enable()

    check()
"""


def test_no_frame_object_where_python_makes_none(tmp_path):
    plain = same_as_plain(tmp_path, SNEAKY_FRAME, "--values", "none")
    if MONITORING:
        assert plain.stdout == "gi_frame is the sneaky frame: True\n"


# --- 5. what the program lets go of is freed when it would be ------------------

RELEASED = """\
    import gc, sys, weakref

    class Obj:
        pass

    def handled_here():
        # test_exceptions' testExceptionCleanupState: an exception caught in
        # this frame, its traceback and their frames' locals are freed when
        # the except block ends, not when the frame returns.
        obj = Obj()
        ref = weakref.ref(obj)
        def inner():
            local = obj
            raise KeyError(obj)
        try:
            inner()
        except KeyError as e:
            pass
        obj = None
        print("after the except block:", ref())
        try:
            raise KeyError(Obj())
        finally:
            print("in a finally block:", sys.exc_info()[0].__name__)
        print("never")

    class Caught:
        # test_enum's test_missing_exceptions_reset: a frame that handled an
        # exception returned, so nothing holds its `self` any more.
        def __init__(self):
            try:
                raise ValueError()
            except ValueError:
                pass

    def refcount():
        # test_coroutines' test_for_6: what the recorder read and let go of
        # holds no reference (3.11: a `Py` dropped in the trace hook).
        obj = Obj()
        before = sys.getrefcount(obj)
        def use(o):
            try:
                raise StopIteration(o)
            except StopIteration:
                return o
        for _ in range(3):
            use(obj)
        return sys.getrefcount(obj) - before

    gc.disable()  # what is freed is freed by reference counting
    try:
        handled_here()
    except KeyError:
        pass
    print("after the return:", weakref.ref(Caught())())
    print("references left:", refcount())
"""


@pytest.mark.parametrize("values", ["none", "all"])
def test_what_the_program_lets_go_of_is_freed(tmp_path, values):
    plain = same_as_plain(tmp_path, RELEASED, "--values", values)
    assert plain.stdout == (
        "after the except block: None\n"
        "in a finally block: KeyError\n"
        "after the return: None\n"
        "references left: 0\n"
    )


UNWOUND = """\
    def nested():
        try:
            raise KeyError("outer")
        except KeyError:
            try:
                raise ValueError("inner")
            except ValueError:
                pass
            raise  # the KeyError again, with no exception event on 3.11

    def in_finally():
        try:
            raise KeyError("finally")
        finally:
            x = 1

    for f in (nested, in_finally):
        try:
            f()
        except KeyError:
            pass
"""


def test_an_unwind_carries_the_exception_that_left_the_frame(tmp_path):
    # 3.11 sees no exception event for a bare `raise` or the end of a
    # finally block: the exception kept for the unwind follows the one being
    # handled at each line.
    same_as_plain(tmp_path, UNWOUND, "--values", "all")
    trace = export_json(tmp_path / "trace.tsieve")

    def exception(event):
        value = event["value"]["value"]
        args = next(a["value"]["value"] for a in value["attrs"] if a["name"] == "args")
        return value["type_name"], args["items"][0]["value"]

    unwinds = {
        qualname: [exception(e) for e, c in walk(trace) if e["event"] == "unwind" and c == code_id(trace, qualname)]
        for qualname in ("nested", "in_finally")
    }
    assert unwinds == {"nested": [("KeyError", "outer")], "in_finally": [("KeyError", "finally")]}
