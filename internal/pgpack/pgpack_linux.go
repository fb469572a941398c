package pgpack

/*
#cgo CFLAGS: -O2 -DNDEBUG
#cgo LDFLAGS: -Wl,--wrap=protobuf_c_message_get_packed_size -Wl,--wrap=protobuf_c_message_pack

extern int pgpack_reference;
extern unsigned long pgpack_calls;

static void pgpack_set_reference(int on) { __atomic_store_n(&pgpack_reference, on, __ATOMIC_SEQ_CST); }
static unsigned long pgpack_get_calls(void) { return __atomic_load_n(&pgpack_calls, __ATOMIC_SEQ_CST); }
*/
import "C"

// Calls reports how many times the replacement ran (sizes and packs of
// whole messages, as libpg_query asks for them). It is 0 when the linker
// did not apply the wrap.
func Calls() uint64 { return uint64(C.pgpack_get_calls()) }

// useReference makes pg_query use protobuf-c's own functions again (on)
// or the replacement (off). For tests: it affects every parse in the
// process.
func useReference(on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.pgpack_set_reference(v)
}
