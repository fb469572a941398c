// Package pgpack makes pg_query's protobuf output linear in the size of
// the parse tree. Importing it (for its side effect) is all it takes:
//
//	import _ "gitlab.com/pgai/reviewer/internal/pgpack"
//
// libpg_query turns its C parse tree into protobuf bytes with protobuf-c,
// and protobuf-c sizes and packs a message by walking every field of its
// descriptor. pg_query's Node message is a oneof of about 270 node kinds,
// so every node of every statement cost about 540 field checks: 15% of all
// CPU time of `reviewer check` on a large migration set, more than the
// PostgreSQL grammar itself. This package links a replacement for
// protobuf_c_message_get_packed_size and protobuf_c_message_pack in front
// of protobuf-c's (with the linker's --wrap, which cgo allows); it visits a
// oneof as the one field its case selects and otherwise runs protobuf-c's
// own code, so the bytes are the same (checked by the tests against
// protobuf-c itself).
//
// The wrap needs external linking, which the go command uses for every
// binary with cgo packages other than the standard library's. Should a
// binary be linked internally, the flags are not applied and protobuf-c's
// functions run as before: slower, same results.
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
