package kb

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Posting lists: for each field (body, heading, identifiers), lexeme and
// filter group (kind, trust, version), the ascending ids of the chunks
// holding the lexeme, packed as unsigned varint deltas (about one byte a
// chunk for common terms). A full-text search reads the lists of its terms
// in one query and sums the term weights in Go, instead of aggregating
// hundreds of thousands of rows in PostgreSQL. Filters select whole lists
// (a group matches the filter or not), so filtered searches score exactly
// the chunks that pass and never run out of results.

// Posting fields, the kb_postings.field values.
const (
	fieldBody    int16 = 0 // tsv_en: heading and body, english stems
	fieldHeading int16 = 1 // tsv_head: heading path, english stems
	fieldIdent   int16 = 2 // tsv_simple: identifiers, underscores removed
)

// postingsLock serializes posting list rebuilds (advisory lock key).
const postingsLock = 7_262_011_002

// packIDs encodes ascending chunk ids as varint deltas.
func packIDs(ids []int64) ([]byte, error) {
	out := make([]byte, 0, len(ids)+8)
	var prev int64
	for i, id := range ids {
		if id < prev || (i > 0 && id == prev) {
			return nil, fmt.Errorf("pack posting list: id %d after %d", id, prev)
		}
		out = binary.AppendUvarint(out, uint64(id-prev))
		prev = id
	}
	return out, nil
}

// errBadPostings reports a packed list that does not decode.
var errBadPostings = errors.New("corrupt posting list")

// appendIDs appends the ids of a packed list to dst, in ascending order.
func appendIDs(dst []int64, b []byte) ([]int64, error) {
	var id int64
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 || d == 0 && id != 0 || d > 1<<62 {
			return dst, errBadPostings
		}
		id += int64(d)
		b = b[n:]
		dst = append(dst, id)
	}
	return dst, nil
}

// refreshPostings rebuilds kb_postings and the document frequencies of
// kb_lexemes from kb_chunks, in tx (so readers see the old lists or the
// new ones). The ids are read per lexeme and group, packed here and
// written back with COPY.
func refreshPostings(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(postingsLock)); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	// Enough memory to group the postings without spilling to disk.
	if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '128MB'"); err != nil {
		return fmt.Errorf("work_mem: %w", err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM kb_postings"); err != nil {
		return fmt.Errorf("clear postings: %w", err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM kb_lexemes"); err != nil {
		return fmt.Errorf("clear document frequencies: %w", err)
	}
	for _, f := range []struct {
		field  int16
		column string
		config string // kb_lexemes.config of its document frequencies
	}{{fieldBody, "tsv_en", "english"}, {fieldHeading, "tsv_head", ""}, {fieldIdent, "tsv_simple", "simple"}} {
		// Unordered array_agg (sorted here, the ids arrive mostly in
		// order): an ordered one sorts every group and takes twice as
		// long. tsvector_to_array skips the positions unnest would build
		// (three times faster).
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT t, c.kind, c.trust, c.pg_version, array_agg(c.id)
			FROM kb_chunks c, unnest(tsvector_to_array(c.%s)) t GROUP BY 1, 2, 3, 4`, f.column))
		if err != nil {
			return fmt.Errorf("read %s postings: %w", f.column, err)
		}
		var out [][]any
		df := map[string]int32{}
		var ids []int64
		for rows.Next() {
			var lexeme, kind, version string
			var trust int16
			if err := rows.Scan(&lexeme, &kind, &trust, &version, &ids); err != nil {
				rows.Close()
				return fmt.Errorf("read %s postings: %w", f.column, err)
			}
			if !slices.IsSorted(ids) {
				slices.Sort(ids)
			}
			packed, err := packIDs(ids)
			if err != nil {
				rows.Close()
				return fmt.Errorf("%s %q: %w", f.column, lexeme, err)
			}
			out = append(out, []any{f.field, lexeme, kind, trust, version, int32(len(ids)), packed})
			df[lexeme] += int32(len(ids))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read %s postings: %w", f.column, err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"kb_postings"},
			[]string{"field", "lexeme", "kind", "trust", "pg_version", "n", "chunk_ids"}, pgx.CopyFromRows(out)); err != nil {
			return fmt.Errorf("write %s postings: %w", f.column, err)
		}
		if f.config == "" {
			continue
		}
		// Document frequencies, for the IDF of query terms.
		freq := make([][]any, 0, len(df))
		for l, n := range df {
			freq = append(freq, []any{f.config, l, n})
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"kb_lexemes"}, []string{"config", "lexeme", "ndoc"}, pgx.CopyFromRows(freq)); err != nil {
			return fmt.Errorf("write %s document frequencies: %w", f.column, err)
		}
	}
	// The number of chunks, the N of the IDF formula.
	if _, err := tx.Exec(ctx, "INSERT INTO kb_lexemes SELECT 'total', '', count(*) FROM kb_chunks"); err != nil {
		return fmt.Errorf("count chunks: %w", err)
	}
	// The mean chunk length of each kind, for BM25's length normalisation.
	if _, err := tx.Exec(ctx, "INSERT INTO kb_lexemes SELECT 'avglen', kind, greatest(1, round(avg(tokens)))::int FROM kb_chunks GROUP BY kind"); err != nil {
		return fmt.Errorf("mean chunk lengths: %w", err)
	}
	return nil
}

// scoredID is a chunk and its full-text score.
type scoredID struct {
	id    int64
	score float64
}

// better orders by score, then by id (lower first) for stable ties.
func (a scoredID) better(b scoredID) bool {
	return a.score > b.score || a.score == b.score && a.id < b.id
}

// weightedList is one packed posting list and the weight of its term.
type weightedList struct {
	ids    []byte
	weight float64
}

// scratch buffers of topScores, reused across searches.
var (
	idsPool    = sync.Pool{New: func() any { return new([]int64) }}
	scoresPool = sync.Pool{New: func() any { return new([]float64) }}
)

// topScores sums the weights of the lists each chunk is in and returns
// the n best chunks, best first. Lists are added in the order given, so
// equal term sets give equal sums.
func topScores(lists []weightedList, n int) ([]scoredID, error) {
	idsBuf := idsPool.Get().(*[]int64)
	defer idsPool.Put(idsBuf)
	all := (*idsBuf)[:0]
	ends := make([]int, len(lists))
	lo, hi := int64(-1), int64(-1)
	for i, l := range lists {
		start := len(all)
		var err error
		if all, err = appendIDs(all, l.ids); err != nil {
			return nil, err
		}
		ends[i] = len(all)
		if len(all) > start {
			if first := all[start]; lo < 0 || first < lo {
				lo = first
			}
			hi = max(hi, all[len(all)-1])
		}
	}
	*idsBuf = all
	if len(all) == 0 || n <= 0 {
		return nil, nil
	}
	top := make(scoreHeap, 0, n)
	offer := func(s scoredID) {
		if len(top) < n {
			heap.Push(&top, s)
		} else if s.better(top[0]) {
			top[0] = s
			heap.Fix(&top, 0)
		}
	}
	// A flat array over the id span when it is not much wider than the
	// number of ids (it is cleared and scanned whole), else a map.
	if span := hi - lo + 1; span <= 4*int64(len(all))+1<<16 {
		scoresBuf := scoresPool.Get().(*[]float64)
		defer scoresPool.Put(scoresBuf)
		if int64(cap(*scoresBuf)) < span {
			*scoresBuf = make([]float64, span)
		}
		scores := (*scoresBuf)[:span]
		clear(scores)
		start := 0
		for i, l := range lists {
			w := l.weight
			for _, id := range all[start:ends[i]] {
				scores[id-lo] += w
			}
			start = ends[i]
		}
		for i, s := range scores {
			if s != 0 && (len(top) < n || s >= top[0].score) {
				offer(scoredID{lo + int64(i), s})
			}
		}
	} else {
		scores := make(map[int64]float64, len(all))
		start := 0
		for i, l := range lists {
			for _, id := range all[start:ends[i]] {
				scores[id] += l.weight
			}
			start = ends[i]
		}
		for id, s := range scores {
			offer(scoredID{id, s})
		}
	}
	out := make([]scoredID, len(top))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&top).(scoredID)
	}
	return out, nil
}

// scoreHeap is a min-heap: the worst of the best n on top.
type scoreHeap []scoredID

func (h scoreHeap) Len() int           { return len(h) }
func (h scoreHeap) Less(i, j int) bool { return h[j].better(h[i]) }
func (h scoreHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *scoreHeap) Push(x any)        { *h = append(*h, x.(scoredID)) }
func (h *scoreHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
