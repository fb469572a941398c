// Package pgdecode decodes the protobuf parse tree that pg_query's C library
// returns (parser.ParseToProtobuf) into the same Go structs proto.Unmarshal
// builds, *pg_query.ParseResult, several times faster and with far fewer
// allocations.
//
// The decoder is generated (decode_gen.go, from gen/main.go) from the message
// descriptors pg_query_go registers, one function per message with a switch
// on field numbers and typed assignments, so it needs no reflection.
//
// It follows proto.Unmarshal's rules, and the tests and the fuzz target hold
// it to proto.Equal results on everything proto.Unmarshal accepts and to an
// error on everything it rejects:
//   - a field whose wire type does not match its declaration is kept as an
//     unknown field, as protobuf-go does, and so are fields the schema does
//     not know (including groups); unknown fields are stored with
//     protoreflect's SetUnknown, so proto.Equal and proto.Marshal see them;
//   - repeated scalars are accepted packed and unpacked;
//   - a message field that appears twice is merged, a oneof member replaces a
//     different member and merges into the same one;
//   - strings must be valid UTF-8 (proto3);
//   - nesting deeper than protowire.DefaultRecursionLimit (10000) is an error.
//
// Memory: the structs of one ParseResult share allocations. A Node, its oneof
// wrapper and its member message are one allocation; for the most frequent
// members those come from typed slabs of several; and all strings are
// substrings of one copy of the input. Any pointer into the tree therefore
// keeps its neighbours (and the whole string copy) alive. That is fine for
// pg_query results, whose trees live and die together per file; copy a
// string (strings.Clone) before keeping it long after the tree is dropped.
package pgdecode

//go:generate go run ./gen -out decode_gen.go

import (
	"errors"
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ParseResult decodes b, the protobuf bytes of a pg_query parse result.
func ParseResult(b []byte) (*pg_query.ParseResult, error) {
	d := decoder{buf: b}
	m := new(pg_query.ParseResult)
	if err := d.decodeParseResult(b, m, protowire.DefaultRecursionLimit); err != nil {
		return nil, fmt.Errorf("decode pg_query parse result: %w", err)
	}
	return m, nil
}

var (
	errDepth       = errors.New("exceeded maximum recursion depth")
	errInvalidUTF8 = errors.New("string field contains invalid UTF-8")
)

// fieldError describes a failure in field num (0: in a tag) of message msg;
// code is a negative protowire length or an error.
func fieldError(msg protoreflect.Name, num protowire.Number, code any) error {
	var err error
	switch c := code.(type) {
	case int:
		err = protowire.ParseError(c)
	case error:
		err = c
	}
	if num == 0 {
		return fmt.Errorf("%s: bad tag: %w", msg, err)
	}
	return fmt.Errorf("%s field %d: %w", msg, num, err)
}

// consumeTag reads a field tag the way protobuf-go does: field numbers
// outside 1..MaxValidNumber are an error.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	v, n := consumeVarint(b)
	if n < 0 {
		return 0, 0, n
	}
	num := v >> 3
	if num < uint64(protowire.MinValidNumber) || num > uint64(protowire.MaxValidNumber) {
		return 0, 0, -1 // protowire.ParseError(-1) reads "parsing error"
	}
	return protowire.Number(num), protowire.Type(v & 7), n
}

// consumeVarint is protowire.ConsumeVarint with the one- and two-byte cases
// inlined.
func consumeVarint(b []byte) (uint64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	if len(b) > 1 && b[1] < 0x80 {
		return uint64(b[0]&0x7f) | uint64(b[1])<<7, 2
	}
	return protowire.ConsumeVarint(b)
}

func consumeBytes(b []byte) ([]byte, int) {
	l, n := consumeVarint(b)
	if n < 0 {
		return nil, n
	}
	if l > uint64(len(b)-n) {
		return nil, -1 // truncated
	}
	return b[n : n+int(l)], n + int(l)
}

func consumeFixed32(b []byte) (uint32, int) { return protowire.ConsumeFixed32(b) }

func consumeFixed64(b []byte) (uint64, int) { return protowire.ConsumeFixed64(b) }

// countField counts the fields numbered num in the rest of a message, to size
// a repeated field's slice once. Malformed data just ends the count; the
// decoder reports it when it gets there.
func countField(b []byte, num protowire.Number) int {
	c := 0
	for len(b) > 0 {
		n, wt, k := consumeTag(b)
		if k < 0 {
			return c
		}
		b = b[k:]
		if wt == protowire.BytesType {
			_, k = consumeBytes(b)
		} else {
			k = protowire.ConsumeFieldValue(n, wt, b)
		}
		if k < 0 {
			return c
		}
		if n == num {
			c++
		}
		b = b[k:]
	}
	return c
}

// appendUnknown keeps a field the schema does not know (or with the wrong
// wire type) as protobuf-go does: re-encoded tag, then the raw value.
func appendUnknown(m protoreflect.ProtoMessage, num protowire.Number, wt protowire.Type, raw []byte) {
	r := m.ProtoReflect()
	u := protowire.AppendTag(r.GetUnknown(), num, wt)
	r.SetUnknown(append(u, raw...))
}

// string returns v, a subslice of d.buf, as a string that shares one copy
// of d.buf with all other strings of the result: one allocation per parse
// instead of one per string.
func (d *decoder) string(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	if d.str == "" {
		d.str = string(d.buf)
	}
	off := cap(d.buf) - cap(v)
	if off < 0 || off+len(v) > len(d.str) {
		return string(v)
	}
	return d.str[off : off+len(v)]
}

// slab hands out pointers to elements of chunks of T, one allocation per
// chunk instead of one per element. Chunks grow from 1 to slabMax elements,
// so a type seen once costs one exact allocation and at most about half of
// the last chunk is unused. A chunk stays alive as long as any of its
// elements is referenced; that suits a parse tree that lives and dies as a
// whole.
type slab[T any] struct {
	free  []T
	chunk int
}

const slabMax = 64

func (s *slab[T]) next() *T {
	if len(s.free) == 0 {
		s.chunk = min(max(2*s.chunk, 1), slabMax)
		s.free = make([]T, s.chunk)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// nodeSlice returns an empty slice with capacity n for a repeated Node
// field, cut from a shared backing array. The capacity is exact, so an
// append by a later user of the tree reallocates instead of overwriting the
// neighbouring slice.
func (d *decoder) nodeSlice(n int) []*pg_query.Node {
	if n > len(d.nodePtrs) {
		if n > slabMax {
			return make([]*pg_query.Node, 0, n)
		}
		d.nodePtrChunk = min(max(2*d.nodePtrChunk, 16), 4*slabMax)
		d.nodePtrs = make([]*pg_query.Node, max(d.nodePtrChunk, n))
	}
	s := d.nodePtrs[:0:n]
	d.nodePtrs = d.nodePtrs[n:]
	return s
}
