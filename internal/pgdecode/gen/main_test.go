package main

import (
	"bytes"
	"os"
	"testing"
)

// The committed decoder must be what the generator makes of the pg_query_go
// version in go.mod; after an upgrade, run `go generate ./internal/pgdecode`.
func TestGeneratedFileIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../decode_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("decode_gen.go is stale: run go generate ./internal/pgdecode")
	}
}
