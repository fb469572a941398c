// Package kb is the reviewer's knowledge base: PostgreSQL documentation,
// source code, credited articles and the reviewer's own rule docs, split into
// chunks that keep their heading path and public URL, stored in PostgreSQL
// with full-text vectors and (optionally) pgvector embeddings, and searched
// with hybrid retrieval (HNSW vector top-k and full-text top-k fused by
// reciprocal rank fusion).
//
// Layout:
//
//   - Migrate applies the embedded schema (migrations/*.sql) idempotently.
//   - ParseDocsDir, ParseSourceTree, ParseArticles and RuleDocuments turn
//     inputs into Documents; Store.Ingest stores them incrementally (a
//     source whose content hash did not change is skipped; a changed one is
//     replaced in one transaction).
//   - Store.Embed sends chunks that have no embedding for the Embedder's
//     model yet (so it resumes after a failure); OpenAIEmbedder talks to any
//     OpenAI-compatible /v1/embeddings endpoint, HashEmbedder is a
//     deterministic local stand-in for tests and benchmarks (it is not a
//     language model and says so in its model name).
//   - Store.Search is the API the agent calls.
//
// Embedding dimensions: kb_embeddings.embedding is an unconstrained vector
// column keyed by (chunk, model). Each model is registered in kb_models with
// its dimension, and gets its own partial HNSW expression index
//
//	CREATE INDEX ... USING hnsw ((embedding::vector(N)) vector_cosine_ops) WHERE model = 'name'
//
// created when the model is first used. Queries repeat the same cast and
// predicate, so the planner uses that index. Several models (or dimensions,
// under different model names) can coexist and be compared.
package kb
