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
// The wrap needs a GNU-style linker and external linking, which the go
// command uses for every binary with cgo packages other than the standard
// library's (asking for -linkmode=internal is refused with "external
// linking required ... internal/pgpack"). So the package is empty except
// on Linux, and elsewhere protobuf-c's functions run as before: slower,
// same results.
package pgpack
