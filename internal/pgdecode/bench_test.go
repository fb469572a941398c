package pgdecode

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/proto"
)

// BenchmarkDecode decodes the parse results of a bench/gen migration set
// (200 files, 1,500 statements) with proto.Unmarshal, which pg_query.Parse
// uses, and with ParseResult. One op decodes every file once.
func BenchmarkDecode(b *testing.B) {
	samples := protobufs(b, genSQL(b, 200, 1500))
	var size int
	for _, s := range samples {
		size += len(s.pb)
	}
	decoders := []struct {
		name   string
		decode func([]byte) (*pg_query.ParseResult, error)
	}{
		{"proto.Unmarshal", func(pb []byte) (*pg_query.ParseResult, error) {
			m := new(pg_query.ParseResult)
			return m, proto.Unmarshal(pb, m)
		}},
		{"pgdecode", ParseResult},
	}
	for _, d := range decoders {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				for _, s := range samples {
					if _, err := d.decode(s.pb); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkParse is the end-to-end view of the same files: pg_query.Parse
// (cgo parse, then proto.Unmarshal) against parser.ParseToProtobuf followed
// by ParseResult.
func BenchmarkParse(b *testing.B) {
	texts := genSQL(b, 200, 1500)
	parsers := []struct {
		name  string
		parse func(string) (*pg_query.ParseResult, error)
	}{
		{"pg_query.Parse", pg_query.Parse},
		{"ParseToProtobuf+pgdecode", func(sql string) (*pg_query.ParseResult, error) {
			pb, err := parser.ParseToProtobuf(sql)
			if err != nil {
				return nil, err
			}
			return ParseResult(pb)
		}},
	}
	for _, p := range parsers {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, t := range texts {
					if _, err := p.parse(t.sql); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
