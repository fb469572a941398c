package sqlparse

// This is the only file that calls the PostgreSQL parser
// (github.com/pganalyze/pg_query_go/v6, PostgreSQL 17 grammar), so that a
// later swap of the parser (a newer grammar, or the cgo-free
// wasilibs/go-pgquery) is a one-file change.

import (
	"errors"
	"sync"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"

	// A generated decoder of the parse trees, faster than proto.Unmarshal.
	"gitlab.com/pgai/reviewer/internal/pgdecode"
	// Linear-time protobuf packing for pg_query's parse trees.
	_ "gitlab.com/pgai/reviewer/internal/pgpack"
)

// Node is a parse-tree node of the PostgreSQL grammar.
type Node = pg_query.Node

// parseOne parses the text of one statement. It returns the statement's
// node (nil for an empty statement, e.g. only comments) or, on failure,
// the parser's message and the byte offset in sql where it stopped (-1
// when unknown). Should the text hold several statements, the first one's
// node is returned.
func parseOne(sql string) (node *Node, msg string, offset int) {
	res, err := parse(sql)
	if err != nil {
		var pe *parser.Error
		if errors.As(err, &pe) {
			return nil, pe.Message, charToByte(sql, pe.Cursorpos-1)
		}
		return nil, err.Error(), -1
	}
	if len(res.Stmts) == 0 {
		return nil, "", -1
	}
	return res.Stmts[0].Stmt, "", -1
}

// rawStmt is one statement of a parsed text: its node and where the
// parser says it is (byte offset and length; length 0 means "to the end").
type rawStmt struct {
	node     *Node
	loc, len int
}

// parseAll parses a whole text (a file) with one call to the parser. ok is
// false when the text has a syntax error.
func parseAll(sql string) ([]rawStmt, bool) {
	res, err := parse(sql)
	if err != nil {
		return nil, false
	}
	out := make([]rawStmt, len(res.Stmts))
	for i, s := range res.Stmts {
		out[i] = rawStmt{node: s.Stmt, loc: int(s.StmtLocation), len: int(s.StmtLen)}
	}
	return out, true
}

// parse is pg_query.Parse with the generated decoder (internal/pgdecode)
// in place of proto.Unmarshal: the same tree, for about 10% less CPU in a
// whole review.
func parse(sql string) (*pg_query.ParseResult, error) {
	pb, err := parser.ParseToProtobuf(sql)
	if err != nil {
		return nil, err
	}
	return pgdecode.ParseResult(pb)
}

// Deparse turns a node back into SQL text.
func Deparse(n *Node) (string, error) {
	return pg_query.Deparse(&pg_query.ParseResult{Version: parseTreeVersion(), Stmts: []*pg_query.RawStmt{{Stmt: n}}})
}

// parseTreeVersion is the protobuf parse-tree version of the linked
// libpg_query (e.g. 170007): Deparse rejects any other version.
var parseTreeVersion = sync.OnceValue(func() int32 {
	res, err := pg_query.Parse("SELECT 1")
	if err != nil {
		return 0
	}
	return res.Version
})

// charToByte converts a 0-based character index into a byte offset.
func charToByte(s string, chars int) int {
	if chars < 0 {
		return -1
	}
	i := 0
	for n := 0; n < chars && i < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}
