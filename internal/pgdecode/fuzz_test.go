package pgdecode

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

// FuzzParseResult holds ParseResult to proto.Unmarshal on arbitrary bytes:
// when proto.Unmarshal succeeds ParseResult must succeed with a proto.Equal
// result, and when it fails ParseResult must fail. The seed corpus in
// testdata/fuzz/FuzzParseResult holds parse results of real migrations.
func FuzzParseResult(f *testing.F) {
	f.Add([]byte{})
	f.Add(nested(20))
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErr := reference(b)
		got, gotErr := ParseResult(b)
		switch {
		case wantErr != nil && gotErr == nil:
			t.Fatalf("ParseResult succeeded, proto.Unmarshal failed: %v", wantErr)
		case wantErr == nil && gotErr != nil:
			t.Fatalf("ParseResult failed: %v; proto.Unmarshal succeeded", gotErr)
		case wantErr == nil && !proto.Equal(got, want):
			t.Fatalf("results differ (-proto.Unmarshal +ParseResult):\n%s", cmp.Diff(want, got, protocmp.Transform()))
		}
	})
}
