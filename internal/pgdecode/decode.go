// Package pgdecode decodes the protobuf parse tree that pg_query's C library
// returns (parser.ParseToProtobuf) into the same Go structs proto.Unmarshal
// builds, *pg_query.ParseResult, faster (about 1.6x on the bench/gen
// migrations, see BenchmarkDecode) and with an eighth of the allocations.
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
// Memory: the structs of one ParseResult share allocations. A first pass over
// the bytes counts the messages of each type; then a Node, its oneof wrapper
// and its member message are one element of a slab with room for every such
// Node of the result, other messages come from one slab per type, the
// elements of repeated Node fields from one shared array (each slice capped
// at its length), and all strings from one buffer. Any pointer into the tree
// therefore keeps its neighbours (and all the strings) alive. That is fine
// for pg_query results, whose trees live and die together per file; copy a
// string (strings.Clone) or a message (proto.Clone) before keeping it long
// after the tree is dropped.
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
	var d decoder
	d.count(b, parseResultType, protowire.DefaultRecursionLimit)
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

func consumeFixed32(b []byte) (uint32, int) { return protowire.ConsumeFixed32(b) }

func consumeFixed64(b []byte) (uint64, int) { return protowire.ConsumeFixed64(b) }

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

// string returns v as a string stored in d.strs, which the counting pass
// sized to hold every string of the result: one allocation per parse
// instead of one per string. A strings.Builder never changes bytes it has
// handed out, so the substrings stay valid if a miscount makes it grow.
func (d *decoder) string(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	if d.strs.Cap() == 0 {
		d.strs.Grow(max(d.strBytes, len(v)))
	}
	start := d.strs.Len()
	d.strs.Write(v)
	return d.strs.String()[start:]
}

// slab hands out pointers to the elements of one chunk of T, sized by the
// counting pass: one allocation per message type per parse result instead of
// one per message. If the count falls short (it cannot on data
// proto.Unmarshal accepts, but the input is not trusted) further messages
// are allocated one by one. A chunk stays alive as long as any of its
// elements is referenced; that suits a parse tree that lives and dies as a
// whole.
type slab[T any] struct{ free []T }

func (s *slab[T]) next(count *int32) *T {
	if len(s.free) == 0 {
		n := max(int(*count), 1)
		*count = 0
		s.free = make([]T, n)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// nodeSlice returns an empty slice with capacity n for a repeated Node
// field, cut from one backing array sized by the counting pass. The capacity
// is exact, so an append by a later user of the tree reallocates instead of
// overwriting the neighbouring slice.
func (d *decoder) nodeSlice(n int) []*pg_query.Node {
	if n > len(d.nodePtrs) {
		c := int(d.counts[nodePtrSlot])
		d.counts[nodePtrSlot] = 0
		if c < n {
			return make([]*pg_query.Node, 0, n)
		}
		d.nodePtrs = make([]*pg_query.Node, c)
	}
	s := d.nodePtrs[:0:n]
	d.nodePtrs = d.nodePtrs[n:]
	return s
}

// repeatedBit marks a repeated field in walkTable, stringBit a string.
const (
	repeatedBit = 0x8000
	stringBit   = 0x4000
)

// count walks message b of type t without decoding it and adds up in
// d.counts how many messages of each type, combined Node members and
// repeated Node elements the decoder will allocate, so that each type gets
// one exact chunk. It is only an estimate: malformed data ends the walk
// early and the decoder reports the error.
func (d *decoder) count(b []byte, t uint16, depth int) {
	if depth--; depth < 0 {
		return
	}
	fields := walkTable[t]
	for len(b) > 0 {
		num, wt, n := protowire.Number(b[0]>>3), protowire.Type(b[0]&7), 1
		if b[0] >= 0x80 || b[0] < 1<<3 {
			if num, wt, n = consumeTagSlow(b); n < 0 {
				return
			}
		}
		b = b[n:]
		switch wt {
		case protowire.VarintType:
			n = 1
			if len(b) == 0 || b[0] >= 0x80 {
				_, n = protowire.ConsumeVarint(b)
			}
		case protowire.BytesType:
			var v []byte
			if len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
				v, n = b[1:1+b[0]], 1+int(b[0])
			} else {
				v, n = protowire.ConsumeBytes(b)
			}
			if n >= 0 && int(num) < len(fields) && fields[num] != 0 {
				f := fields[num]
				if f == stringBit {
					d.strBytes += len(v)
					break
				}
				child := f&^repeatedBit - 1
				if child == nodeType {
					if f&repeatedBit != 0 {
						d.counts[nodePtrSlot]++
					}
					d.countNode(v, depth)
				} else {
					d.counts[child]++
					d.count(v, child, depth)
				}
			}
		default:
			n = protowire.ConsumeFieldValue(num, wt, b)
		}
		if n < 0 {
			return
		}
		b = b[n:]
	}
}

// countNode counts a Node the way newNode allocates it.
func (d *decoder) countNode(b []byte, depth int) {
	if num, v, ok := singleMember(b); ok && depth > 0 && int(num) < len(nodeCombo) && nodeCombo[num] != 0 {
		d.counts[nodeCombo[num]-1]++
		d.count(v, walkTable[nodeType][num]-1, depth-1)
		return
	}
	d.counts[nodeType]++
	d.count(b, nodeType, depth)
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
