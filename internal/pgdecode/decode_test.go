package pgdecode

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
)

// reference decodes b the way pg_query.Parse does.
func reference(b []byte) (*pg_query.ParseResult, error) {
	m := new(pg_query.ParseResult)
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, err
	}
	return m, nil
}

// compare requires ParseResult to agree with proto.Unmarshal on b: both
// fail, or both succeed with proto.Equal results.
func compare(t *testing.T, name string, b []byte) {
	t.Helper()
	want, wantErr := reference(b)
	got, gotErr := ParseResult(b)
	switch {
	case wantErr != nil && gotErr == nil:
		t.Errorf("%s: ParseResult succeeded, proto.Unmarshal failed: %v", name, wantErr)
	case wantErr == nil && gotErr != nil:
		t.Errorf("%s: ParseResult failed: %v; proto.Unmarshal succeeded", name, gotErr)
	case wantErr == nil && !proto.Equal(got, want):
		t.Errorf("%s: results differ (-proto.Unmarshal +ParseResult):\n%s", name, cmp.Diff(want, got, protocmp.Transform()))
	}
}

func TestCorpusMatchesProtoUnmarshal(t *testing.T) {
	t.Parallel()
	samples := corpus(t)
	if len(samples) < 500 {
		t.Fatalf("corpus has only %d parse results", len(samples))
	}
	var nodes int
	for _, s := range samples {
		compare(t, s.name, s.pb)
		if t.Failed() {
			return
		}
		m, _ := ParseResult(s.pb)
		nodes += len(m.GetStmts())
	}
	t.Logf("%d parse results, %d statements, all proto.Equal", len(samples), nodes)
}

// TestCorrupted truncates and mutates real parse results; whatever
// proto.Unmarshal makes of them, ParseResult must agree, and never panic.
func TestCorrupted(t *testing.T) {
	t.Parallel()
	var samples []sample
	for _, sql := range []string{
		"SELECT a.b, 'x', 1.5, $1, true FROM t AS a WHERE a.id IN (1, 2) ORDER BY 1 DESC",
		"CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL DEFAULT 'é')",
		"ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) NOT VALID; CREATE INDEX CONCURRENTLY i ON t (a) WHERE b <> 'done'",
		"CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
	} {
		pb, err := parser.ParseToProtobuf(sql)
		if err != nil {
			t.Fatalf("parse %q: %v", sql, err)
		}
		samples = append(samples, sample{sql, pb})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range samples {
		for i := range len(s.pb) {
			compare(t, "truncated "+s.name, s.pb[:i])
		}
		for range 3000 {
			b := append([]byte(nil), s.pb...)
			for range 1 + r.IntN(3) {
				switch r.IntN(4) {
				case 0:
					b[r.IntN(len(b))] = byte(r.IntN(256))
				case 1:
					b[r.IntN(len(b))] ^= 1 << r.IntN(8)
				case 2:
					i := r.IntN(len(b))
					b = append(b[:i], b[i+1:]...)
				case 3:
					i := r.IntN(len(b))
					b = append(b[:i], append([]byte{byte(r.IntN(256))}, b[i:]...)...)
				}
				if len(b) == 0 {
					break
				}
			}
			compare(t, "mutated "+s.name, b)
		}
		if t.Failed() {
			return
		}
	}
}

// Hand-made wire data for the rules real pg_query output does not exercise.
func TestWireRules(t *testing.T) {
	t.Parallel()
	tag := protowire.AppendTag
	msg := func(num protowire.Number, body ...[]byte) []byte {
		return protowire.AppendBytes(tag(nil, num, protowire.BytesType), []byte(strings.Join(bytesToStrings(body), "")))
	}
	varint := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(tag(nil, num, protowire.VarintType), v)
	}
	str := func(num protowire.Number, s string) []byte {
		return protowire.AppendString(tag(nil, num, protowire.BytesType), s)
	}
	cat := func(parts ...[]byte) []byte { return []byte(strings.Join(bytesToStrings(parts), "")) }
	// ParseResult: version=1, stmts=2; RawStmt: stmt=1 (a Node); String: sval=1.
	nodeString := func(s string) []byte { return msg(nodeField(t, "string"), str(1, s)) }
	selectNode := func(target ...[]byte) []byte { return msg(nodeField(t, "select_stmt"), target...) }
	tests := []struct {
		name    string
		b       []byte
		wantErr bool // what proto.Unmarshal does, to check the case is built right
	}{
		{"empty", nil, false},
		{"version only", varint(1, 170000), false},
		{"unknown varint field", cat(varint(1, 1), varint(99, 5)), false},
		{"unknown field, non-minimal tag", cat([]byte{0x98, 0x86, 0x00}, []byte{5}), false},
		{"unknown group", cat(tag(nil, 77, protowire.StartGroupType), varint(1, 2), tag(nil, 77, protowire.EndGroupType)), false},
		{"unmatched end group", tag(nil, 77, protowire.EndGroupType), true},
		{"wrong wire type for known scalar", str(1, "x"), false},
		{"wrong wire type for known message", varint(2, 3), false},
		{"field number zero", []byte{0x00, 0x01}, true},
		{"field number too large", protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3), true},
		{"reserved wire type", []byte{0x0e}, true},
		{"truncated varint", []byte{0x08, 0x80}, true},
		{"overlong varint", []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, true},
		{"length past end", []byte{0x12, 0x05, 0x00}, true},
		{"string node", msg(2, msg(1, nodeString("abc"))), false},
		{"invalid UTF-8", msg(2, msg(1, nodeString("a\xffb"))), true},
		{"node with two members", msg(2, msg(1, cat(nodeString("a"), selectNode()))), false},
		{"node member repeated merges", msg(2, msg(1, cat(nodeString("a"), msg(nodeField(t, "string"), varint(9, 1))))), false},
		{"two statements", cat(msg(2, msg(1, nodeString("a"))), msg(2, varint(2, 7))), false},
		{"singular message field repeated", msg(2, cat(msg(1, nodeString("a")), msg(1, nodeString("b")))), false},
		{"node with unknown field", msg(2, msg(1, cat(nodeString("a"), varint(5000, 1)))), false},
		{"node with wrong wire type member", msg(2, msg(1, varint(nodeField(t, "string"), 1))), false},
		{"empty node", msg(2, msg(1)), false},
		{"packed uint64", packedCase(t, true), false},
		{"unpacked uint64", packedCase(t, false), false},
		{"depth at limit", nested(protowire.DefaultRecursionLimit), false},
		{"strings before and after a deep stack", cat(msg(2, msg(1, nodeString("top"))), nested(9001, str(1, "bottom")), msg(2, msg(1, nodeString("last")))), false},
		{"depth past limit", nested(protowire.DefaultRecursionLimit + 1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := reference(tt.b); (err != nil) != tt.wantErr {
				t.Fatalf("proto.Unmarshal error = %v, want error %v", err, tt.wantErr)
			}
			compare(t, tt.name, tt.b)
		})
	}
}

// Repeated fields share one backing array; appending to one must not
// overwrite its neighbour.
func TestAppendDoesNotClobber(t *testing.T) {
	t.Parallel()
	pb, err := parser.ParseToProtobuf("SELECT a, b FROM t, u; SELECT c FROM v")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseResult(pb)
	if err != nil {
		t.Fatal(err)
	}
	want, err := reference(pb)
	if err != nil {
		t.Fatal(err)
	}
	extra := &pg_query.Node{Node: &pg_query.Node_String_{String_: &pg_query.String{Sval: "extra"}}}
	for _, gotWant := range [][2]*pg_query.RawStmt{{m.Stmts[0], want.Stmts[0]}, {m.Stmts[1], want.Stmts[1]}} {
		for _, s := range []*pg_query.SelectStmt{gotWant[0].Stmt.GetSelectStmt(), gotWant[1].Stmt.GetSelectStmt()} {
			s.TargetList = append(s.TargetList, extra)
		}
	}
	if !proto.Equal(m, want) {
		t.Errorf("after appending to every target list (-proto.Unmarshal +ParseResult):\n%s", cmp.Diff(want, m, protocmp.Transform()))
	}
}

func bytesToStrings(bs [][]byte) []string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return s
}

// nodeField is the field number of member name in pg_query.Node's oneof.
func nodeField(t *testing.T, name protoreflect.Name) protowire.Number {
	fd := (&pg_query.Node{}).ProtoReflect().Descriptor().Fields().ByName(name)
	if fd == nil {
		t.Fatalf("pg_query.Node has no field %s", name)
	}
	return fd.Number()
}

// nodeFieldOf is the field number of the Node member of message type msg.
func nodeFieldOf(t *testing.T, msg protoreflect.Name) protowire.Number {
	fields := (&pg_query.Node{}).ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); fd.Message().Name() == msg {
			return fd.Number()
		}
	}
	t.Fatalf("pg_query.Node has no member of type %s", msg)
	return 0
}

// packedCase builds a statement whose tree holds a repeated uint64 field,
// packed or one value per tag.
func packedCase(t *testing.T, packed bool) []byte {
	var field protowire.Number
	var owner protoreflect.Name
	nodeFields := (&pg_query.Node{}).ProtoReflect().Descriptor().Fields()
	for i := range nodeFields.Len() {
		md := nodeFields.Get(i).Message()
		for j := range md.Fields().Len() {
			fd := md.Fields().Get(j)
			if fd.IsList() && fd.Kind() == protoreflect.Uint64Kind && field == 0 {
				field, owner = fd.Number(), md.Name()
			}
		}
	}
	if field == 0 {
		t.Fatal("pg_query has no repeated uint64 field")
	}
	var body []byte
	if packed {
		var p []byte
		for _, v := range []uint64{1, 300, 1 << 40} {
			p = protowire.AppendVarint(p, v)
		}
		body = protowire.AppendBytes(protowire.AppendTag(nil, field, protowire.BytesType), p)
	} else {
		for _, v := range []uint64{1, 300, 1 << 40} {
			body = protowire.AppendVarint(protowire.AppendTag(body, field, protowire.VarintType), v)
		}
	}
	member := protowire.AppendBytes(protowire.AppendTag(nil, nodeFieldOf(t, owner), protowire.BytesType), body)
	raw := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), member)
	return protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), raw)
}

// nested builds a ParseResult whose messages nest depth levels deep:
// ParseResult (1), RawStmt (2), then Node (odd) and A_Expr (even) through
// A_Expr.lexpr. The innermost message is empty, or for an odd depth of 5 or
// more a Node whose String member holds leaf.
func nested(depth int, leaf ...[]byte) []byte {
	wrap := func(num protowire.Number, b []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
	}
	nodeNum := (&pg_query.Node{}).ProtoReflect().Descriptor().Fields().ByName("a_expr").Number()
	lexpr := (&pg_query.A_Expr{}).ProtoReflect().Descriptor().Fields().ByName("lexpr").Number()
	var b []byte
	if len(leaf) > 0 && depth%2 == 1 && depth >= 5 {
		stringNum := (&pg_query.Node{}).ProtoReflect().Descriptor().Fields().ByName("string").Number()
		b = wrap(stringNum, leaf[0])
	}
	for level := depth; level > 3; level-- {
		num := lexpr // the parent is an A_Expr
		if level%2 == 0 {
			num = nodeNum // the parent is a Node
		}
		b = wrap(num, b)
	}
	if depth >= 3 {
		b = wrap(1, b) // RawStmt.stmt
	}
	return wrap(2, b) // ParseResult.stmts
}
