// Package pgdecode decodes the protobuf parse tree that pg_query's C library
// returns (parser.ParseToProtobuf) into the same Go structs proto.Unmarshal
// builds, *pg_query.ParseResult, faster (see BenchmarkDecode) and with
// fewer allocations.
//
// The decoder is generated (decode_gen.go, from gen/main.go) from the message
// descriptors pg_query_go registers, one function per message with a switch
// on field numbers and typed assignments, so it needs no reflection.
//
// End to end, reviewer check on a bench/gen set (2,000 files, 15,000
// statements) with parser.ParseToProtobuf and ParseResult instead of
// pg_query.Parse used about 10% less CPU, and its peak RSS was 0.2-0.3 MB
// higher (the decoder's code and type data).
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
// Memory: every message and every string is its own allocation, as with
// proto.Unmarshal, so a pointer or string kept from the tree (the checks'
// catalog keeps some for the whole run) retains only what it would retain
// after proto.Unmarshal. (An earlier version cut messages from per-parse
// slabs and strings from one buffer per parse; the retained pieces kept
// whole files' trees alive and reviewer check's peak RSS grew by 15 MB.)
// The one saving kept is local: for the node types of gen/hot.txt a Node,
// its oneof wrapper and the member message are one allocation, and a
// pointer to any of the three keeps only that triple alive.
//
// Size: the generated code is kept small, because every 64 KB window of
// machine code that runs becomes resident. Each field's value is read
// before the switch on field numbers, and the decoders of the types in
// gen/hot.txt (the ones common migrations use) come first in the file, so
// the linker lays them out together. Every combined node type costs about
// 280 bytes of type data, which is resident too, so rare node types are
// allocated as proto.Unmarshal does.
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
	m := new(pg_query.ParseResult)
	if err := decodeParseResult(b, m, protowire.DefaultRecursionLimit); err != nil {
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
// outside 1..MaxValidNumber are an error. The one-byte case is inlined.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	if len(b) > 0 && b[0] < 0x80 && b[0] >= 1<<3 {
		return protowire.Number(b[0] >> 3), protowire.Type(b[0] & 7), 1
	}
	return consumeTagSlow(b)
}

func consumeTagSlow(b []byte) (protowire.Number, protowire.Type, int) {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, 0, n
	}
	num := v >> 3
	if num < uint64(protowire.MinValidNumber) || num > uint64(protowire.MaxValidNumber) {
		return 0, 0, -1 // protowire.ParseError(-1) reads "parsing error"
	}
	return protowire.Number(num), protowire.Type(v & 7), n
}

// consumeVarint is protowire.ConsumeVarint with the one-byte case inlined.
func consumeVarint(b []byte) (uint64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	return protowire.ConsumeVarint(b)
}

// consumeBytes is protowire.ConsumeBytes with the one-byte length inlined.
func consumeBytes(b []byte) ([]byte, int) {
	if len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
		return b[1 : 1+b[0]], 1 + int(b[0])
	}
	return protowire.ConsumeBytes(b)
}

// consumeValue reads the value of a field of wire type wt at the start of
// b, as protowire.ConsumeFieldValue would: a varint or fixed-size number in
// v, the contents of length-delimited data in p. n is the length read or a
// negative protowire error code. Groups are skipped (v and p stay empty).
func consumeValue(num protowire.Number, wt protowire.Type, b []byte) (v uint64, p []byte, n int) {
	switch wt {
	case protowire.VarintType:
		v, n = protowire.ConsumeVarint(b)
	case protowire.BytesType:
		p, n = protowire.ConsumeBytes(b)
	case protowire.Fixed32Type:
		var x uint32
		x, n = protowire.ConsumeFixed32(b)
		v = uint64(x)
	case protowire.Fixed64Type:
		v, n = protowire.ConsumeFixed64(b)
	default:
		n = protowire.ConsumeFieldValue(num, wt, b)
	}
	return v, p, n
}

// consumePacked reads one element of wire type wt from packed data p.
func consumePacked(p []byte, wt protowire.Type) (uint64, int) {
	switch wt {
	case protowire.VarintType:
		return protowire.ConsumeVarint(p)
	case protowire.Fixed32Type:
		v, n := protowire.ConsumeFixed32(p)
		return uint64(v), n
	}
	return protowire.ConsumeFixed64(p)
}

// countField counts the fields numbered num at the start of b, the rest of
// a message after one such field, to size a repeated field's slice once.
// pg_query writes the elements of a repeated field next to each other; if
// other data writes them apart, the count is short and append grows the
// slice as usual.
func countField(b []byte, num protowire.Number) int {
	c := 0
	for len(b) > 0 {
		n, wt, k := consumeTag(b)
		if k < 0 || n != num || wt != protowire.BytesType {
			return c
		}
		_, m := consumeBytes(b[k:])
		if m < 0 {
			return c
		}
		c++
		b = b[k+m:]
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

// singleMember reports whether b, the bytes of a Node, is exactly one
// length-delimited field, which is how pg_query writes every Node, and
// returns that field's number and contents.
func singleMember(b []byte) (protowire.Number, []byte, bool) {
	if len(b) < 2 {
		return 0, nil, false
	}
	var tag uint64
	n := 2
	switch {
	case b[0] < 0x80:
		tag, n = uint64(b[0]), 1
	case b[1] < 0x80:
		tag = uint64(b[0]&0x7f) | uint64(b[1])<<7
	default:
		tag, n = protowire.ConsumeVarint(b)
		if n < 0 {
			return 0, nil, false
		}
	}
	if protowire.Type(tag&7) != protowire.BytesType || tag>>3 < uint64(protowire.MinValidNumber) || tag>>3 > uint64(protowire.MaxValidNumber) {
		return 0, nil, false
	}
	l, k := consumeVarint(b[n:])
	if k < 0 || l != uint64(len(b)-n-k) {
		return 0, nil, false
	}
	return protowire.Number(tag >> 3), b[n+k:], true
}
